//! The sync engine: drains the outbox through a [`Transport`].
//!
//! Each record has its own back-off (exponential, full jitter, capped), so one
//! bad record never blocks the others. A connection-wide failure pauses all
//! sending and then probes with a single record until the office answers
//! again, so an offline kiosk does not hammer the network. Results are written
//! back in batches (one transaction for everything that finished together).
//! Once a batch is committed, each result is reported as plain data to the
//! [`SyncObserver`] the app passed in (for its metrics).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::outbox::{Envelope, Outbox, Settlement, now_ms};
use crate::transport::{DeliveryOutcome, FailureClass, RetryScope, Transport};

/// How the engine paces itself.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// First back-off step; step n waits a random time up to `base * 2^n`.
    pub backoff_base: Duration,
    /// The longest back-off.
    pub backoff_cap: Duration,
    /// At shutdown, how long in-flight deliveries may finish before they are
    /// interrupted (and requeued: nothing is lost either way).
    pub shutdown_grace: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(15 * 60),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What a run of the engine did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncSummary {
    /// Records delivered and purged.
    pub delivered: u64,
    /// Attempts that will be retried.
    pub retried: u64,
    /// Records moved to the dead letters.
    pub dead_lettered: u64,
    /// In-flight records put back in the queue at shutdown.
    pub requeued: u64,
    /// Attempts that found a record handed over and still awaiting the office's acceptance.
    pub awaiting_acceptance: u64,
}

/// What one delivery attempt came to, as the engine reports it to its
/// [`SyncObserver`]. Plain, non-personal data.
///
/// Deliberately not `#[non_exhaustive]`: observers count every kind, and a new
/// kind must show up in them as a compile error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncReport {
    /// The office has the submission; the record was purged.
    Delivered {
        /// The submission's catalogue service id.
        service_id: String,
    },
    /// Handed over to the office, which has not confirmed acceptance yet
    /// (multi-step protocols such as FIT-Connect); checked again later.
    AwaitingAcceptance {
        /// The submission's catalogue service id.
        service_id: String,
    },
    /// The attempt failed.
    Failed {
        /// Why, as a class.
        class: FailureClass,
        /// `true`: the record stays queued for another attempt; `false`: the
        /// office refused it for good and it became a dead letter for staff.
        will_retry: bool,
    },
}

/// Receives the engine's [`SyncReport`]s, e.g. to count them in metrics.
///
/// Called on the engine's task right after the results are committed to the
/// outbox, once per finished attempt (a record interrupted by shutdown is not
/// reported): keep it quick and never block. A closure
/// `Fn(&SyncReport) + Send + Sync` is an observer.
pub trait SyncObserver: Send + Sync + 'static {
    /// One attempt's result.
    fn report(&self, report: &SyncReport);
}

impl<F> SyncObserver for F
where
    F: Fn(&SyncReport) + Send + Sync + 'static,
{
    fn report(&self, report: &SyncReport) {
        self(report);
    }
}

/// Drains an [`Outbox`] through a [`Transport`] until shut down.
pub struct SyncEngine<T> {
    outbox: Outbox,
    transport: Arc<T>,
    config: SyncConfig,
    observer: Option<Arc<dyn SyncObserver>>,
}

/// One attempt as its task hands it back.
struct Finished {
    id: Uuid,
    service_id: String,
    attempt: u32,
    outcome: DeliveryOutcome,
}

impl<T> std::fmt::Debug for SyncEngine<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Wall-clock milliseconds that follow tokio's clock (so paused-time tests work).
struct Clock {
    wall_at_start: i64,
    start: Instant,
}

impl Clock {
    fn new() -> Self {
        Self {
            wall_at_start: now_ms(),
            start: Instant::now(),
        }
    }

    fn now_ms(&self) -> i64 {
        self.wall_at_start + i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX / 2)
    }

    fn instant_at(&self, ms: i64) -> Instant {
        let ahead = u64::try_from(ms - self.now_ms()).unwrap_or(0);
        Instant::now() + Duration::from_millis(ahead)
    }
}

