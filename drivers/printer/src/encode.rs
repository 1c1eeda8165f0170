//! ESC/POS encoding of laid-out blocks.
//!
//! Commands come from the `escpos` crate's builder (written into memory, never to a device);
//! text bytes come from our code-page layer, raster images are `GS v 0`. The job remembers
//! where each command group ends so the driver can ask for the printer's status between
//! groups without splitting a command (a status request inside image data would be printed
//! as dots).

use std::sync::{Arc, Mutex, PoisonError};

use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::{JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use crate::codepage::{CodePage, Unencodable, encode_runs};
use crate::layout::{Block, LayoutError, TextLine, TextSize, layout};
use crate::model::{PrinterProfile, Receipt};
use crate::raster::{Align, Bitmap, TextRasterizer};

/// Most rows one `GS v 0` command carries; small bands suit printers with small buffers.
const RASTER_BAND_ROWS: u32 = 128;

/// The bytes of one receipt for one printer, split at command boundaries.
#[derive(Clone, PartialEq, Eq)]
pub struct PrintJob {
    bytes: Vec<u8>,
    boundaries: Vec<usize>,
    feed_dots: u32,
}

impl std::fmt::Debug for PrintJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes: they contain the receipt's text.
        f.debug_struct("PrintJob")
            .field("bytes", &self.bytes.len())
            .field("segments", &self.boundaries.len())
            .field("feed_dots", &self.feed_dots)
            .finish()
    }
}

impl PrintJob {
    /// Lays out and encodes `receipt` for `profile` with the process-wide rasterizer.
    pub fn build(receipt: &Receipt, profile: &PrinterProfile) -> Result<PrintJob, EncodeError> {
        build_job(receipt, profile, &mut crate::raster::shared_rasterizer())
    }

    /// All bytes of the job.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The job as consecutive pieces that each end at a command boundary.
    pub fn segments(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.boundaries.iter().map(move |&end| {
            let piece = &self.bytes[start..end];
            start = end;
            piece
        })
    }

    /// Paper length in dots the job feeds (text lines, images, feeds).
    pub fn feed_dots(&self) -> u32 {
        self.feed_dots
    }
}

/// Why a receipt could not be turned into bytes.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Layout failed.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A text line had a character no code page covers (the layout should have rasterised it).
    #[error(transparent)]
    Unencodable(#[from] Unencodable),
    /// The `escpos` builder refused a command.
    #[error("the ESC/POS command builder refused a command: {0}")]
    Command(String),
}

/// Lays out and encodes a receipt for `profile`.
pub fn build_job(
    receipt: &Receipt,
    profile: &PrinterProfile,
    rasterizer: &mut TextRasterizer,
) -> Result<PrintJob, EncodeError> {
    let blocks = layout(receipt, profile, rasterizer)?;
    encode_blocks(&blocks, profile)
}

/// Memory sink for the `escpos` builder.
#[derive(Clone, Default)]
struct MemoryDriver(Arc<Mutex<Vec<u8>>>);

impl Driver for MemoryDriver {
    fn name(&self) -> String {
        "memory".to_owned()
    }

    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(())
    }

    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }

    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

struct Encoder {
    printer: Printer<MemoryDriver>,
    sink: MemoryDriver,
    boundaries: Vec<usize>,
    page: CodePage,
    align: Align,
    emphasis: bool,
    size: TextSize,
    feed_dots: u32,
}

fn command_error(error: escpos::errors::PrinterError) -> EncodeError {
    EncodeError::Command(error.to_string())
}

impl Encoder {
    fn new() -> Self {
        let sink = MemoryDriver::default();
        Self {
            printer: Printer::new(sink.clone(), Protocol::default(), None),
            sink,
            boundaries: Vec::new(),
            page: CodePage::Pc437,
            align: Align::Start,
            emphasis: false,
            size: TextSize::Normal,
            feed_dots: 0,
        }
    }

    /// Ends a command group: flushes the builder and records the boundary.
    fn boundary(&mut self) -> Result<(), EncodeError> {
        self.printer.print().map_err(command_error)?;
        let length = self
            .sink
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        if self.boundaries.last() != Some(&length) {
            self.boundaries.push(length);
        }
        Ok(())
    }

