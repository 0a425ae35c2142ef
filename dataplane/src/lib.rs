//! airsift's dataplane: everything on the per-frame path, and nothing that speaks HTTP.
//!
//! - [`wire`]: pure, zero-copy parsers (radiotap, PPI, Prism, 802.11) down to the addresses.
//! - [`filter`]: the MAC filter model, its compiled immutable table, and the decision.
//! - [`verdict`]: parse-and-decide for one captured record, shared by every driver.
//! - [`capfile`]: pcap and pcapng files read in place.
//! - [`sink`]: where passed frames go.
#![deny(unsafe_code)]

pub mod capfile;
pub mod filter;
pub mod sink;
pub mod verdict;
pub mod wire;
