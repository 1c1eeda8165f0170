//! Card UIDs only ever leave the reader check as a hash salted once per run.
//!
//! A UID has only 4 to 10 bytes: any hash whose salt is known can be reversed by trying
//! every UID. So the salt is random, lives only in this process and is never written
//! anywhere. The hash proves a UID was read and shows whether two readings in the same
//! report came from the same card; it cannot be traced back to the card.

use sha2::{Digest, Sha256};

/// A per-run random salt for UID hashes (never stored, never printed).
pub struct UidSalt([u8; 16]);

impl std::fmt::Debug for UidSalt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UidSalt([REDACTED])")
    }
}

impl UidSalt {
    /// A fresh salt from the operating system's random source.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)?;
        Ok(Self(salt))
    }

    /// The first 16 hex digits of SHA-256(salt ‖ UID).
    pub fn hash(&self, uid: &[u8]) -> String {
        let digest = Sha256::new()
            .chain_update(self.0)
            .chain_update(uid)
            .finalize();
        digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}
