//! The [`ReceiptPrinter`] trait and its ESC/POS implementation.

use std::future::Future;
use std::time::Duration;

use crate::encode::PrintJob;
use crate::error::{Error, PrinterError};
use crate::status::{PrinterStatus, StaffAlert, StatusRequest};
use crate::transport::Transport;

/// A receipt printer: ask its status, print a job.
pub trait ReceiptPrinter {
    /// The driver's detailed error.
    type Error: Error;

    /// The printer's current status. No answer within the time-out is an error (offline),
    /// never "probably fine".
    fn status(&mut self) -> impl Future<Output = Result<PrinterStatus, Self::Error>> + Send;

    /// Prints `job` if the printer is ready; the status is checked before any byte is sent.
    fn print(
        &mut self,
        job: &PrintJob,
    ) -> impl Future<Output = Result<PrintReport, Self::Error>> + Send;
}

/// What happened when a job printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintReport {
    /// The status after the last byte was sent.
    pub status_after: PrinterStatus,
    /// Something staff must do (e.g. paper near end), to be raised by the app.
    pub alert: Option<StaffAlert>,
}

/// Time limits of the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long to wait for each status answer before the printer counts as offline.
    pub status_answer: Duration,
    /// How long sending one chunk of a job may take.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            status_answer: Duration::from_millis(1500),
            write: Duration::from_secs(10),
        }
    }
}

/// Bytes sent between two status checks during a job.
const CHUNK_BYTES: usize = 4096;

/// An ESC/POS printer on some [`Transport`].
#[derive(Debug)]
pub struct EscPosPrinter<T> {
    transport: T,
    timeouts: Timeouts,
}

impl<T: Transport> EscPosPrinter<T> {
    /// A driver that owns `transport`.
    pub fn new(transport: T, timeouts: Timeouts) -> Self {
        Self {
            transport,
            timeouts,
        }
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    fn io_error(&self, action: &'static str, source: std::io::Error) -> PrinterError {
        PrinterError::Io {
            endpoint: self.transport.endpoint().to_owned(),
            action,
            source,
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), PrinterError> {
        let timeout = self.timeouts.write;
        match tokio::time::timeout(timeout, self.transport.send(bytes)).await {
            Err(_) => Err(PrinterError::WriteTimedOut { timeout }),
            Ok(Err(source)) => Err(self.io_error("sending data", source)),
            Ok(Ok(())) => Ok(()),
        }
    }

    async fn ask(&mut self, request: StatusRequest) -> Result<u8, PrinterError> {
        self.send(&request.bytes()).await?;
        let timeout = self.timeouts.status_answer;
        let mut answer = [0u8; 1];
        match tokio::time::timeout(timeout, self.transport.receive(&mut answer)).await {
            Err(_) => Err(PrinterError::NoAnswer { request, timeout }),
            Ok(Err(source)) => Err(self.io_error("reading a status answer", source)),
            Ok(Ok(0)) => Err(self.io_error(
                "reading a status answer",
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the printer closed the connection",
                ),
            )),
            Ok(Ok(_)) => Ok(answer[0]),
        }
    }

    /// Discards bytes already waiting (a late answer to a request that timed out, or
    /// automatic status the printer sent by itself) so they are not taken as the next answer.
    async fn discard_stale_input(&mut self) {
        let mut scratch = [0u8; 64];
        for _ in 0..16 {
            // A zero time-out still polls the read once: only bytes already there are taken.
            match tokio::time::timeout(Duration::ZERO, self.transport.receive(&mut scratch)).await {
                Ok(Ok(read)) if read > 0 => {
                    tracing::debug!(bytes = read, "discarded stale printer input")
                }
                _ => return,
            }
        }
    }

    async fn read_status(&mut self) -> Result<PrinterStatus, PrinterError> {
        self.discard_stale_input().await;
        let mut status = PrinterStatus::default();
        for request in StatusRequest::ALL {
            let byte = self.ask(request).await?;
            status.apply(request, byte)?;
        }
        Ok(status)
    }
}

impl<T: Transport> ReceiptPrinter for EscPosPrinter<T> {
    type Error = PrinterError;

    async fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        self.read_status().await
    }

    async fn print(&mut self, job: &PrintJob) -> Result<PrintReport, PrinterError> {
        let status = self.read_status().await?;
        if let Some(kind) = status.blocking_problem() {
            return Err(PrinterError::NotReady { kind, status });
        }
        let total_bytes = job.bytes().len();
        let mut sent_bytes = 0;
        let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
        let mut segments = job.segments().peekable();
        while let Some(segment) = segments.next() {
            chunk.extend_from_slice(segment);
            let last = segments.peek().is_none();
            if chunk.len() < CHUNK_BYTES && !last {
                continue;
            }
            self.send(&chunk).await?;
            sent_bytes += chunk.len();
            chunk.clear();
            // Real-time requests between whole commands: a cover opened or paper ended
            // mid-job is seen at once, and the job is reported incomplete.
            let status = self.read_status().await?;
            if let Some(kind) = status.blocking_problem() {
                return Err(PrinterError::Interrupted {
                    kind,
                    status,
                    sent_bytes,
                    total_bytes,
                });
            }
            if last {
                return Ok(PrintReport {
                    status_after: status,
                    alert: status.staff_alert(),
                });
            }
        }
        // An empty job: nothing was sent, the status before is the status after.
        Ok(PrintReport {
            status_after: status,
            alert: status.staff_alert(),
        })
    }
}
