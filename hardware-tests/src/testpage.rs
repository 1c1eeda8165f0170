//! The printer test page and the printed report, as `kiosk-printer` layout blocks.
//!
//! The test page shows what a technician must see on paper: the logo (dithered raster),
//! a width ruler in characters and in dots (must reach both edges), every character of the
//! shipped languages in the code pages the printer uses (switching pages as the receipt
//! encoder does), the raster fallback for characters no code page has (Arabic, ₴, ₺), a QR
//! code, and the cut.

use kiosk_printer::codepage::{CodePage, encode_runs, printable_as_text};
use kiosk_printer::encode::{EncodeError, encode_blocks};
use kiosk_printer::layout::{Block, TextLine, TextSize, qr_bitmap, qr_symbol, wrap};
use kiosk_printer::raster::{Align, Bitmap, RasterTextStyle, shared_rasterizer};
use kiosk_printer::samples::sample_logo;
use kiosk_printer::{PrintJob, PrinterProfile, TextDirection};

use crate::lang::Lang;

/// What the QR code on the test page says (scan it with a phone to check it).
pub const QR_PAYLOAD: &str = "KIOSK-HWTEST QR OK";

/// The characters of each shipped language that go beyond ASCII, plus its currency sign.
pub const LANGUAGE_CHARACTERS: [(&str, &str); 5] = [
    ("de", "ÄÖÜäöüß€„“‚‘–"),
    ("en", "£€“”‘’–"),
    ("tr", "ÇĞİÖŞÜçğıöşü₺"),
    (
        "uk",
        "АБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯабвгґдеєжзиіїйклмнопрстуфхцчшщьюяʼ₴",
    ),
    (
        "ar",
        "ا ب ت ث ج ح خ د ذ ر ز س ش ص ض ط ظ ع غ ف ق ك ل م ن ه و ي ء آ أ ؤ إ ئ ة ى ٠ ١ ٢ ٣ ٤ ٥ ٦ ٧ ٨ ٩",
    ),
];

/// Every printable ASCII character.
const ASCII: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 \
                     !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

fn text(line: impl Into<String>, align: Align, emphasis: bool, size: TextSize) -> Block {
    Block::Text(TextLine {
        text: line.into(),
        align,
        emphasis,
        size,
    })
}

fn paragraph(blocks: &mut Vec<Block>, content: &str, columns: usize, emphasis: bool) {
    for line in wrap(content, columns) {
        blocks.push(text(line, Align::Start, emphasis, TextSize::Normal));
    }
}

fn centred(bitmap: &Bitmap, width: u32) -> Bitmap {
    let mut line = Bitmap::new(width, bitmap.height());
    line.draw(bitmap, width.saturating_sub(bitmap.width()) / 2, 0);
    line
}

/// A ruler over the full printable width: edge bars, a tick every millimetre, longer ones
/// every 5 and 10 mm.
pub fn ruler(profile: &PrinterProfile) -> Bitmap {
    let width = u32::from(profile.dots_per_line).max(2);
    let height = 40;
    let mut bitmap = Bitmap::new(width, height);
    bitmap.fill(0, 0, 3, height);
    bitmap.fill(width - 3, 0, 3, height);
    bitmap.fill(0, height - 3, width, 3);
    let dots_per_mm = f64::from(profile.dpi.max(1)) / 25.4;
    let mut millimetre = 1u32;
    loop {
        let x = (f64::from(millimetre) * dots_per_mm).round() as u32;
        if x + 3 >= width {
            break;
        }
        let tick = match millimetre {
            m if m % 10 == 0 => 30,
            m if m % 5 == 0 => 18,
            _ => 9,
        };
        bitmap.fill(x, height - 3 - tick, 2, tick);
        millimetre += 1;
    }
    bitmap
}

/// The character ruler: tens on the first line, units on the second.
fn character_ruler(columns: usize) -> (String, String) {
    let tens = (1..=columns)
        .map(|column| {
            if column % 10 == 0 {
                char::from_digit((column / 10 % 10) as u32, 10).unwrap_or('?')
            } else {
                ' '
            }
        })
        .collect::<String>()
        .trim_end()
        .to_owned();
    let units = (1..=columns)
        .map(|column| char::from_digit((column % 10) as u32, 10).unwrap_or('?'))
        .collect();
    (tens, units)
}

