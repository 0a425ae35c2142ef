//! Address and mask pools shared by the filter tests: values that share prefixes at several
//! lengths, so random terms overlap, tie and match. Included with `#[path]`.

/// Addresses that share prefixes at several lengths, so the pooled masks group them.
pub const POOL: [u64; 8] = [
    0xAABB_CC00_0001,
    0xAABB_CC10_0002,
    0xAABB_CCF0_0003,
    0xAABB_DD00_0001,
    0xAA00_CC00_EE00,
    0x00BB_CC00_0001,
    0x0000_0000_0000,
    0xFFFF_FFFF_FFFF,
];

/// Masks of every kind: exact, prefixes of 40/28/24/16 bits, two more of 24 bits (one not a
/// prefix) to exercise the equal-length tie, and the empty mask that matches everything.
pub const MASKS: [u64; 8] = [
    0xFFFF_FFFF_FFFF,
    0xFFFF_FFFF_FF00,
    0xFFFF_FFF0_0000,
    0xFFFF_FF00_0000,
    0xFF00_FF00_FF00,
    0x00FF_FFFF_0000,
    0xFFFF_0000_0000,
    0x0000_0000_0000,
];
