//! A staff machine with known credentials and a clock the test moves.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHasher, SaltString};
use kiosk_staff::{
    AuditEntry, CardHash, CardUid, DeadLetterInfo, Now, PinDigit, PinHash, PresentedToken,
    StaffConfig, StaffCredentials, StaffEffect, StaffEvent, StaffMode, StaffStatus, TokenKey,
    sign_token,
};
use uuid::Uuid;

/// The staff PIN of the tests.
pub const PIN: &str = "482916";
/// The staff card's UID.
pub const STAFF_UID: [u8; 7] = [0x04, 0x5a, 0x21, 0x9c, 0x33, 0x80, 0x01];
/// The token signing key's seed.
pub const SEED: [u8; 32] = [42; 32];
/// A dead letter in the status.
pub const DEAD: Uuid = Uuid::from_u128(0x1e2d_3c4b_5a69_4788_97a6_b5c4_d3e2_f101);

/// An Argon2id PHC string with tiny parameters: fast to verify in tests,
/// parsed and verified by exactly the same code as a real one.
pub fn cheap_hash(pin: &str) -> String {
    let params = argon2::Params::new(8, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"kiosk-staff-test").unwrap();
    argon
        .hash_password(pin.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

pub fn credentials() -> StaffCredentials {
    StaffCredentials::new(
        Some(PinHash::parse(&cheap_hash(PIN)).unwrap()),
        vec![CardHash::of(&CardUid::new(STAFF_UID.to_vec()))],
        vec![TokenKey::from_seed(&SEED)],
    )
}

/// 2026-11-24 08:00 UTC.
pub fn start_wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_478_400 + 8 * 3600)
}

pub struct Harness {
    pub staff: StaffMode,
    pub elapsed: Duration,
    /// Every effect so far.
    pub log: Vec<StaffEffect>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(StaffConfig::default())
    }

    pub fn with_config(config: StaffConfig) -> Self {
        Self {
            staff: StaffMode::new(config, credentials()),
            elapsed: Duration::from_secs(1000),
            log: Vec::new(),
        }
    }

    pub fn now(&self) -> Now {
        Now {
            elapsed: self.elapsed,
            wall: start_wall() + self.elapsed,
        }
    }

    pub fn send(&mut self, event: StaffEvent) -> Vec<StaffEffect> {
        let effects = self.staff.handle(event, self.now());
        self.log.extend(effects.iter().cloned());
        effects
    }

    pub fn advance(&mut self, by: Duration) -> Vec<StaffEffect> {
        self.elapsed += by;
        self.send(StaffEvent::Tick)
    }

    pub fn type_pin(&mut self, pin: &str) -> Vec<StaffEffect> {
        for c in pin.chars() {
            self.send(StaffEvent::PinDigit(PinDigit::from_char(c).unwrap()));
        }
        self.send(StaffEvent::PinSubmit)
    }

    /// Gesture and the right PIN.
    pub fn login(&mut self) {
        self.send(StaffEvent::OpenRequested);
        self.type_pin(PIN);
        self.send(StaffEvent::StatusUpdated(status()));
    }

    pub fn token(&self, staff_id: &str, valid_for: Duration) -> PresentedToken {
        PresentedToken::new(sign_token(&SEED, staff_id, self.now().wall + valid_for).unwrap())
    }

    /// The audit entries among the effects.
    pub fn audits(&self) -> Vec<AuditEntry> {
        audits(&self.log)
    }
}

pub fn audits(effects: &[StaffEffect]) -> Vec<AuditEntry> {
    effects
        .iter()
        .filter_map(|e| match e {
            StaffEffect::Audit(entry) => Some(entry.clone()),
            _ => None,
        })
        .collect()
}

pub fn status() -> StaffStatus {
    StaffStatus {
        kiosk_id: "ge-rathaus-01".into(),
        queue_depth: 3,
        oldest_undelivered_at: Some(start_wall()),
        dead_letters: vec![DeadLetterInfo {
            id: DEAD,
            reference: "GE-2026-7Q4M-K2".into(),
            service_id: "dog-tax".into(),
            created_at: start_wall(),
            attempts: 4,
            last_error_class: "HTTP 422 (schema)".into(),
        }],
        last_sync_at: Some(start_wall()),
        last_sync_attempt_at: Some(start_wall()),
        printer: kiosk_staff::PrinterState::Ready,
        reader: kiosk_staff::ReaderState::Ready,
        catalogue_version: "2026.11.2".into(),
        eid: kiosk_staff::EidClientState::Connected {
            version: "1.26.2".into(),
            readers: 1,
        },
    }
}
