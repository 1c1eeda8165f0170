//! CSCA master lists (ICAO Doc 9303-12 section 9): a CMS SignedData whose content is
//! `CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }`, signed
//! by a master list signer whose certificate a CSCA issued.
//!
//! There is no CMS crate in the workspace, so the few CMS structures the check needs are
//! declared here with `der`'s derive (strict DER, bounded by the input: no recursion
//! beyond these types, no panics). Certificates and signatures are `x509.rs`' business.

use std::time::Duration;

use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{
    Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence,
    SliceReader, Tag, Tagged, Writer,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierRef;

use super::x509::{self, Certificate, Unverified};
use crate::error::{Error, ErrorKind, Result};

const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const CSCA_MASTER_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.2");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

const DOWNLOAD_AGAIN: &str = "download the master list again from its publisher (for Germany: \
                              the BSI) and replace the file";

/// What to do when the signer's CSCA is missing.
const CONFIGURE_CSCA: &str = "put the CSCA certificate of the country that signed the master \
                              list (e.g. Germany's, published by the BSI) as a .der/.crt file \
                              into reader.csca_dir";

/// What to do when the kiosk cannot check a list's signature scheme.
const UNSUPPORTED_ADVICE: &str = "put the CSCA certificates you need as single .der/.crt files \
                                  into reader.csca_dir instead, or use a master list signed \
                                  with ECDSA on NIST P-256/P-384/P-521, brainpoolP256r1 or \
                                  brainpoolP384r1, or with RSA";

/// What a checked master list holds: the CSCA certificates (DER), in list order.
#[derive(Debug)]
pub(crate) struct MasterList<'a> {
    pub(crate) certificates: Vec<&'a [u8]>,
}

fn malformed(what: &str) -> Error {
    Error::invalid(format!(
        "this is not a valid CSCA master list ({what}); {DOWNLOAD_AGAIN}"
    ))
}

fn structure<T>(result: der::Result<T>, what: &str) -> Result<T> {
    result.map_err(|error| malformed(&format!("{what}: {error}")))
}

/// The elements of a SET OF, each as its whole DER encoding, in file order. `der`'s
/// `SetOfVec` would sort them (re-encoding every certificate of a large list), and
/// neither CMS producers nor the ICAO lists keep DER set order.
struct Elements<'a> {
    /// The contents octets, which the signed attributes' signature covers.
    contents: &'a [u8],
    items: Vec<&'a [u8]>,
}

impl<'a> DecodeValue<'a> for Elements<'a> {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let contents = reader.read_slice(header.length)?;
        let mut inner = SliceReader::new(contents)?;
        let mut items = Vec::new();
        // Each pass consumes at least one complete element, so this ends.
        while !inner.is_finished() {
            items.push(inner.tlv_bytes()?);
        }
        Ok(Self { contents, items })
    }
}

/// Writes the contents back as they were read (the derive needs encoding too).
impl EncodeValue for Elements<'_> {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.contents.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.contents)
    }
}

impl FixedTag for Elements<'_> {
    const TAG: Tag = Tag::Set;
}

/// ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }
#[derive(Sequence)]
struct ContentInfo<'a> {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: AnyRef<'a>,
}

/// SignedData (RFC 5652 section 5.1).
#[derive(Sequence)]
struct SignedData<'a> {
    _version: u8,
    _digest_algorithms: Elements<'a>,
    encap_content_info: EncapsulatedContentInfo<'a>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<Elements<'a>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    _crls: Option<Elements<'a>>,
    signer_infos: Elements<'a>,
}

#[derive(Sequence)]
struct EncapsulatedContentInfo<'a> {
    e_content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    e_content: Option<OctetStringRef<'a>>,
}

/// SignerInfo (RFC 5652 section 5.3).
#[derive(Sequence)]
struct SignerInfo<'a> {
    _version: u8,
    /// issuerAndSerialNumber (a SEQUENCE) or subjectKeyIdentifier ([0] IMPLICIT).
    sid: AnyRef<'a>,
    digest_algorithm: AlgorithmIdentifierRef<'a>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    signed_attrs: Option<Elements<'a>>,
    signature_algorithm: AlgorithmIdentifierRef<'a>,
    signature: OctetStringRef<'a>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    _unsigned_attrs: Option<Elements<'a>>,
}

#[derive(Sequence)]
struct IssuerAndSerialNumber {
    issuer: Name,
    serial_number: SerialNumber,
}

#[derive(Sequence)]
struct Attribute<'a> {
    attr_type: ObjectIdentifier,
    attr_values: Elements<'a>,
}

#[derive(Sequence)]
struct CscaMasterList<'a> {
    _version: u8,
    cert_list: Elements<'a>,
}

