//! The APDU channel to an eMRTD and its file reader, sending no APDU beyond the minimum
//! ICAO 9303-10/11 needs.
//!
//! `dmrtd` does the key agreement (BAC, PACE) and the secure-messaging cryptography; its
//! own file reading selects the master file before EF.CardAccess and fetches every file's
//! TLV header with a separate READ BINARY. This reader instead addresses each file by its
//! short file identifier (READ BINARY with P1 = 0x80 | SFI, which selects the file and
//! reads from offset 0 in one command), asks for the largest answer that still fits a short
//! response APDU, learns the file's length from the TLV header at the start of that first
//! chunk, and then fetches only what is left.

use dmrtd::proto::iso7816::command_apdu::CommandApdu;
use dmrtd::proto::iso7816::response_apdu::ResponseApdu;
use dmrtd::proto::iso7816::sm::SecureMessaging;

use secrecy::zeroize::{Zeroize, Zeroizing};

use crate::apdu::StatusWord;
use crate::card::Card;
use crate::error::{Error, ErrorKind, Result};

/// Short file identifiers (ICAO 9303-10 section 3.11 and 4.6).
pub(crate) const SFI_CARD_ACCESS: u8 = 0x1C;
/// EF.COM.
pub(crate) const SFI_COM: u8 = 0x1E;
/// EF.DG1 (the MRZ).
pub(crate) const SFI_DG1: u8 = 0x01;
/// EF.SOD (the document security object).
pub(crate) const SFI_SOD: u8 = 0x1D;

/// A plain short READ BINARY returns at most 256 bytes (Le = 00).
pub(crate) const MAX_READ_PLAIN: usize = 256;
/// The largest plain READ BINARY answer that still fits a short response APDU once
/// protected with AES secure messaging (PACE): 223 bytes.
pub(crate) const MAX_READ_AES: usize = max_protected_read(16);
/// The same for 3DES secure messaging (BAC): 231 bytes.
pub(crate) const MAX_READ_3DES: usize = max_protected_read(8);
/// Files read here are addressed by 15-bit offsets after the first chunk; EF.COM, DG1 and
/// EF.SOD are far smaller (an EF.SOD with a document signer certificate is 1 to 3 KB).
const MAX_FILE_LEN: usize = 0x8000;
/// Length corrections (6Cxx, 6700) accepted per file before giving up.
const MAX_CORRECTIONS: usize = 2;
/// The fewest bytes a sane chip answers per READ BINARY (except the last): a file of
/// `n` bytes may take `ceil(n / MIN_CHUNK)` reads plus corrections, so a broken chip
/// answering a byte at a time is refused in seconds rather than read for minutes.
pub(crate) const MIN_CHUNK: usize = 16;
/// The longest TLV header `tlv_header` accepts: 3 tag bytes and 4 length bytes.
const MAX_HEADER_LEN: usize = 7;
/// Reads allowed before the TLV header (and so the file's length) is known: one byte per
/// read, plus the corrections and the read that completes it.
const MAX_HEADER_READS: usize = MAX_HEADER_LEN + MAX_CORRECTIONS + 1;

/// The largest `n` whose protected READ BINARY answer fits 256 bytes: DO'87'
/// (tag, length of 1 or 2 bytes, padding indicator, the cryptogram of `n` bytes plus
/// ISO 9797-1 method 2 padding, which always adds at least one byte), DO'99' (4 bytes:
/// the status word) and DO'8E' (10 bytes: an 8-byte MAC), ICAO 9303-11 section 9.8.
pub(crate) const fn max_protected_read(block: usize) -> usize {
    let mut n = MAX_READ_PLAIN;
    while n > 0 {
        let cryptogram = (n / block + 1) * block;
        let value = 1 + cryptogram;
        let length_bytes = if value < 0x80 { 1 } else { 2 };
        if 1 + length_bytes + value + 4 + 10 <= MAX_READ_PLAIN {
            return n;
        }
        n -= 1;
    }
    0
}

