//! ISO 7816-4 command and response APDUs, status words, and response chaining.

use std::fmt;

use crate::card::Card;
use crate::error::{Error, ErrorKind, Result};

/// Largest response data a single command may ask for (extended length).
pub const MAX_RESPONSE_DATA: usize = 65_536;

/// Upper bound on GET RESPONSE rounds, so a card answering 61xx forever cannot hang us.
const MAX_GET_RESPONSE_ROUNDS: usize = 256;

/// A command APDU. Short or extended encoding is chosen automatically.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (may be empty).
    pub data: Vec<u8>,
    /// Expected response length Ne (1..=65536), `None` when no data is expected.
    pub ne: Option<usize>,
}

impl fmt::Debug for Command {
    // Command data can carry keys or challenges: show only its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, {} data bytes, ne {:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.ne
        )
    }
}

impl Command {
    /// A command without data and without expected response.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            ne: None,
        }
    }

    /// Sets the command data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets the expected response length; `256` means "up to 256" (short Le 00),
    /// `65536` means "as much as possible" (extended Le 0000).
    pub fn with_ne(mut self, ne: usize) -> Self {
        self.ne = Some(ne.clamp(1, MAX_RESPONSE_DATA));
        self
    }

    /// SELECT by application identifier (ISO 7816-4, P1 04), first or only occurrence.
    pub fn select_aid(aid: &[u8]) -> Self {
        Self::new(0x00, 0xA4, 0x04, 0x00)
            .with_data(aid)
            .with_ne(256)
    }

    /// SELECT an elementary file by its identifier, no response data wanted.
    pub fn select_file(file_id: u16) -> Self {
        Self::new(0x00, 0xA4, 0x02, 0x0C).with_data(file_id.to_be_bytes())
    }

    /// READ BINARY of `ne` bytes at `offset` in the current file (offset < 32768).
    pub fn read_binary(offset: u16, ne: usize) -> Self {
        let [p1, p2] = (offset & 0x7FFF).to_be_bytes();
        Self::new(0x00, 0xB0, p1, p2).with_ne(ne)
    }

    /// Whether this command needs the extended length encoding.
    pub fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.ne.is_some_and(|ne| ne > 256)
    }

    /// Encodes the APDU (ISO 7816-4 cases 1 to 4, short or extended).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 9);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let extended = self.is_extended();
        if !self.data.is_empty() {
            if extended {
                out.push(0);
                // Data longer than 65535 bytes cannot be encoded; callers never build such
                // commands, truncating the length field would be worse than saturating.
                let len = u16::try_from(self.data.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&len.to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(ne) = self.ne {
            if extended {
                if self.data.is_empty() {
                    out.push(0);
                }
                let le = if ne >= MAX_RESPONSE_DATA {
                    0
                } else {
                    ne as u16
                };
                out.extend_from_slice(&le.to_be_bytes());
            } else {
                out.push(if ne >= 256 { 0 } else { ne as u8 });
            }
        }
        out
    }
}

/// The two status bytes that end every response.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// 9000: normal processing.
    pub const OK: Self = Self(0x9000);

    /// First status byte.
    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// Second status byte.
    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// Whether the command succeeded (9000, or 61xx before chaining is resolved).
    pub fn is_success(self) -> bool {
        self.0 == 0x9000 || self.sw1() == 0x61
    }

    /// What the status word means (ISO 7816-4 section 5.6 and common reader codes).
    pub fn meaning(self) -> &'static str {
        match (self.sw1(), self.sw2()) {
            (0x90, 0x00) => "success",
            (0x61, _) => "success, more response data available",
            (0x62, 0x81) => "warning: part of the returned data may be corrupted",
            (0x62, 0x82) => "warning: end of file reached before reading Ne bytes",
            (0x62, 0x83) => "warning: selected file deactivated",
            (0x62, _) => "warning: state of non-volatile memory unchanged",
            (0x63, 0xC0..=0xCF) => "verification failed, retries left in SW2",
            (0x63, _) => "warning: state of non-volatile memory changed",
            (0x64, _) => "execution error: memory unchanged",
            (0x65, _) => "execution error: memory changed",
            (0x67, 0x00) => "wrong length",
            (0x68, 0x82) => "secure messaging not supported",
            (0x68, 0x83) => "last command of the chain expected",
            (0x68, _) => "function in CLA not supported",
            (0x69, 0x82) => "security status not satisfied",
            (0x69, 0x83) => "authentication method blocked",
            (0x69, 0x84) => "reference data not usable",
            (0x69, 0x85) => "conditions of use not satisfied",
            (0x69, 0x86) => "command not allowed (no current EF)",
            (0x69, 0x87) => "expected secure messaging data objects missing",
            (0x69, 0x88) => "incorrect secure messaging data objects",
            (0x69, _) => "command not allowed",
            (0x6A, 0x80) => "incorrect parameters in the data field",
            (0x6A, 0x81) => "function not supported",
            (0x6A, 0x82) => "file or application not found",
            (0x6A, 0x86) => "incorrect parameters P1-P2",
            (0x6A, 0x88) => "referenced data not found",
            (0x6A, _) => "wrong parameters",
            (0x6B, 0x00) => "wrong parameters (offset outside the file)",
            (0x6C, _) => "wrong Le, exact length in SW2",
            (0x6D, 0x00) => "instruction not supported",
            (0x6E, 0x00) => "class not supported",
            (0x6F, 0x00) => "no precise diagnosis",
            _ => "unknown status word",
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW {:04X} ({})", self.0, self.meaning())
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data (without the status word).
    pub data: Vec<u8>,
    /// The status word.
    pub sw: StatusWord,
}

impl fmt::Debug for Response {
    // Response data can be personal (DG1, tokens): show only its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} data bytes, {:?})", self.data.len(), self.sw)
    }
}

