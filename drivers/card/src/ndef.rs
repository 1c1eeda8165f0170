//! NDEF (NFC Data Exchange Format) messages: parsing, encoding, and reading them from
//! NFC Forum Type 4 and Type 2 tags.

use std::fmt;

use crate::apdu::{Command, StatusWord, transmit};
use crate::card::Card;
use crate::error::{Error, ErrorKind, Result};
use crate::identify::{CardKind, NDEF_AID, identify};

/// Largest NDEF message accepted (Type 4 files are at most 32 KiB with short offsets).
pub const MAX_MESSAGE_LEN: usize = 32 * 1024;
/// Most records accepted in one message (each record has at least 3 header bytes).
const MAX_RECORDS: usize = 256;

/// The Type Name Format of a record (3 bits of the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tnf {
    /// 0: empty record.
    Empty,
    /// 1: NFC Forum well-known type (`U`, `T`, `Sp`, ...).
    WellKnown,
    /// 2: media type (RFC 2046), e.g. `text/vcard`.
    Mime,
    /// 3: absolute URI as the type.
    AbsoluteUri,
    /// 4: NFC Forum external type (`domain:type`).
    External,
    /// 5: unknown payload type.
    Unknown,
    /// 6: continuation chunk (only inside chunked records).
    Unchanged,
    /// 7: reserved.
    Reserved,
}

impl Tnf {
    fn from_bits(bits: u8) -> Self {
        match bits & 0x07 {
            0 => Self::Empty,
            1 => Self::WellKnown,
            2 => Self::Mime,
            3 => Self::AbsoluteUri,
            4 => Self::External,
            5 => Self::Unknown,
            6 => Self::Unchanged,
            _ => Self::Reserved,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Self::Empty => 0,
            Self::WellKnown => 1,
            Self::Mime => 2,
            Self::AbsoluteUri => 3,
            Self::External => 4,
            Self::Unknown => 5,
            Self::Unchanged => 6,
            Self::Reserved => 7,
        }
    }
}

/// One NDEF record (chunked records are already joined).
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// Type name format.
    pub tnf: Tnf,
    /// The record type, interpreted according to `tnf`.
    pub record_type: Vec<u8>,
    /// The optional record identifier.
    pub id: Vec<u8>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl fmt::Debug for Record {
    // Payloads can be personal (vCards, texts): show only type and length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Record({:?} {:?}, {} payload bytes)",
            self.tnf,
            String::from_utf8_lossy(&self.record_type),
            self.payload.len()
        )
    }
}

/// What a record means, for the record types the kiosk understands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    /// A URI (well-known `U` with the prefix expanded, or an absolute-URI record's type).
    Uri(String),
    /// A text (well-known `T`).
    Text {
        /// IANA language code, e.g. `de`.
        language: String,
        /// The text.
        text: String,
    },
    /// A media-type record.
    Mime {
        /// The media type, e.g. `application/json`.
        media_type: String,
        /// The payload.
        data: Vec<u8>,
    },
    /// An NFC Forum external type.
    External {
        /// The type, e.g. `example.com:ticket`.
        record_type: String,
        /// The payload.
        data: Vec<u8>,
    },
    /// An empty record.
    Empty,
    /// Any other record (smart posters, unknown types).
    Other,
}

/// URI identifier codes of the NFC Forum URI RTD (prefix abbreviations).
const URI_PREFIXES: [&str; 36] = [
    "",
    "http://www.",
    "https://www.",
    "http://",
    "https://",
    "tel:",
    "mailto:",
    "ftp://anonymous:anonymous@",
    "ftp://ftp.",
    "ftps://",
    "sftp://",
    "smb://",
    "nfs://",
    "ftp://",
    "dav://",
    "news:",
    "telnet://",
    "imap:",
    "rtsp://",
    "urn:",
    "pop:",
    "sip:",
    "sips:",
    "tftp:",
    "btspp://",
    "btl2cap://",
    "btgoep://",
    "tcpobex://",
    "irdaobex://",
    "file://",
    "urn:epc:id:",
    "urn:epc:tag:",
    "urn:epc:pat:",
    "urn:epc:raw:",
    "urn:epc:",
    "urn:nfc:",
];