    fn align(&mut self, align: Align) -> Result<(), EncodeError> {
        if self.align != align {
            let mode = match align {
                Align::Start => JustifyMode::LEFT,
                Align::Center => JustifyMode::CENTER,
                Align::End => JustifyMode::RIGHT,
            };
            self.printer.justify(mode).map_err(command_error)?;
            self.align = align;
        }
        Ok(())
    }

    fn text(&mut self, line: &TextLine, profile: &PrinterProfile) -> Result<(), EncodeError> {
        self.align(line.align)?;
        if self.emphasis != line.emphasis {
            self.printer.bold(line.emphasis).map_err(command_error)?;
            self.emphasis = line.emphasis;
        }
        if self.size != line.size {
            let factor = line.size.width_factor();
            self.printer.size(factor, factor).map_err(command_error)?;
            self.size = line.size;
        }
        for run in encode_runs(&line.text, &profile.code_pages, self.page)? {
            if run.page != self.page {
                self.printer
                    .page_code(run.page.escpos_page_code())
                    .map_err(command_error)?;
                self.page = run.page;
            }
            self.printer.custom(&run.bytes).map_err(command_error)?;
        }
        self.printer.custom(b"\n").map_err(command_error)?;
        // Font A is 24 dots high plus the default 6 dots of line spacing.
        self.feed_dots += 30 * u32::from(line.size.width_factor());
        self.boundary()
    }

    fn image(&mut self, bitmap: &Bitmap) -> Result<(), EncodeError> {
        self.align(Align::Start)?;
        self.boundary()?;
        let mut row = 0;
        while row < bitmap.height() {
            let band = bitmap.rows(row, RASTER_BAND_ROWS);
            let width_bytes = band.bytes_per_row();
            let height = band.height();
            let mut command = vec![
                0x1D,
                b'v',
                b'0',
                0,
                (width_bytes & 0xFF) as u8,
                (width_bytes >> 8) as u8,
                (height & 0xFF) as u8,
                (height >> 8) as u8,
            ];
            command.extend_from_slice(&band.to_raster_bytes());
            self.printer.custom(&command).map_err(command_error)?;
            self.boundary()?;
            row += height;
        }
        self.feed_dots += bitmap.height();
        Ok(())
    }

    fn native_qr(
        &mut self,
        payload: &str,
        module_dots: u8,
        modules: u16,
    ) -> Result<(), EncodeError> {
        self.align(Align::Center)?;
        let option = QRCodeOption::new(QRCodeModel::Model2, module_dots, QRCodeCorrectionLevel::M);
        self.printer
            .qrcode_option(payload, option)
            .map_err(command_error)?;
        self.boundary()?;
        // The symbol plus the quiet zone the printer leaves around it.
        self.feed_dots += (u32::from(modules) + 8) * u32::from(module_dots);
        Ok(())
    }
}

/// Encodes laid-out blocks for `profile`.
pub fn encode_blocks(blocks: &[Block], profile: &PrinterProfile) -> Result<PrintJob, EncodeError> {
    let mut encoder = Encoder::new();
    // ESC @ resets the printer, which selects the power-on page; select ours explicitly.
    encoder.printer.init().map_err(command_error)?;
    encoder.page = profile.default_code_page();
    encoder
        .printer
        .page_code(encoder.page.escpos_page_code())
        .map_err(command_error)?;
    encoder.boundary()?;
    for block in blocks {
        match block {
            Block::Text(line) => encoder.text(line, profile)?,
            Block::RasterText(line) => encoder.image(&line.bitmap)?,
            Block::Image(bitmap) => encoder.image(bitmap)?,
            Block::NativeQr {
                payload,
                module_dots,
                modules,
            } => encoder.native_qr(payload, *module_dots, *modules)?,
            Block::Feed(lines) => {
                encoder.printer.feeds(*lines).map_err(command_error)?;
                encoder.feed_dots += 30 * u32::from(*lines);
                encoder.boundary()?;
            }
            Block::Cut => {
                encoder.printer.partial_cut().map_err(command_error)?;
                encoder.boundary()?;
            }
        }
    }
    let bytes = encoder
        .sink
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok(PrintJob {
        bytes,
        boundaries: encoder.boundaries,
        feed_dots: encoder.feed_dots,
    })
}