/// The value of the one signed attribute of `oid` (RFC 5652 section 11 allows each
/// once, with one value).
fn attribute<'a, T: Decode<'a>>(attributes: &[Attribute<'a>], oid: ObjectIdentifier) -> Result<T> {
    let mut values = attributes
        .iter()
        .filter(|attribute| attribute.attr_type == oid)
        .flat_map(|attribute| &attribute.attr_values.items);
    match (values.next(), values.next()) {
        (Some(value), None) => structure(T::from_der(value), "signed attribute"),
        (None, _) => Err(malformed(&format!("no signed attribute {oid}"))),
        (Some(_), Some(_)) => Err(malformed(&format!("signed attribute {oid} twice"))),
    }
}

/// How a signature failure reads, for `whose` ("the master list", "the master list
/// signer's certificate").
fn refused(whose: &str, why: Unverified) -> Error {
    match why {
        Unverified::Invalid => Error::new(
            ErrorKind::AuthenticationFailed,
            format!(
                "{whose}'s signature is not valid; the file is damaged or forged: \
                 {DOWNLOAD_AGAIN}"
            ),
        ),
        Unverified::Malformed(what) => malformed(&format!("{whose} has {what}")),
        Unverified::Unsupported(what) => Error::unsupported(format!(
            "{whose} is signed with {what}; {UNSUPPORTED_ADVICE}"
        )),
    }
}

/// Parses `der` and checks it: the content type is a CSCA master list, the signed
/// attributes bind the content, the signer certificate the list carries was issued by
/// one of the `configured` CSCA certificates (DER, configured on their own: a list
/// cannot vouch for itself) and is a master list signer's, valid at `now` (since the
/// Unix epoch), and the list's signature verifies with it.
pub(crate) fn check<'a>(
    der: &'a [u8],
    configured: &[Vec<u8>],
    now: Duration,
) -> Result<MasterList<'a>> {
    let content_info = structure(ContentInfo::from_der(der), "no ContentInfo")?;
    if content_info.content_type != SIGNED_DATA {
        return Err(malformed("it is not CMS SignedData"));
    }
    let signed_data: SignedData<'_> = structure(content_info.content.decode_as(), "no SignedData")?;
    let encapsulated = &signed_data.encap_content_info;
    if encapsulated.e_content_type != CSCA_MASTER_LIST {
        return Err(Error::invalid(format!(
            "the file is signed data but not a CSCA master list (content type {}, expected \
             id-icao-cscaMasterList 2.23.136.1.1.2); use the .ml file of the master list",
            encapsulated.e_content_type
        )));
    }
    let content = encapsulated
        .e_content
        .ok_or_else(|| malformed("no content"))?
        .as_bytes();
    let signer = match signed_data.signer_infos.items.as_slice() {
        [one] => structure(SignerInfo::from_der(one), "signer")?,
        [] => return Err(malformed("no signer")),
        _ => return Err(malformed("more than one signer")),
    };
    let list = structure(CscaMasterList::from_der(content), "CscaMasterList")?;

    // The signature binds the content through the signed attributes (RFC 5652 5.4).
    let signed_attributes = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| malformed("no signed attributes"))?;
    let attributes = signed_attributes
        .items
        .iter()
        .map(|item| structure(Attribute::from_der(item), "signed attribute"))
        .collect::<Result<Vec<_>>>()?;
    let digest = x509::hash(signer.digest_algorithm.oid)
        .map_err(|why| refused("the master list", why))?
        .digest(content);
    let message_digest: OctetStringRef<'_> = attribute(&attributes, MESSAGE_DIGEST)?;
    if message_digest.as_bytes() != digest.as_slice() {
        return Err(Error::new(
            ErrorKind::AuthenticationFailed,
            format!(
                "the master list was changed after it was signed (its digest does not match \
                 the signed one); {DOWNLOAD_AGAIN}"
            ),
        ));
    }
    if attribute::<ObjectIdentifier>(&attributes, CONTENT_TYPE)? != CSCA_MASTER_LIST {
        return Err(malformed(
            "the signed content type is not a CSCA master list",
        ));
    }

    let carried = signed_data
        .certificates
        .as_ref()
        .map_or(&[][..], |certificates| certificates.items.as_slice());
    let signer_certificate = carried
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .find(|certificate| identifies(&signer.sid, certificate))
        .ok_or_else(|| malformed("the signer's certificate is not in the file"))?;

    trust(&signer_certificate, configured)?;
    // A CSCA issues document signers too: only a master list signer may sign a list.
    signer_certificate
        .check_master_list_signer(now)
        .map_err(|why| {
            Error::new(
                ErrorKind::AuthenticationFailed,
                format!(
                    "the master list signer's certificate {why}; the kiosk only accepts \
                     lists signed with a current certificate carrying the extended key usage \
                     id-icao-cscaMasterListSigningKey, digitalSignature and no CA flag: \
                     {DOWNLOAD_AGAIN}"
                ),
            )
        })?;

    // What the signature covers: the signed attributes re-tagged as SET OF.
    let signed = structure(
        AnyRef::new(Tag::Set, signed_attributes.contents).and_then(|set| set.to_der()),
        "signed attributes",
    )?;
    x509::signer_scheme(signer.signature_algorithm, signer.digest_algorithm.oid)
        .and_then(|scheme| {
            signer_certificate.verify_with(scheme, &signed, signer.signature.as_bytes())
        })
        .map_err(|why| refused("the master list", why))?;

    Ok(MasterList {
        certificates: list.cert_list.items,
    })
}