impl Record {
    /// A well-known URI record, abbreviating a known prefix.
    pub fn uri(uri: &str) -> Self {
        let (code, rest) = URI_PREFIXES
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, prefix)| uri.starts_with(*prefix))
            .max_by_key(|(_, prefix)| prefix.len())
            .map(|(code, prefix)| (code as u8, &uri[prefix.len()..]))
            .unwrap_or((0, uri));
        let mut payload = vec![code];
        payload.extend_from_slice(rest.as_bytes());
        Self::new(Tnf::WellKnown, b"U", payload)
    }

    /// A well-known UTF-8 text record.
    pub fn text(language: &str, text: &str) -> Self {
        let language = &language.as_bytes()[..language.len().min(63)];
        let mut payload = vec![language.len() as u8];
        payload.extend_from_slice(language);
        payload.extend_from_slice(text.as_bytes());
        Self::new(Tnf::WellKnown, b"T", payload)
    }

    /// A record of `tnf` with the given type and payload, without id.
    pub fn new(tnf: Tnf, record_type: &[u8], payload: impl Into<Vec<u8>>) -> Self {
        Self {
            tnf,
            record_type: record_type.to_vec(),
            id: Vec::new(),
            payload: payload.into(),
        }
    }

    /// Interprets the record. Malformed well-known records are errors saying what is wrong.
    pub fn content(&self) -> Result<Content> {
        match (self.tnf, self.record_type.as_slice()) {
            (Tnf::Empty, _) => Ok(Content::Empty),
            (Tnf::WellKnown, b"U") => {
                let (&code, rest) = self
                    .payload
                    .split_first()
                    .ok_or_else(|| Error::invalid("NDEF URI record has an empty payload"))?;
                let prefix = URI_PREFIXES.get(usize::from(code)).ok_or_else(|| {
                    Error::invalid(format!("NDEF URI record uses reserved prefix code {code}"))
                })?;
                let rest = std::str::from_utf8(rest)
                    .map_err(|_| Error::invalid("NDEF URI record is not valid UTF-8"))?;
                Ok(Content::Uri(format!("{prefix}{rest}")))
            }
            (Tnf::WellKnown, b"T") => {
                let (&status, rest) = self
                    .payload
                    .split_first()
                    .ok_or_else(|| Error::invalid("NDEF text record has an empty payload"))?;
                let language_len = usize::from(status & 0x3F);
                if rest.len() < language_len {
                    return Err(Error::invalid(
                        "NDEF text record's language code is longer than the record",
                    ));
                }
                let (language, text) = rest.split_at(language_len);
                let language = String::from_utf8_lossy(language).into_owned();
                let text = if status & 0x80 != 0 {
                    decode_utf16(text)?
                } else {
                    String::from_utf8(text.to_vec())
                        .map_err(|_| Error::invalid("NDEF text record is not valid UTF-8"))?
                };
                Ok(Content::Text { language, text })
            }
            (Tnf::Mime, media_type) => Ok(Content::Mime {
                media_type: String::from_utf8_lossy(media_type).into_owned(),
                data: self.payload.clone(),
            }),
            (Tnf::AbsoluteUri, uri) => Ok(Content::Uri(String::from_utf8_lossy(uri).into_owned())),
            (Tnf::External, record_type) => Ok(Content::External {
                record_type: String::from_utf8_lossy(record_type).into_owned(),
                data: self.payload.clone(),
            }),
            _ => Ok(Content::Other),
        }
    }
}

fn decode_utf16(bytes: &[u8]) -> Result<String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Error::invalid(
            "NDEF UTF-16 text has an odd number of bytes",
        ));
    }
    let mut units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    let little_endian = units.first() == Some(&0xFFFE);
    if little_endian {
        units = units.iter().map(|unit| unit.swap_bytes()).collect();
    }
    if units.first() == Some(&0xFEFF) {
        units.remove(0);
    }
    String::from_utf16(&units).map_err(|_| Error::invalid("NDEF UTF-16 text is not valid"))
}

