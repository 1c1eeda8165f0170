//! A generated test PKI (CSCA -> document signer, CSCA -> master list signer), EF.SOD
//! signing and CSCA master lists (ICAO Doc 9303-12), in plain DER.
//!
//! Only for virtual passports and tests. EC keys are derived from a seed, so runs are
//! reproducible and different seeds give unrelated PKIs. RSA key generation is too slow
//! for tests, so RSA PKIs use fixed RSA-2048 keys from `test-keys/` (PKCS#8 DER, made
//! once with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 | openssl
//! pkcs8 -topk8 -nocrypt -outform DER`): RSA PKIs of different seeds share keys and
//! differ in their names only.

use bp256::r1::BrainpoolP256r1;
use bp384::r1::BrainpoolP384r1;
use p256::ecdsa::DerSignature;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::{RandomizedSigner, Signer as _};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::SignatureEncoding;
use sha2::{Digest, Sha256, Sha384};

const OID_ECDSA_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const OID_PRIME_FIELD: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_SECP384R1: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
const OID_BRAINPOOL_P256R1: &[u8] = &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07];
const OID_BRAINPOOL_P384R1: &[u8] = &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
const OID_SHA256_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
const OID_RSASSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A];
const OID_MGF1: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
const OID_LDS_SECURITY_OBJECT: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];
const OID_CSCA_MASTER_LIST: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x02];
const OID_CONTENT_TYPE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x0F];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];
const OID_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x25];
/// id-icao-cscaMasterListSigningKey, 2.23.136.1.1.3 (ICAO Doc 9303-12).
const OID_MASTER_LIST_SIGNING_KEY: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x03];
const OID_COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// RSASSA-PSS salt length of the test PKI (the SHA-256 output length, as usual).
const PSS_SALT_LEN: u8 = 32;

/// Encodes one DER TLV.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

fn oid(arcs: &[u8]) -> Vec<u8> {
    der(0x06, arcs)
}

fn int(value: u8) -> Vec<u8> {
    der(0x02, &[value])
}

/// A positive INTEGER from big-endian bytes.
fn uint(bytes: &[u8]) -> Vec<u8> {
    let mut value = vec![0u8];
    value.extend_from_slice(bytes);
    let zeros = value
        .iter()
        .zip(&value[1..])
        .take_while(|&(&byte, &next)| byte == 0 && next & 0x80 == 0)
        .count();
    der(0x02, &value[zeros..])
}

fn unhex(digits: &str) -> Vec<u8> {
    (0..digits.len())
        .step_by(2)
        .filter_map(|at| u8::from_str_radix(&digits[at..at + 2], 16).ok())
        .collect()
}

fn name(common_name: &str) -> Vec<u8> {
    let country = der(0x31, &seq(&[&oid(OID_COUNTRY), &der(0x13, b"UT")]));
    let cn = der(
        0x31,
        &seq(&[&oid(OID_COMMON_NAME), &der(0x0C, common_name.as_bytes())]),
    );
    seq(&[&country, &cn])
}

fn ecdsa_sha256() -> Vec<u8> {
    seq(&[&oid(OID_ECDSA_SHA256)])
}

fn p256_spki(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    ec_spki(&oid(OID_PRIME256V1), point.as_bytes())
}

fn ec_spki(parameters: &[u8], point: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    seq(&[
        &seq(&[&oid(OID_EC_PUBLIC_KEY), parameters]),
        &der(0x03, &bits),
    ])
}

fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let signature: DerSignature = key.sign(message);
    signature.as_bytes().to_vec()
}

/// How the test PKI's CSCA and master list signer sign (the document signer always
/// uses ECDSA P-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// ECDSA with SHA-256 on NIST P-256.
    EcdsaP256(CurveParameters),
    /// ECDSA with SHA-384 on NIST P-384.
    EcdsaP384(CurveParameters),
    /// ECDSA with SHA-256 on brainpoolP256r1.
    EcdsaBrainpoolP256r1(CurveParameters),
    /// ECDSA with SHA-384 on brainpoolP384r1.
    EcdsaBrainpoolP384r1(CurveParameters),
    /// RSA-2048, PKCS#1 v1.5 with SHA-256.
    RsaPkcs1v15,
    /// RSA-2048, RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt.
    RsaPss,
}