/// Waits after a storage failure before trying the database again.
const STORAGE_RETRY: Duration = Duration::from_secs(1);

impl<T: Transport> SyncEngine<T> {
    /// An engine for `outbox` over `transport`.
    pub fn new(outbox: Outbox, transport: T, config: SyncConfig) -> Self {
        Self {
            outbox,
            transport: Arc::new(transport),
            config: SyncConfig {
                concurrency: config.concurrency.max(1),
                ..config
            },
            observer: None,
        }
    }

    /// Reports every attempt's result to `observer` (replacing an earlier one).
    pub fn with_observer(mut self, observer: impl SyncObserver) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Hands the reports of committed results to the observer.
    fn report(&self, reports: &mut Vec<SyncReport>) {
        if let Some(observer) = &self.observer {
            for report in reports.iter() {
                observer.report(report);
            }
        }
        reports.clear();
    }

    fn full_jitter(&self, step: u32) -> Duration {
        let ceiling = self
            .config
            .backoff_base
            .saturating_mul(2u32.saturating_pow(step.min(30)))
            .min(self.config.backoff_cap);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }

    /// Runs until `shutdown` completes, then lets in-flight deliveries finish
    /// (up to [`SyncConfig::shutdown_grace`]) and requeues the rest.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> SyncSummary {
        tokio::pin!(shutdown);
        let clock = Clock::new();
        let mut summary = SyncSummary::default();
        let mut in_flight: JoinSet<Finished> = JoinSet::new();
        let mut task_ids: HashMap<tokio::task::Id, (Uuid, String)> = HashMap::new();
        let mut unsaved: Vec<(Uuid, Settlement)> = Vec::new();
        // Reports of the results in `unsaved`: told only once they are committed.
        let mut unreported: Vec<SyncReport> = Vec::new();
        let mut offline_failures: u32 = 0;
        let mut paused_until: Option<Instant> = None;
        let mut storage_wait: Option<Instant> = None;

