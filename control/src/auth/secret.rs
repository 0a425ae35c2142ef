//! Tokens and their digests: random bytes from the OS, SHA-256, constant-time comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::AuthError;
use crate::store::StoreError;

/// A SHA-256 digest.
pub(crate) type Digest = [u8; 32];

/// Random bytes in a token: 256 bits.
const TOKEN_BYTES: usize = 32;

pub(crate) fn digest(bytes: &[u8]) -> Digest {
    Sha256::digest(bytes).into()
}

/// Constant-time equality of two digests.
pub(crate) fn same(a: &Digest, b: &Digest) -> bool {
    bool::from(a.ct_eq(b))
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| {
        AuthError::Store(StoreError::Io(format!(
            "the operating system gave no random bytes: {e}"
        )))
    })?;
    Ok(b)
}

/// A new session token or API key: 32 random bytes, URL-safe base64 without padding (43
/// characters, safe in a cookie, a query string and a shell).
pub(crate) fn new_token() -> Result<String, AuthError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()?))
}

pub(crate) fn to_hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn from_hex(s: &str) -> Option<Digest> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        *o = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_url_safe() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn hex_round_trips() {
        let d = digest(b"x");
        assert_eq!(from_hex(&to_hex(&d)), Some(d));
        assert_eq!(from_hex(&to_hex(&d).to_uppercase()), Some(d));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
        assert!(same(&d, &digest(b"x")) && !same(&d, &digest(b"y")));
    }
}
