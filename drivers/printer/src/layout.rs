//! Layout: a receipt and a printer profile in, a list of printable blocks out.
//!
//! Text that every character of which is in one of the profile's code pages becomes device
//! text, word-wrapped to the profile's columns. Any other text (Arabic, names in scripts the
//! printer lacks) becomes raster lines drawn with the shipped fonts. The layout does no I/O
//! and cannot fail except on a broken logo.

use crate::codepage::printable_as_text;
use crate::model::{PrinterProfile, Receipt, SummaryLine, TextDirection};
use crate::raster::{Align, Bitmap, LogoError, RasterLine, RasterTextStyle, TextRasterizer};

/// Character size of device text (`GS !`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextSize {
    /// Font A, 12 x 24 dots.
    #[default]
    Normal,
    /// Double width and height (half the columns).
    Double,
}

impl TextSize {
    /// Width factor.
    pub fn width_factor(self) -> u8 {
        match self {
            TextSize::Normal => 1,
            TextSize::Double => 2,
        }
    }
}

/// One line of device text (`Debug` omits the text, which may be a citizen's name).
#[derive(Clone, PartialEq, Eq)]
pub struct TextLine {
    /// The characters, already wrapped and padded to fit one line.
    pub text: String,
    /// Placement (`ESC a`).
    pub align: Align,
    /// Emphasised (`ESC E`).
    pub emphasis: bool,
    /// Character size (`GS !`).
    pub size: TextSize,
}

impl std::fmt::Debug for TextLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextLine")
            .field(
                "text",
                &format_args!("<{} chars>", self.text.chars().count()),
            )
            .field("align", &self.align)
            .field("emphasis", &self.emphasis)
            .field("size", &self.size)
            .finish()
    }
}

/// Something the printer prints, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A line of device text.
    Text(TextLine),
    /// A line of text drawn as an image, because no code page of the printer has its characters.
    RasterText(RasterLine),
    /// An image (logo, raster QR code), full paper width.
    Image(Bitmap),
    /// A QR code drawn by the printer (`GS ( k`).
    NativeQr {
        /// The encoded text.
        payload: String,
        /// Module size in dots (1..=16).
        module_dots: u8,
        /// Modules per side (from the QR version), to know how much paper it takes.
        modules: u16,
    },
    /// Blank paper, in lines of font A.
    Feed(u8),
    /// Cut the paper (printers with a cutter only).
    Cut,
}

