//! Why a management frame body or an RSN/WPA element could not be read.

use std::fmt;

/// A small, `Copy` error, like [`crate::wire::WireError`]: the capture worker counts it and
/// moves on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IeError {
    /// A management subtype whose body is not fixed fields followed by elements (or whose
    /// fixed fields [`super::Mgmt`] does not know: authentication, action, ...).
    UnsupportedSubtype(u8),
    /// The body is shorter than the subtype's fixed fields.
    FixedTooShort { need: usize, have: usize },
    /// The element at `offset` runs past the end of its list (a lone trailing byte is an
    /// element whose header runs past the end).
    ElementOverrun { offset: usize },
    /// An RSN or WPA element whose version is not 1.
    RsnVersion(u16),
    /// An RSN or WPA element that ends inside a field, or whose suite count runs past its end;
    /// `offset` is where the field that does not fit starts, in the element body.
    RsnTruncated { offset: usize },
}

impl fmt::Display for IeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IeError::UnsupportedSubtype(s) => {
                write!(f, "management subtype {s} carries no element list")
            }
            IeError::FixedTooShort { need, have } => write!(
                f,
                "management body too short for its fixed fields: {have} bytes, needs {need}"
            ),
            IeError::ElementOverrun { offset } => {
                write!(
                    f,
                    "element at offset {offset} runs past the end of the body"
                )
            }
            IeError::RsnVersion(v) => write!(f, "RSN/WPA element has unknown version {v}"),
            IeError::RsnTruncated { offset } => {
                write!(
                    f,
                    "RSN/WPA element field at offset {offset} runs past its end"
                )
            }
        }
    }
}

impl std::error::Error for IeError {}
