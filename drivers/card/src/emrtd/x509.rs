//! X.509 certificates and the signature schemes eMRTD PKIs use, for CSCA master lists.
//!
//! Certificates are parsed by `x509-cert`; signatures are verified by RustCrypto: ECDSA
//! on NIST P-256, P-384, P-521 (`p256`, `p384`, `p521`) and brainpoolP256r1, P384r1
//! (`bp256`, `bp384`), named or with explicit domain parameters, and RSA PKCS#1 v1.5 and
//! RSASSA-PSS (`rsa`). Hashes come from `dmrtd`, which uses them for passive
//! authentication. Nothing cryptographic is computed here.
//!
//! Explicit EC domain parameters (ICAO 9303-12 asks CSCAs to use them) are matched against
//! the table of known curves below, never used as given, so a certificate cannot bring
//! its own (weak, or enormous) curve. brainpoolP512r1 has no RustCrypto crate yet and
//! `dmrtd` keeps its verifier for it private, so signatures on that curve are refused
//! with advice instead of being checked by hand-written arithmetic.

use std::time::Duration;

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetString, OctetStringRef, UintRef};
use der::oid::AssociatedOid;
use der::referenced::OwnedToRef;
use der::{Decode, Encode, Sequence, Tag, Tagged};
use dmrtd::auth::HashAlgo;
use hex_literal::hex;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierRef;

/// id-icao-cscaMasterListSigningKey (ICAO Doc 9303-12): the extended key usage a master
/// list signer certificate carries.
pub(crate) const MASTER_LIST_SIGNING_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.23.136.1.1.3");

/// Why a signature was not accepted. Never holds certificate data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unverified {
    /// The signature does not verify with the key: the signed data was changed or forged.
    Invalid,
    /// The key, algorithm or signature is not well-formed.
    Malformed(&'static str),
    /// A scheme this kiosk does not check: what it is and why, as in "signed with …".
    Unsupported(&'static str),
}

type Checked<T> = Result<T, Unverified>;

/// What the refusal of brainpoolP512r1 says.
pub(crate) const BRAINPOOL_P512R1: &str = "brainpoolP512r1, which this kiosk cannot check yet \
                                            (there is no maintained Rust implementation of \
                                            that curve)";
const SHA1: &str = "SHA-1, which no longer protects a signature against forgery";
const UNKNOWN_CURVE: &str = "an elliptic curve this kiosk does not know (it checks NIST \
                             P-256, P-384, P-521, brainpoolP256r1 and brainpoolP384r1)";

/// An X.509 certificate with the exact bytes its issuer signed.
pub(crate) struct Certificate {
    parsed: x509_cert::Certificate,
    tbs: Vec<u8>,
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }, with the
/// TBS kept as it was encoded (re-encoding a parsed certificate could change its bytes).
#[derive(Sequence)]
struct SignedRaw<'a> {
    body: AnyRef<'a>,
    _algorithm: AnyRef<'a>,
    _signature: BitStringRef<'a>,
}

impl Certificate {
    /// Parses one DER certificate (exactly the bytes of `der`).
    pub(crate) fn from_der(der: &[u8]) -> Checked<Self> {
        let malformed = |_| Unverified::Malformed("a certificate that is not valid X.509 DER");
        let parsed = x509_cert::Certificate::from_der(der).map_err(malformed)?;
        let tbs = SignedRaw::from_der(der)
            .and_then(|raw| raw.body.to_der())
            .map_err(malformed)?;
        // The signed and the outer algorithm must agree (RFC 5280 section 4.1.1.2).
        if parsed.signature_algorithm != parsed.tbs_certificate.signature {
            return Err(Unverified::Malformed(
                "a certificate whose two signature algorithms differ",
            ));
        }
        Ok(Self { parsed, tbs })
    }

    pub(crate) fn issuer(&self) -> &Name {
        &self.parsed.tbs_certificate.issuer
    }

    pub(crate) fn subject(&self) -> &Name {
        &self.parsed.tbs_certificate.subject
    }

    pub(crate) fn serial_number(&self) -> &SerialNumber {
        &self.parsed.tbs_certificate.serial_number
    }

