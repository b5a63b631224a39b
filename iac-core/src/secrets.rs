//! Encryption of secret values: XChaCha20-Poly1305 under a key derived from
//! the stack's passphrase with Argon2id.
//!
//! A stack's config file holds the random salt and a check value (a known
//! plaintext, encrypted), so a wrong passphrase is one clear error instead of
//! a failure deep inside a state load.

use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::XChaCha20Poly1305;

use crate::error::{Error, Result};

const PREFIX: &str = "v1:";
const CHECK_PLAINTEXT: &[u8] = b"iac-passphrase-check";

/// Encrypts and decrypts secret values of one stack.
#[derive(Clone)]
pub struct Crypter {
    cipher: Arc<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Crypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crypter(..)")
    }
}

impl Crypter {
    /// Derives the key from a passphrase and salt.
    pub fn derive(passphrase: &str, salt: &[u8]) -> Result<Crypter> {
        let mut key = [0u8; 32];
        Argon2::default()
            .hash_password_into(passphrase.as_bytes(), salt, &mut key)
            .map_err(|e| Error::Secrets(format!("key derivation failed: {e}")))?;
        Ok(Crypter { cipher: Arc::new(XChaCha20Poly1305::new(&key.into())) })
    }

    /// Makes a new random salt.
    pub fn new_salt() -> Vec<u8> {
        use rand::RngCore;
        let mut s = vec![0u8; 16];
        rand::thread_rng().fill_bytes(&mut s);
        s
    }

    /// Encrypts bytes to `v1:<base64(nonce || ciphertext)>`.
    pub fn encrypt(&self, plain: &[u8]) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self.cipher.encrypt(&nonce, plain).expect("XChaCha20-Poly1305 encryption cannot fail");
        let mut buf = nonce.to_vec();
        buf.extend_from_slice(&ct);
        format!("{PREFIX}{}", B64.encode(buf))
    }

    /// Decrypts what [`Crypter::encrypt`] produced.
    pub fn decrypt(&self, sealed: &str) -> Result<Vec<u8>> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|r| r.len() > 24)
            .ok_or_else(|| Error::Secrets("a sealed value is malformed".into()))?;
        let (nonce, ct) = raw.split_at(24);
        self.cipher
            .decrypt(nonce.into(), ct)
            .map_err(|_| Error::Secrets("a secret could not be decrypted: wrong passphrase or tampered value".into()))
    }

    /// The check value stored next to the salt.
    pub fn make_check(&self) -> String {
        self.encrypt(CHECK_PLAINTEXT)
    }

    /// Whether `check` was made with this key.
    pub fn verify_check(&self, check: &str) -> bool {
        self.decrypt(check).map(|p| p == CHECK_PLAINTEXT).unwrap_or(false)
    }
}

/// Where the passphrase comes from: `IAC_PASSPHRASE`, else a prompt on a
/// terminal. Asked at most once per process.
#[derive(Debug, Default)]
pub struct Passphrase {
    cached: OnceLock<String>,
}

impl Passphrase {
    /// The passphrase, reading it on first use.
    pub fn get(&self, stack: &str) -> Result<&str> {
        if let Some(p) = self.cached.get() {
            return Ok(p);
        }
        let p = match std::env::var("IAC_PASSPHRASE") {
            Ok(p) => p,
            Err(_) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
                rpassword::prompt_password(format!("Passphrase for stack `{stack}`: "))
                    .map_err(|e| Error::Secrets(format!("could not read the passphrase: {e}")))?
            }
            Err(_) => {
                return Err(Error::Secrets(format!(
                    "stack `{stack}` has secrets: set IAC_PASSPHRASE (no terminal to ask on)"
                )))
            }
        };
        Ok(self.cached.get_or_init(|| p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let salt = Crypter::new_salt();
        let c = Crypter::derive("correct horse", &salt).unwrap();
        let sealed = c.encrypt(b"hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(c.decrypt(&sealed).unwrap(), b"hunter2");
        let wrong = Crypter::derive("wrong", &salt).unwrap();
        assert!(wrong.decrypt(&sealed).is_err());
        assert!(c.verify_check(&c.make_check()));
        assert!(!wrong.verify_check(&c.make_check()));
    }
}
