//! ESC/POS receipt printing for the kiosk.
//!
//! Only this crate knows ESC/POS bytes. It lays a [`Receipt`] (plain data) out for a
//! [`PrinterProfile`] and encodes it into a [`PrintJob`]: text in the printer's code pages,
//! switching pages mid-line where needed and never sending UTF-8; text no code page has
//! (Arabic, names in other scripts) as raster lines shaped with the shipped fonts; logos
//! dithered; QR codes native or as images. An [`EscPosPrinter`] sends the job over a
//! [`transport`] after asking the printer's status (no answer means offline). The
//! [`VirtualPrinter`] speaks the same protocol on 127.0.0.1 and renders what it got to PNG.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kiosk_printer::samples::SampleLanguage;
//! use kiosk_printer::virtual_printer::{VirtualPrinter, VirtualState};
//! use kiosk_printer::{EscPosPrinter, PrintJob, PrinterProfile, ReceiptPrinter, Timeouts};
//!
//! let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await?;
//! let profile = PrinterProfile::generic_80mm();
//! let job = PrintJob::build(&SampleLanguage::German.receipt(), &profile)?;
//!
//! let address = virtual_printer.addr().to_string();
//! let transport = kiosk_printer::transport::connect_tcp(&address, Timeouts::default().status_answer).await?;
//! let mut printer = EscPosPrinter::new(transport, Timeouts::default());
//! let report = printer.print(&job).await?;
//! assert_eq!(report.alert, None);
//!
//! let printed = virtual_printer.wait_for_receipts(1, std::time::Duration::from_secs(5)).await;
//! assert!(printed[0].text_lines().iter().any(|line| line.contains("GE-K07-4F7Q-9X")));
//! # Ok(()) }
//! ```
//!
//! # Code map
//!
//! - [`model`]: the receipt and printer profiles, plain data.
//! - [`layout`]: receipt + profile -> blocks (device text lines, raster lines, images, QR).
//! - [`codepage`]: which characters each code page has; per-run page choice.
//! - [`raster`]: one-bit bitmaps, text shaping with the shipped fonts, logo dithering.
//! - [`encode`]: blocks -> [`PrintJob`] bytes (commands via the `escpos` crate).
//! - [`status`]: `DLE EOT` requests and the typed [`PrinterStatus`].
//! - [`printer`]: the [`ReceiptPrinter`] trait and [`EscPosPrinter`]; [`error`]: its errors.
//! - [`transport`]: TCP 9100, device files (`/dev/usb/lp*`), serial, USB bulk (`nusb`).
//! - [`service`]: a task owning a printer, polling its status between jobs.
//! - [`virtual_printer`]: the loopback ESC/POS printer; [`preview`] and [`samples`].
//!
//! # Invariants
//!
//! - No UTF-8 ever reaches a printer: text is either in a code page of the profile or drawn.
//! - No job byte is sent before the printer answered that it can print; silence is offline.
//! - Receipt text (which may name the citizen) appears in no `Debug` output, error or log.
//! - Layout and encoding do no I/O; only [`transport`] and [`printer`] talk to devices.
#![deny(missing_docs)]

pub mod codepage;
pub mod encode;
pub mod error;
pub mod layout;
pub mod model;
pub mod preview;
pub mod printer;
pub mod raster;
pub mod samples;
pub mod service;
pub mod status;
pub mod transport;
pub mod virtual_printer;

pub use codepage::CodePage;
pub use encode::{EncodeError, PrintJob, build_job};
pub use error::{Error, ErrorKind, PrinterError};
pub use model::{Logo, PaperWidth, PrinterProfile, Receipt, SummaryLine, TextDirection};
pub use preview::{PreviewError, render_previews};
pub use printer::{EscPosPrinter, PrintReport, ReceiptPrinter, Timeouts};
pub use status::{PaperLevel, PrinterStatus, StaffAlert, StatusRequest};
pub use virtual_printer::{PrintedReceipt, VirtualPrinter, VirtualState};