/// The channel to the chip: counts APDUs, and once BAC or PACE has run, wraps every
/// command in secure messaging.
pub(crate) struct Channel<'a, C: ?Sized> {
    card: &'a mut C,
    sm: Option<Box<dyn SecureMessaging>>,
    max_read: usize,
    commands: usize,
}

impl<'a, C: Card + ?Sized> Channel<'a, C> {
    pub(crate) fn new(card: &'a mut C) -> Self {
        Self {
            card,
            sm: None,
            max_read: MAX_READ_PLAIN,
            commands: 0,
        }
    }

    /// APDUs sent so far.
    pub(crate) fn commands(&self) -> usize {
        self.commands
    }

    /// From now on every command is protected by `sm`, whose answers fit `max_read`
    /// plain bytes per READ BINARY.
    pub(crate) fn start_secure_messaging(&mut self, sm: Box<dyn SecureMessaging>, max_read: usize) {
        self.sm = Some(sm);
        self.max_read = max_read;
    }

    /// Sends raw APDU bytes (used for the BAC and PACE handshakes, which `dmrtd` builds).
    /// An answer without a status word means the document left the field.
    pub(crate) fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        self.commands += 1;
        let response = self.card.transmit_raw(apdu)?;
        if response.len() < 2 {
            return Err(Error::new(
                ErrorKind::CardRemoved,
                format!(
                    "the document answered {} byte(s) instead of a status word; it was \
                     probably moved away, put it back on the reader",
                    response.len()
                ),
            ));
        }
        Ok(response)
    }

    /// Sends one command (protected when a session is running) and returns the plain
    /// answer data and status word.
    pub(crate) fn command(
        &mut self,
        header: [u8; 4],
        data: Option<Vec<u8>>,
        ne: usize,
    ) -> Result<(Vec<u8>, u16)> {
        let [cla, ins, p1, p2] = header;
        let ne = u32::try_from(ne).unwrap_or(u32::MAX);
        let command = CommandApdu::new(cla, ins, p1, p2, data, ne)
            .map_err(|error| Error::new(ErrorKind::Other, format!("bad command: {error}")))?;
        let wire = match self.sm.as_mut() {
            Some(sm) => sm.protect(&command).map_err(|_| {
                Error::new(
                    ErrorKind::Other,
                    "the secure messaging session cannot protect the next command",
                )
            })?,
            None => command,
        };
        // Without secure messaging this is the plain answer; zeroed when dropped.
        let raw = Zeroizing::new(self.transmit(&wire.to_bytes())?);
        let response = ResponseApdu::from_bytes(&raw)
            .map_err(|_| Error::invalid("the document's answer is not a response APDU"))?;
        let plain = match self.sm.as_mut() {
            Some(sm) => sm.unprotect(&response).map_err(|_| {
                Error::invalid(
                    "the document's answer failed the secure messaging check (MAC or \
                     format); put the document on the reader again",
                )
            })?,
            None => response,
        };
        let sw = u16::from_be_bytes([plain.status.sw1, plain.status.sw2]);
        Ok((plain.data.unwrap_or_default(), sw))
    }

    /// SELECT of the eMRTD application by its AID, without an answer (P2 = 0C).
    pub(crate) fn select_application(&mut self) -> Result<()> {
        let (_, sw) = self.command(
            [0x00, 0xA4, 0x04, 0x0C],
            Some(crate::identify::EMRTD_AID.to_vec()),
            0,
        )?;
        match sw {
            0x9000 => Ok(()),
            other => Err(Error::unsupported(format!(
                "the document has no eMRTD application (SELECT answered {})",
                StatusWord(other)
            ))),
        }
    }

    /// SELECT of the master file (file identifier 3F00, without an answer), where
    /// EF.CardAccess lives.
    pub(crate) fn select_master_file(&mut self) -> Result<()> {
        let (_, sw) = self.command([0x00, 0xA4, 0x00, 0x0C], Some(vec![0x3F, 0x00]), 0)?;
        match sw {
            0x9000 => Ok(()),
            other => Err(Error::unsupported(format!(
                "the document's master file cannot be selected (SELECT answered {})",
                StatusWord(other)
            ))),
        }
    }

    /// Reads a whole file by its short file identifier with the fewest READ BINARY
    /// commands: `ceil(length / max_read)` when the chip answers every read in full.
    ///
    /// `name` is used in errors. Handles 6282 (end of file, with or without data),
    /// 6Cxx (the chip names the length it wants), 6700 (a chip whose buffer is smaller
    /// than the short-APDU limit: retried at 223 bytes), answers longer than asked,
    /// files shorter than their TLV header says, and headers that are not BER-TLV. A chip
    /// answering fewer than [`MIN_CHUNK`] bytes per read is refused after
    /// `ceil(length / MIN_CHUNK)` reads (plus corrections) instead of being read for
    /// minutes.
    ///
    /// The file (DG1 is personal) and every answer are zeroed when dropped: the buffer
    /// gets its final capacity once the length is known, so no unwiped copy is left
    /// behind by a reallocation.
    pub(crate) fn read_file(&mut self, sfi: u8, name: &str) -> Result<Zeroizing<Vec<u8>>> {
        // Before the length is known the data is a part of the TLV header (at most
        // MAX_HEADER_LEN - 1 bytes) plus one answer, so this capacity is never outgrown.
        let mut data = Zeroizing::new(Vec::with_capacity(MAX_HEADER_LEN + MAX_READ_PLAIN));
        let mut total: Option<usize> = None;
        let mut limit = self.max_read;
        let mut corrections = 0;
        let mut max_reads = MAX_HEADER_READS;
        let mut reads = 0;
        while reads < max_reads {
            reads += 1;
            let offset = data.len();
            let wanted = match total {
                Some(total) => (total - offset).min(limit),
                None => limit,
            };
            // The first read selects the file by SFI (offset 0 in P2); later reads use
            // the 15-bit offset of the now current file.
            let (p1, p2) = if offset == 0 {
                (0x80 | sfi, 0)
            } else {
                let [high, low] = u16::try_from(offset).unwrap_or(u16::MAX).to_be_bytes();
                (high, low)
            };
            let (chunk, sw) = self.command([0x00, 0xB0, p1, p2], None, wanted)?;
            let chunk = Zeroizing::new(chunk);
            match sw {
                0x9000 | 0x6282 => {}
                0x6C00..=0x6CFF if corrections < MAX_CORRECTIONS => {
                    corrections += 1;
                    limit = match sw & 0xFF {
                        0 => MAX_READ_PLAIN,
                        exact => usize::from(exact as u8),
                    }
                    .min(self.max_read);
                    continue;
                }
                0x6700 if corrections < MAX_CORRECTIONS && limit > MAX_READ_AES => {
                    corrections += 1;
                    limit = MAX_READ_AES;
                    continue;
                }
                0x6A82 => {
                    return Err(Error::unsupported(format!("the document has no {name}")));
                }
                0x6982 => {
                    return Err(Error::new(
                        ErrorKind::AuthenticationFailed,
                        format!("the document does not let {name} be read (6982)"),
                    ));
                }
                other => {
                    return Err(Error::invalid(format!(
                        "reading {name} at offset {offset} failed, the document answered {}",
                        StatusWord(other)
                    )));
                }
            }
            if chunk.len() > wanted {
                return Err(Error::invalid(format!(
                    "the document answered {} bytes to a READ BINARY of {wanted} bytes of {name}",
                    chunk.len()
                )));
            }
            let ended = sw == 0x6282 || chunk.is_empty();
            data.extend_from_slice(&chunk);
            if total.is_none() {
                match tlv_header(&data, name)? {
                    Some(length) if length > MAX_FILE_LEN => {
                        return Err(Error::unsupported(format!(
                            "{name} announces {length} bytes, more than the {MAX_FILE_LEN} \
                             this reader accepts"
                        )));
                    }
                    Some(length) => {
                        total = Some(length);
                        max_reads = length.div_ceil(MIN_CHUNK) + MAX_CORRECTIONS + 1;
                        if length > data.capacity() {
                            // Move to the final size once; the old buffer is zeroed as it
                            // is dropped.
                            let mut whole = Zeroizing::new(Vec::with_capacity(length));
                            whole.extend_from_slice(&data);
                            data = whole;
                        }
                    }
                    None if ended => {
                        return Err(Error::invalid(format!(
                            "{name} ends inside its TLV header after {} bytes",
                            data.len()
                        )));
                    }
                    None => {}
                }
            }
            if let Some(total) = total {
                if data.len() >= total {
                    data[total..].zeroize();
                    data.truncate(total);
                    return Ok(data);
                }
                if ended {
                    return Err(Error::invalid(format!(
                        "{name} ended after {} of the {total} bytes its TLV header announces",
                        data.len()
                    )));
                }
            }
        }
        let announced = total.map_or_else(String::new, |total| format!(" of {total}"));
        Err(Error::invalid(format!(
            "reading {name} took {reads} READ BINARY commands for {}{announced} bytes: the \
             document answers fewer than {MIN_CHUNK} bytes per read, so its chip or the \
             reader is faulty; put the document on the reader again, or use another reader",
            data.len()
        )))
    }
}