/// How an EC public key names its curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveParameters {
    /// By the curve's OID.
    Named,
    /// Written out as ECParameters (p, a, b, G, n, h), as ICAO 9303-12 asks of CSCAs.
    Explicit,
}

impl SignatureAlgorithm {
    /// Every algorithm, each EC curve named and explicit.
    pub const ALL: [SignatureAlgorithm; 10] = [
        Self::EcdsaP256(CurveParameters::Named),
        Self::EcdsaP256(CurveParameters::Explicit),
        Self::EcdsaP384(CurveParameters::Named),
        Self::EcdsaP384(CurveParameters::Explicit),
        Self::EcdsaBrainpoolP256r1(CurveParameters::Named),
        Self::EcdsaBrainpoolP256r1(CurveParameters::Explicit),
        Self::EcdsaBrainpoolP384r1(CurveParameters::Named),
        Self::EcdsaBrainpoolP384r1(CurveParameters::Explicit),
        Self::RsaPkcs1v15,
        Self::RsaPss,
    ];
}

/// A curve's domain parameters as in its standard (FIPS 186-4, RFC 5639): p, a, b, Gx,
/// Gy, n, for explicit ECParameters.
struct Domain {
    named: &'static [u8],
    numbers: [&'static str; 6],
}

const P256_DOMAIN: Domain = Domain {
    named: OID_PRIME256V1,
    numbers: [
        "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
        "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
        "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B",
        "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
        "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
        "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
    ],
};

const P384_DOMAIN: Domain = Domain {
    named: OID_SECP384R1,
    numbers: [
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
        "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF",
        "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7",
        "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F",
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    ],
};

const BRAINPOOL_P256R1_DOMAIN: Domain = Domain {
    named: OID_BRAINPOOL_P256R1,
    numbers: [
        "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
        "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
        "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
        "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
        "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
        "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
    ],
};

const BRAINPOOL_P384R1_DOMAIN: Domain = Domain {
    named: OID_BRAINPOOL_P384R1,
    numbers: [
        "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53",
        "7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826",
        "04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11",
        "1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E",
        "8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315",
        "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565",
    ],
};

impl Domain {
    /// id-ecPublicKey parameters: the curve's OID or its explicit ECParameters.
    fn parameters(&self, form: CurveParameters) -> Vec<u8> {
        if form == CurveParameters::Named {
            return oid(self.named);
        }
        let [p, a, b, gx, gy, n] = self.numbers.map(unhex);
        let base = [&[0x04][..], &gx, &gy].concat();
        seq(&[
            &int(1),
            &seq(&[&oid(OID_PRIME_FIELD), &uint(&p)]),
            &seq(&[&der(0x04, &a), &der(0x04, &b)]),
            &der(0x04, &base),
            &uint(&n),
            &int(1),
        ])
    }
}

/// What a key is for; RSA keys are fixed per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Csca,
    MasterListSigner,
    UnknownCsca,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::Csca => "CSCA",
            Role::MasterListSigner => "master list signer",
            Role::UnknownCsca => "unknown CSCA",
        }
    }
}

enum Key {
    P256(SigningKey),
    P384(p384::ecdsa::SigningKey),
    BrainpoolP256r1(ecdsa::SigningKey<BrainpoolP256r1>),
    BrainpoolP384r1(ecdsa::SigningKey<BrainpoolP384r1>),
    Rsa(RsaPrivateKey),
}

/// A CSCA or master list signer key with the algorithm it signs with.
struct TestSigner {
    key: Key,
    algorithm: SignatureAlgorithm,
}