/// Whether the SignerInfo's identifier names `certificate`.
fn identifies(sid: &AnyRef<'_>, certificate: &Certificate) -> bool {
    match sid.tag() {
        Tag::Sequence => sid.decode_as::<IssuerAndSerialNumber>().is_ok_and(|id| {
            &id.issuer == certificate.issuer() && &id.serial_number == certificate.serial_number()
        }),
        Tag::ContextSpecific {
            constructed: false,
            number,
        } if number.value() == 0 => certificate.subject_key_id().as_deref() == Some(sid.value()),
        _ => false,
    }
}

/// Refuses `signer` unless a configured CSCA certificate issued it.
fn trust(signer: &Certificate, configured: &[Vec<u8>]) -> Result<()> {
    let mut unsupported = None;
    // Configured certificates that passive authentication accepted but `x509-cert` does
    // not parse cannot vouch for a list; the refusal says so instead of hiding them.
    let mut unreadable = 0usize;
    let cscas: Vec<Certificate> = configured
        .iter()
        .filter_map(|der| {
            Certificate::from_der(der)
                .inspect_err(|_| unreadable += 1)
                .ok()
        })
        .collect();
    for csca in cscas
        .iter()
        .filter(|csca| csca.subject() == signer.issuer())
    {
        match signer.is_issued_by(csca) {
            Ok(()) => return Ok(()),
            Err(why @ Unverified::Unsupported(_)) => unsupported = Some(why),
            Err(_) => {}
        }
    }
    if let Some(why) = unsupported {
        return Err(refused("the master list signer's certificate", why));
    }
    let unreadable = match unreadable {
        0 => String::new(),
        count => format!(
            " ({count} of the configured CSCA certificates could not be read as X.509 DER \
             and were not considered: replace them with valid DER files)"
        ),
    };
    Err(Error::new(
        ErrorKind::AuthenticationFailed,
        format!(
            "the master list signer's certificate (issuer {}) was not issued by a CSCA \
             certificate configured on this kiosk{unreadable}, and a master list cannot vouch \
             for itself; {CONFIGURE_CSCA}",
            signer.issuer()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use kiosk_virtual_cards::{MasterListFlaw, TestPki};

    use super::*;

    /// Seconds since the Unix epoch at midnight UTC of 1 January of `year` (2001-2099).
    fn new_year(year: u64) -> Duration {
        let days = (year - 1970) * 365 + (year - 1969) / 4;
        Duration::from_secs(days * 86_400)
    }

    #[test]
    fn the_signer_must_be_valid_at_the_given_time() {
        let utopia = TestPki::generate("Utopia");
        let list = utopia.master_list(&[utopia.csca_certificate()], MasterListFlaw::None);
        let configured = [utopia.csca_certificate().to_vec()];
        // The test PKI's certificates are valid from 2025 to 2045.
        for year in [2026, 2044] {
            assert!(check(&list, &configured, new_year(year)).is_ok(), "{year}");
        }
        let early = check(&list, &configured, new_year(2024)).unwrap_err();
        assert!(early.message().contains("is not valid yet"), "{early}");
        let late = check(&list, &configured, new_year(2046)).unwrap_err();
        assert!(late.message().contains("has expired"), "{late}");
        assert_eq!(late.kind(), ErrorKind::AuthenticationFailed);
    }

    #[test]
    fn unreadable_configured_certificates_are_named_in_the_refusal() {
        let utopia = TestPki::generate("Utopia");
        let list = utopia.master_list(&[utopia.csca_certificate()], MasterListFlaw::None);
        let configured = [vec![0x30, 0x03, 0x02, 0x01, 0x01]];
        let error = check(&list, &configured, new_year(2026)).unwrap_err();
        assert!(
            error
                .message()
                .contains("1 of the configured CSCA certificates could not be read as X.509"),
            "{error}"
        );
        let error = check(&list, &[], new_year(2026)).unwrap_err();
        assert!(!error.message().contains("could not be read"), "{error}");
    }
}
