//! A task that owns one printer: prints jobs one at a time and asks the status periodically
//! in between, so the app and the staff screen always know the paper state.
//!
//! The latest observation is published on a `watch` channel; a status request that gets no
//! answer publishes an error (offline), never a stale "ready".

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::encode::PrintJob;
use crate::error::{Error, ErrorKind};
use crate::printer::{PrintReport, ReceiptPrinter};
use crate::status::{PrinterStatus, StaffAlert};

/// What the service last learned about the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// Nothing asked yet.
    Unknown,
    /// The printer answered.
    Status(PrinterStatus),
    /// Asking failed (offline, disconnected, garbage answer).
    Failed(ErrorKind),
}

impl Observation {
    /// Whether a job would be sent now (known status without a blocking problem).
    pub fn ready(&self) -> bool {
        matches!(self, Observation::Status(status) if status.blocking_problem().is_none())
    }

    /// The staff alert to show, if any.
    pub fn staff_alert(&self) -> Option<StaffAlert> {
        match self {
            Observation::Status(status) => status.staff_alert(),
            _ => None,
        }
    }
}

type Request<E> = (PrintJob, oneshot::Sender<Result<PrintReport, E>>);

/// The app's handle to a printer service. Dropping every handle stops the service.
#[derive(Debug)]
pub struct PrinterService<E> {
    requests: mpsc::Sender<Request<E>>,
    observations: watch::Receiver<Observation>,
}

impl<E> Clone for PrinterService<E> {
    fn clone(&self) -> Self {
        Self {
            requests: self.requests.clone(),
            observations: self.observations.clone(),
        }
    }
}

/// Why a job given to the service was not printed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError<E: std::error::Error + 'static> {
    /// The driver failed (see its kind).
    #[error(transparent)]
    Printer(E),
    /// The service task ended (the app is shutting down).
    #[error("the printer service has stopped; the receipt was not printed")]
    Stopped,
}

impl<E: Error + 'static> Error for ServiceError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::Printer(error) => error.kind(),
            ServiceError::Stopped => ErrorKind::Other,
        }
    }
}

impl<E: Error + Send + 'static> PrinterService<E> {
    /// Starts the service on the current tokio runtime; the status is asked at once and then
    /// every `poll_every` while no job is printing.
    pub fn spawn<P>(mut printer: P, poll_every: Duration) -> Self
    where
        P: ReceiptPrinter<Error = E> + Send + 'static,
    {
        let (requests, mut incoming) = mpsc::channel::<Request<E>>(8);
        let (publish, observations) = watch::channel(Observation::Unknown);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(poll_every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    request = incoming.recv() => {
                        let Some((job, reply)) = request else { break };
                        let result = printer.print(&job).await;
                        let observation = match &result {
                            Ok(report) => Observation::Status(report.status_after),
                            Err(error) => Observation::Failed(error.kind()),
                        };
                        publish.send_replace(observation);
                        // The caller may have given up waiting; the outcome is published anyway.
                        let _ = reply.send(result);
                    }
                    _ = ticker.tick() => {
                        let observation = match printer.status().await {
                            Ok(status) => Observation::Status(status),
                            Err(error) => {
                                tracing::warn!(kind = ?error.kind(), "printer status check failed");
                                Observation::Failed(error.kind())
                            }
                        };
                        publish.send_replace(observation);
                    }
                }
            }
        });
        Self {
            requests,
            observations,
        }
    }

    /// Prints `job` (status is checked first by the driver).
    pub async fn print(&self, job: PrintJob) -> Result<PrintReport, ServiceError<E>> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((job, reply))
            .await
            .map_err(|_| ServiceError::Stopped)?;
        answer
            .await
            .map_err(|_| ServiceError::Stopped)?
            .map_err(ServiceError::Printer)
    }

    /// The latest observation.
    pub fn latest(&self) -> Observation {
        *self.observations.borrow()
    }

    /// A receiver that wakes on every new observation (for the staff screen).
    pub fn observations(&self) -> watch::Receiver<Observation> {
        self.observations.clone()
    }
}