impl Response {
    /// Splits raw response bytes into data and status word.
    ///
    /// Fewer than two bytes means the card died or misbehaved: an error, never a panic.
    pub fn from_bytes(mut raw: Vec<u8>) -> Result<Self> {
        if raw.len() < 2 {
            return Err(Error::new(
                ErrorKind::CardRemoved,
                format!(
                    "the card answered {} byte(s) instead of at least the 2 status bytes; \
                     it was probably removed, put it back on the reader",
                    raw.len()
                ),
            ));
        }
        let sw = StatusWord(u16::from_be_bytes([raw[raw.len() - 2], raw[raw.len() - 1]]));
        raw.truncate(raw.len() - 2);
        Ok(Self { data: raw, sw })
    }

    /// Returns the data when the status is 9000, otherwise an error naming `what` and the SW.
    pub fn into_ok(self, what: &str) -> Result<Vec<u8>> {
        if self.sw == StatusWord::OK {
            Ok(self.data)
        } else {
            Err(status_error(what, self.sw))
        }
    }
}

/// Maps a failing status word of `what` (e.g. "SELECT eMRTD application") to an error.
pub fn status_error(what: &str, sw: StatusWord) -> Error {
    let kind = match sw.0 {
        0x6A82 | 0x6A81 | 0x6D00 | 0x6E00 | 0x6A86 | 0x6881 | 0x6882 => ErrorKind::Unsupported,
        0x6982 | 0x6983 | 0x6984 | 0x6300..=0x63CF | 0x6987 | 0x6988 => {
            ErrorKind::AuthenticationFailed
        }
        _ => ErrorKind::InvalidResponse,
    };
    Error::new(kind, format!("{what} failed with {sw}"))
}

/// Sends `command` and resolves response chaining.
///
/// * `61xx`: GET RESPONSE until the card is done (bounded number of rounds).
/// * `6Cxx`: the command is sent once more with the exact Le the card asked for.
/// * A response with more data than Ne, or shorter than 2 bytes, is an error.
pub fn transmit<C: Card + ?Sized>(card: &mut C, command: &Command) -> Result<Response> {
    let mut response = exchange(card, command)?;
    if response.sw.sw1() == 0x6C {
        let ne = match response.sw.sw2() {
            0 => 256,
            n => usize::from(n),
        };
        let mut retry = command.clone();
        retry.ne = Some(ne);
        response = exchange(card, &retry)?;
    }
    let mut data = std::mem::take(&mut response.data);
    let mut sw = response.sw;
    let mut rounds = 0;
    while sw.sw1() == 0x61 {
        rounds += 1;
        if rounds > MAX_GET_RESPONSE_ROUNDS || data.len() > MAX_RESPONSE_DATA {
            return Err(Error::invalid(format!(
                "the card kept announcing more data (61xx) after {} bytes; \
                 it is misbehaving, try another card",
                data.len()
            )));
        }
        let ne = match sw.sw2() {
            0 => 256,
            n => usize::from(n),
        };
        let get_response = Command::new(command.cla & 0x0F, 0xC0, 0, 0).with_ne(ne);
        let next = exchange(card, &get_response)?;
        data.extend_from_slice(&next.data);
        sw = next.sw;
    }
    Ok(Response { data, sw })
}

