//! Destination and delivery-service keys: JWK parsing, `x5c` chain
//! validation against the configured root, and PS512 (RSASSA-PSS, SHA-512)
//! signature checks.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use x509_cert::der::{Decode, Encode};

/// A key was not accepted; says why (no key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

fn err(message: impl Into<String>) -> KeyError {
    KeyError(message.into())
}

/// What a key is to be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Encrypting content keys to the destination (`RSA-OAEP-256`, `wrapKey`).
    Encryption,
    /// Verifying the destination's or the delivery service's signatures (`PS512`, `verify`).
    Signature,
}

#[derive(serde::Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    key_ops: Option<Vec<String>>,
    n: String,
    e: String,
    x5c: Option<Vec<String>>,
}

/// The trusted roots for `x5c` chains.
#[derive(Clone)]
pub struct TrustedRoots {
    anchors: Vec<TrustAnchor<'static>>,
}

impl std::fmt::Debug for TrustedRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedRoots")
            .field("count", &self.anchors.len())
            .finish()
    }
}

impl TrustedRoots {
    /// Reads one or more PEM `CERTIFICATE` blocks.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let mut anchors = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| err(format!("the key root is not PEM: {e}")))?;
            let anchor = webpki::anchor_from_trusted_cert(&cert)
                .map_err(|e| err(format!("the key root is not a usable certificate: {e:?}")))?
                .to_owned();
            anchors.push(anchor);
        }
        if anchors.is_empty() {
            return Err(err(
                "no CERTIFICATE block in the key roots; configure the Verwaltungs-PKI root (PEM)",
            ));
        }
        Ok(Self { anchors })
    }
}

/// A public key that passed every check.
#[derive(Debug, Clone)]
pub struct ValidatedKey {
    /// Its key id.
    pub kid: String,
    /// The RSA key.
    pub key: RsaPublicKey,
    /// The JWK as received (JSON text), for caching.
    pub jwk: String,
}

/// Checks a JWK: RSA, expected `alg` and `key_ops`, at least `min_bits`, and
/// (when `roots` is given) an `x5c` chain that validates against them at `now`
/// whose first certificate carries exactly this key.
pub fn validate_jwk(
    jwk_text: &str,
    purpose: KeyPurpose,
    expected_kid: Option<&str>,
    min_bits: usize,
    roots: Option<&TrustedRoots>,
    now: SystemTime,
) -> Result<ValidatedKey, KeyError> {
    let jwk: Jwk = serde_json::from_str(jwk_text)
        .map_err(|e| err(format!("not a JWK with kty, n and e: {e}")))?;
    if jwk.kty != "RSA" {
        return Err(err(format!("kty is '{}', expected 'RSA'", jwk.kty)));
    }
    let kid = jwk.kid.clone().unwrap_or_default();
    if let Some(expected) = expected_kid
        && kid != expected
    {
        return Err(err(format!(
            "the key has kid '{kid}', expected '{expected}'"
        )));
    }
    let (alg, op) = match purpose {
        KeyPurpose::Encryption => ("RSA-OAEP-256", "wrapKey"),
        KeyPurpose::Signature => ("PS512", "verify"),
    };
    if jwk.alg.as_deref() != Some(alg) {
        return Err(err(format!(
            "the key is for '{}', expected '{alg}'",
            jwk.alg.as_deref().unwrap_or("(none)")
        )));
    }
    if let Some(ops) = &jwk.key_ops
        && (ops.len() != 1 || ops[0] != op)
    {
        return Err(err(format!("key_ops must be exactly [\"{op}\"]")));
    }
    let number = |name: &str, value: &str| {
        URL_SAFE_NO_PAD
            .decode(value)
            .map(|bytes| BigUint::from_bytes_be(&bytes))
            .map_err(|_| err(format!("'{name}' is not base64url")))
    };
    let key = RsaPublicKey::new(number("n", &jwk.n)?, number("e", &jwk.e)?)
        .map_err(|e| err(format!("invalid RSA numbers: {e}")))?;
    let bits = key.size() * 8;
    if bits < min_bits {
        return Err(err(format!(
            "the key has {bits} bits, at least {min_bits} are required"
        )));
    }
    if let Some(roots) = roots {
        let chain = jwk
            .x5c
            .as_ref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| err("the key has no x5c certificate chain"))?;
        validate_chain(chain, &key, purpose, roots, now)?;
    }
    Ok(ValidatedKey {
        kid,
        key,
        jwk: jwk_text.to_owned(),
    })
}