/// A scalar from `seed`: SHA-256 (32 bytes) or SHA-384 (48) with a counter, retried in
/// the (astronomically rare) case it is not a valid key.
fn seeded<K>(seed: &[u8], wide: bool, make: impl Fn(&[u8]) -> Option<K>) -> K {
    (0u8..=u8::MAX)
        .find_map(|counter| {
            if wide {
                make(
                    &Sha384::new()
                        .chain_update(seed)
                        .chain_update([counter])
                        .finalize(),
                )
            } else {
                make(
                    &Sha256::new()
                        .chain_update(seed)
                        .chain_update([counter])
                        .finalize(),
                )
            }
        })
        .unwrap_or_else(|| panic!("no valid test key from 256 seeded candidates"))
}

fn key_from_seed(seed: &[u8]) -> SigningKey {
    seeded(seed, false, |bytes| SigningKey::from_slice(bytes).ok())
}

fn rsa_key(role: Role) -> RsaPrivateKey {
    let der: &[u8] = match role {
        Role::Csca => include_bytes!("../test-keys/rsa-2048-csca.pk8.der"),
        Role::MasterListSigner => {
            include_bytes!("../test-keys/rsa-2048-master-list-signer.pk8.der")
        }
        Role::UnknownCsca => include_bytes!("../test-keys/rsa-2048-unknown-csca.pk8.der"),
    };
    RsaPrivateKey::from_pkcs8_der(der)
        .unwrap_or_else(|error| panic!("the fixed RSA test key is broken: {error}"))
}

impl TestSigner {
    fn new(algorithm: SignatureAlgorithm, seed: &str, role: Role) -> Self {
        let seed = format!("{seed} {}", role.label());
        let seed = seed.as_bytes();
        let key = match algorithm {
            SignatureAlgorithm::EcdsaP256(_) => Key::P256(key_from_seed(seed)),
            SignatureAlgorithm::EcdsaP384(_) => Key::P384(seeded(seed, true, |bytes| {
                p384::ecdsa::SigningKey::from_slice(bytes).ok()
            })),
            SignatureAlgorithm::EcdsaBrainpoolP256r1(_) => {
                Key::BrainpoolP256r1(seeded(seed, false, |bytes| {
                    ecdsa::SigningKey::from_slice(bytes).ok()
                }))
            }
            SignatureAlgorithm::EcdsaBrainpoolP384r1(_) => {
                Key::BrainpoolP384r1(seeded(seed, true, |bytes| {
                    ecdsa::SigningKey::from_slice(bytes).ok()
                }))
            }
            SignatureAlgorithm::RsaPkcs1v15 | SignatureAlgorithm::RsaPss => Key::Rsa(rsa_key(role)),
        };
        Self { key, algorithm }
    }

    fn curve_parameters(&self) -> Vec<u8> {
        let (domain, form) = match self.algorithm {
            SignatureAlgorithm::EcdsaP256(form) => (&P256_DOMAIN, form),
            SignatureAlgorithm::EcdsaP384(form) => (&P384_DOMAIN, form),
            SignatureAlgorithm::EcdsaBrainpoolP256r1(form) => (&BRAINPOOL_P256R1_DOMAIN, form),
            SignatureAlgorithm::EcdsaBrainpoolP384r1(form) => (&BRAINPOOL_P384R1_DOMAIN, form),
            SignatureAlgorithm::RsaPkcs1v15 | SignatureAlgorithm::RsaPss => return Vec::new(),
        };
        domain.parameters(form)
    }

    /// SubjectPublicKeyInfo.
    fn spki(&self) -> Vec<u8> {
        let point = match &self.key {
            Key::P256(key) => key
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            Key::P384(key) => key
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            Key::BrainpoolP256r1(key) => key.verifying_key().to_sec1_bytes().to_vec(),
            Key::BrainpoolP384r1(key) => key.verifying_key().to_sec1_bytes().to_vec(),
            Key::Rsa(key) => {
                let public = key
                    .to_public_key()
                    .to_pkcs1_der()
                    .unwrap_or_else(|error| panic!("RSA public key encoding failed: {error}"));
                let mut bits = vec![0u8];
                bits.extend_from_slice(public.as_bytes());
                return seq(&[
                    &seq(&[&oid(OID_RSA_ENCRYPTION), &der(0x05, &[])]),
                    &der(0x03, &bits),
                ]);
            }
        };
        ec_spki(&self.curve_parameters(), &point)
    }

