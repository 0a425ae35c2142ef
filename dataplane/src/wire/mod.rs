//! Pure, zero-copy parsers for what a monitor interface delivers: a capture header (radiotap,
//! PPI, Prism, or none) followed by an 802.11 frame.
//!
//! The contract, after smoltcp's `wire`: a view is checked once when it is built and its
//! accessors never panic afterwards. Nothing here allocates, touches a socket or reads a clock,
//! so every function can be tested on byte arrays alone.

mod error;
mod frame;
pub mod ie;
pub mod ieee80211;
mod linktype;
mod mac;
pub mod ppi;
pub mod prism;
mod radio;
pub mod radiotap;

pub use error::{Layer, WireError};
pub use frame::Frame;
pub use ieee80211::{Addresses, FrameKind, Header};
pub use linktype::LinkType;
pub use mac::{MacAddr, MacParseError, MacTerm};
pub use radio::{Ampdu, Mcs, RadioInfo, Timestamp, Vht};
pub use radiotap::LayoutMemo;