fn validate_chain(
    x5c: &[String],
    key: &RsaPublicKey,
    purpose: KeyPurpose,
    roots: &TrustedRoots,
    now: SystemTime,
) -> Result<(), KeyError> {
    let ders: Vec<CertificateDer<'static>> = x5c
        .iter()
        .map(|c| {
            STANDARD
                .decode(c)
                .map(CertificateDer::from)
                .map_err(|_| err("an x5c entry is not standard base64"))
        })
        .collect::<Result<_, _>>()?;
    let leaf = x509_cert::Certificate::from_der(ders[0].as_ref())
        .map_err(|e| err(format!("the first x5c certificate does not parse: {e}")))?;
    let spki = leaf
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| err(format!("the certificate's key does not encode: {e}")))?;
    let cert_key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|_| err("the certificate does not carry an RSA key"))?;
    if &cert_key != key {
        return Err(err(
            "the JWK's key is not the key of its x5c certificate (key and chain do not belong together)",
        ));
    }
    let end_entity = webpki::EndEntityCert::try_from(&ders[0])
        .map_err(|e| err(format!("the x5c certificate is not usable: {e:?}")))?;
    let seconds = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| err("the kiosk's clock is before 1970"))?;
    end_entity
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &roots.anchors,
            &ders[1..],
            UnixTime::since_unix_epoch(seconds),
            // Encryption certificates carry no TLS purpose: only refuse an EKU that
            // is present and names something else entirely.
            webpki::KeyUsage::required_if_present(EKU_ANY),
            None,
            None,
        )
        .map_err(|e| {
            err(format!(
                "the key's certificate chain does not validate against the configured root: {e:?}"
            ))
        })?;
    let usage_ok = key_usage_allows(&leaf, purpose);
    if !usage_ok {
        return Err(err(match purpose {
            KeyPurpose::Encryption => "the certificate's keyUsage does not allow keyEncipherment",
            KeyPurpose::Signature => "the certificate's keyUsage does not allow digitalSignature",
        }));
    }
    Ok(())
}

/// `anyExtendedKeyUsage` (2.5.29.37.0), DER contents of the OID.
const EKU_ANY: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

fn key_usage_allows(cert: &x509_cert::Certificate, purpose: KeyPurpose) -> bool {
    use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
    let Some(extensions) = &cert.tbs_certificate.extensions else {
        return true;
    };
    let Some(ext) = extensions
        .iter()
        .find(|e| e.extn_id == const_oid_key_usage())
    else {
        return true;
    };
    let Ok(usage) = KeyUsage::from_der(ext.extn_value.as_bytes()) else {
        return false;
    };
    match purpose {
        KeyPurpose::Encryption => usage.0.contains(KeyUsages::KeyEncipherment),
        KeyPurpose::Signature => usage.0.contains(KeyUsages::DigitalSignature),
    }
}

fn const_oid_key_usage() -> x509_cert::der::asn1::ObjectIdentifier {
    x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.29.15")
}

/// Verifies a PS512 (RSASSA-PSS with SHA-512, MGF1 SHA-512, 64-byte salt) signature.
pub fn verify_ps512(key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = rsa::pss::Signature::try_from(signature) else {
        return false;
    };
    rsa::pss::VerifyingKey::<sha2::Sha512>::new(key.clone())
        .verify(message, &signature)
        .is_ok()
}
