//! The body of an 802.11 management frame: its fixed fields, then a list of information
//! elements (id byte, length byte, data), and the RSN and WPA elements that say how a
//! network is protected.
//!
//! [`Mgmt::parse`] runs on the capture worker for every beacon and probe response, so it makes
//! one pass over the elements and keeps only what the scan needs (SSID, channel, RSN, WPA) as
//! slices of the frame. [`Elements`] walks any element list for everything else. [`Rsn`]
//! decodes an RSN or WPA element's body when someone wants the ciphers, which is not on the
//! per-frame path.
//!
//! As in the rest of [`crate::wire`]: nothing allocates, a view is checked when built and its
//! accessors never panic.

mod elements;
mod error;
mod layouts;
mod mgmt;
mod rsn;
#[cfg(test)]
mod tests;

pub use elements::Elements;
pub use error::IeError;
pub use layouts::ElementLayouts;
pub use mgmt::Mgmt;
pub use rsn::{Akms, Ciphers, Rsn};

/// Element ids this module interprets.
pub mod id {
    pub const SSID: u8 = 0;
    /// DS Parameter Set: the current channel.
    pub const DS_PARAMS: u8 = 3;
    pub const RSN: u8 = 48;
    pub const VENDOR: u8 = 221;
}

/// Management frame subtypes whose body is fixed fields followed by elements.
pub mod subtype {
    pub const ASSOC_REQ: u8 = 0;
    pub const ASSOC_RESP: u8 = 1;
    pub const REASSOC_REQ: u8 = 2;
    pub const REASSOC_RESP: u8 = 3;
    pub const PROBE_REQ: u8 = 4;
    pub const PROBE_RESP: u8 = 5;
    pub const BEACON: u8 = 8;
}

/// Capability Information bits.
pub mod capability {
    /// An infrastructure network's AP sent the frame.
    pub const ESS: u16 = 0x0001;
    /// An ad hoc network's station sent the frame.
    pub const IBSS: u16 = 0x0002;
    /// The network protects its data frames (WEP, or WPA/RSN when their elements are present).
    pub const PRIVACY: u16 = 0x0010;
}

/// The OUI and type that make a vendor element the WPA element (Microsoft, type 1).
pub const WPA_OUI_TYPE: [u8; 4] = [0x00, 0x50, 0xF2, 0x01];