/// The test page, and the code pages its text uses.
pub fn test_page(
    profile: &PrinterProfile,
    lang: Lang,
    stamp: &str,
) -> Result<(PrintJob, Vec<CodePage>), EncodeError> {
    let width = u32::from(profile.dots_per_line);
    let columns = usize::from(profile.columns).max(1);
    let mut rasterizer = shared_rasterizer();
    let mut blocks = Vec::new();
    let mut pages = vec![profile.default_code_page()];

    let logo = sample_logo();
    let logo_width = width * u32::from(logo.width_percent) / 100;
    let bitmap = rasterizer
        .logo(&logo.png, logo_width.max(8))
        .map_err(|error| EncodeError::Layout(error.into()))?;
    blocks.push(Block::Image(centred(&bitmap, width)));
    blocks.push(Block::Feed(1));
    blocks.push(text(
        lang.pick("TESTSEITE", "TEST PAGE"),
        Align::Center,
        true,
        TextSize::Double,
    ));
    for line in [
        format!("kiosk-hwtest {}", env!("CARGO_PKG_VERSION")),
        stamp.to_owned(),
        profile.name.clone(),
        match lang {
            Lang::De => format!("{width} Punkte, {columns} Zeichen je Zeile"),
            Lang::En => format!("{width} dots, {columns} characters per line"),
        },
    ] {
        for wrapped in wrap(&line, columns) {
            blocks.push(text(wrapped, Align::Center, false, TextSize::Normal));
        }
    }
    blocks.push(Block::Feed(1));

    paragraph(
        &mut blocks,
        lang.pick(
            "Breitenlineal (muss links und rechts bis an den Rand reichen):",
            "Width ruler (must reach the left and right edge):",
        ),
        columns,
        true,
    );
    let (tens, units) = character_ruler(columns);
    blocks.push(text(tens, Align::Start, false, TextSize::Normal));
    blocks.push(text(units, Align::Start, false, TextSize::Normal));
    blocks.push(Block::Image(ruler(profile)));
    blocks.push(Block::Feed(1));

    paragraph(
        &mut blocks,
        lang.pick(
            "Zeichensätze (Codepage je Zeile):",
            "Character sets (code page per line):",
        ),
        columns,
        true,
    );
    paragraph(&mut blocks, &format!("ASCII {ASCII}"), columns, false);
    let mut raster_only: Vec<(&str, String)> = Vec::new();
    for (tag, characters) in LANGUAGE_CHARACTERS {
        let (printable, missing): (Vec<char>, Vec<char>) = characters
            .chars()
            .filter(|character| !character.is_whitespace())
            .partition(|character| printable_as_text(&character.to_string(), &profile.code_pages));
        if !printable.is_empty() {
            let printable: String = printable.into_iter().collect();
            let runs = encode_runs(&printable, &profile.code_pages, profile.default_code_page())?;
            for run in runs {
                if !pages.contains(&run.page) {
                    pages.push(run.page);
                }
                let decoded: String = run
                    .bytes
                    .iter()
                    .filter_map(|byte| run.page.decode(*byte))
                    .collect();
                paragraph(
                    &mut blocks,
                    &format!("{tag} {}: {decoded}", run.page),
                    columns,
                    false,
                );
            }
        }
        if !missing.is_empty() {
            let separator = if tag == "ar" { " " } else { "" };
            raster_only.push((
                tag,
                missing
                    .iter()
                    .map(char::to_string)
                    .collect::<Vec<_>>()
                    .join(separator),
            ));
        }
    }
    blocks.push(Block::Feed(1));
    paragraph(
        &mut blocks,
        lang.pick(
            "Rasterdruck für Zeichen ohne Codepage:",
            "Raster printing for characters without a code page:",
        ),
        columns,
        true,
    );
    for (tag, characters) in raster_only {
        let direction = if tag == "ar" {
            TextDirection::RightToLeft
        } else {
            TextDirection::LeftToRight
        };
        paragraph(&mut blocks, &format!("{tag}:"), columns, false);
        for line in rasterizer.paragraph(&characters, width, RasterTextStyle::body(), direction) {
            blocks.push(Block::RasterText(line));
        }
    }
    blocks.push(Block::Feed(1));

    paragraph(
        &mut blocks,
        &match lang {
            Lang::De => format!("QR-Code (mit dem Telefon scannen: „{QR_PAYLOAD}“):"),
            Lang::En => format!("QR code (scan with a phone: \"{QR_PAYLOAD}\"):"),
        },
        columns,
        true,
    );
    let symbol = qr_symbol(QR_PAYLOAD)?;
    let module_dots: u8 = if profile.paper == kiosk_printer::PaperWidth::Mm58 {
        5
    } else {
        6
    };
    if profile.native_qr {
        blocks.push(Block::NativeQr {
            payload: QR_PAYLOAD.to_owned(),
            module_dots,
            modules: symbol.size as u16,
        });
    } else {
        let bitmap = qr_bitmap(&symbol, u32::from(module_dots));
        blocks.push(Block::Image(centred(&bitmap, width)));
    }
    blocks.push(Block::Feed(1));
    paragraph(
        &mut blocks,
        lang.pick(
            "Ende der Testseite. Das Papier sollte jetzt abgeschnitten werden.",
            "End of the test page. The paper should be cut now.",
        ),
        columns,
        false,
    );
    finish(&mut blocks, profile);
    drop(rasterizer);
    Ok((encode_blocks(&blocks, profile)?, pages))
}

fn finish(blocks: &mut Vec<Block>, profile: &PrinterProfile) {
    if profile.cutter {
        blocks.push(Block::Feed(4));
        blocks.push(Block::Cut);
    } else {
        blocks.push(Block::Feed(6));
    }
}

/// One line of the printed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperLine {
    /// The text (wrapped to the paper by [`report_job`]).
    pub text: String,
    /// Printed emphasised.
    pub emphasis: bool,
}

/// The report summary as a receipt.
pub fn report_job(
    title: &str,
    lines: &[PaperLine],
    profile: &PrinterProfile,
) -> Result<PrintJob, EncodeError> {
    let columns = usize::from(profile.columns).max(1);
    let mut blocks = vec![text(title, Align::Center, true, TextSize::Double)];
    blocks.push(Block::Feed(1));
    for line in lines {
        paragraph(&mut blocks, &line.text, columns, line.emphasis);
    }
    finish(&mut blocks, profile);
    // Texts no code page covers (e.g. an odd character in a reader name) are drawn.
    let blocks = blocks
        .into_iter()
        .flat_map(|block| match block {
            Block::Text(line) if !printable_as_text(&line.text, &profile.code_pages) => {
                shared_rasterizer()
                    .paragraph(
                        &line.text,
                        u32::from(profile.dots_per_line),
                        RasterTextStyle::body(),
                        TextDirection::LeftToRight,
                    )
                    .into_iter()
                    .map(Block::RasterText)
                    .collect::<Vec<_>>()
            }
            other => vec![other],
        })
        .collect::<Vec<_>>();
    encode_blocks(&blocks, profile)
}