/// The total length (header plus value) of the BER-TLV object at the start of `data`,
/// or `None` when `data` ends inside the header.
fn tlv_header(data: &[u8], name: &str) -> Result<Option<usize>> {
    let garbage = |what: &str| {
        Error::invalid(format!(
            "{name} does not start with a valid TLV header ({what}); the chip may be damaged"
        ))
    };
    let Some(&first) = data.first() else {
        return Ok(None);
    };
    if first == 0x00 || first == 0xFF {
        return Err(garbage("no tag"));
    }
    let mut position = 1;
    if first & 0x1F == 0x1F {
        // Multi-byte tag: continuation bytes have bit 8 set; ICAO tags have at most 3 bytes.
        loop {
            let Some(&next) = data.get(position) else {
                return Ok(None);
            };
            position += 1;
            if next & 0x80 == 0 {
                break;
            }
            if position >= 3 {
                return Err(garbage("tag longer than 3 bytes"));
            }
        }
    }
    let Some(&length_byte) = data.get(position) else {
        return Ok(None);
    };
    position += 1;
    let length = match length_byte {
        0x00..=0x7F => usize::from(length_byte),
        0x81..=0x83 => {
            let count = usize::from(length_byte & 0x7F);
            let Some(bytes) = data.get(position..position + count) else {
                return Ok(None);
            };
            position += count;
            bytes
                .iter()
                .fold(0usize, |length, &byte| (length << 8) | usize::from(byte))
        }
        _ => return Err(garbage("invalid length")),
    };
    Ok(Some(position + length))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How the scripted chip misbehaves.
    #[derive(Clone, Copy)]
    enum Quirk {
        None,
        /// Answers at most this many bytes per read, with 9000.
        Short(usize),
        /// Wants exactly this Le (6Cxx) for every read asking for more.
        Exact(u8),
        /// Refuses reads longer than this with 6700.
        Buffer(usize),
        /// Answers one byte more than asked.
        TooLong,
        /// The file ends before its TLV header says (answers 6282).
        Truncated(usize),
        /// Leaves after this many commands.
        Removed(usize),
    }

    /// A plain (no secure messaging) chip with one file under SFI 0x1E.
    struct Chip {
        file: Vec<u8>,
        quirk: Quirk,
        commands: Vec<Vec<u8>>,
    }

    impl Card for Chip {
        fn atr(&self) -> &[u8] {
            &[]
        }

        fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>> {
            self.commands.push(command.to_vec());
            if let Quirk::Removed(after) = self.quirk
                && self.commands.len() > after
            {
                return Err(Error::new(ErrorKind::CardRemoved, "card left"));
            }
            let [0x00, 0xB0, p1, p2, le] = *command else {
                return Ok(vec![0x6D, 0x00]);
            };
            let offset = if p1 & 0x80 != 0 {
                if p1 & 0x1F != SFI_COM {
                    return Ok(vec![0x6A, 0x82]);
                }
                usize::from(p2)
            } else {
                usize::from(u16::from_be_bytes([p1, p2]))
            };
            let ne = if le == 0 { 256 } else { usize::from(le) };
            let mut ne = ne;
            match self.quirk {
                Quirk::Exact(exact) if ne > usize::from(exact) => return Ok(vec![0x6C, exact]),
                Quirk::Buffer(max) if ne > max => return Ok(vec![0x67, 0x00]),
                Quirk::Short(max) => ne = ne.min(max),
                _ => {}
            }
            let file_end = match self.quirk {
                Quirk::Truncated(len) => len,
                _ => self.file.len(),
            };
            let end = file_end.min(offset + ne);
            let mut answer = self.file[offset.min(end)..end].to_vec();
            let sw = if answer.len() < ne && !matches!(self.quirk, Quirk::Short(_)) {
                [0x62, 0x82]
            } else {
                [0x90, 0x00]
            };
            if let Quirk::TooLong = self.quirk {
                answer.push(0);
            }
            answer.extend_from_slice(&sw);
            Ok(answer)
        }
    }

    fn file(len: usize) -> Vec<u8> {
        let mut value = vec![0x5A; len - 4];
        value[0] = 1;
        crate::tlv::encode(0x77, &value)
    }

    fn read(file: &[u8], quirk: Quirk) -> (Result<Vec<u8>>, usize) {
        let mut chip = Chip {
            file: file.to_vec(),
            quirk,
            commands: Vec::new(),
        };
        let mut channel = Channel::new(&mut chip);
        let result = channel
            .read_file(SFI_COM, "EF.COM")
            .map(|data| data.to_vec());
        (result, channel.commands())
    }

    #[test]
    fn a_file_is_read_in_the_fewest_commands() {
        let big = file(600);
        assert_eq!(read(&big, Quirk::None), (Ok(big.clone()), 3));
        let small = file(93);
        assert_eq!(read(&small, Quirk::None), (Ok(small.clone()), 1));
        let exact = file(512);
        assert_eq!(read(&exact, Quirk::None), (Ok(exact.clone()), 2));
    }

    #[test]
    fn short_answers_and_length_corrections_still_read_everything() {
        let big = file(600);
        assert_eq!(read(&big, Quirk::Short(100)), (Ok(big.clone()), 6));
        // 6C80: the chip names the length it wants; one retry, then 128-byte reads.
        assert_eq!(read(&big, Quirk::Exact(0x80)), (Ok(big.clone()), 6));
        // 6700 names no length: the reader retries once at 223 bytes, and a chip that
        // refuses that too gets a clear error instead of ever smaller guesses.
        let (result, _) = read(&big, Quirk::Buffer(200));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidResponse);
        assert_eq!(read(&big, Quirk::Buffer(223)), (Ok(big.clone()), 4));
    }

    #[test]
    fn wrong_lengths_garbage_and_removal_are_clean_errors() {
        let big = file(600);
        let (result, _) = read(&big, Quirk::TooLong);
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
        assert!(error.message().contains("257 bytes"), "{error}");

        let (result, commands) = read(&big, Quirk::Truncated(300));
        let error = result.unwrap_err();
        assert!(error.message().contains("300 of the 600"), "{error}");
        assert_eq!(commands, 2);

        for garbage in [
            vec![0x00; 40],
            vec![0x77, 0x80, 1, 2],
            vec![0x5F, 0x81, 0x81, 0x81],
        ] {
            let (result, _) = read(&garbage, Quirk::None);
            assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidResponse);
        }
        // A header announcing more than the reader accepts.
        let (result, commands) = read(&[0x77, 0x83, 0x10, 0x00, 0x00, 1], Quirk::None);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Unsupported);
        assert_eq!(commands, 1);

        let (result, commands) = read(&big, Quirk::Removed(1));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::CardRemoved);
        assert_eq!(commands, 2);

        let mut chip = Chip {
            file: big,
            quirk: Quirk::None,
            commands: Vec::new(),
        };
        let error = Channel::new(&mut chip)
            .read_file(SFI_SOD, "EF.SOD")
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unsupported);
        assert_eq!(error.message(), "the document has no EF.SOD");
    }

    #[test]
    fn a_chip_answering_a_byte_at_a_time_is_refused_quickly() {
        let big = file(600);
        // 16 bytes per read is still a working chip: ceil(600 / 16) reads.
        assert_eq!(read(&big, Quirk::Short(MIN_CHUNK)), (Ok(big.clone()), 38));
        // One byte per read would take 600 commands: refused after the 38 a sane chip
        // needs, the two corrections and one more.
        let (result, commands) = read(&big, Quirk::Short(1));
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
        assert!(
            error
                .message()
                .contains("41 READ BINARY commands for 41 of 600 bytes"),
            "{error}"
        );
        assert!(error.message().contains("fewer than 16 bytes"), "{error}");
        assert_eq!(commands, 41);
        // Before the length is known only the header's few bytes are waited for.
        let (result, commands) = read(&[0x5F, 0x9F], Quirk::Short(1));
        assert!(result.is_err());
        assert!(commands <= MAX_HEADER_READS, "{commands}");
        // A small file read a byte at a time: refused after ceil(20 / 16) + 3 reads.
        let small = file(20);
        let (result, commands) = read(&small, Quirk::Short(1));
        assert!(result.is_err());
        assert_eq!(commands, 2 + MAX_CORRECTIONS + 1);
    }

    #[test]
    fn the_first_read_selects_by_short_file_identifier() {
        let mut chip = Chip {
            file: file(600),
            quirk: Quirk::None,
            commands: Vec::new(),
        };
        Channel::new(&mut chip)
            .read_file(SFI_COM, "EF.COM")
            .unwrap();
        assert_eq!(
            chip.commands,
            [
                vec![0x00, 0xB0, 0x9E, 0x00, 0x00],
                vec![0x00, 0xB0, 0x01, 0x00, 0x00],
                vec![0x00, 0xB0, 0x02, 0x00, 0x58],
            ]
        );
    }

    #[test]
    fn protected_read_limits_match_icao_9303_11() {
        assert_eq!(MAX_READ_AES, 223);
        assert_eq!(MAX_READ_3DES, 231);
    }

    #[test]
    fn tlv_headers_give_the_total_length_or_ask_for_more() {
        assert_eq!(tlv_header(&[0x60, 0x05], "f").unwrap(), Some(7));
        assert_eq!(
            tlv_header(&[0x77, 0x82, 0x03, 0x00], "f").unwrap(),
            Some(772)
        );
        assert_eq!(
            tlv_header(&[0x5F, 0x1F, 0x81, 0x80], "f").unwrap(),
            Some(132)
        );
        assert_eq!(tlv_header(&[0x77, 0x82, 0x03], "f").unwrap(), None);
        assert_eq!(tlv_header(&[0x5F], "f").unwrap(), None);
        assert_eq!(tlv_header(&[], "f").unwrap(), None);
        for garbage in [&[0x00, 0x01][..], &[0xFF], &[0x77, 0x80], &[0x77, 0x85, 1]] {
            let error = tlv_header(garbage, "EF.X").unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidResponse);
            assert!(error.message().contains("EF.X"), "{error}");
        }
        assert!(tlv_header(&[0x5F, 0x81, 0x81, 0x81, 0x01], "f").is_err());
    }
}