/// Parses an NDEF message into records, joining chunked records.
///
/// Checks every length against the input; never panics on any input.
pub fn parse_message(bytes: &[u8]) -> Result<Vec<Record>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut records: Vec<Record> = Vec::new();
    let mut rest = bytes;
    let mut chunk: Option<Record> = None;
    let mut index = 0;
    loop {
        if records.len() >= MAX_RECORDS {
            return Err(Error::invalid("NDEF message has more than 256 records"));
        }
        let (&header, after) = rest
            .split_first()
            .ok_or_else(|| Error::invalid("NDEF message ends before its last record (ME)"))?;
        let message_begin = header & 0x80 != 0;
        let message_end = header & 0x40 != 0;
        let chunked = header & 0x20 != 0;
        let short = header & 0x10 != 0;
        let has_id = header & 0x08 != 0;
        let tnf = Tnf::from_bits(header);
        if (index == 0) != message_begin {
            return Err(Error::invalid(format!(
                "NDEF record {index} has a wrong message-begin flag"
            )));
        }
        let mut cursor = Cursor { bytes: after };
        let type_len = usize::from(cursor.byte()?);
        let payload_len = if short {
            usize::from(cursor.byte()?)
        } else {
            u32::from_be_bytes(cursor.array::<4>()?) as usize
        };
        let id_len = if has_id {
            usize::from(cursor.byte()?)
        } else {
            0
        };
        let record_type = cursor.take(type_len)?.to_vec();
        let id = cursor.take(id_len)?.to_vec();
        let payload = cursor.take(payload_len)?.to_vec();
        rest = cursor.bytes;

        match (&mut chunk, tnf) {
            (Some(open), Tnf::Unchanged) => {
                if !record_type.is_empty() {
                    return Err(Error::invalid("NDEF continuation chunk carries a type"));
                }
                if open.payload.len() + payload.len() > MAX_MESSAGE_LEN {
                    return Err(Error::invalid("NDEF chunked record is too large"));
                }
                open.payload.extend_from_slice(&payload);
                if !chunked {
                    records.extend(chunk.take());
                }
            }
            (Some(_), _) => {
                return Err(Error::invalid(
                    "NDEF chunked record interrupted by a new record",
                ));
            }
            (None, Tnf::Unchanged) => {
                return Err(Error::invalid(
                    "NDEF record uses TNF 'unchanged' outside a chunked record",
                ));
            }
            (None, _) => {
                let record = Record {
                    tnf,
                    record_type,
                    id,
                    payload,
                };
                if chunked {
                    chunk = Some(record);
                } else {
                    records.push(record);
                }
            }
        }
        index += 1;
        if message_end {
            if chunk.is_some() {
                return Err(Error::invalid("NDEF message ends inside a chunked record"));
            }
            return Ok(records);
        }
    }
}

