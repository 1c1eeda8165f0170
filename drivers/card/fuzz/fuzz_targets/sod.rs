//! EF.SOD parsing and passive authentication (via dmrtd) never panic.
#![no_main]

use dmrtd::auth::passive::{DataGroup, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dg1 = [0x61, 0x03, 0x5F, 0x1F, 0x00];
    let _ = verify(data, &[DataGroup { number: 1, bytes: &dg1 }], &[]);
    let _ = dmrtd::lds::df1::efsod::EfSOD::from_bytes(data.to_vec());
});
