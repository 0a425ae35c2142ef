//! airsift's dataplane: everything on the per-frame path, and nothing that speaks HTTP.
//!
//! - [`wire`]: pure, zero-copy parsers (radiotap, PPI, Prism, 802.11) down to the addresses.
//! - [`filter`]: the MAC filter model, its compiled immutable table, and the decision.
//! - [`kfilter`]: the same decision in the kernel (BPF programs and maps mirroring the table).
//! - [`verdict`]: parse-and-decide for one captured record, shared by every driver.
//! - [`capfile`]: pcap and pcapng files read in place.
//! - [`source`]: capture backends (TPACKET_V3, AF_XDP, files) behind one trait.
//! - [`sink`]: where passed frames go: the pcapng log and live streams.
//! - [`worker`]: the pinned worker loop and its counters.
//! - [`capture`]: a running capture: workers, sink thread, and the handles to drive them.
#![deny(unsafe_code)]

pub mod capfile;
pub mod capture;
pub mod filter;
pub mod kfilter;
pub mod plane;
pub mod sink;
pub mod source;
pub mod track;
pub mod verdict;
pub mod wire;
pub mod worker;