/// Encodes records as one NDEF message (short records where they fit, no chunking).
pub fn encode_message(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let short = record.payload.len() < 256;
        let mut header = record.tnf.bits();
        if index == 0 {
            header |= 0x80;
        }
        if index + 1 == records.len() {
            header |= 0x40;
        }
        if short {
            header |= 0x10;
        }
        if !record.id.is_empty() {
            header |= 0x08;
        }
        out.push(header);
        out.push(record.record_type.len() as u8);
        if short {
            out.push(record.payload.len() as u8);
        } else {
            out.extend_from_slice(&(record.payload.len() as u32).to_be_bytes());
        }
        if !record.id.is_empty() {
            out.push(record.id.len() as u8);
        }
        out.extend_from_slice(&record.record_type);
        out.extend_from_slice(&record.id);
        out.extend_from_slice(&record.payload);
    }
    out
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if len > self.bytes.len() {
            return Err(Error::invalid(format!(
                "NDEF record announces {len} bytes but only {} remain",
                self.bytes.len()
            )));
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

/// Reads and parses the NDEF message of a Type 4 or Type 2 tag (identifying it first).
pub fn read_ndef<C: Card + ?Sized>(card: &mut C) -> Result<Vec<Record>> {
    let bytes = match identify(card)? {
        CardKind::Type4Tag | CardKind::Phone => read_type4_message(card)?,
        CardKind::Type2Tag => read_type2_message(card)?,
        other => {
            return Err(Error::unsupported(format!(
                "this card is a {other}, not an NFC tag with NDEF data"
            )));
        }
    };
    parse_message(&bytes)
}

/// Reads the raw NDEF message of a Type 4 tag (NFC Forum T4T 2.0/3.0 file layout).
pub fn read_type4_message<C: Card + ?Sized>(card: &mut C) -> Result<Vec<u8>> {
    let selected = transmit(card, &Command::select_aid(&NDEF_AID))?;
    if selected.sw != StatusWord::OK {
        return Err(Error::unsupported(format!(
            "the tag has no NDEF application ({})",
            selected.sw
        )));
    }
    transmit(card, &select_t4t_file(0xE103))?.into_ok("SELECT capability container")?;
    let cc = transmit(card, &Command::read_binary(0, 15))?.into_ok("READ capability container")?;
    if cc.len() < 15 {
        return Err(Error::invalid(format!(
            "the tag's capability container has {} bytes, at least 15 are needed",
            cc.len()
        )));
    }
    let max_le = usize::from(u16::from_be_bytes([cc[3], cc[4]])).clamp(1, 255);
    // NDEF file control TLV: 04 06 <file id> <max size> <read access> <write access>
    if cc[7] != 0x04 || cc[8] < 6 {
        return Err(Error::invalid(
            "the tag's capability container has no NDEF file control TLV",
        ));
    }
    let file_id = u16::from_be_bytes([cc[9], cc[10]]);
    let max_size = usize::from(u16::from_be_bytes([cc[11], cc[12]]));
    if cc[13] != 0x00 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "the tag's NDEF file is read-protected",
        ));
    }
    transmit(card, &select_t4t_file(file_id))?.into_ok("SELECT NDEF file")?;
    let nlen = transmit(card, &Command::read_binary(0, 2))?.into_ok("READ NDEF length")?;
    let [hi, lo] = nlen[..] else {
        return Err(Error::invalid(
            "the tag answered the NDEF length with a wrong size",
        ));
    };
    let length = usize::from(u16::from_be_bytes([hi, lo]));
    if length + 2 > max_size.max(3) || length > MAX_MESSAGE_LEN {
        return Err(Error::invalid(format!(
            "the tag's NDEF length {length} exceeds its file size {max_size}"
        )));
    }
    let mut message = Vec::with_capacity(length);
    while message.len() < length {
        let offset = 2 + message.len();
        let chunk = max_le.min(length - message.len());
        let offset16 =
            u16::try_from(offset).map_err(|_| Error::invalid("NDEF file offset beyond 32 KiB"))?;
        let data =
            transmit(card, &Command::read_binary(offset16, chunk))?.into_ok("READ NDEF message")?;
        if data.is_empty() {
            return Err(Error::invalid(
                "the tag returned no data inside its NDEF message",
            ));
        }
        message.extend_from_slice(&data);
    }
    message.truncate(length);
    Ok(message)
}

/// SELECT by file identifier as NFC Forum T4T specifies it (P1 00, no response data).
fn select_t4t_file(file_id: u16) -> Command {
    Command::new(0x00, 0xA4, 0x00, 0x0C).with_data(file_id.to_be_bytes())
}

/// Reads the raw NDEF message of a Type 2 tag through the PC/SC `FF B0` pseudo-APDU.
pub fn read_type2_message<C: Card + ?Sized>(card: &mut C) -> Result<Vec<u8>> {
    let cc = read_type2_pages(card, 3)?;
    if cc[0] != 0xE1 {
        return Err(Error::unsupported(
            "the tag has no NDEF capability container",
        ));
    }
    let data_area = usize::from(cc[2]) * 8;
    // Read the whole data area page by page (16 bytes per read), then walk its TLVs.
    let mut area = Vec::with_capacity(data_area);
    let mut page = 4u8;
    while area.len() < data_area {
        area.extend_from_slice(&read_type2_pages(card, page)?);
        // Stop early once the terminator or a complete NDEF TLV has been read.
        if let Some(message) = find_ndef_tlv(&area)? {
            return Ok(message);
        }
        page = page
            .checked_add(4)
            .ok_or_else(|| Error::invalid("Type 2 tag data area is larger than 1 KiB"))?;
    }
    area.truncate(data_area);
    find_ndef_tlv(&area)?.ok_or_else(|| Error::invalid("the Type 2 tag holds no NDEF message TLV"))
}

