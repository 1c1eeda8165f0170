//! A BER-TLV parser (ISO 7816-4 / X.690 definite lengths) for card answers.
//!
//! Never panics: every length is checked against the remaining input, nesting is bounded.

use crate::error::{Error, Result};

/// Deepest nesting [`Tlv::children`] users are expected to follow; deeper input is refused.
pub const MAX_DEPTH: usize = 16;

/// One TLV object borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag with all its bytes, e.g. `0x5F1F` or `0x61`.
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Whether the tag says the value is itself a sequence of TLV objects.
    pub fn is_constructed(&self) -> bool {
        let first = self
            .tag
            .to_be_bytes()
            .into_iter()
            .find(|&b| b != 0)
            .unwrap_or(0);
        first & 0x20 != 0
    }

    /// Parses the value as a sequence of TLV objects.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>> {
        parse_all(self.value)
    }

    /// Finds the first direct child with `tag`.
    pub fn child(&self, tag: u32) -> Result<Option<Tlv<'a>>> {
        Ok(self.children()?.into_iter().find(|tlv| tlv.tag == tag))
    }
}

/// Parses one TLV object at the start of `input`; returns it and the rest of the input.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let (tag, rest) = parse_tag(input)?;
    let (len, rest) = parse_length(rest)?;
    if len > rest.len() {
        return Err(Error::invalid(format!(
            "TLV tag {tag:X} announces {len} value bytes but only {} follow",
            rest.len()
        )));
    }
    let (value, rest) = rest.split_at(len);
    Ok((Tlv { tag, value }, rest))
}

/// Parses a sequence of TLV objects filling all of `input`.
///
/// Padding bytes `00` and `FF` between objects are skipped (ISO 7816-4 allows them).
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    loop {
        while let [0x00 | 0xFF, rest @ ..] = input {
            input = rest;
        }
        if input.is_empty() {
            return Ok(out);
        }
        let (tlv, rest) = parse_one(input)?;
        out.push(tlv);
        input = rest;
    }
}

/// Depth-first search for the first object with `tag` inside `input`, following
/// constructed objects up to [`MAX_DEPTH`] levels.
pub fn find(input: &[u8], tag: u32) -> Result<Option<Tlv<'_>>> {
    find_at_depth(input, tag, 0)
}

fn find_at_depth(input: &[u8], tag: u32, depth: usize) -> Result<Option<Tlv<'_>>> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid("TLV data nested deeper than 16 levels"));
    }
    for tlv in parse_all(input)? {
        if tlv.tag == tag {
            return Ok(Some(tlv));
        }
        if tlv.is_constructed()
            && let Some(found) = find_at_depth(tlv.value, tag, depth + 1)?
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn parse_tag(input: &[u8]) -> Result<(u32, &[u8])> {
    let (&first, mut rest) = input
        .split_first()
        .ok_or_else(|| Error::invalid("TLV data ends where a tag was expected"))?;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        // Multi-byte tag: continuation bytes have bit 8 set; at most 3 more bytes.
        for index in 0..3 {
            let (&next, after) = rest
                .split_first()
                .ok_or_else(|| Error::invalid("TLV data ends inside a multi-byte tag"))?;
            tag = (tag << 8) | u32::from(next);
            rest = after;
            if next & 0x80 == 0 {
                return Ok((tag, rest));
            }
            if index == 2 {
                break;
            }
        }
        return Err(Error::invalid("TLV tag longer than 4 bytes"));
    }
    Ok((tag, rest))
}

fn parse_length(input: &[u8]) -> Result<(usize, &[u8])> {
    let (&first, rest) = input
        .split_first()
        .ok_or_else(|| Error::invalid("TLV data ends where a length was expected"))?;
    match first {
        0x00..=0x7F => Ok((usize::from(first), rest)),
        0x80 => Err(Error::invalid(
            "TLV uses an indefinite length, which card data must not use",
        )),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7F);
            if rest.len() < count {
                return Err(Error::invalid("TLV data ends inside a length field"));
            }
            let (bytes, rest) = rest.split_at(count);
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            Ok((len, rest))
        }
        _ => Err(Error::invalid(format!(
            "TLV length byte {first:02X} is not a valid BER length"
        ))),
    }
}

/// Encodes a length in BER definite form (for building commands and virtual cards).
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => {
            out.push(0x82);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x84);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

/// Encodes one TLV object with a tag of 1 to 4 bytes.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
    out.extend_from_slice(&bytes[skip..]);
    encode_length(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_and_multibyte_tags() {
        // EF.COM-like: 60 { 5F01 "0107", 5C "61 75" }
        let inner = [encode(0x5F01, b"0107"), encode(0x5C, &[0x61, 0x75])].concat();
        let outer = encode(0x60, &inner);
        let (tlv, rest) = parse_one(&outer).unwrap();
        assert!(rest.is_empty());
        assert_eq!(tlv.tag, 0x60);
        assert!(tlv.is_constructed());
        let children = tlv.children().unwrap();
        assert_eq!(children[0].tag, 0x5F01);
        assert_eq!(children[0].value, b"0107");
        assert_eq!(find(&outer, 0x5C).unwrap().unwrap().value, [0x61, 0x75]);
    }

    #[test]
    fn long_lengths_round_trip() {
        for len in [0, 127, 128, 255, 256, 70_000] {
            let value = vec![7u8; len];
            let encoded = encode(0x04, &value);
            let (tlv, rest) = parse_one(&encoded).unwrap();
            assert_eq!(tlv.value.len(), len);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            &[0x5F][..],
            &[0x5F, 0x81, 0x81, 0x81, 0x81, 0x01],
            &[0x04, 0x05, 1, 2],
            &[0x04, 0x80, 1],
            &[0x04, 0x85, 1, 1, 1, 1, 1],
            &[0x04, 0x82, 0xFF],
            &[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
        ] {
            assert!(parse_all(bad).is_err(), "{bad:02X?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut data = encode(0x04, b"x");
        for _ in 0..40 {
            data = encode(0x30, &data);
        }
        assert!(find(&data, 0x04).is_err());
    }
}
