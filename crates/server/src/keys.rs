//! API keys: generated at random, stored only as a SHA-256 hash. Keys are long random strings,
//! so a fast hash is enough (no dictionary to attack); it keeps key checks cheap at ingest rates.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.trim().as_bytes()))
}

/// A new key in OpsGenie's shape: a UUID-like 8-4-4-4-12 hex string (128 random bits).
pub fn generate_key() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hash_stably() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(hash_key(&a), hash_key(&format!(" {a}\n")));
        assert_ne!(hash_key(&a), hash_key(&b));
        assert_eq!(hash_key(&a).len(), 64);
    }
}