    /// Whether the hash is SHA-384 (the 384-bit curves) rather than SHA-256.
    fn wide(&self) -> bool {
        matches!(
            self.algorithm,
            SignatureAlgorithm::EcdsaP384(_) | SignatureAlgorithm::EcdsaBrainpoolP384r1(_)
        )
    }

    /// The DigestAlgorithmIdentifier and the digest of `message` for CMS.
    fn digest(&self, message: &[u8]) -> (Vec<u8>, Vec<u8>) {
        if self.wide() {
            (seq(&[&oid(OID_SHA384)]), Sha384::digest(message).to_vec())
        } else {
            (seq(&[&oid(OID_SHA256)]), Sha256::digest(message).to_vec())
        }
    }

    /// The signature AlgorithmIdentifier.
    fn algorithm_identifier(&self) -> Vec<u8> {
        let sha256 = seq(&[&oid(OID_SHA256), &der(0x05, &[])]);
        match self.algorithm {
            SignatureAlgorithm::RsaPkcs1v15 => seq(&[&oid(OID_SHA256_WITH_RSA), &der(0x05, &[])]),
            SignatureAlgorithm::RsaPss => seq(&[
                &oid(OID_RSASSA_PSS),
                &seq(&[
                    &der(0xA0, &sha256),
                    &der(0xA1, &seq(&[&oid(OID_MGF1), &sha256])),
                    &der(0xA2, &int(PSS_SALT_LEN)),
                ]),
            ]),
            _ if self.wide() => seq(&[&oid(OID_ECDSA_SHA384)]),
            _ => ecdsa_sha256(),
        }
    }

    /// Signs `message` (DER Ecdsa-Sig-Value or the RSA signature block).
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        use ecdsa::hazmat::sign_prehashed_rfc6979;
        use sha2_v11::{Sha256 as Sha256v11, Sha384 as Sha384v11};
        match &self.key {
            Key::P256(key) => sign(key, message),
            Key::P384(key) => {
                let signature: p384::ecdsa::DerSignature = key.sign(message);
                signature.as_bytes().to_vec()
            }
            // The Brainpool crates name no default hash, so sign the prehash (RFC 6979
            // nonces, with SHA-2 of the digest crate version they use).
            Key::BrainpoolP256r1(key) => {
                let (signature, _) = sign_prehashed_rfc6979::<_, Sha256v11>(
                    key.as_nonzero_scalar(),
                    &Sha256::digest(message),
                    &[],
                );
                signature.to_der().as_bytes().to_vec()
            }
            Key::BrainpoolP384r1(key) => {
                let (signature, _) = sign_prehashed_rfc6979::<_, Sha384v11>(
                    key.as_nonzero_scalar(),
                    &Sha384::digest(message),
                    &[],
                );
                signature.to_der().as_bytes().to_vec()
            }
            Key::Rsa(key) if self.algorithm == SignatureAlgorithm::RsaPss => {
                let signer = rsa::pss::SigningKey::<Sha256>::new_with_salt_len(
                    key.clone(),
                    usize::from(PSS_SALT_LEN),
                );
                // A salt from the message keeps the output reproducible.
                let mut rng = ChaCha20Rng::from_seed(Sha256::digest(message).into());
                signer.sign_with_rng(&mut rng, message).to_vec()
            }
            Key::Rsa(key) => rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone())
                .sign(message)
                .to_vec(),
        }
    }
}

