//! Host-side cost of reading a passport: PACE (or BAC) + secure messaging + EF.COM + DG1 +
//! EF.SOD + passive authentication against the in-process virtual passport.
//!
//! Run with `cargo bench -p kiosk-card --bench emrtd_read`. The time the virtual chip
//! spends answering (its own 3DES and MACs) is measured in the same run and subtracted, so
//! the figure is what the kiosk's CPU does; it is compared with the 30 ms target.
//! APDUs are compared with the minimum the protocol needs.

use std::time::{Duration, Instant};

use kiosk_card::emrtd::last_read_apdu_count;
use kiosk_card::{AccessKey, Authenticity, Card, CscaStore, read_passport};
use kiosk_virtual_cards::{InProcessCard, TestPki, VirtualPassport};

const MRZ: &str = concat!(
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
);
const TARGET: Duration = Duration::from_millis(30);

/// The minimum number of APDUs a read needs (docs/performance.md, "Card reading"):
/// EF.CardAccess by short file identifier (`ceil(length / 256)` reads, or one answered
/// 6A82 on a BAC-only chip); PACE: MSE:Set AT, four GENERAL AUTHENTICATE and SELECT
/// application, or BAC: SELECT application, GET CHALLENGE and EXTERNAL AUTHENTICATE; then
/// EF.COM, DG1 and EF.SOD in reads of the largest plain length whose protected answer
/// fits a short response APDU: 223 bytes with AES (PACE), 231 with 3DES (BAC).
fn minimum_apdus(passport: &VirtualPassport, pace: bool) -> usize {
    let card_access = passport.file_len(0x1C).map_or(1, |len| len.div_ceil(256));
    let (handshake, chunk) = if pace { (6, 223) } else { (3, 231) };
    let files: usize = [0x1E, 0x01, 0x1D]
        .into_iter()
        .map(|sfi| {
            passport
                .file_len(sfi)
                .expect("virtual passport file")
                .div_ceil(chunk)
        })
        .sum();
    card_access + handshake + files
}
const ROUNDS: u32 = 50;

/// Measures the time spent inside the virtual chip.
struct Timed<C> {
    card: C,
    inside: Duration,
}

impl<C: Card> Card for Timed<C> {
    fn atr(&self) -> &[u8] {
        self.card.atr()
    }

    fn transmit_raw(&mut self, command: &[u8]) -> kiosk_card::Result<Vec<u8>> {
        let started = Instant::now();
        let response = self.card.transmit_raw(command);
        self.inside += started.elapsed();
        response
    }
}

struct Figures {
    total: Duration,
    chip: Duration,
    apdus: usize,
}

fn measure(make: impl Fn() -> VirtualPassport, key: &AccessKey, cscas: &CscaStore) -> Figures {
    let mut figures = Figures {
        total: Duration::ZERO,
        chip: Duration::ZERO,
        apdus: 0,
    };
    for round in 0..=ROUNDS {
        let mut card = Timed {
            card: InProcessCard::new(make()),
            inside: Duration::ZERO,
        };
        let started = Instant::now();
        let data = read_passport(&mut card, key, cscas).expect("passport read");
        let elapsed = started.elapsed();
        assert_eq!(data.authenticity, Authenticity::Verified);
        // Round 0 warms caches and lazy statics.
        if round > 0 {
            figures.total += elapsed;
            figures.chip += card.inside;
            figures.apdus = last_read_apdu_count();
        }
    }
    figures
}

fn report(name: &str, figures: &Figures, minimum: usize) {
    let host = figures.total.saturating_sub(figures.chip) / ROUNDS;
    println!("eMRTD read with {name} + SM + EF.COM + DG1 + EF.SOD + passive authentication");
    println!("  rounds:            {ROUNDS}");
    println!("  total per read:    {:?}", figures.total / ROUNDS);
    println!(
        "  virtual chip:      {:?} (baseline, subtracted)",
        figures.chip / ROUNDS
    );
    println!(
        "  host side:         {host:?} = {:.2} x target {TARGET:?}",
        host.as_secs_f64() / TARGET.as_secs_f64()
    );
    println!(
        "  APDUs per read:    {} vs minimum {minimum} ({:+})",
        figures.apdus,
        figures.apdus as i64 - minimum as i64
    );
}

fn main() {
    let pki = TestPki::generate("Utopia");
    let mut cscas = CscaStore::new();
    cscas.add_der(pki.csca_certificate()).expect("test CSCA");
    let can = AccessKey::Can("123456".into());
    let pace = measure(
        || VirtualPassport::with_pace(MRZ, "123456", &pki).expect("virtual passport"),
        &can,
        &cscas,
    );
    let pace_minimum = minimum_apdus(
        &VirtualPassport::with_pace(MRZ, "123456", &pki).expect("virtual passport"),
        true,
    );
    report(
        "PACE (CAN, ECDH-GM brainpoolP256r1, AES-128)",
        &pace,
        pace_minimum,
    );
    let mrz = AccessKey::Mrz {
        document_number: "L898902C3".into(),
        date_of_birth: "740812".into(),
        date_of_expiry: "120415".into(),
    };
    let bac = measure(
        || VirtualPassport::new(MRZ, &pki).expect("virtual passport"),
        &mrz,
        &cscas,
    );
    let bac_minimum = minimum_apdus(
        &VirtualPassport::new(MRZ, &pki).expect("virtual passport"),
        false,
    );
    report("BAC", &bac, bac_minimum);
}
