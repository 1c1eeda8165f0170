//! CSCA master lists (CMS SignedData, X.509, signatures) never panic, whatever the file.
#![no_main]

use std::sync::OnceLock;

use kiosk_card::CscaStore;
use kiosk_virtual_cards::TestPki;
use libfuzzer_sys::fuzz_target;

/// The CSCA the seed lists are signed under: configured, so a mutated list reaches the
/// signature and certificate checks instead of stopping at "unknown signer".
fn csca() -> &'static [u8] {
    static CSCA: OnceLock<Vec<u8>> = OnceLock::new();
    CSCA.get_or_init(|| TestPki::generate("Fuzz").csca_certificate().to_vec())
}

fuzz_target!(|data: &[u8]| {
    let mut store = CscaStore::new();
    if store.add_der(csca()).is_ok() {
        let _ = store.add_master_list(data);
    }
});
