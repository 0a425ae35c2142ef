//! Capture datasources (API.md section 5): definitions, opening rings, the registry that owns
//! every capture source while the control plane runs, and the pieces of Kismet's records —
//! counter histories, interface listings, driver types.

pub mod channel;
pub mod definition;
pub mod interfaces;
pub mod nl80211;
pub mod open;
pub mod registry;
pub mod rrd;
pub mod tuning;
pub mod types;