/// The validity of the test PKI's certificates: 2025 to 2045.
const VALID: (&[u8], &[u8]) = (b"250101000000Z", b"450101000000Z");
/// A validity period that ended in 2020.
const EXPIRED: (&[u8], &[u8]) = (b"150101000000Z", b"200101000000Z");

/// The extensions of a master list signer certificate (ICAO Doc 9303-12): the extended
/// key usage id-icao-cscaMasterListSigningKey and the (critical) key usage
/// digitalSignature; `ca` adds basicConstraints cA TRUE, which a signer must not have.
fn master_list_signer_extensions(ca: bool) -> Vec<u8> {
    let critical = der(0x01, &[0xFF]);
    let usage = seq(&[
        &oid(OID_EXT_KEY_USAGE),
        &der(0x04, &seq(&[&oid(OID_MASTER_LIST_SIGNING_KEY)])),
    ]);
    // BIT STRING with 7 unused bits: only bit 0, digitalSignature.
    let key_usage = seq(&[
        &oid(OID_KEY_USAGE),
        &critical,
        &der(0x04, &der(0x03, &[0x07, 0x80])),
    ]);
    let mut extensions = vec![usage, key_usage];
    if ca {
        extensions.push(seq(&[
            &oid(OID_BASIC_CONSTRAINTS),
            &critical,
            &der(0x04, &seq(&[&critical])),
        ]));
    }
    let extensions: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
    der(0xA3, &seq(&extensions))
}

/// A certificate valid from `validity.0` to `validity.1` (UTCTime), with `extensions`
/// (the whole `[3]` field, or empty for none).
fn certificate(
    serial: u8,
    issuer: &[u8],
    subject: &[u8],
    subject_key_info: &[u8],
    issuer_key: &TestSigner,
    validity: (&[u8], &[u8]),
    extensions: &[u8],
) -> Vec<u8> {
    let validity = seq(&[&der(0x17, validity.0), &der(0x17, validity.1)]);
    let algorithm = issuer_key.algorithm_identifier();
    let tbs = seq(&[
        &der(0xA0, &int(2)),
        &int(serial),
        &algorithm,
        issuer,
        &validity,
        subject,
        subject_key_info,
        extensions,
    ]);
    let mut signature_bits = vec![0u8];
    signature_bits.extend_from_slice(&issuer_key.sign(&tbs));
    seq(&[&tbs, &algorithm, &der(0x03, &signature_bits)])
}

/// What [`TestPki::master_list`] gets wrong on purpose, to test that readers refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterListFlaw {
    /// A correct master list.
    None,
    /// The list's content was changed after it was signed.
    ContentChangedAfterSigning,
    /// The signer certificate was issued by a CSCA that is neither in the list nor
    /// known to the reader.
    SignerFromUnknownCsca,
    /// The signer certificate names this PKI's CSCA as its issuer, but another key
    /// signed it.
    SignerCertificateForged,
    /// Signed data of another content type (an LDS security object).
    NotAMasterList,
    /// The signature bytes were altered.
    SignatureBroken,
    /// Signed by this PKI's document signer (issued by the same CSCA, but without the
    /// master list signer's extended key usage).
    SignedByDocumentSigner,
    /// The signer certificate's validity ended in 2020.
    SignerExpired,
    /// The signer certificate is a CA certificate (basicConstraints cA TRUE).
    SignerIsCa,
    /// Not a flaw: the SignerInfo names its signature algorithm rsaEncryption
    /// (1.2.840.113549.1.1.1, NULL parameters) instead of sha256WithRSAEncryption, as
    /// RFC 3370 section 3.2 allows. Valid with [`SignatureAlgorithm::RsaPkcs1v15`] only;
    /// with any other algorithm the name does not match the signature.
    SignerInfoNamesRsaEncryption,
}

