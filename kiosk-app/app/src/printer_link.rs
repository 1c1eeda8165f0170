//! The kiosk's receipt printer as configured: a [`ReceiptPrinter`] that opens
//! its connection (TCP, device file or serial port) for every status check and
//! job, so a printer that was switched off and on again, or a network printer
//! that dropped the connection, works again without restarting the kiosk.

use kiosk_config::{PrinterConnection, PrinterModel};
use kiosk_printer::transport::{self, Transport};
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
        let endpoint = self.connection.to_string();
        let opened = match &self.connection {
            PrinterConnection::Tcp(address) => {
                transport::connect_tcp(address, self.timeouts.status_answer)
                    .await
                    .map(AnyTransport::Tcp)
            }
            PrinterConnection::Device(path) => {
                transport::open_device(path).await.map(AnyTransport::Device)
            }
            PrinterConnection::Serial { path, baud } => {
                transport::open_serial(path, *baud).map(AnyTransport::Serial)
            }
        };
        let transport = opened.map_err(|source| PrinterError::Io {
            endpoint,
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

/// One of the driver's transports, chosen by configuration.
enum AnyTransport {
    Tcp(transport::TcpTransport),
    Device(transport::DeviceTransport),
    Serial(transport::SerialTransport),
}

impl Transport for AnyTransport {
    fn endpoint(&self) -> &str {
        match self {
            Self::Tcp(t) => t.endpoint(),
            Self::Device(t) => t.endpoint(),
            Self::Serial(t) => t.endpoint(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Tcp(t) => t.send(bytes).await,
            Self::Device(t) => t.send(bytes).await,
            Self::Serial(t) => t.send(bytes).await,
        }
    }

    async fn receive(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Tcp(t) => t.receive(buf).await,
            Self::Device(t) => t.receive(buf).await,
            Self::Serial(t) => t.receive(buf).await,
        }
    }
}
