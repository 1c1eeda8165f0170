//! The kiosk in a window: the UI's event loop on the main thread, the
//! effects performed on the tokio runtime, results sent back as events.

use std::sync::Arc;
use std::time::Instant;

use kiosk_journey::{Effect, Now};
use kiosk_staff::StaffEffect;
use kiosk_ui::{Clock, EffectHandler, EventSender};
use tokio::sync::mpsc;

use crate::kiosk::{Happened, Performer, now_since};
use crate::staff::StaffPerformer;

/// The journey's clock: monotonic time since start and the local date.
#[derive(Debug)]
pub struct LocalClock {
    started: Instant,
}

impl LocalClock {
    /// Starts counting now.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
        }
    }
}

impl Default for LocalClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for LocalClock {
    fn now(&self) -> Now {
        now_since(self.started)
    }
}

/// Called with everything the performer did (metrics, staff alerts, the demo panel).
pub type Observer = Arc<dyn Fn(&Happened) + Send + Sync>;

/// An effect of the citizen journey or of staff mode.
enum Job {
    Citizen(Effect),
    Staff(StaffEffect),
}

/// Hands effects to a task on the tokio runtime that performs them one after
/// the other (so a receipt is printed only after its application is saved)
/// and sends each outcome back to the UI thread as an event.
pub struct WindowEffects {
    effects: mpsc::UnboundedSender<(Job, EventSender)>,
}

impl WindowEffects {
    /// Starts the performing task on `runtime`; it ends when this handler
    /// is dropped and the effect it is performing is done.
    pub fn spawn(
        runtime: &tokio::runtime::Handle,
        mut performer: Performer,
        mut staff: StaffPerformer,
        observer: Observer,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (effects, mut incoming) = mpsc::unbounded_channel::<(Job, EventSender)>();
        let mut eid_events = performer.take_eid_events();
        let task = runtime.spawn(async move {
            // The UI's sender, known from the first job; AusweisApp's messages
            // only come after a job started an eID login.
            let mut ui: Option<EventSender> = None;
            loop {
                let (job, events) = tokio::select! {
                    job = incoming.recv() => match job {
                        Some(job) => job,
                        None => break,
                    },
                    Some(event) = next_eid_event(&mut eid_events) => {
                        if let Some(ui) = &ui {
                            ui.send(event);
                        }
                        continue;
                    }
                };
                ui = Some(events.clone());
                match job {
                    Job::Citizen(effect) => {
                        let mut happened = Vec::new();
                        let capabilities = performer.capabilities();
                        if let Some(event) = performer.perform(effect, &mut happened).await {
                            // What the kiosk can do may have changed (the portal
                            // went offline): tell the journey before the outcome.
                            events.send(kiosk_journey::Event::Capabilities(capabilities));
                            events.send(event);
                        }
                        for what in &happened {
                            observer(what);
                        }
                    }
                    Job::Staff(effect) => {
                        if let Some(event) = staff.perform(effect).await {
                            events.send_staff(event);
                        }
                    }
                }
            }
        });
        (Self { effects }, task)
    }
}

/// The next of AusweisApp's events; never resolves for a kiosk without eID.
async fn next_eid_event(
    events: &mut Option<crate::eid::EidEvents>,
) -> Option<kiosk_journey::Event> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

impl EffectHandler for WindowEffects {
    fn perform(&mut self, effect: Effect, events: &EventSender) {
        if self
            .effects
            .send((Job::Citizen(effect), events.clone()))
            .is_err()
        {
            tracing::error!("the effect task has stopped; the kiosk is shutting down");
        }
    }

    fn perform_staff(&mut self, effect: StaffEffect, events: &EventSender) {
        if self
            .effects
            .send((Job::Staff(effect), events.clone()))
            .is_err()
        {
            tracing::error!("the effect task has stopped; the kiosk is shutting down");
        }
    }
}