/// A country signing CA, one document signer and one master list signer it certified.
pub struct TestPki {
    seed: String,
    algorithm: SignatureAlgorithm,
    csca: TestSigner,
    csca_name: Vec<u8>,
    csca_certificate: Vec<u8>,
    document_signer_key: SigningKey,
    document_signer_certificate: Vec<u8>,
    document_signer_issuer: Vec<u8>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// A PKI whose keys are derived from `seed` (different seeds give unrelated PKIs),
    /// signing with ECDSA P-256 (named curve) throughout.
    pub fn generate(seed: &str) -> Self {
        Self::generate_with(seed, SignatureAlgorithm::EcdsaP256(CurveParameters::Named))
    }

    /// A PKI whose CSCA and master list signer sign with `algorithm` (their certificates
    /// carry keys of it); the document signer and EF.SOD stay ECDSA P-256.
    pub fn generate_with(seed: &str, algorithm: SignatureAlgorithm) -> Self {
        let csca = TestSigner::new(algorithm, seed, Role::Csca);
        let ds_key = key_from_seed(format!("{seed} DS").as_bytes());
        let csca_name = name(&format!("{seed} test CSCA"));
        let ds_name = name(&format!("{seed} test document signer"));
        let csca_certificate =
            certificate(1, &csca_name, &csca_name, &csca.spki(), &csca, VALID, &[]);
        let document_signer_certificate = certificate(
            2,
            &csca_name,
            &ds_name,
            &p256_spki(&ds_key),
            &csca,
            VALID,
            &[],
        );
        Self {
            seed: seed.to_owned(),
            algorithm,
            csca,
            csca_name: csca_name.clone(),
            csca_certificate,
            document_signer_key: ds_key,
            document_signer_certificate,
            document_signer_issuer: csca_name,
        }
    }

    /// The CSCA certificate (DER), to configure as trust anchor.
    pub fn csca_certificate(&self) -> &[u8] {
        &self.csca_certificate
    }

    /// A CSCA master list (ICAO Doc 9303-12 section 9: CMS SignedData, content type
    /// id-icao-cscaMasterList, `CscaMasterList ::= SEQUENCE { version, certList }`)
    /// holding `cscas` (DER certificates), signed with this PKI's algorithm (SHA-384 on
    /// the 384-bit curves, SHA-256 otherwise) by a master list signer whose certificate
    /// this PKI's CSCA issued (valid 2025 to 2045, with the extended key usage
    /// id-icao-cscaMasterListSigningKey and the key usage digitalSignature). `flaw`
    /// breaks it on purpose.
    pub fn master_list(&self, cscas: &[&[u8]], flaw: MasterListFlaw) -> Vec<u8> {
        let signer_name = name(&format!("{} master list signer", self.seed));
        let unknown = TestSigner::new(self.algorithm, &self.seed, Role::UnknownCsca);
        let unknown_name = name(&format!("{} unknown CSCA", self.seed));
        let (issuer_name, issuer_key) = match flaw {
            MasterListFlaw::SignerFromUnknownCsca => (&unknown_name, &unknown),
            MasterListFlaw::SignerCertificateForged => (&self.csca_name, &unknown),
            _ => (&self.csca_name, &self.csca),
        };
        let validity = match flaw {
            MasterListFlaw::SignerExpired => EXPIRED,
            _ => VALID,
        };
        let extensions = master_list_signer_extensions(flaw == MasterListFlaw::SignerIsCa);
        let (signer, signer_certificate, serial) = match flaw {
            MasterListFlaw::SignedByDocumentSigner => (
                TestSigner {
                    key: Key::P256(self.document_signer_key.clone()),
                    algorithm: SignatureAlgorithm::EcdsaP256(CurveParameters::Named),
                },
                self.document_signer_certificate.clone(),
                2,
            ),
            _ => {
                let signer = TestSigner::new(self.algorithm, &self.seed, Role::MasterListSigner);
                let certificate = certificate(
                    3,
                    issuer_name,
                    &signer_name,
                    &signer.spki(),
                    issuer_key,
                    validity,
                    &extensions,
                );
                (signer, certificate, 3)
            }
        };
        let list = |version: u8| seq(&[&int(version), &der(0x31, &cscas.concat())]);
        let content = list(0);
        let content_type = match flaw {
            MasterListFlaw::NotAMasterList => OID_LDS_SECURITY_OBJECT,
            _ => OID_CSCA_MASTER_LIST,
        };
        let (digest_algorithm, digest) = signer.digest(&content);
        let attributes = [
            seq(&[&oid(OID_CONTENT_TYPE), &der(0x31, &oid(content_type))]),
            seq(&[&oid(OID_MESSAGE_DIGEST), &der(0x31, &der(0x04, &digest))]),
        ]
        .concat();
        let mut signature = signer.sign(&der(0x31, &attributes));
        if flaw == MasterListFlaw::SignatureBroken {
            // Inside r (ECDSA) or the RSA block, so the signature stays well-formed but
            // no longer verifies.
            signature[10] ^= 0x01;
        }
        let content = match flaw {
            MasterListFlaw::ContentChangedAfterSigning => list(1),
            _ => content,
        };
        let signature_algorithm = match flaw {
            MasterListFlaw::SignerInfoNamesRsaEncryption => {
                seq(&[&oid(OID_RSA_ENCRYPTION), &der(0x05, &[])])
            }
            _ => signer.algorithm_identifier(),
        };
        let signer_info = seq(&[
            &int(1),
            &seq(&[issuer_name, &int(serial)]),
            &digest_algorithm,
            &der(0xA0, &attributes),
            &signature_algorithm,
            &der(0x04, &signature),
        ]);
        let signed_data = seq(&[
            &int(3),
            &der(0x31, &digest_algorithm),
            &seq(&[&oid(content_type), &der(0xA0, &der(0x04, &content))]),
            &der(0xA0, &signer_certificate),
            &der(0x31, &signer_info),
        ]);
        seq(&[&oid(OID_SIGNED_DATA), &der(0xA0, &signed_data)])
    }

