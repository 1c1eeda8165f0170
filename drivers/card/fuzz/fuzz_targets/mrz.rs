//! MRZ parsing (TD1/TD2/TD3 via dmrtd) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kiosk_card::emrtd::parse_mrz(data);
});