    /// The subjectKeyIdentifier extension's value, if there is one.
    pub(crate) fn subject_key_id(&self) -> Option<Vec<u8>> {
        const SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
        let extension = self
            .parsed
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|extension| extension.extn_id == SUBJECT_KEY_ID)?;
        OctetString::from_der(extension.extn_value.as_bytes())
            .ok()
            .map(OctetString::into_bytes)
    }

    /// The value of the extension `T` (parsed by `x509-cert`), `None` when absent. Two
    /// of the same kind are refused (RFC 5280 section 4.2).
    fn extension<'a, T: AssociatedOid + Decode<'a>>(
        &'a self,
        what: &'static str,
    ) -> Result<Option<T>, &'static str> {
        let mut found = self
            .parsed
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|extension| extension.extn_id == T::OID);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some(one), None) => T::from_der(one.extn_value.as_bytes())
                .map(Some)
                .map_err(|_| what),
            (Some(_), Some(_)) => Err(what),
        }
    }

    /// Checks what ICAO Doc 9303-12 and RFC 5280 ask of a master list signer's
    /// certificate at `now` (since the Unix epoch): the extended key usage
    /// id-icao-cscaMasterListSigningKey, digitalSignature when keyUsage is present, not
    /// a CA, and within its validity period. The error completes "the master list
    /// signer's certificate …".
    pub(crate) fn check_master_list_signer(&self, now: Duration) -> Result<(), &'static str> {
        let usage = self.extension::<ExtendedKeyUsage>(
            "has an extended key usage extension that is not valid DER or appears twice",
        )?;
        if !usage.is_some_and(|usage| usage.0.contains(&MASTER_LIST_SIGNING_KEY)) {
            return Err(
                "lacks the extended key usage id-icao-cscaMasterListSigningKey \
                 (2.23.136.1.1.3), so it is not a master list signer (it may be a document \
                 signer's certificate from the same CSCA)",
            );
        }
        let key_usage = self.extension::<KeyUsage>(
            "has a key usage extension that is not valid DER or appears twice",
        )?;
        if key_usage.is_some_and(|key_usage| !key_usage.digital_signature()) {
            return Err("has a key usage without digitalSignature, so it may not sign");
        }
        let constraints = self.extension::<BasicConstraints>(
            "has a basic constraints extension that is not valid DER or appears twice",
        )?;
        if constraints.is_some_and(|constraints| constraints.ca) {
            return Err("is a CA certificate, which must not sign master lists itself");
        }
        let validity = &self.parsed.tbs_certificate.validity;
        if now < validity.not_before.to_unix_duration() {
            return Err("is not valid yet (check the kiosk's clock)");
        }
        if now > validity.not_after.to_unix_duration() {
            return Err("has expired");
        }
        Ok(())
    }

    /// Whether `issuer` signed this certificate: the names match and the signature
    /// verifies with the issuer's key.
    pub(crate) fn is_issued_by(&self, issuer: &Certificate) -> Checked<()> {
        if self.issuer() != issuer.subject() {
            return Err(Unverified::Invalid);
        }
        let signature = self
            .parsed
            .signature
            .as_bytes()
            .ok_or(Unverified::Malformed("a signature that is not whole bytes"))?;
        issuer.verify(
            self.parsed.signature_algorithm.owned_to_ref(),
            &self.tbs,
            signature,
        )
    }

    /// Verifies `signature` over `message` with this certificate's public key and the
    /// signature `algorithm`.
    pub(crate) fn verify(
        &self,
        algorithm: AlgorithmIdentifierRef<'_>,
        message: &[u8],
        signature: &[u8],
    ) -> Checked<()> {
        self.verify_with(scheme(algorithm)?, message, signature)
    }

    /// Verifies `signature` over `message` with this certificate's public key and
    /// `scheme` (from [`scheme`] or [`signer_scheme`]).
    pub(crate) fn verify_with(
        &self,
        scheme: Scheme,
        message: &[u8],
        signature: &[u8],
    ) -> Checked<()> {
        let key_info = &self.parsed.tbs_certificate.subject_public_key_info;
        let key = key_info
            .subject_public_key
            .as_bytes()
            .ok_or(Unverified::Malformed(
                "a public key that is not whole bytes",
            ))?;
        let key_parameters = key_info.algorithm.parameters.as_ref().map(AnyRef::from);
        match (scheme, key_info.algorithm.oid) {
            (Scheme::Ecdsa(hash), EC_PUBLIC_KEY) => {
                let curve = KnownCurve::from_parameters(key_parameters)?;
                curve.verify(key, &hash.digest(message), signature)
            }
            (Scheme::RsaPkcs1(hash), RSA_ENCRYPTION) => {
                let key = rsa_key(key)?;
                key.verify(pkcs1v15(hash)?, &hash.digest(message), signature)
                    .map_err(|_| Unverified::Invalid)
            }
            (Scheme::RsaPss { hash, salt_len }, RSA_ENCRYPTION | RSASSA_PSS) => {
                let key = rsa_key(key)?;
                key.verify(pss(hash, salt_len)?, &hash.digest(message), signature)
                    .map_err(|_| Unverified::Invalid)
            }
            _ => Err(Unverified::Malformed(
                "a signature algorithm that does not match the signer's key",
            )),
        }
    }
}

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const PRIME_FIELD: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.1.1");