fn read_type2_pages<C: Card + ?Sized>(card: &mut C, page: u8) -> Result<Vec<u8>> {
    let data = transmit(card, &Command::new(0xFF, 0xB0, 0x00, page).with_ne(16))?
        .into_ok("READ BINARY (Type 2 tag)")?;
    if data.len() < 4 {
        return Err(Error::invalid(format!(
            "the Type 2 tag returned {} bytes for a page read, at least 4 are needed",
            data.len()
        )));
    }
    Ok(data)
}

/// Finds the NDEF message TLV (type 03) in a Type 2 data area. `Ok(None)` means the TLV
/// continues beyond the bytes read so far.
fn find_ndef_tlv(area: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut rest = area;
    loop {
        let Some((&tag, after)) = rest.split_first() else {
            return Ok(None);
        };
        match tag {
            0x00 => {
                rest = after;
                continue;
            }
            0xFE => return Err(Error::invalid("the Type 2 tag holds no NDEF message TLV")),
            _ => {}
        }
        let (length, after) = match after {
            [0xFF, hi, lo, tail @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), tail),
            [0xFF, ..] | [] => return Ok(None),
            [len, tail @ ..] => (usize::from(*len), tail),
        };
        if after.len() < length {
            return Ok(None);
        }
        if tag == 0x03 {
            return Ok(Some(after[..length].to_vec()));
        }
        rest = &after[length..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_text_mime_external_round_trip() {
        let records = vec![
            Record::uri("https://www.gelsenkirchen.de/termine"),
            Record::text("de", "Bürgerbüro"),
            Record::new(Tnf::Mime, b"application/json", b"{}".to_vec()),
            Record::new(Tnf::External, b"gelsenkirchen.de:ticket", vec![1, 2, 3]),
        ];
        let encoded = encode_message(&records);
        assert_eq!(encoded[4], 0x02, "https://www. abbreviated as code 2");
        let parsed = parse_message(&encoded).unwrap();
        assert_eq!(parsed, records);
        let contents: Vec<Content> = parsed.iter().map(|r| r.content().unwrap()).collect();
        assert_eq!(
            contents,
            [
                Content::Uri("https://www.gelsenkirchen.de/termine".into()),
                Content::Text {
                    language: "de".into(),
                    text: "Bürgerbüro".into()
                },
                Content::Mime {
                    media_type: "application/json".into(),
                    data: b"{}".to_vec()
                },
                Content::External {
                    record_type: "gelsenkirchen.de:ticket".into(),
                    data: vec![1, 2, 3]
                },
            ]
        );
    }

    #[test]
    fn long_records_and_utf16_text() {
        let big = Record::new(Tnf::Mime, b"text/plain", vec![b'a'; 1000]);
        assert_eq!(
            parse_message(&encode_message(std::slice::from_ref(&big))).unwrap(),
            [big]
        );
        let utf16 = Record::new(
            Tnf::WellKnown,
            b"T",
            vec![0x82, b'e', b'n', 0, b'H', 0, b'i'],
        );
        assert_eq!(
            utf16.content().unwrap(),
            Content::Text {
                language: "en".into(),
                text: "Hi".into()
            }
        );
    }

    #[test]
    fn chunked_records_are_joined() {
        // MB|CF|SR mime "a/b" "he", then CF|SR unchanged "ll", then ME|SR unchanged "o"
        let message = [
            0xB2, 3, 2, b'a', b'/', b'b', b'h', b'e', 0x36, 0, 2, b'l', b'l', 0x56, 0, 1, b'o',
        ];
        let records = parse_message(&message).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].payload, b"hello");
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in [
            &[0xD1][..],
            &[0xD1, 1, 5, b'U', 0],
            &[0x51, 1, 1, b'U', 0],
            &[0x91, 1, 1, b'U', 0],
            &[0xC1, 1, 0xFF, 0xFF, 0xFF, 0xFF, b'U'],
            &[0xD6, 0, 0],
            &[0xB1, 1, 1, b'U', 0],
        ] {
            assert!(parse_message(bad).is_err(), "{bad:02X?}");
        }
        let bad_uri = Record::new(Tnf::WellKnown, b"U", vec![200, b'x']);
        assert!(bad_uri.content().is_err());
    }
}
