//! The admin password: argon2id hashes (PHC strings), generation, and the file a generated
//! password is written to.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::secret::random_bytes;
use super::AuthError;
use crate::store::StoreError;

/// Length of a generated password: 24 characters of 62, about 143 bits.
pub(crate) const GENERATED_LEN: usize = 24;

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A new random password, uniform over [`ALPHABET`] (rejection sampling, no modulo bias).
pub(crate) fn generate() -> Result<String, AuthError> {
    let mut out = String::with_capacity(GENERATED_LEN);
    while out.len() < GENERATED_LEN {
        for b in random_bytes::<64>()? {
            // 248 = 4 * 62: bytes at or above it would favour the first characters.
            if b < 248 && out.len() < GENERATED_LEN {
                out.push(ALPHABET[usize::from(b % 62)] as char);
            }
        }
    }
    Ok(out)
}

/// Hashes `password` with argon2id and its default (OWASP-recommended) parameters and a
/// fresh 16-byte salt; returns the PHC string.
pub(crate) fn hash(password: &[u8]) -> Result<String, AuthError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| {
        AuthError::Store(StoreError::Io(format!("cannot build a password salt: {e}")))
    })?;
    let h = Argon2::default()
        .hash_password(password, &salt)
        .map_err(|e| {
            AuthError::Store(StoreError::Io(format!(
                "cannot hash the admin password: {e}"
            )))
        })?;
    Ok(h.to_string())
}

/// Whether `phc` is a PHC string this build can verify against.
pub(crate) fn is_valid_hash(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok()
}

/// Whether `password` matches `phc` (argon2's own comparison is constant-time). Slow by design.
pub(crate) fn verify(phc: &str, password: &[u8]) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(password, &h).is_ok(),
        Err(_) => false,
    }
}

/// Writes `password` (and a newline) to `path` with mode 0600, atomically (a temporary file
/// renamed over it) and durably (file and directory fsynced).
pub(crate) fn write_file(path: &Path, password: &str) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    // The process umask can only remove bits; make the mode exact anyway.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(password.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), GENERATED_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn hash_and_verify() {
        let h = hash(b"correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(is_valid_hash(&h));
        assert!(verify(&h, b"correct horse"));
        assert!(!verify(&h, b"correct horsE"));
        assert!(!verify(&h, b""));
        assert!(!verify("not a hash", b"correct horse"));
        assert!(!is_valid_hash("not a hash"));
        assert_ne!(hash(b"correct horse").unwrap(), h, "fresh salt each time");
    }
}
