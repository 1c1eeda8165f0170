//! Code pages: which characters a printer can print as text, and how to encode them.
//!
//! ESC/POS printers print single-byte code pages selected with `ESC t n`. A line of text is
//! split into runs, each encoded in one code page of the profile; the page is switched
//! mid-line when the next character needs another page (as python-escpos does). Characters
//! no page covers are reported, never sent as UTF-8: the layout renders such lines as images.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use escpos::utils::PageCode;

/// A single-byte character table the printer selects with `ESC t n`.
///
/// Only pages whose lower half is ASCII are listed, so every page prints 0x20..0x7E alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CodePage {
    /// PC437, USA / standard Europe (the power-on default).
    Pc437,
    /// PC850, Multilingual Latin 1.
    Pc850,
    /// PC852, Latin 2 (Central Europe).
    Pc852,
    /// PC857, Turkish.
    Pc857,
    /// PC858, PC850 with the euro sign.
    Pc858,
    /// PC866, Cyrillic (Russian).
    Pc866,
    /// WPC1250, Windows Central Europe.
    Wpc1250,
    /// WPC1251, Windows Cyrillic (covers Ukrainian і ї є ґ).
    Wpc1251,
    /// WPC1252, Windows Latin 1.
    Wpc1252,
    /// WPC1254, Windows Turkish.
    Wpc1254,
}

impl CodePage {
    /// Every code page this crate can encode and decode.
    pub const ALL: [CodePage; 10] = [
        CodePage::Pc437,
        CodePage::Pc850,
        CodePage::Pc852,
        CodePage::Pc857,
        CodePage::Pc858,
        CodePage::Pc866,
        CodePage::Wpc1250,
        CodePage::Wpc1251,
        CodePage::Wpc1252,
        CodePage::Wpc1254,
    ];

    /// The page as the `escpos` crate names it.
    pub fn escpos_page_code(self) -> PageCode {
        match self {
            CodePage::Pc437 => PageCode::PC437,
            CodePage::Pc850 => PageCode::PC850,
            CodePage::Pc852 => PageCode::PC852,
            CodePage::Pc857 => PageCode::PC857,
            CodePage::Pc858 => PageCode::PC858,
            CodePage::Pc866 => PageCode::PC866,
            CodePage::Wpc1250 => PageCode::WPC1250,
            CodePage::Wpc1251 => PageCode::WPC1251,
            CodePage::Wpc1252 => PageCode::WPC1252,
            CodePage::Wpc1254 => PageCode::WPC1254,
        }
    }

    /// The `n` of `ESC t n` (Epson numbering, shared by most ESC/POS printers).
    pub fn escpos_number(self) -> u8 {
        self.escpos_page_code().into()
    }

    /// The page selected by `ESC t n`, if this crate knows it.
    pub fn from_escpos_number(number: u8) -> Option<CodePage> {
        CodePage::ALL
            .into_iter()
            .find(|page| page.escpos_number() == number)
    }

    /// The character byte `byte` stands for in this page; `None` for undefined bytes and
    /// control codes.
    pub fn decode(self, byte: u8) -> Option<char> {
        match byte {
            0x20..=0x7E => Some(char::from(byte)),
            0x80..=0xFF => tables(self).decode[usize::from(byte - 0x80)],
            _ => None,
        }
    }

    /// The byte that prints `character` in this page, if the page has it.
    pub fn encode(self, character: char) -> Option<u8> {
        match character {
            ' '..='~' => u8::try_from(character).ok(),
            _ => tables(self).encode.get(&character).copied(),
        }
    }

    /// Whether this page can print `character`.
    pub fn covers(self, character: char) -> bool {
        self.encode(character).is_some()
    }
}

impl fmt::Display for CodePage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.escpos_page_code(), f)
    }
}

struct PageTables {
    decode: [Option<char>; 128],
    encode: HashMap<char, u8>,
}

