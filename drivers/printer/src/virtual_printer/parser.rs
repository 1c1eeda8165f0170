//! An incremental parser for the ESC/POS subset this crate emits (and a little more).

use crate::codepage::CodePage;
use crate::raster::{Align, Bitmap};

/// One command or character from the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `ESC @`.
    Init,
    /// `DLE EOT n`.
    StatusRequest(u8),
    /// `ESC t n`.
    SelectCodePage(u8),
    /// `ESC E n`.
    Emphasis(bool),
    /// `ESC a n`.
    Justify(Align),
    /// `ESC ! n`: bold, double height, double width bits.
    PrintMode(u8),
    /// `GS ! n`: width and height factors (1..=8).
    CharacterSize {
        /// Width factor.
        width: u8,
        /// Height factor.
        height: u8,
    },
    /// `ESC d n`.
    FeedLines(u8),
    /// `LF`.
    LineFeed,
    /// `CR` (ignored by printers in auto line feed off mode).
    CarriageReturn,
    /// `GS V ...`.
    Cut,
    /// `GS v 0`.
    Raster(Bitmap),
    /// `GS ( k` for QR codes (cn = 49).
    Qr(QrFunction),
    /// `GS ( k` for other symbols, or other functions the virtual printer ignores.
    OtherSymbol,
    /// A printable byte, to be decoded with the selected code page.
    Character(u8),
    /// A byte or command the virtual printer does not know.
    Unknown(Vec<u8>),
}

/// A QR code function of `GS ( k`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrFunction {
    /// fn 65: model.
    Model(u8),
    /// fn 67: module size in dots.
    ModuleSize(u8),
    /// fn 69: error correction level (48..=51 for L, M, Q, H).
    ErrorCorrection(u8),
    /// fn 80: store data.
    Store(Vec<u8>),
    /// fn 81: print the stored symbol.
    Print,
    /// Another function.
    Other(u8),
}

/// Parses one command from the start of `bytes`: `Some((consumed, command))`, or `None` if
/// more bytes are needed.
pub fn parse_one(bytes: &[u8]) -> Option<(usize, Command)> {
    const ESC: u8 = 0x1B;
    const GS: u8 = 0x1D;
    const DLE: u8 = 0x10;
    let first = *bytes.first()?;
    let at = |index: usize| bytes.get(index).copied();
    match first {
        0x0A => Some((1, Command::LineFeed)),
        0x0D => Some((1, Command::CarriageReturn)),
        DLE => match at(1)? {
            0x04 => Some((3, Command::StatusRequest(at(2)?))),
            other => Some((2, Command::Unknown(vec![DLE, other]))),
        },
        ESC => {
            let code = at(1)?;
            match code {
                b'@' => Some((2, Command::Init)),
                b't' => Some((3, Command::SelectCodePage(at(2)?))),
                b'E' => Some((3, Command::Emphasis(at(2)? & 1 == 1))),
                b'a' => {
                    let align = match at(2)? {
                        0 | 48 => Align::Start,
                        1 | 49 => Align::Center,
                        _ => Align::End,
                    };
                    Some((3, Command::Justify(align)))
                }
                b'!' => Some((3, Command::PrintMode(at(2)?))),
                b'd' => Some((3, Command::FeedLines(at(2)?))),
                b'2' => Some((2, Command::OtherSymbol)),
                b'3' | b'M' | b'-' | b'G' | b'{' | b'V' | b'R' => {
                    at(2)?;
                    Some((3, Command::OtherSymbol))
                }
                other => Some((2, Command::Unknown(vec![ESC, other]))),
            }
        }
        GS => {
            let code = at(1)?;
            match code {
                b'!' => {
                    let n = at(2)?;
                    Some((
                        3,
                        Command::CharacterSize {
                            width: (n >> 4) + 1,
                            height: (n & 0x0F) + 1,
                        },
                    ))
                }
                b'V' => {
                    let m = at(2)?;
                    if matches!(m, 0 | 1 | 48 | 49) {
                        Some((3, Command::Cut))
                    } else {
                        at(3)?;
                        Some((4, Command::Cut))
                    }
                }
                b'v' => {
                    if at(2)? != b'0' {
                        return Some((3, Command::Unknown(vec![GS, b'v', at(2)?])));
                    }
                    let header = bytes.get(3..8)?;
                    let width_bytes = u32::from(header[1]) | (u32::from(header[2]) << 8);
                    let height = u32::from(header[3]) | (u32::from(header[4]) << 8);
                    let length = width_bytes as usize * height as usize;
                    let data = bytes.get(8..8 + length)?;
                    let bitmap = Bitmap::from_raster_bytes(width_bytes, height, data)?;
                    Some((8 + length, Command::Raster(bitmap)))
                }
                b'(' => {
                    if at(2)? != b'k' {
                        let length = usize::from(at(3)?) | (usize::from(at(4)?) << 8);
                        bytes.get(..5 + length)?;
                        return Some((5 + length, Command::OtherSymbol));
                    }
                    let length = usize::from(at(3)?) | (usize::from(at(4)?) << 8);
                    let body = bytes.get(5..5 + length)?;
                    let consumed = 5 + length;
                    if body.len() < 2 || body[0] != 49 {
                        return Some((consumed, Command::OtherSymbol));
                    }
                    let function = match body[1] {
                        65 => QrFunction::Model(body.get(2).copied().unwrap_or(0)),
                        67 => QrFunction::ModuleSize(body.get(2).copied().unwrap_or(0)),
                        69 => QrFunction::ErrorCorrection(body.get(2).copied().unwrap_or(0)),
                        80 => QrFunction::Store(body.get(3..).unwrap_or_default().to_vec()),
                        81 => QrFunction::Print,
                        other => QrFunction::Other(other),
                    };
                    Some((consumed, Command::Qr(function)))
                }
                other => Some((2, Command::Unknown(vec![GS, other]))),
            }
        }
        0x20..=0xFF => Some((1, Command::Character(first))),
        other => Some((1, Command::Unknown(vec![other]))),
    }
}

/// The code page `ESC t n` selects, if the virtual printer knows it.
pub fn code_page(number: u8) -> Option<CodePage> {
    CodePage::from_escpos_number(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn incomplete_commands_wait_for_more_bytes() {
        assert_eq!(parse_one(&[0x10, 0x04]), None);
        assert_eq!(parse_one(&[0x1D, b'v', b'0', 0, 1, 0, 2, 0, 0xFF]), None);
        assert_eq!(
            parse_one(&[0x10, 0x04, 2, b'x']),
            Some((3, Command::StatusRequest(2)))
        );
    }

    #[test]
    fn the_largest_raster_header_does_not_overflow() {
        // 65535 x 65535 bytes announced: the parser waits for the data instead of panicking.
        assert_eq!(
            parse_one(&[0x1D, b'v', b'0', 0, 0xFF, 0xFF, 0xFF, 0xFF, 0]),
            None
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_always_progress(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut rest = &bytes[..];
            let mut steps = 0;
            while let Some((consumed, _)) = parse_one(rest) {
                prop_assert!(consumed > 0 && consumed <= rest.len());
                rest = &rest[consumed..];
                steps += 1;
                prop_assert!(steps <= bytes.len());
            }
        }
    }
}
