//! Password hashing (Argon2id with the crate's recommended parameters) and the rules a new
//! password must meet. Hashing is deliberately slow, so callers run it off the async workers.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Shortest password accepted.
pub const MIN_LEN: usize = 10;
/// Longest password accepted, in bytes (bounds the hashing work an attacker can ask for).
pub const MAX_BYTES: usize = 1024;

/// Why a new password is refused.
pub fn check_new(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_LEN {
        return Err(format!("the password must have at least {MIN_LEN} characters"));
    }
    if password.len() > MAX_BYTES {
        return Err(format!("the password must have at most {MAX_BYTES} bytes"));
    }
    Ok(())
}

/// The PHC string of `password` under a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt: [u8; 16] = rand::random();
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches `phc`. Over-long input is refused without hashing.
pub fn verify(password: &str, phc: &str) -> bool {
    password.len() <= MAX_BYTES && Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// Does the work of one verification against a hash no password matches, so that a sign-in
/// for an unknown or disabled account takes as long as one with a wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("no password matches this hash").unwrap_or_default());
    let _ = verify(password, phc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse battery").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert_ne!(h, hash("correct horse battery").unwrap_or_default(), "salted");
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn new_passwords_have_bounds() {
        assert!(check_new("short").is_err());
        assert!(check_new("long enough!").is_ok());
        assert!(check_new(&"x".repeat(MAX_BYTES + 1)).is_err());
    }
}