/// Why a receipt could not be laid out.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The logo is unusable.
    #[error(transparent)]
    Logo(#[from] LogoError),
    /// The QR payload is too long for a QR code.
    #[error(
        "the QR code payload is {length} bytes, more than a QR code holds; shorten the status URL"
    )]
    QrPayloadTooLong {
        /// Length in bytes.
        length: usize,
    },
    /// The profile cannot be printed on.
    #[error("printer profile {name:?} is invalid: {reason}; fix the printer configuration")]
    InvalidProfile {
        /// Profile name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Lays out `receipt` for `profile`.
pub fn layout(
    receipt: &Receipt,
    profile: &PrinterProfile,
    rasterizer: &mut TextRasterizer,
) -> Result<Vec<Block>, LayoutError> {
    check_profile(profile)?;
    let mut out = Layouter {
        profile,
        direction: receipt.direction,
        rasterizer,
        blocks: Vec::new(),
    };
    let width = u32::from(profile.dots_per_line);

    if let Some(logo) = &receipt.logo {
        let logo_width = width * u32::from(logo.width_percent.clamp(1, 100)) / 100;
        let bitmap = out.rasterizer.logo(&logo.png, logo_width.max(8))?;
        out.blocks.push(Block::Image(centred(&bitmap, width)));
        out.blocks.push(Block::Feed(1));
    }
    for line in &receipt.office {
        out.paragraph(line, Style::centred());
    }
    out.blocks.push(Block::Feed(1));
    out.paragraph(&receipt.service_title, Style::title());
    out.rule();
    out.label_value(&receipt.issued, false);
    out.label_value(&receipt.reference, true);
    for line in &receipt.summary {
        out.label_value(line, false);
    }
    out.rule();
    if let Some(payload) = &receipt.qr_payload {
        out.qr(payload)?;
        if let Some(caption) = &receipt.qr_caption {
            out.paragraph(caption, Style::centred());
        }
        out.blocks.push(Block::Feed(1));
    }
    out.paragraph(&receipt.next_steps_title, Style::heading());
    for paragraph in &receipt.next_steps {
        out.paragraph(paragraph, Style::body());
    }
    if profile.cutter {
        out.blocks.push(Block::Feed(4));
        out.blocks.push(Block::Cut);
    } else {
        // Enough blank paper to tear the receipt off above the tear bar.
        out.blocks.push(Block::Feed(5));
    }
    Ok(out.blocks)
}

fn check_profile(profile: &PrinterProfile) -> Result<(), LayoutError> {
    let invalid = |reason| LayoutError::InvalidProfile {
        name: profile.name.clone(),
        reason,
    };
    if profile.dots_per_line < 64 || !profile.dots_per_line.is_multiple_of(8) {
        return Err(invalid(
            "dots per line must be a multiple of 8 and at least 64",
        ));
    }
    if profile.columns < 16 {
        return Err(invalid("columns must be at least 16"));
    }
    if profile.dpi < 100 {
        return Err(invalid("dpi must be at least 100"));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Style {
    align: Align,
    emphasis: bool,
    size: TextSize,
}

impl Style {
    fn body() -> Self {
        Self {
            align: Align::Start,
            emphasis: false,
            size: TextSize::Normal,
        }
    }
    fn centred() -> Self {
        Self {
            align: Align::Center,
            ..Self::body()
        }
    }
    fn heading() -> Self {
        Self {
            emphasis: true,
            ..Self::body()
        }
    }
    fn title() -> Self {
        Self {
            align: Align::Center,
            emphasis: true,
            size: TextSize::Double,
        }
    }
}

struct Layouter<'a> {
    profile: &'a PrinterProfile,
    direction: TextDirection,
    rasterizer: &'a mut TextRasterizer,
    blocks: Vec<Block>,
}

impl Layouter<'_> {
    /// Device text is used only for text the printer can print and that reads left to right.
    fn as_device_text(&self, text: &str) -> bool {
        printable_as_text(text, &self.profile.code_pages) && !has_right_to_left(text)
    }

    fn paragraph(&mut self, text: &str, style: Style) {
        if self.as_device_text(text) {
            let double_columns = usize::from(self.profile.columns / 2);
            let style = if style.size == TextSize::Double
                && text
                    .split_whitespace()
                    .any(|word| word.chars().count() > double_columns)
            {
                // A word wider than the line in double size would be cut in two: print it
                // in normal size instead.
                Style {
                    size: TextSize::Normal,
                    ..style
                }
            } else {
                style
            };
            let columns = usize::from(self.profile.columns / style.size.width_factor());
            for line in wrap(text, columns) {
                self.blocks.push(Block::Text(TextLine {
                    text: line,
                    align: style.align,
                    emphasis: style.emphasis,
                    size: style.size,
                }));
            }
        } else {
            let raster_style = RasterTextStyle {
                size: match style.size {
                    TextSize::Normal => 22.0,
                    TextSize::Double => 40.0,
                },
                bold: style.emphasis,
                align: style.align,
            };
            let lines = self.rasterizer.paragraph(
                text,
                u32::from(self.profile.dots_per_line),
                raster_style,
                self.direction,
            );
            self.blocks.extend(lines.into_iter().map(Block::RasterText));
        }
    }

    fn rule(&mut self) {
        self.blocks.push(Block::Text(TextLine {
            text: "-".repeat(usize::from(self.profile.columns)),
            align: Align::Start,
            emphasis: false,
            size: TextSize::Normal,
        }));
    }

    fn label_value(&mut self, line: &SummaryLine, emphasis: bool) {
        let columns = usize::from(self.profile.columns);
        let label = line.label.trim();
        let value = line.value.trim();
        if self.as_device_text(label) && self.as_device_text(value) {
            let used = label.chars().count() + value.chars().count();
            if used < columns {
                let padding = " ".repeat(columns - used);
                self.blocks.push(Block::Text(TextLine {
                    text: format!("{label}{padding}{value}"),
                    align: Align::Start,
                    emphasis,
                    size: TextSize::Normal,
                }));
            } else {
                self.paragraph(label, Style::body());
                for wrapped in wrap(value, columns.saturating_sub(2).max(1)) {
                    self.blocks.push(Block::Text(TextLine {
                        text: format!("  {wrapped}"),
                        align: Align::Start,
                        emphasis,
                        size: TextSize::Normal,
                    }));
                }
            }
            return;
        }
        // Raster: label at the start side, value at the end side when both fit on one line.
        let width = u32::from(self.profile.dots_per_line);
        let style = RasterTextStyle {
            bold: emphasis,
            ..RasterTextStyle::body()
        };
        let label_width = self.rasterizer.measure(label, style);
        let value_width = self.rasterizer.measure(value, style);
        if label_width + value_width + 24 <= width {
            let start = Style {
                emphasis,
                ..Style::body()
            };
            let end = Style {
                align: Align::End,
                ..start
            };
            let label_line = self.raster_one_line(label, start);
            let value_line = self.raster_one_line(value, end);
            if let (Some(mut label_line), Some(value_line)) = (label_line, value_line) {
                label_line.bitmap.draw(&value_line.bitmap, 0, 0);
                label_line.text = format!("{} {}", label_line.text, value_line.text);
                self.blocks.push(Block::RasterText(label_line));
                return;
            }
        }
        self.paragraph(
            label,
            Style {
                emphasis,
                ..Style::body()
            },
        );
        self.paragraph(
            value,
            Style {
                emphasis,
                align: Align::End,
                size: TextSize::Normal,
            },
        );
    }

    fn raster_one_line(&mut self, text: &str, style: Style) -> Option<RasterLine> {
        let raster_style = RasterTextStyle {
            bold: style.emphasis,
            align: style.align,
            ..RasterTextStyle::body()
        };
        let mut lines = self.rasterizer.paragraph(
            text,
            u32::from(self.profile.dots_per_line),
            raster_style,
            self.direction,
        );
        (lines.len() == 1).then(|| lines.remove(0))
    }

    fn qr(&mut self, payload: &str) -> Result<(), LayoutError> {
        let module_dots: u8 = if self.profile.dots_per_line >= 512 {
            6
        } else {
            5
        };
        let code = qr_symbol(payload)?;
        if self.profile.native_qr {
            self.blocks.push(Block::NativeQr {
                payload: payload.to_owned(),
                module_dots,
                modules: u16::try_from(code.size).unwrap_or(u16::MAX),
            });
            return Ok(());
        }
        let bitmap = qr_bitmap(&code, u32::from(module_dots));
        self.blocks.push(Block::Image(centred(
            &bitmap,
            u32::from(self.profile.dots_per_line),
        )));
        Ok(())
    }
}

/// The QR symbol for `payload` at error correction level M (15 % may be damaged).
pub fn qr_symbol(payload: &str) -> Result<fast_qr::QRCode, LayoutError> {
    fast_qr::QRBuilder::new(payload.as_bytes())
        .ecl(fast_qr::ECL::M)
        .build()
        .map_err(|_| LayoutError::QrPayloadTooLong {
            length: payload.len(),
        })
}

/// Draws a QR code with its 4-module quiet zone, `module_dots` dots per module.
pub fn qr_bitmap(code: &fast_qr::QRCode, module_dots: u32) -> Bitmap {
    let modules = code.size as u32;
    let quiet = 4;
    let side = (modules + 2 * quiet) * module_dots;
    let mut bitmap = Bitmap::new(side, side);
    for my in 0..modules {
        for mx in 0..modules {
            if code.data[(my * modules + mx) as usize].value() {
                bitmap.fill(
                    (mx + quiet) * module_dots,
                    (my + quiet) * module_dots,
                    module_dots,
                    module_dots,
                );
            }
        }
    }
    bitmap
}

/// `bitmap` centred on a white line `width` dots wide (cropped if wider).
fn centred(bitmap: &Bitmap, width: u32) -> Bitmap {
    let mut line = Bitmap::new(width, bitmap.height());
    let left = width.saturating_sub(bitmap.width()) / 2;
    line.draw(bitmap, left, 0);
    line
}

fn has_right_to_left(text: &str) -> bool {
    text.chars().any(|character| {
        matches!(u32::from(character),
            0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
    })
}

/// Word wrap to at most `columns` characters a line; words longer than a line are split.
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let needed = if current_len == 0 {
                word.len()
            } else {
                current_len + 1 + word.len()
            };
            if needed <= columns {
                if current_len > 0 {
                    current.push(' ');
                }
                current.extend(word.iter());
                current_len = needed;
                break;
            }
            if current_len > 0 {
                lines.push(std::mem::take(&mut current));
                current_len = 0;
                continue;
            }
            let rest = word.split_off(columns);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if current_len > 0 || lines.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_on_words_and_splits_long_words() {
        assert_eq!(
            wrap("Ihre Meldebescheinigung kommt", 12),
            vec!["Ihre", "Meldebeschei", "nigung kommt"]
        );
        assert_eq!(wrap("a b c", 3), vec!["a b", "c"]);
        assert_eq!(wrap("", 10), vec![""]);
    }

    #[test]
    fn a_broken_logo_and_a_broken_profile_are_clear_errors() {
        let mut rasterizer = TextRasterizer::new();
        let mut receipt = crate::samples::SampleLanguage::German.receipt();
        receipt.logo = Some(crate::model::Logo {
            png: b"GIF89a not a png".to_vec(),
            width_percent: 50,
        });
        let error = layout(&receipt, &PrinterProfile::generic_80mm(), &mut rasterizer).unwrap_err();
        assert!(
            error.to_string().contains("export it again as PNG"),
            "{error}"
        );

        receipt.logo = None;
        let profile = PrinterProfile {
            dots_per_line: 500,
            ..PrinterProfile::generic_80mm()
        };
        let error = layout(&receipt, &profile, &mut rasterizer).unwrap_err();
        assert!(error.to_string().contains("multiple of 8"), "{error}");
    }

    #[test]
    fn a_qr_payload_too_long_for_any_symbol_is_refused() {
        let mut receipt = crate::samples::SampleLanguage::German.receipt();
        receipt.qr_payload = Some("x".repeat(5000));
        let error = layout(
            &receipt,
            &PrinterProfile::generic_80mm(),
            &mut TextRasterizer::new(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("5000 bytes"), "{error}");
    }

    #[test]
    fn wrapped_lines_never_exceed_the_columns() {
        let text = "Die Bescheinigung wird Ihnen innerhalb von drei Werktagen per Post zugesandt.";
        for columns in [16, 21, 32, 48] {
            let lines = wrap(text, columns);
            assert!(lines.iter().all(|line| line.chars().count() <= columns));
            assert_eq!(lines.join(" "), text);
        }
    }
}
