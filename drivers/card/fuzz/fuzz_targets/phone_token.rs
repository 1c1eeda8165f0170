//! Verifying arbitrary phone answers never panics.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use kiosk_card::phone::{TrustedIssuers, key_id, verify_answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let issuer = SigningKey::from_bytes(&[7; 32]).verifying_key();
    let mut trusted = TrustedIssuers::new();
    trusted.add(&key_id(&issuer), "fuzz issuer", issuer);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let _ = verify_answer(data, &[0x42; 32], &trusted, now);
});