        loop {
            if self.outbox.take_force() {
                offline_failures = 0;
                paused_until = None;
                let (outbox, now) = (self.outbox.clone(), clock.now_ms());
                if let Err(e) = blocking(move || outbox.make_all_due(now)).await {
                    tracing::warn!(error = %e, "sync now: cannot reschedule the queue");
                }
            }
            let now = Instant::now();
            let paused = paused_until.is_some_and(|until| until > now);
            let storage_blocked = storage_wait.is_some_and(|until| until > now);
            let mut next_wake = paused_until
                .filter(|_| paused)
                .or(storage_wait.filter(|_| storage_blocked));
            let free = self.config.concurrency.saturating_sub(in_flight.len());
            // After a connection failure, probe with one record before opening the gates.
            let limit = match (
                paused || storage_blocked,
                offline_failures,
                in_flight.is_empty(),
            ) {
                (true, _, _) => 0,
                (false, 0, _) => free,
                (false, _, true) => 1,
                (false, _, false) => 0,
            };
            let mut all_due_claimed = false;
            if limit > 0 || (!unsaved.is_empty() && !storage_blocked) {
                // Results of the last attempts and the next claims share one commit.
                let batch = std::mem::take(&mut unsaved);
                let (outbox, now_ms) = (self.outbox.clone(), clock.now_ms());
                let claimed = blocking(move || {
                    outbox
                        .settle_and_claim(now_ms, &batch, limit)
                        .map_err(|e| (e, batch))
                })
                .await;
                match claimed {
                    Ok(envelopes) => {
                        storage_wait = None;
                        self.report(&mut unreported);
                        all_due_claimed = limit > 0 && envelopes.len() < limit;
                        for envelope in envelopes {
                            let transport = Arc::clone(&self.transport);
                            let task = (envelope.id, envelope.service_id.clone());
                            let handle = in_flight.spawn(deliver(transport, envelope));
                            task_ids.insert(handle.id(), task);
                        }
                    }
                    Err((e, batch)) => {
                        tracing::warn!(error = %e, records = batch.len(), "cannot update the outbox; trying again shortly");
                        unsaved = batch;
                        storage_wait = Some(Instant::now() + STORAGE_RETRY);
                        next_wake = storage_wait;
                    }
                }
            }
            // Nothing due is left: sleep until the next record becomes due (a probe or
            // a full pipeline wakes the loop when it finishes instead).
            if next_wake.is_none() && all_due_claimed {
                let outbox = self.outbox.clone();
                match blocking(move || outbox.next_due_ms()).await {
                    Ok(Some(due)) => next_wake = Some(clock.instant_at(due)),
                    Ok(None) => {}
                    Err(_) => next_wake = Some(Instant::now() + STORAGE_RETRY),
                }
            }

            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(joined) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                    let mut finished = vec![joined];
                    while let Some(more) = in_flight.try_join_next_with_id() {
                        finished.push(more);
                    }
                    for joined in finished {
                        let Some(finished) = take_result(joined, &mut task_ids) else { continue };
                        let id = finished.id;
                        let (settlement, report) = self.settlement(&clock, &mut summary, finished, &mut offline_failures, &mut paused_until);
                        unsaved.push((id, settlement));
                        unreported.push(report);
                    }
                }
                () = self.outbox.wake().notified() => {}
                () = sleep_until(next_wake), if next_wake.is_some() => {}
            }
        }

        // Shutdown: let in-flight deliveries finish, then requeue what is left.
        let grace = tokio::time::sleep(self.config.shutdown_grace);
        tokio::pin!(grace);
        while !in_flight.is_empty() {
            tokio::select! {
                Some(joined) = in_flight.join_next_with_id() => {
                    if let Some(finished) = take_result(joined, &mut task_ids) {
                        let id = finished.id;
                        let (settlement, report) = self.settlement(&clock, &mut summary, finished, &mut offline_failures, &mut paused_until);
                        unsaved.push((id, settlement));
                        unreported.push(report);
                    }
                }
                () = &mut grace => break,
            }
        }
        in_flight.abort_all();
        while let Some(joined) = in_flight.join_next_with_id().await {
            // A delivery that finished just before the abort keeps its result;
            // interrupted ones stay in `task_ids` and are requeued below.
            if let Ok((task, finished)) = joined {
                task_ids.remove(&task);
                let id = finished.id;
                let (settlement, report) = self.settlement(
                    &clock,
                    &mut summary,
                    finished,
                    &mut offline_failures,
                    &mut paused_until,
                );
                unsaved.push((id, settlement));
                unreported.push(report);
            }
        }
        for (_, (id, _)) in task_ids.drain() {
            summary.requeued += 1;
            unsaved.push((id, Settlement::Requeue));
        }
        if self.save(&clock, &mut unsaved).await.is_ok() {
            self.report(&mut unreported);
        } else {
            // Still `sending` in the file: the next start puts them back in the
            // queue, and their next attempt is reported then.
            tracing::warn!(
                "could not record the last results; they are requeued at the next start"
            );
        }
        summary
    }

    async fn save(&self, clock: &Clock, unsaved: &mut Vec<(Uuid, Settlement)>) -> Result<(), ()> {
        let batch = std::mem::take(unsaved);
        let (outbox, now) = (self.outbox.clone(), clock.now_ms());
        match blocking(move || {
            outbox
                .settle_and_claim(now, &batch, 0)
                .map(drop)
                .map_err(|e| (e, batch))
        })
        .await
        {
            Ok(()) => Ok(()),
            Err((e, batch)) => {
                tracing::warn!(error = %e, records = batch.len(), "cannot record delivery results; will try again");
                *unsaved = batch;
                Err(())
            }
        }
    }

    /// How to record a finished attempt, and what to report once it is recorded.
    fn settlement(
        &self,
        clock: &Clock,
        summary: &mut SyncSummary,
        finished: Finished,
        offline_failures: &mut u32,
        paused_until: &mut Option<Instant>,
    ) -> (Settlement, SyncReport) {
        let Finished {
            id,
            service_id,
            attempt,
            outcome,
        } = finished;
        match outcome {
            DeliveryOutcome::Delivered { server_reference } => {
                *offline_failures = 0;
                *paused_until = None;
                summary.delivered += 1;
                tracing::info!(%id, attempt, "submission delivered");
                (
                    Settlement::Delivered { server_reference },
                    SyncReport::Delivered { service_id },
                )
            }
            DeliveryOutcome::Retry {
                after,
                class,
                reason,
                scope,
            } => {
                summary.retried += 1;
                let after = after.unwrap_or(Duration::ZERO);
                if scope == RetryScope::Connection {
                    *offline_failures = offline_failures.saturating_add(1);
                    let pause = self
                        .full_jitter(*offline_failures)
                        .max(self.config.backoff_base)
                        .max(after);
                    *paused_until = Some(Instant::now() + pause);
                    tracing::info!(%id, attempt, %class, %reason, pause_ms = pause.as_millis() as u64, "office unreachable; pausing");
                } else {
                    *offline_failures = 0;
                    tracing::info!(%id, attempt, %class, %reason, "delivery will be retried");
                }
                let wait = self.full_jitter(attempt.saturating_sub(1)).max(after);
                let at_ms =
                    clock.now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4);
                (
                    Settlement::RetryAt {
                        at_ms,
                        error: format!("{class}: {reason}"),
                    },
                    SyncReport::Failed {
                        class,
                        will_retry: true,
                    },
                )
            }
            DeliveryOutcome::Submitted {
                server_reference,
                check_again_after,
                note,
            } => {
                // The office answered: whatever paused the connection is over.
                *offline_failures = 0;
                *paused_until = None;
                summary.awaiting_acceptance += 1;
                tracing::info!(%id, attempt, %server_reference, %note, "handed over; waiting for the office's acceptance");
                let at_ms = clock.now_ms()
                    + i64::try_from(check_again_after.as_millis()).unwrap_or(i64::MAX / 4);
                (
                    Settlement::Awaiting { at_ms, note },
                    SyncReport::AwaitingAcceptance { service_id },
                )
            }
            DeliveryOutcome::Reject { class, reason } => {
                summary.dead_lettered += 1;
                tracing::warn!(%id, attempt, %class, %reason, "submission refused; moved to the dead letters for staff");
                (
                    Settlement::DeadLetter {
                        error: format!("{class}: {reason}"),
                    },
                    SyncReport::Failed {
                        class,
                        will_retry: false,
                    },
                )
            }
        }
    }
}

