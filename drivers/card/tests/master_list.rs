//! CSCA master lists (ICAO Doc 9303-12) in the CSCA store, with lists from the generated
//! test PKI in every signature algorithm it offers.

use kiosk_card::{AccessKey, Authenticity, CscaStore, ErrorKind, read_passport};
use kiosk_virtual_cards::{
    CurveParameters, InProcessCard, MasterListFlaw, SignatureAlgorithm, TestPki, VirtualPassport,
};

const MRZ: &str = concat!(
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
);

/// What the refusal of an untrusted signer says, and its advice.
const NOT_CONFIGURED: &str = "was not issued by a CSCA certificate configured on this kiosk";
const ADVICE: &str = "as a .der/.crt file into reader.csca_dir";

fn read_with(store: &CscaStore, pki: &TestPki) -> Authenticity {
    let passport = VirtualPassport::with_pace(MRZ, "123456", pki).unwrap();
    let mut card = InProcessCard::new(passport);
    read_passport(&mut card, &AccessKey::Can("123456".into()), store)
        .unwrap()
        .authenticity
}

/// A store that trusts `pki`'s CSCA, as a certificate file would configure it.
fn configured(pki: &TestPki) -> CscaStore {
    let mut store = CscaStore::new();
    store.add_der(pki.csca_certificate()).unwrap();
    store
}

#[test]
fn every_algorithm_loads_a_valid_list_and_its_passports_verify() {
    let foreign = TestPki::generate("Freedonia");
    for algorithm in SignatureAlgorithm::ALL {
        let utopia = TestPki::generate_with("Utopia", algorithm);
        let list = utopia.master_list(&[foreign.csca_certificate()], MasterListFlaw::None);
        let mut store = configured(&utopia);
        assert_eq!(store.add_master_list(&list).unwrap(), 1, "{algorithm:?}");
        assert_eq!(store.len(), 2);
        assert_eq!(
            read_with(&store, &foreign),
            Authenticity::Verified,
            "{algorithm:?}"
        );
        // The document signer chains to the configured CSCA of this algorithm too.
        assert_eq!(
            read_with(&store, &utopia),
            Authenticity::Verified,
            "{algorithm:?}"
        );
        // Loading the same list again adds nothing twice.
        assert_eq!(store.add_master_list(&list).unwrap(), 0);
        assert_eq!(store.len(), 2);
    }
}

#[test]
fn a_list_cannot_vouch_for_itself() {
    for algorithm in [
        SignatureAlgorithm::EcdsaP256(CurveParameters::Named),
        SignatureAlgorithm::EcdsaBrainpoolP384r1(CurveParameters::Explicit),
        SignatureAlgorithm::RsaPss,
    ] {
        let utopia = TestPki::generate_with("Utopia", algorithm);
        // The list carries the CSCA that issued its signer; the store knows nothing.
        let list = utopia.master_list(&[utopia.csca_certificate()], MasterListFlaw::None);
        let mut store = CscaStore::new();
        let error = store.add_master_list(&list).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AuthenticationFailed);
        assert!(error.message().contains(NOT_CONFIGURED), "{error}");
        assert!(
            error.message().contains("cannot vouch for itself"),
            "{error}"
        );
        assert!(error.message().contains(ADVICE), "{error}");
        assert!(store.is_empty());
    }
}

#[test]
fn only_configured_certificates_vouch_for_a_list() {
    let utopia = TestPki::generate("Utopia");
    let foreign = TestPki::generate("Freedonia");
    // Another country's CSCA does not vouch for Utopia's signer.
    let utopian_list = utopia.master_list(&[foreign.csca_certificate()], MasterListFlaw::None);
    let mut store = configured(&foreign);
    let error = store.add_master_list(&utopian_list).unwrap_err();
    assert!(error.message().contains(NOT_CONFIGURED), "{error}");
    assert!(
        error.message().contains("CN=Utopia test CSCA"),
        "names the missing issuer: {error}"
    );
    assert_eq!(store.len(), 1);

    // A CSCA learned from a list is trusted for passports, not for other lists.
    let mut store = configured(&utopia);
    assert_eq!(store.add_master_list(&utopian_list).unwrap(), 1);
    let foreign_list = foreign.master_list(&[utopia.csca_certificate()], MasterListFlaw::None);
    let error = store.add_master_list(&foreign_list).unwrap_err();
    assert!(error.message().contains(NOT_CONFIGURED), "{error}");
    assert_eq!(store.len(), 2);
}

