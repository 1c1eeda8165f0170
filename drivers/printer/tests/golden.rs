//! Golden bytes: the German reference receipt on each built-in profile must encode to exactly
//! the bytes in `tests/golden/`. A change here changes what real printers get: review the
//! difference, then regenerate with `UPDATE_GOLDEN=1 cargo test -p kiosk-printer --test golden`.

use std::path::PathBuf;

use kiosk_printer::samples::SampleLanguage;
use kiosk_printer::{PrintJob, PrinterProfile};

fn golden_path(profile: &PrinterProfile) -> PathBuf {
    let name: String = profile
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("reference-de-{name}.bin"))
}

#[test]
fn reference_receipt_matches_golden_bytes_on_every_profile() {
    let receipt = SampleLanguage::German.receipt();
    for profile in PrinterProfile::builtin() {
        let job = PrintJob::build(&receipt, &profile).unwrap();
        let path = golden_path(&profile);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, job.bytes()).unwrap();
        }
        let golden = std::fs::read(&path).unwrap_or_else(|error| {
            panic!("{}: {error}; run with UPDATE_GOLDEN=1", path.display())
        });
        if let Some(offset) = job
            .bytes()
            .iter()
            .zip(&golden)
            .position(|(new, old)| new != old)
        {
            let window = |bytes: &[u8]| {
                format!(
                    "{:02X?}",
                    &bytes[offset.saturating_sub(8)..(offset + 8).min(bytes.len())]
                )
            };
            panic!(
                "{}: first difference at byte {offset}: now {} golden {}",
                profile.name,
                window(job.bytes()),
                window(&golden)
            );
        }
        assert_eq!(
            job.bytes().len(),
            golden.len(),
            "{}: length differs",
            profile.name
        );
    }
}

#[test]
fn reference_receipt_starts_with_init_and_page_and_never_contains_utf8() {
    let receipt = SampleLanguage::German.receipt();
    let profile = PrinterProfile::generic_80mm();
    let job = PrintJob::build(&receipt, &profile).unwrap();
    // ESC @, then ESC t 0 (PC437, the profile's first page).
    assert_eq!(&job.bytes()[..5], b"\x1b@\x1bt\x00");
    // "ü" in PC437/PC850 is 0x81; its UTF-8 form C3 BC must not appear.
    assert!(!job.bytes().windows(2).any(|pair| pair == [0xC3, 0xBC]));
    assert!(
        job.bytes().windows(2).any(|pair| pair == b"\x1dV"),
        "cuts on a cutter profile"
    );
    let narrow = PrintJob::build(&receipt, &PrinterProfile::generic_58mm()).unwrap();
    assert!(
        !narrow.bytes().windows(2).any(|pair| pair == b"\x1dV"),
        "no cut without cutter"
    );
    assert!(
        !narrow.bytes().windows(3).any(|w| w == b"\x1d(k"),
        "no native QR on 58 mm"
    );
}