/// How a signature is to be checked, from its AlgorithmIdentifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Ecdsa(HashAlgo),
    RsaPkcs1(HashAlgo),
    RsaPss { hash: HashAlgo, salt_len: usize },
}

fn scheme(algorithm: AlgorithmIdentifierRef<'_>) -> Checked<Scheme> {
    let oid = algorithm.oid.to_string();
    let scheme = match oid.as_str() {
        "1.2.840.10045.4.1" | "1.2.840.113549.1.1.5" => return Err(Unverified::Unsupported(SHA1)),
        "1.2.840.10045.4.3.1" => Scheme::Ecdsa(HashAlgo::Sha224),
        "1.2.840.10045.4.3.2" => Scheme::Ecdsa(HashAlgo::Sha256),
        "1.2.840.10045.4.3.3" => Scheme::Ecdsa(HashAlgo::Sha384),
        "1.2.840.10045.4.3.4" => Scheme::Ecdsa(HashAlgo::Sha512),
        "1.2.840.113549.1.1.14" => Scheme::RsaPkcs1(HashAlgo::Sha224),
        "1.2.840.113549.1.1.11" => Scheme::RsaPkcs1(HashAlgo::Sha256),
        "1.2.840.113549.1.1.12" => Scheme::RsaPkcs1(HashAlgo::Sha384),
        "1.2.840.113549.1.1.13" => Scheme::RsaPkcs1(HashAlgo::Sha512),
        _ if algorithm.oid == RSASSA_PSS => return pss_scheme(algorithm.parameters),
        // Plain rsaEncryption names no hash: a CMS SignerInfo may use it, with the hash
        // of its digestAlgorithm (RFC 3370 section 3.2), which `signer_scheme` handles.
        _ if algorithm.oid == RSA_ENCRYPTION => {
            return Err(Unverified::Malformed(
                "rsaEncryption as a certificate's signature algorithm, which names no hash",
            ));
        }
        _ => {
            return Err(Unverified::Unsupported(
                "an unknown signature algorithm (this kiosk checks ECDSA, RSA PKCS#1 v1.5 and \
                 RSA-PSS)",
            ));
        }
    };
    Ok(scheme)
}

/// The scheme of a CMS SignerInfo's `signature_algorithm`, whose `digest` algorithm is
/// the SignerInfo's digestAlgorithm: like [`scheme`], and rsaEncryption (parameters NULL
/// or absent) means PKCS#1 v1.5 with that digest (RFC 3370 section 3.2).
pub(crate) fn signer_scheme(
    algorithm: AlgorithmIdentifierRef<'_>,
    digest: ObjectIdentifier,
) -> Checked<Scheme> {
    if algorithm.oid != RSA_ENCRYPTION {
        return scheme(algorithm);
    }
    if algorithm
        .parameters
        .is_some_and(|parameters| parameters.tag() != Tag::Null || !parameters.value().is_empty())
    {
        return Err(Unverified::Malformed(
            "rsaEncryption with parameters other than NULL",
        ));
    }
    Ok(Scheme::RsaPkcs1(hash(digest)?))
}

/// The hash a digest AlgorithmIdentifier's OID names; SHA-1 is refused.
pub(crate) fn hash(oid: ObjectIdentifier) -> Checked<HashAlgo> {
    let arcs: Vec<u64> = oid.arcs().map(u64::from).collect();
    match HashAlgo::from_oid(&arcs) {
        Some(HashAlgo::Sha1) => Err(Unverified::Unsupported(SHA1)),
        Some(hash) => Ok(hash),
        None => Err(Unverified::Unsupported(
            "an unknown hash algorithm (this kiosk checks SHA-224 to SHA-512)",
        )),
    }
}