async fn deliver<T: Transport>(transport: Arc<T>, envelope: Envelope) -> Finished {
    let outcome = transport.deliver(&envelope).await;
    Finished {
        id: envelope.id,
        service_id: envelope.service_id,
        attempt: envelope.attempt,
        outcome,
    }
}

type Joined = Result<(tokio::task::Id, Finished), tokio::task::JoinError>;

fn take_result(
    joined: Joined,
    task_ids: &mut HashMap<tokio::task::Id, (Uuid, String)>,
) -> Option<Finished> {
    match joined {
        Ok((task, result)) => {
            task_ids.remove(&task);
            Some(result)
        }
        Err(e) => {
            // A panicking transport: the record stays `sending` until the
            // shutdown requeue or the next start; never lost.
            let task = task_ids.remove(&e.id());
            tracing::error!(id = ?task.as_ref().map(|(id, _)| id), "a delivery task failed: {e}");
            task.map(|(id, service_id)| Finished {
                id,
                service_id,
                attempt: 1,
                outcome: DeliveryOutcome::Retry {
                    after: None,
                    class: FailureClass::Local,
                    reason: "the delivery task failed".to_owned(),
                    scope: RetryScope::Record,
                },
            })
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            // Cancelled: the runtime is shutting down.
            Err(_) => std::future::pending().await,
        },
    }
}