    /// Builds EF.SOD (tag 77, CMS SignedData over an LDS security object with SHA-256
    /// hashes of `data_groups`), signed by the document signer.
    pub fn sign_sod(&self, data_groups: &[(u8, &[u8])]) -> Vec<u8> {
        let hashes: Vec<Vec<u8>> = data_groups
            .iter()
            .map(|(number, bytes)| seq(&[&int(*number), &der(0x04, &Sha256::digest(bytes))]))
            .collect();
        let lds_security_object = seq(&[
            &int(0),
            &seq(&[&oid(OID_SHA256)]),
            &seq(&hashes.iter().map(Vec::as_slice).collect::<Vec<_>>()),
        ]);
        let attributes = [
            seq(&[
                &oid(OID_CONTENT_TYPE),
                &der(0x31, &oid(OID_LDS_SECURITY_OBJECT)),
            ]),
            seq(&[
                &oid(OID_MESSAGE_DIGEST),
                &der(0x31, &der(0x04, &Sha256::digest(&lds_security_object))),
            ]),
        ]
        .concat();
        // The signature covers the attributes encoded as SET OF (RFC 5652 section 5.4).
        let signature = sign(&self.document_signer_key, &der(0x31, &attributes));
        let signer_info = seq(&[
            &int(1),
            &seq(&[&self.document_signer_issuer, &int(2)]),
            &seq(&[&oid(OID_SHA256)]),
            &der(0xA0, &attributes),
            &ecdsa_sha256(),
            &der(0x04, &signature),
        ]);
        let signed_data = seq(&[
            &int(3),
            &der(0x31, &seq(&[&oid(OID_SHA256)])),
            &seq(&[
                &oid(OID_LDS_SECURITY_OBJECT),
                &der(0xA0, &der(0x04, &lds_security_object)),
            ]),
            &der(0xA0, &self.document_signer_certificate),
            &der(0x31, &signer_info),
        ]);
        let content_info = seq(&[&oid(OID_SIGNED_DATA), &der(0xA0, &signed_data)]);
        der(0x77, &content_info)
    }
}
