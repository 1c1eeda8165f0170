//! The receipt as plain data, and the printer profiles it is laid out for.
//!
//! A receipt holds only texts that were already translated and checked by the caller; it
//! must never contain personal data beyond what the citizen may carry home (no dates of
//! birth, no document numbers), which is why summary lines are "label: value" pairs the
//! journey chose deliberately.

use crate::codepage::CodePage;

/// Reading direction of the receipt's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextDirection {
    /// Left to right (German, English, Turkish, Ukrainian, ...).
    #[default]
    LeftToRight,
    /// Right to left (Arabic, ...): lines are right-aligned, label and value swap sides.
    RightToLeft,
}

/// One "label: value" line of the summary. The value may name the citizen, so `Debug` shows
/// only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct SummaryLine {
    /// What the value is ("Service", "Datum").
    pub label: String,
    /// The value ("Meldebescheinigung", "24.11.2026 10:42").
    pub value: String,
}

impl std::fmt::Debug for SummaryLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummaryLine")
            .field("label", &self.label)
            .field(
                "value",
                &format_args!("<{} chars>", self.value.chars().count()),
            )
            .finish()
    }
}

impl SummaryLine {
    /// A label/value pair.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// The office's logo, as PNG bytes; it is scaled to the paper width and dithered.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// Printed width as a share of the printable width, in percent (1..=100).
    pub width_percent: u8,
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logo")
            .field("png_bytes", &self.png.len())
            .field("width_percent", &self.width_percent)
            .finish()
    }
}

/// A receipt: the citizen's proof that a request was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// BCP 47 tag of the receipt's language ("de", "ar"), for previews and logs.
    pub language_tag: String,
    /// Reading direction of that language.
    pub direction: TextDirection,
    /// Optional logo printed first, centred.
    pub logo: Option<Logo>,
    /// Office name and address, one entry per line, centred.
    pub office: Vec<String>,
    /// The service's title, printed large ("Meldebescheinigung").
    pub service_title: String,
    /// When the request was taken, formatted for the language by the caller.
    pub issued: SummaryLine,
    /// The request's reference, printed emphasised; also the default QR payload.
    pub reference: SummaryLine,
    /// Non-sensitive summary lines chosen by the journey.
    pub summary: Vec<SummaryLine>,
    /// Content of the QR code (usually a status URL with the reference); `None` prints none.
    pub qr_payload: Option<String>,
    /// A short line under the QR code ("Scan to check the status").
    pub qr_caption: Option<String>,
    /// Heading of the footer ("What happens next").
    pub next_steps_title: String,
    /// Footer paragraphs: what happens next, in the citizen's language.
    pub next_steps: Vec<String>,
}

/// Paper roll width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperWidth {
    /// 58 mm roll.
    Mm58,
    /// 80 mm roll.
    Mm80,
}

impl PaperWidth {
    /// Both widths, narrow first.
    pub const ALL: [PaperWidth; 2] = [PaperWidth::Mm58, PaperWidth::Mm80];

    /// "58mm" or "80mm", for file names.
    pub fn label(self) -> &'static str {
        match self {
            PaperWidth::Mm58 => "58mm",
            PaperWidth::Mm80 => "80mm",
        }
    }
}

/// What a printer model can do; the layout and encoder only use what the profile allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterProfile {
    /// Human-readable name for logs and the technician's report.
    pub name: String,
    /// Paper roll width.
    pub paper: PaperWidth,
    /// Resolution in dots per inch (180 or 203).
    pub dpi: u16,
    /// Printable width in dots.
    pub dots_per_line: u16,
    /// Characters per line in font A (12 x 24 dots).
    pub columns: u8,
    /// Code pages the printer has, in order of preference.
    pub code_pages: Vec<CodePage>,
    /// Whether the printer draws QR codes itself (`GS ( k`); otherwise they are sent as images.
    pub native_qr: bool,
    /// Whether the printer has an auto-cutter (`GS V`).
    pub cutter: bool,
}

impl PrinterProfile {
    /// A generic 80 mm, 203 dpi printer (576 dots, 48 columns) with native QR and cutter.
    pub fn generic_80mm() -> Self {
        Self {
            name: "Generic 80 mm 203 dpi".to_owned(),
            paper: PaperWidth::Mm80,
            dpi: 203,
            dots_per_line: 576,
            columns: 48,
            code_pages: vec![
                CodePage::Pc437,
                CodePage::Pc850,
                CodePage::Pc858,
                CodePage::Pc857,
                CodePage::Pc852,
                CodePage::Pc866,
                CodePage::Wpc1251,
                CodePage::Wpc1252,
                CodePage::Wpc1254,
            ],
            native_qr: true,
            cutter: true,
        }
    }

    /// An Epson TM-T88 style 80 mm printer at 180 dpi (512 dots, 42 columns).
    pub fn epson_tm_t88() -> Self {
        Self {
            name: "Epson TM-T88 80 mm 180 dpi".to_owned(),
            paper: PaperWidth::Mm80,
            dpi: 180,
            dots_per_line: 512,
            columns: 42,
            code_pages: vec![
                CodePage::Pc437,
                CodePage::Pc850,
                CodePage::Pc858,
                CodePage::Pc857,
                CodePage::Pc852,
                CodePage::Pc866,
                CodePage::Wpc1250,
                CodePage::Wpc1251,
                CodePage::Wpc1252,
                CodePage::Wpc1254,
            ],
            native_qr: true,
            cutter: true,
        }
    }

    /// A generic 58 mm, 203 dpi printer (384 dots, 32 columns) without native QR or cutter,
    /// as many small kiosk printers are.
    pub fn generic_58mm() -> Self {
        Self {
            name: "Generic 58 mm 203 dpi".to_owned(),
            paper: PaperWidth::Mm58,
            dpi: 203,
            dots_per_line: 384,
            columns: 32,
            code_pages: vec![
                CodePage::Pc437,
                CodePage::Pc850,
                CodePage::Pc857,
                CodePage::Pc866,
                CodePage::Wpc1251,
            ],
            native_qr: false,
            cutter: false,
        }
    }

    /// The built-in profiles.
    pub fn builtin() -> Vec<PrinterProfile> {
        vec![
            Self::generic_58mm(),
            Self::generic_80mm(),
            Self::epson_tm_t88(),
        ]
    }

    /// The profile's preferred (first) code page; PC437 when none is listed.
    pub fn default_code_page(&self) -> CodePage {
        self.code_pages.first().copied().unwrap_or(CodePage::Pc437)
    }

    /// Length in millimetres of `dots` dots of paper feed at this resolution.
    pub fn dots_to_mm(&self, dots: u32) -> f64 {
        f64::from(dots) * 25.4 / f64::from(self.dpi.max(1))
    }
}
