//! BER-TLV parsing of arbitrary card answers never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(objects) = kiosk_card::tlv::parse_all(data) {
        for object in objects {
            let _ = object.children();
        }
    }
    let _ = kiosk_card::tlv::find(data, 0x5F1F);
});