#[test]
fn flawed_master_lists_are_refused_in_every_algorithm() {
    let foreign = TestPki::generate("Freedonia");
    for algorithm in SignatureAlgorithm::ALL {
        let utopia = TestPki::generate_with("Utopia", algorithm);
        let cscas = [utopia.csca_certificate(), foreign.csca_certificate()];
        for (flaw, kind, says) in [
            (
                MasterListFlaw::ContentChangedAfterSigning,
                ErrorKind::AuthenticationFailed,
                "changed after it was signed",
            ),
            (
                MasterListFlaw::SignatureBroken,
                ErrorKind::AuthenticationFailed,
                "the master list's signature is not valid",
            ),
            (
                MasterListFlaw::SignerFromUnknownCsca,
                ErrorKind::AuthenticationFailed,
                NOT_CONFIGURED,
            ),
            (
                MasterListFlaw::SignerCertificateForged,
                ErrorKind::AuthenticationFailed,
                NOT_CONFIGURED,
            ),
            (
                MasterListFlaw::NotAMasterList,
                ErrorKind::InvalidResponse,
                "not a CSCA master list (content type 2.23.136.1.1.1",
            ),
        ] {
            let mut store = configured(&utopia);
            let error = store
                .add_master_list(&utopia.master_list(&cscas, flaw))
                .unwrap_err();
            assert_eq!(error.kind(), kind, "{algorithm:?} {flaw:?}: {error}");
            assert!(
                error.message().contains(says),
                "{algorithm:?} {flaw:?}: {error}"
            );
            assert_eq!(store.len(), 1, "{algorithm:?} {flaw:?} added certificates");
            let advice = match flaw {
                MasterListFlaw::NotAMasterList => "use the .ml file",
                MasterListFlaw::SignerFromUnknownCsca | MasterListFlaw::SignerCertificateForged => {
                    ADVICE
                }
                _ => "download the master list again",
            };
            assert!(error.message().contains(advice), "{error}");
        }
    }
}

#[test]
fn garbage_and_single_certificates_are_not_master_lists() {
    let utopia = TestPki::generate("Utopia");
    let valid = utopia.master_list(&[utopia.csca_certificate()], MasterListFlaw::None);
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"-----BEGIN CERTIFICATE-----".to_vec(),
        utopia.csca_certificate().to_vec(),
        vec![0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
    ];
    // Truncations of a valid list.
    inputs.extend((0..valid.len()).step_by(7).map(|len| valid[..len].to_vec()));
    // A changed bit anywhere is refused, or (in the few fields CMS leaves unsigned, like
    // the SignedData version) changes nothing that is loaded. The list holds only the
    // configured CSCA, which is not added twice.
    for index in 0..valid.len() {
        let mut changed = valid.clone();
        changed[index] ^= 0x04;
        let mut store = configured(&utopia);
        match store.add_master_list(&changed) {
            Ok(added) => assert_eq!(added, 0, "byte {index}"),
            Err(error) => {
                assert!(
                    error.message().contains("master list"),
                    "byte {index}: {error}"
                );
            }
        }
        assert_eq!(store.len(), 1, "byte {index}");
    }
    for input in inputs {
        let mut store = configured(&utopia);
        let Err(error) = store.add_master_list(&input) else {
            panic!("accepted {} bytes of garbage", input.len());
        };
        assert!(
            error.message().contains("master list") || error.message().contains("content type"),
            "{error}"
        );
        assert_eq!(store.len(), 1);
    }
}

#[test]
fn only_a_current_master_list_signer_may_sign_a_list() {
    let foreign = TestPki::generate("Freedonia");
    for algorithm in [
        SignatureAlgorithm::EcdsaP256(CurveParameters::Named),
        SignatureAlgorithm::EcdsaBrainpoolP384r1(CurveParameters::Explicit),
        SignatureAlgorithm::RsaPkcs1v15,
    ] {
        let utopia = TestPki::generate_with("Utopia", algorithm);
        for (flaw, says) in [
            // Issued by the same, configured CSCA, but for EF.SOD, not for lists.
            (
                MasterListFlaw::SignedByDocumentSigner,
                "lacks the extended key usage id-icao-cscaMasterListSigningKey (2.23.136.1.1.3)",
            ),
            (MasterListFlaw::SignerExpired, "has expired"),
            (MasterListFlaw::SignerIsCa, "is a CA certificate"),
        ] {
            let mut store = configured(&utopia);
            let error = store
                .add_master_list(&utopia.master_list(&[foreign.csca_certificate()], flaw))
                .unwrap_err();
            assert_eq!(
                error.kind(),
                ErrorKind::AuthenticationFailed,
                "{algorithm:?} {flaw:?}: {error}"
            );
            assert!(
                error
                    .message()
                    .starts_with("the master list signer's certificate"),
                "{error}"
            );
            assert!(
                error.message().contains(says),
                "{algorithm:?} {flaw:?}: {error}"
            );
            assert!(
                error.message().contains("download the master list again"),
                "{error}"
            );
            assert_eq!(store.len(), 1, "{algorithm:?} {flaw:?} added certificates");
        }
    }
}

/// RFC 3370 section 3.2: a SignerInfo may name rsaEncryption, meaning PKCS#1 v1.5 with
/// its digestAlgorithm.
#[test]
fn a_signer_info_naming_rsa_encryption_is_accepted() {
    let foreign = TestPki::generate("Freedonia");
    let utopia = TestPki::generate_with("Utopia", SignatureAlgorithm::RsaPkcs1v15);
    let list = utopia.master_list(
        &[foreign.csca_certificate()],
        MasterListFlaw::SignerInfoNamesRsaEncryption,
    );
    let mut store = configured(&utopia);
    assert_eq!(store.add_master_list(&list).unwrap(), 1);
    assert_eq!(read_with(&store, &foreign), Authenticity::Verified);

    // The name still has to fit the signer's key.
    let ecdsa = TestPki::generate("Utopia");
    let list = ecdsa.master_list(
        &[foreign.csca_certificate()],
        MasterListFlaw::SignerInfoNamesRsaEncryption,
    );
    let mut store = configured(&ecdsa);
    let error = store.add_master_list(&list).unwrap_err();
    assert!(
        error.message().contains("does not match the signer's key"),
        "{error}"
    );
    assert_eq!(store.len(), 1);
}