/// RSASSA-PSS-params (RFC 8017 appendix A.2.3), decoded by the `pkcs1` crate.
fn pss_scheme(parameters: Option<AnyRef<'_>>) -> Checked<Scheme> {
    let malformed = Unverified::Malformed("invalid RSASSA-PSS parameters");
    let encoded = parameters
        .ok_or(malformed.clone())?
        .to_der()
        .map_err(|_| malformed.clone())?;
    // `pkcs1` refuses a trailerField other than 1 (trailerFieldBC, the only one RFC 8017
    // defines and `rsa` verifies), so no other trailer is ever assumed.
    let parameters = rsa::pkcs1::RsaPssParams::from_der(&encoded).map_err(|_| malformed)?;
    let mgf_hash = parameters.mask_gen.parameters.map(|hash| hash.oid);
    // `rsa` masks with the message hash, which is how eMRTD PKIs use PSS.
    if parameters.mask_gen.oid != MGF1 || mgf_hash != Some(parameters.hash.oid) {
        return Err(Unverified::Unsupported(
            "RSA-PSS with a mask function other than MGF1 over the message hash",
        ));
    }
    Ok(Scheme::RsaPss {
        hash: hash(parameters.hash.oid)?,
        salt_len: usize::from(parameters.salt_len),
    })
}

fn rsa_key(key: &[u8]) -> Checked<RsaPublicKey> {
    let key = RsaPublicKey::from_pkcs1_der(key).map_err(|_| {
        Unverified::Malformed("an RSA public key that is not valid (or longer than 4096 bits)")
    })?;
    if key.n().bits() < 2048 {
        return Err(Unverified::Unsupported(
            "an RSA key shorter than 2048 bits, which is too weak to trust",
        ));
    }
    Ok(key)
}

fn pkcs1v15(hash: HashAlgo) -> Checked<Pkcs1v15Sign> {
    use rsa::sha2::{Sha224, Sha256, Sha384, Sha512};
    match hash {
        HashAlgo::Sha1 => Err(Unverified::Unsupported(SHA1)),
        HashAlgo::Sha224 => Ok(Pkcs1v15Sign::new::<Sha224>()),
        HashAlgo::Sha256 => Ok(Pkcs1v15Sign::new::<Sha256>()),
        HashAlgo::Sha384 => Ok(Pkcs1v15Sign::new::<Sha384>()),
        HashAlgo::Sha512 => Ok(Pkcs1v15Sign::new::<Sha512>()),
    }
}

fn pss(hash: HashAlgo, salt_len: usize) -> Checked<Pss> {
    use rsa::sha2::{Sha224, Sha256, Sha384, Sha512};
    match hash {
        HashAlgo::Sha1 => Err(Unverified::Unsupported(SHA1)),
        HashAlgo::Sha224 => Ok(Pss::new_with_salt::<Sha224>(salt_len)),
        HashAlgo::Sha256 => Ok(Pss::new_with_salt::<Sha256>(salt_len)),
        HashAlgo::Sha384 => Ok(Pss::new_with_salt::<Sha384>(salt_len)),
        HashAlgo::Sha512 => Ok(Pss::new_with_salt::<Sha512>(salt_len)),
    }
}

/// The curves eMRTD PKIs use, and which crate verifies on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CurveId {
    P256,
    P384,
    P521,
    BrainpoolP256r1,
    BrainpoolP384r1,
    BrainpoolP512r1,
}

/// A short-Weierstrass curve y^2 = x^3 + ax + b over GF(p) with base point G of prime
/// order n, as its big-endian numbers: only to recognise explicit domain parameters.
struct KnownCurve {
    id: CurveId,
    oid: ObjectIdentifier,
    p: &'static [u8],
    a: &'static [u8],
    b: &'static [u8],
    gx: &'static [u8],
    gy: &'static [u8],
    n: &'static [u8],
}

