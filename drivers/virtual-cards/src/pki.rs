//! A generated test PKI (CSCA -> document signer) and EF.SOD signing, in plain DER.
//!
//! Only for virtual passports: keys are derived from a fixed seed so runs are reproducible.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256};

const OID_ECDSA_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
const OID_LDS_SECURITY_OBJECT: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];
const OID_CONTENT_TYPE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04];
const OID_COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

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

fn spki(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    let mut bits = vec![0u8];
    bits.extend_from_slice(point.as_bytes());
    seq(&[
        &seq(&[&oid(OID_EC_PUBLIC_KEY), &oid(OID_PRIME256V1)]),
        &der(0x03, &bits),
    ])
}

fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let signature: DerSignature = key.sign(message);
    signature.as_bytes().to_vec()
}

fn certificate(
    serial: u8,
    issuer: &[u8],
    subject: &[u8],
    subject_key: &SigningKey,
    issuer_key: &SigningKey,
) -> Vec<u8> {
    let validity = seq(&[&der(0x17, b"250101000000Z"), &der(0x17, b"450101000000Z")]);
    let tbs = seq(&[
        &der(0xA0, &int(2)),
        &int(serial),
        &ecdsa_sha256(),
        issuer,
        &validity,
        subject,
        &spki(subject_key),
    ]);
    let mut signature_bits = vec![0u8];
    signature_bits.extend_from_slice(&sign(issuer_key, &tbs));
    seq(&[&tbs, &ecdsa_sha256(), &der(0x03, &signature_bits)])
}

/// A country signing CA and one document signer it certified.
pub struct TestPki {
    csca_certificate: Vec<u8>,
    document_signer_key: SigningKey,
    document_signer_certificate: Vec<u8>,
    document_signer_issuer: Vec<u8>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

fn key_from_seed(seed: &[u8]) -> SigningKey {
    let mut counter = 0u8;
    loop {
        let digest = Sha256::new()
            .chain_update(seed)
            .chain_update([counter])
            .finalize();
        if let Ok(key) = SigningKey::from_slice(&digest) {
            return key;
        }
        counter = counter.wrapping_add(1);
    }
}

impl TestPki {
    /// A PKI whose keys are derived from `seed` (different seeds give unrelated PKIs).
    pub fn generate(seed: &str) -> Self {
        let csca_key = key_from_seed(format!("{seed} CSCA").as_bytes());
        let ds_key = key_from_seed(format!("{seed} DS").as_bytes());
        let csca_name = name(&format!("{seed} test CSCA"));
        let ds_name = name(&format!("{seed} test document signer"));
        let csca_certificate = certificate(1, &csca_name, &csca_name, &csca_key, &csca_key);
        let document_signer_certificate = certificate(2, &csca_name, &ds_name, &ds_key, &csca_key);
        Self {
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