fn tables(page: CodePage) -> &'static PageTables {
    static TABLES: OnceLock<HashMap<CodePage, PageTables>> = OnceLock::new();
    let all = TABLES.get_or_init(|| {
        CodePage::ALL
            .into_iter()
            .map(|page| (page, build_tables(page)))
            .collect()
    });
    &all[&page]
}

fn build_tables(page: CodePage) -> PageTables {
    let decode = upper_half(page);
    let mut encode = HashMap::new();
    for (offset, character) in decode.iter().enumerate() {
        if let Some(character) = character {
            // The first byte wins when a page repeats a character.
            encode
                .entry(*character)
                .or_insert_with(|| 0x80 + u8::try_from(offset).unwrap_or(0));
        }
    }
    PageTables { decode, encode }
}

/// Bytes 0x80..=0xFF of a page, from the `oem_cp` tables (DOS pages) or `encoding_rs`
/// (Windows pages).
fn upper_half(page: CodePage) -> [Option<char>; 128] {
    use oem_cp::code_table::{
        DECODING_TABLE_CP437, DECODING_TABLE_CP850, DECODING_TABLE_CP852, DECODING_TABLE_CP857,
        DECODING_TABLE_CP858, DECODING_TABLE_CP866,
    };
    let complete = |table: &[char; 128]| table.map(Some);
    let windows = |encoding: &'static encoding_rs::Encoding| {
        let mut out = [None; 128];
        for (slot, byte) in out.iter_mut().zip(0x80u8..=0xFF) {
            let one = [byte];
            let (text, had_errors) = encoding.decode_without_bom_handling(&one);
            let mut chars = text.chars();
            if let (false, Some(character), None) = (had_errors, chars.next(), chars.next())
                && !character.is_control()
            {
                *slot = Some(character);
            }
        }
        out
    };
    match page {
        CodePage::Pc437 => complete(&DECODING_TABLE_CP437),
        CodePage::Pc850 => complete(&DECODING_TABLE_CP850),
        CodePage::Pc852 => complete(&DECODING_TABLE_CP852),
        CodePage::Pc857 => DECODING_TABLE_CP857,
        CodePage::Pc858 => complete(&DECODING_TABLE_CP858),
        CodePage::Pc866 => complete(&DECODING_TABLE_CP866),
        CodePage::Wpc1250 => windows(encoding_rs::WINDOWS_1250),
        CodePage::Wpc1251 => windows(encoding_rs::WINDOWS_1251),
        CodePage::Wpc1252 => windows(encoding_rs::WINDOWS_1252),
        CodePage::Wpc1254 => windows(encoding_rs::WINDOWS_1254),
    }
}

/// A piece of text encoded in one code page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRun {
    /// The page to select before sending `bytes`.
    pub page: CodePage,
    /// The encoded characters (never UTF-8, never control codes).
    pub bytes: Vec<u8>,
}

/// A character that none of the printer's code pages contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "character U+{:04X} is in none of the printer's code pages; print the line as an image",
    u32::from(*character)
)]
pub struct Unencodable {
    /// The character (its code point only; the rest of the text is not kept).
    pub character: char,
}

/// Whether every character of `text` is in at least one of `pages`.
pub fn printable_as_text(text: &str, pages: &[CodePage]) -> bool {
    text.chars()
        .all(|character| pages.iter().any(|page| page.covers(character)))
}

