//! The kiosk's receipt printer as configured: a [`ReceiptPrinter`] that opens
//! its connection (TCP, device file or serial port) for every status check and
//! job, so a printer that was switched off and on again, or a network printer
//! that dropped the connection, works again without restarting the kiosk.

use kiosk_config::{PrinterConnection, PrinterModel};
use kiosk_printer::transport::{self, AnyTransport};
use kiosk_printer::{
    EscPosPrinter, PrintJob, PrintReport, PrinterError, PrinterProfile, PrinterStatus,
    ReceiptPrinter, Timeouts,
};

/// The printer profile for a configured model.
pub fn profile(model: PrinterModel) -> PrinterProfile {
    match model {
        PrinterModel::Generic80mm => PrinterProfile::generic_80mm(),
        PrinterModel::EpsonTmT88 => PrinterProfile::epson_tm_t88(),
        PrinterModel::Generic58mm => PrinterProfile::generic_58mm(),
    }
}

/// A printer reached through a configured connection, opened per operation.
#[derive(Debug, Clone)]
pub struct ConnectingPrinter {
    connection: PrinterConnection,
    timeouts: Timeouts,
}

impl ConnectingPrinter {
    /// A printer at `connection`.
    pub fn new(connection: PrinterConnection, timeouts: Timeouts) -> Self {
        Self {
            connection,
            timeouts,
        }
    }

    async fn open(&self) -> Result<EscPosPrinter<AnyTransport>, PrinterError> {
        let transport = transport::open(&self.connection, self.timeouts.status_answer)
            .await
            .map_err(|source| PrinterError::Io {
                endpoint: self.connection.to_string(),
                action: "connecting",
                source,
            })?;
        Ok(EscPosPrinter::new(transport, self.timeouts))
    }
}

impl ReceiptPrinter for ConnectingPrinter {
    type Error = PrinterError;

    async fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        self.open().await?.status().await
    }

    async fn print(&mut self, job: &PrintJob) -> Result<PrintReport, PrinterError> {
        self.open().await?.print(job).await
    }
}
