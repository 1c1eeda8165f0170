//! NDEF parsing and record interpretation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = kiosk_card::ndef::parse_message(data) {
        for record in records {
            let _ = record.content();
        }
    }
});