/// Splits `text` into runs, each encoded in one of `pages`.
///
/// `current` is the page the printer has selected now; it is kept as long as it covers the
/// next character, so a line in one language needs no switch at all. When it does not, the
/// page covering the longest stretch of the following text is chosen (fewest switches).
pub fn encode_runs(
    text: &str,
    pages: &[CodePage],
    current: CodePage,
) -> Result<Vec<EncodedRun>, Unencodable> {
    let characters: Vec<char> = text.chars().collect();
    let mut runs: Vec<EncodedRun> = Vec::new();
    let mut page = current;
    for (index, &character) in characters.iter().enumerate() {
        if !page.covers(character) {
            page = pages
                .iter()
                .copied()
                .filter(|candidate| candidate.covers(character))
                .max_by_key(|candidate| {
                    // Longest stretch first; on a tie the earlier page in the profile wins.
                    let stretch = characters[index..]
                        .iter()
                        .take_while(|next| candidate.covers(**next))
                        .count();
                    let preference = pages.len()
                        - pages
                            .iter()
                            .position(|known| known == candidate)
                            .unwrap_or(pages.len());
                    (stretch, preference)
                })
                .ok_or(Unencodable { character })?;
        }
        let byte = page.encode(character).ok_or(Unencodable { character })?;
        match runs.last_mut() {
            Some(run) if run.page == page => run.bytes.push(byte),
            _ => runs.push(EncodedRun {
                page,
                bytes: vec![byte],
            }),
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_round_trips_its_own_characters() {
        for page in CodePage::ALL {
            for byte in 0x20u8..=0xFF {
                if let Some(character) = page.decode(byte) {
                    let encoded = page.encode(character).expect("decoded character encodes");
                    assert_eq!(
                        page.decode(encoded),
                        Some(character),
                        "{page} byte {byte:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn euro_under_pc850_switches_to_pc858_mid_line() {
        let pages = [CodePage::Pc850, CodePage::Pc858];
        let runs = encode_runs("Gebühr 12 €", &pages, CodePage::Pc850).unwrap();
        // The current page is kept until the euro sign forces a switch.
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].page, CodePage::Pc850);
        assert_eq!(runs[0].bytes, b"Geb\x81hr 12 ");
        assert_eq!(runs[1].page, CodePage::Pc858);
        assert_eq!(runs[1].bytes, vec![0xD5]);
    }

    #[test]
    fn ukrainian_needs_windows_1251_because_pc866_lacks_i() {
        let pages = [CodePage::Pc437, CodePage::Pc866, CodePage::Wpc1251];
        let runs = encode_runs("Київ і Харків", &pages, CodePage::Pc437).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].page, CodePage::Wpc1251);
    }

    #[test]
    fn arabic_is_reported_not_sent_as_utf8() {
        let error = encode_runs("رقم", &CodePage::ALL, CodePage::Pc437).unwrap_err();
        assert_eq!(error.character, 'ر');
        assert!(!printable_as_text("Nr. رقم", &CodePage::ALL));
    }

    fn printable_characters() -> Vec<char> {
        let mut all: Vec<char> = CodePage::ALL
            .into_iter()
            .flat_map(|page| (0x20u8..=0xFF).filter_map(move |byte| page.decode(byte)))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    proptest::proptest! {
        /// Any text made of characters some page has is encoded into runs that decode back
        /// to the same text, and no run contains a control byte.
        #[test]
        fn runs_decode_back_to_the_text(
            indices in proptest::collection::vec(0usize..10_000, 0..80),
            start in 0usize..CodePage::ALL.len(),
        ) {
            let characters = printable_characters();
            let text: String = indices.iter().map(|i| characters[i % characters.len()]).collect();
            let runs = encode_runs(&text, &CodePage::ALL, CodePage::ALL[start]).unwrap();
            let decoded: String = runs
                .iter()
                .flat_map(|run| run.bytes.iter().map(move |byte| run.page.decode(*byte).unwrap()))
                .collect();
            proptest::prop_assert_eq!(decoded, text);
            proptest::prop_assert!(runs.iter().all(|run| run.bytes.iter().all(|b| *b >= 0x20)));
        }
    }

    #[test]
    fn page_numbers_round_trip() {
        for page in CodePage::ALL {
            assert_eq!(
                CodePage::from_escpos_number(page.escpos_number()),
                Some(page)
            );
        }
    }
}