/// NIST P-256, P-384, P-521 (FIPS 186-4) and brainpoolP256r1, P384r1, P512r1 (RFC 5639).
static CURVES: [KnownCurve; 6] = [
    KnownCurve {
        id: CurveId::P256,
        oid: ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
        p: &hex!("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
        a: &hex!("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
        b: &hex!("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
        gx: &hex!("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"),
        gy: &hex!("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"),
        n: &hex!("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
    },
    KnownCurve {
        id: CurveId::P384,
        oid: ObjectIdentifier::new_unwrap("1.3.132.0.34"),
        p: &hex!(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF"
        ),
        a: &hex!(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC"
        ),
        b: &hex!(
            "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF"
        ),
        gx: &hex!(
            "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7"
        ),
        gy: &hex!(
            "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F"
        ),
        n: &hex!(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973"
        ),
    },
    KnownCurve {
        id: CurveId::P521,
        oid: ObjectIdentifier::new_unwrap("1.3.132.0.35"),
        p: &hex!(
            "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        ),
        a: &hex!(
            "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC"
        ),
        b: &hex!(
            "0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00"
        ),
        gx: &hex!(
            "00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66"
        ),
        gy: &hex!(
            "011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650"
        ),
        n: &hex!(
            "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409"
        ),
    },
    KnownCurve {
        id: CurveId::BrainpoolP256r1,
        oid: ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.7"),
        p: &hex!("A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"),
        a: &hex!("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"),
        b: &hex!("26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6"),
        gx: &hex!("8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"),
        gy: &hex!("547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"),
        n: &hex!("A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"),
    },
    KnownCurve {
        id: CurveId::BrainpoolP384r1,
        oid: ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.11"),
        p: &hex!(
            "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53"
        ),
        a: &hex!(
            "7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826"
        ),
        b: &hex!(
            "04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11"
        ),
        gx: &hex!(
            "1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E"
        ),
        gy: &hex!(
            "8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315"
        ),
        n: &hex!(
            "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565"
        ),
    },
    KnownCurve {
        id: CurveId::BrainpoolP512r1,
        oid: ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.13"),
        p: &hex!(
            "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3"
        ),
        a: &hex!(
            "7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA"
        ),
        b: &hex!(
            "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723"
        ),
        gx: &hex!(
            "81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098EFF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822"
        ),
        gy: &hex!(
            "7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892"
        ),
        n: &hex!(
            "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069"
        ),
    },
];

/// ECParameters (RFC 3279 section 2.3.5, SEC1 C.2) for a prime field.
#[derive(Sequence)]
struct EcParameters<'a> {
    version: u8,
    field_id: FieldId<'a>,
    curve: Coefficients<'a>,
    base: OctetStringRef<'a>,
    order: UintRef<'a>,
    #[asn1(optional = "true")]
    cofactor: Option<UintRef<'a>>,
}

#[derive(Sequence)]
struct FieldId<'a> {
    field_type: ObjectIdentifier,
    prime: UintRef<'a>,
}

#[derive(Sequence)]
struct Coefficients<'a> {
    a: OctetStringRef<'a>,
    b: OctetStringRef<'a>,
    #[asn1(optional = "true")]
    _seed: Option<BitStringRef<'a>>,
}

/// Big-endian number bytes without leading zeros, so fixed-width and minimal encodings
/// of the same number compare equal.
fn number(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&byte| byte == 0).count();
    &bytes[zeros..]
}

/// ECDSA verification by a RustCrypto curve crate: `p256::ecdsa`-style modules (ecdsa
/// 0.16) or a curve type for `ecdsa` 0.17 (the Brainpool crates).
macro_rules! verify_with {
    (ecdsa_016 $module:ident, $key:expr, $prehash:expr, $signature:expr) => {{
        use $module::ecdsa::signature::hazmat::PrehashVerifier;
        let key = $module::ecdsa::VerifyingKey::from_sec1_bytes($key)
            .map_err(|_| Unverified::Malformed("a public key that is not a point on its curve"))?;
        let signature = $module::ecdsa::Signature::from_der($signature)
            .map_err(|_| Unverified::Malformed("an ECDSA signature that is not valid DER"))?;
        key.verify_prehash($prehash, &signature)
            .map_err(|_| Unverified::Invalid)
    }};
    (ecdsa_017 $curve:ty, $key:expr, $prehash:expr, $signature:expr) => {{
        use ecdsa::signature::hazmat::PrehashVerifier;
        let key = ecdsa::VerifyingKey::<$curve>::from_sec1_bytes($key)
            .map_err(|_| Unverified::Malformed("a public key that is not a point on its curve"))?;
        let signature = ecdsa::Signature::<$curve>::from_der($signature)
            .map_err(|_| Unverified::Malformed("an ECDSA signature that is not valid DER"))?;
        key.verify_prehash($prehash, &signature)
            .map_err(|_| Unverified::Invalid)
    }};
}

impl KnownCurve {
    /// The curve id-ecPublicKey's parameters name: a named-curve OID, or explicit
    /// ECParameters equal to a known curve's. A certificate never brings its own curve.
    fn from_parameters(parameters: Option<AnyRef<'_>>) -> Checked<&'static KnownCurve> {
        let unknown = Unverified::Unsupported(UNKNOWN_CURVE);
        let parameters = parameters.ok_or(unknown.clone())?;
        let curve = match parameters.tag() {
            Tag::ObjectIdentifier => {
                let oid: ObjectIdentifier = parameters.decode_as().map_err(|_| unknown.clone())?;
                CURVES.iter().find(|curve| curve.oid == oid)
            }
            Tag::Sequence => {
                let explicit: EcParameters<'_> =
                    parameters.decode_as().map_err(|_| unknown.clone())?;
                CURVES.iter().find(|curve| curve.matches(&explicit))
            }
            _ => None,
        };
        curve.ok_or(unknown)
    }

    /// Whether explicit parameters are exactly this curve (the seed is not needed: p, a,
    /// b, G and n pin the curve, and every curve here has cofactor 1).
    fn matches(&self, explicit: &EcParameters<'_>) -> bool {
        explicit.version == 1
            && explicit.field_id.field_type == PRIME_FIELD
            && number(explicit.field_id.prime.as_bytes()) == number(self.p)
            && number(explicit.curve.a.as_bytes()) == number(self.a)
            && number(explicit.curve.b.as_bytes()) == number(self.b)
            && number(explicit.order.as_bytes()) == number(self.n)
            && explicit
                .cofactor
                .is_none_or(|cofactor| cofactor.as_bytes() == [1])
            && self.is_generator(explicit.base.as_bytes())
    }

    /// Whether a SEC1 point (uncompressed, or compressed: x and the parity of y) is G.
    fn is_generator(&self, point: &[u8]) -> bool {
        let len = self.p.len();
        let y_is_odd = self.gy.last().is_some_and(|byte| byte & 1 == 1);
        match point {
            [0x04, coordinates @ ..] if coordinates.len() == 2 * len => {
                let (x, y) = coordinates.split_at(len);
                number(x) == number(self.gx) && number(y) == number(self.gy)
            }
            [prefix @ (0x02 | 0x03), x @ ..] if x.len() == len => {
                number(x) == number(self.gx) && (*prefix == 0x03) == y_is_odd
            }
            _ => false,
        }
    }

    /// Verifies a DER Ecdsa-Sig-Value over `digest` with the SEC1 point `key`.
    fn verify(&self, key: &[u8], digest: &[u8], signature: &[u8]) -> Checked<()> {
        // The ecdsa crates refuse a prehash shorter than half the field (SHA-256 on
        // P-521); zeros in front keep the number ECDSA takes from the hash the same.
        let mut prehash = vec![0u8; self.p.len().saturating_sub(digest.len())];
        prehash.extend_from_slice(digest);
        match self.id {
            CurveId::P256 => verify_with!(ecdsa_016 p256, key, &prehash, signature),
            CurveId::P384 => verify_with!(ecdsa_016 p384, key, &prehash, signature),
            CurveId::P521 => verify_with!(ecdsa_016 p521, key, &prehash, signature),
            CurveId::BrainpoolP256r1 => {
                verify_with!(ecdsa_017 bp256::r1::BrainpoolP256r1, key, &prehash, signature)
            }
            CurveId::BrainpoolP384r1 => {
                verify_with!(ecdsa_017 bp384::r1::BrainpoolP384r1, key, &prehash, signature)
            }
            CurveId::BrainpoolP512r1 => Err(Unverified::Unsupported(BRAINPOOL_P512R1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The secret scalars 1 and n - 1, as `width`-byte big-endian numbers.
    fn one_and_order_minus_one(curve: &KnownCurve) -> (Vec<u8>, Vec<u8>) {
        let width = curve.p.len();
        let mut one = vec![0u8; width];
        one[width - 1] = 1;
        let mut n = vec![0u8; width - curve.n.len()];
        n.extend_from_slice(curve.n);
        let mut below = n.clone();
        // n is odd, so n - 1 only changes the last byte.
        below[width - 1] -= 1;
        (one, below)
    }

    fn generator(curve: &KnownCurve) -> Vec<u8> {
        let width = curve.p.len();
        let pad = |value: &[u8]| {
            let value = number(value);
            [vec![0u8; width - value.len()], value.to_vec()].concat()
        };
        [vec![0x04], pad(curve.gx), pad(curve.gy)].concat()
    }

    /// The table is only used to recognise explicit parameters, but a typo would refuse
    /// real certificates: each curve's G and n must be what its crate computes with.
    #[test]
    fn the_curve_table_agrees_with_the_curve_crates() {
        for curve in &CURVES {
            let (one, below_n) = one_and_order_minus_one(curve);
            let mut n = vec![0u8; curve.p.len() - curve.n.len()];
            n.extend_from_slice(curve.n);
            let (g, below_ok, n_refused) = match curve.id {
                CurveId::P256 => {
                    use p256::ecdsa::SigningKey;
                    (
                        SigningKey::from_slice(&one).map(|key| {
                            key.verifying_key()
                                .to_encoded_point(false)
                                .as_bytes()
                                .to_vec()
                        }),
                        SigningKey::from_slice(&below_n).is_ok(),
                        SigningKey::from_slice(&n).is_err(),
                    )
                }
                CurveId::P384 => {
                    use p384::ecdsa::SigningKey;
                    (
                        SigningKey::from_slice(&one).map(|key| {
                            key.verifying_key()
                                .to_encoded_point(false)
                                .as_bytes()
                                .to_vec()
                        }),
                        SigningKey::from_slice(&below_n).is_ok(),
                        SigningKey::from_slice(&n).is_err(),
                    )
                }
                CurveId::P521 => {
                    use p521::ecdsa::{SigningKey, VerifyingKey};
                    (
                        SigningKey::from_slice(&one).map(|key| {
                            VerifyingKey::from(&key)
                                .to_encoded_point(false)
                                .as_bytes()
                                .to_vec()
                        }),
                        SigningKey::from_slice(&below_n).is_ok(),
                        SigningKey::from_slice(&n).is_err(),
                    )
                }
                CurveId::BrainpoolP256r1 => {
                    type SigningKey = ecdsa::SigningKey<bp256::r1::BrainpoolP256r1>;
                    (
                        Ok(SigningKey::from_slice(&one)
                            .map(|key| key.verifying_key().to_sec1_bytes().to_vec())
                            .unwrap_or_default()),
                        SigningKey::from_slice(&below_n).is_ok(),
                        SigningKey::from_slice(&n).is_err(),
                    )
                }
                CurveId::BrainpoolP384r1 => {
                    type SigningKey = ecdsa::SigningKey<bp384::r1::BrainpoolP384r1>;
                    (
                        Ok(SigningKey::from_slice(&one)
                            .map(|key| key.verifying_key().to_sec1_bytes().to_vec())
                            .unwrap_or_default()),
                        SigningKey::from_slice(&below_n).is_ok(),
                        SigningKey::from_slice(&n).is_err(),
                    )
                }
                // No crate to compare with: only recognised, to refuse it with advice.
                CurveId::BrainpoolP512r1 => continue,
            };
            let g = g.unwrap_or_else(|error| panic!("{:?}: {error}", curve.id));
            assert_eq!(g, generator(curve), "G of {:?}", curve.id);
            assert!(below_ok && n_refused, "n of {:?}", curve.id);
        }
    }

    fn explicit(curve: &KnownCurve, base: &[u8]) -> Vec<u8> {
        let uint = |value: &[u8]| UintRef::new(value).unwrap().to_der().unwrap();
        let octets = |value: &[u8]| OctetStringRef::new(value).unwrap().to_der().unwrap();
        let sequence = |parts: &[&[u8]]| {
            AnyRef::new(Tag::Sequence, &parts.concat())
                .unwrap()
                .to_der()
                .unwrap()
        };
        sequence(&[
            &1u8.to_der().unwrap(),
            &sequence(&[&PRIME_FIELD.to_der().unwrap(), &uint(curve.p)]),
            &sequence(&[&octets(curve.a), &octets(curve.b)]),
            &octets(base),
            &uint(curve.n),
            &1u8.to_der().unwrap(),
        ])
    }

    fn curve_of(parameters: &[u8]) -> Checked<CurveId> {
        let parameters = AnyRef::from_der(parameters).unwrap();
        KnownCurve::from_parameters(Some(parameters)).map(|curve| curve.id)
    }

    #[test]
    fn curves_are_named_or_explicit_and_only_known_ones() {
        for curve in &CURVES {
            assert_eq!(curve_of(&curve.oid.to_der().unwrap()), Ok(curve.id));
            let g = generator(curve);
            assert_eq!(curve_of(&explicit(curve, &g)), Ok(curve.id));
            // Compressed base point: x and the parity of y.
            let y_odd = g.last().unwrap() & 1 == 1;
            let compressed = [
                &[if y_odd { 0x03 } else { 0x02 }][..],
                &g[1..=curve.p.len()],
            ]
            .concat();
            assert_eq!(curve_of(&explicit(curve, &compressed)), Ok(curve.id));
            // Another base point, or a changed coefficient: not this curve.
            let mut other = g.clone();
            other[5] ^= 1;
            assert!(
                curve_of(&explicit(curve, &other)).is_err(),
                "{:?}",
                curve.id
            );
        }
        let unknown_named = ObjectIdentifier::new_unwrap("1.3.132.0.10")
            .to_der()
            .unwrap();
        assert_eq!(
            curve_of(&unknown_named),
            Err(Unverified::Unsupported(UNKNOWN_CURVE))
        );
        assert!(curve_of(&[0x05, 0x00]).is_err());
        assert!(KnownCurve::from_parameters(None).is_err());
    }

    #[test]
    fn brainpool_p512r1_is_refused_with_advice_not_checked() {
        let curve = CURVES
            .iter()
            .find(|curve| curve.id == CurveId::BrainpoolP512r1)
            .unwrap();
        assert_eq!(
            curve.verify(&generator(curve), &[0; 64], &[0x30, 0x00]),
            Err(Unverified::Unsupported(BRAINPOOL_P512R1))
        );
        assert!(BRAINPOOL_P512R1.contains("cannot check yet"));
    }

    #[test]
    fn sha1_and_unknown_algorithms_are_refused() {
        let sha1 = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
        assert_eq!(hash(sha1), Err(Unverified::Unsupported(SHA1)));
        for oid in ["1.2.840.10045.4.1", "1.2.840.113549.1.1.5", "1.2.3.4"] {
            let algorithm = AlgorithmIdentifierRef {
                oid: ObjectIdentifier::new_unwrap(oid),
                parameters: None,
            };
            assert!(
                matches!(scheme(algorithm), Err(Unverified::Unsupported(_))),
                "{oid}"
            );
        }
    }

    fn unhex(digits: &str) -> Vec<u8> {
        (0..digits.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&digits[at..at + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_signer_info_may_name_rsa_encryption_with_its_digest() {
        let sha256 = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
        let null = AnyRef::new(Tag::Null, &[]).unwrap();
        for parameters in [None, Some(null)] {
            let algorithm = AlgorithmIdentifierRef {
                oid: RSA_ENCRYPTION,
                parameters,
            };
            assert_eq!(
                signer_scheme(algorithm, sha256),
                Ok(Scheme::RsaPkcs1(HashAlgo::Sha256))
            );
            // A certificate's signature algorithm must name its hash.
            assert!(scheme(algorithm).is_err());
        }
        let sha1 = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
        let plain = AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: None,
        };
        assert_eq!(
            signer_scheme(plain, sha1),
            Err(Unverified::Unsupported(SHA1))
        );
        let integer = AnyRef::new(Tag::Integer, &[1]).unwrap();
        let odd = AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: Some(integer),
        };
        assert!(matches!(
            signer_scheme(odd, sha256),
            Err(Unverified::Malformed(_))
        ));
    }

    #[test]
    fn rsa_pss_needs_trailer_field_one() {
        let sha256 = "300d06096086480165030402010500";
        let mgf1 = format!("301a06092a864886f70d010108{sha256}");
        let head = format!("a00f{sha256}a11c{mgf1}a203020120");
        let pss = |parameters: &str| {
            let parameters = unhex(parameters);
            scheme(AlgorithmIdentifierRef {
                oid: RSASSA_PSS,
                parameters: Some(AnyRef::from_der(&parameters).unwrap()),
            })
        };
        // trailerField absent: its DEFAULT, trailerFieldBC (1).
        assert_eq!(
            pss(&format!("3034{head}")),
            Ok(Scheme::RsaPss {
                hash: HashAlgo::Sha256,
                salt_len: 32
            })
        );
        for trailer in ["02", "00", "bc"] {
            assert!(
                matches!(
                    pss(&format!("3039{head}a3030201{trailer}")),
                    Err(Unverified::Malformed(_))
                ),
                "trailerField {trailer}"
            );
        }
    }

    #[test]
    fn garbage_is_unusable_not_a_panic() {
        for garbage in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 1],
            &[0x1F, 0x01, 0x00],
        ] {
            assert!(Certificate::from_der(garbage).is_err(), "{garbage:02X?}");
        }
    }
}