fn exchange<C: Card + ?Sized>(card: &mut C, command: &Command) -> Result<Response> {
    let raw = card.transmit_raw(&command.to_bytes())?;
    let response = Response::from_bytes(raw)?;
    let limit = command.ne.unwrap_or(0);
    if response.data.len() > limit {
        return Err(Error::invalid(format!(
            "the card sent {} data bytes to {:02X} {:02X} where at most {} were asked for",
            response.data.len(),
            command.cla,
            command.ins,
            limit
        )));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_iso_cases_short_and_extended() {
        assert_eq!(Command::new(0, 0x84, 0, 0).to_bytes(), [0, 0x84, 0, 0]);
        assert_eq!(
            Command::new(0, 0x84, 0, 0).with_ne(8).to_bytes(),
            [0, 0x84, 0, 0, 8]
        );
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_ne(256).to_bytes(),
            [0, 0xB0, 0, 0, 0]
        );
        assert_eq!(
            Command::select_file(0x011E).to_bytes(),
            [0, 0xA4, 2, 0x0C, 2, 0x01, 0x1E]
        );
        assert_eq!(
            Command::select_aid(&[0xA0, 0, 0, 2]).to_bytes(),
            [0, 0xA4, 4, 0, 4, 0xA0, 0, 0, 2, 0]
        );
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_ne(1000).to_bytes(),
            [0, 0xB0, 0, 0, 0, 0x03, 0xE8]
        );
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_ne(65536).to_bytes(),
            [0, 0xB0, 0, 0, 0, 0, 0]
        );
        let long = Command::new(0x80, 0x10, 0, 0)
            .with_data(vec![0xAB; 300])
            .with_ne(65536)
            .to_bytes();
        assert_eq!(&long[4..7], &[0, 0x01, 0x2C]);
        assert_eq!(long.len(), 4 + 3 + 300 + 2);
        assert_eq!(&long[long.len() - 2..], &[0, 0]);
    }

    #[test]
    fn short_responses_are_errors_not_panics() {
        for raw in [vec![], vec![0x90]] {
            let error = Response::from_bytes(raw).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::CardRemoved);
        }
        let ok = Response::from_bytes(vec![1, 2, 0x90, 0]).unwrap();
        assert_eq!(ok.data, [1, 2]);
        assert_eq!(ok.sw, StatusWord::OK);
    }

    #[test]
    fn status_words_have_meanings() {
        assert_eq!(
            StatusWord(0x6A82).meaning(),
            "file or application not found"
        );
        assert_eq!(
            format!("{}", StatusWord(0x6982)),
            "SW 6982 (security status not satisfied)"
        );
        assert_eq!(
            status_error("SELECT", StatusWord(0x6A82)).kind(),
            ErrorKind::Unsupported
        );
    }

    /// A scripted card: answers each command with the next canned response.
    struct Scripted {
        answers: Vec<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    impl Card for Scripted {
        fn atr(&self) -> &[u8] {
            &[0x3B, 0x80, 0x80, 0x01, 0x01]
        }
        fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>> {
            self.sent.push(command.to_vec());
            if self.answers.is_empty() {
                return Ok(vec![0x6F, 0x00]);
            }
            Ok(self.answers.remove(0))
        }
    }

    #[test]
    fn follows_61xx_and_6cxx() {
        let mut card = Scripted {
            answers: vec![
                vec![0x6C, 0x04],
                vec![1, 2, 0x61, 0x02],
                vec![3, 4, 0x90, 0x00],
            ],
            sent: Vec::new(),
        };
        let response = transmit(&mut card, &Command::new(0, 0xCA, 0, 0).with_ne(256)).unwrap();
        assert_eq!(response.data, [1, 2, 3, 4]);
        assert_eq!(response.sw, StatusWord::OK);
        assert_eq!(card.sent[1], [0, 0xCA, 0, 0, 4]);
        assert_eq!(card.sent[2], [0, 0xC0, 0, 0, 2]);
    }

    #[test]
    fn endless_61xx_is_bounded() {
        let mut card = Scripted {
            answers: vec![vec![0x61, 0x01]; 1000],
            sent: Vec::new(),
        };
        let error = transmit(&mut card, &Command::new(0, 0xCA, 0, 0).with_ne(1)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
        assert!(card.sent.len() <= MAX_GET_RESPONSE_ROUNDS + 1);
    }

    #[test]
    fn too_much_data_is_rejected() {
        let mut card = Scripted {
            answers: vec![vec![0; 20].into_iter().chain([0x90, 0]).collect()],
            sent: Vec::new(),
        };
        let error = transmit(&mut card, &Command::read_binary(0, 4)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
    }
}
