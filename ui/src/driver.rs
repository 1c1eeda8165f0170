//! [`Kiosk`]: the journey and the UI joined, with a clock and the effects
//! handed to the rest of the kiosk; [`run_window`] runs it in a real window.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kiosk_journey::{Effect, Event, Journey, Now};
use slint::{ComponentHandle, Timer, TimerMode};

use crate::{KioskUi, UiError};

/// Where the journey's time comes from.
pub trait Clock {
    /// The time now.
    fn now(&self) -> Now;
}

/// The real clock: monotonic time since start, and today's date (UTC).
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// Starts counting now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Now {
        Now {
            elapsed: self.start.elapsed(),
            today: time::OffsetDateTime::now_utc().date(),
        }
    }
}

/// Performs the journey's effects (card reads, outbox, printer, staff call).
/// Results come back later as events through the [`EventSender`].
pub trait EffectHandler {
    /// Starts performing `effect`; must not block the UI thread.
    fn perform(&mut self, effect: Effect, events: &EventSender);
}

/// Sends events into the kiosk from any thread (card reader, outbox, printer).
#[derive(Clone, Debug)]
pub struct EventSender(mpsc::Sender<Event>);

impl EventSender {
    /// Queues `event`; the UI thread handles it within [`POLL_EVERY`].
    /// Returns `false` when the kiosk has shut down.
    pub fn send(&self, event: Event) -> bool {
        self.0.send(event).is_ok()
    }
}

/// How often events from other threads are picked up.
pub const POLL_EVERY: Duration = Duration::from_millis(50);
/// How often time is fed to the journey (idle warning countdown).
pub const TICK_EVERY: Duration = Duration::from_millis(250);

struct Inner {
    journey: RefCell<Journey>,
    ui: KioskUi,
    clock: Box<dyn Clock>,
    effects: RefCell<Box<dyn EffectHandler>>,
    sender: EventSender,
    receiver: mpsc::Receiver<Event>,
    timers: RefCell<Vec<Timer>>,
    /// What the last redraw showed, to skip redraws on ticks that change nothing.
    shown: RefCell<Option<(kiosk_journey::Step, Option<u128>)>>,
}

/// The journey driven by the touchscreen: taps become events, effects go to
/// the [`EffectHandler`], and the screen is redrawn from the journey's state.
#[derive(Clone)]
pub struct Kiosk {
    inner: Rc<Inner>,
}

impl Kiosk {
    /// Builds the UI around `journey` and starts the tick and poll timers.
    /// Needs a Slint platform on this thread.
    pub fn new(
        journey: Journey,
        clock: Box<dyn Clock>,
        effects: Box<dyn EffectHandler>,
    ) -> Result<Self, UiError> {
        let (tx, rx) = mpsc::channel();
        // The UI's callbacks reach the kiosk through a weak link filled in
        // below, so the window does not keep itself alive.
        let link: Rc<RefCell<Weak<Inner>>> = Rc::new(RefCell::new(Weak::new()));
        let ui = {
            let link = link.clone();
            KioskUi::new(move |event| {
                let inner = link.borrow().upgrade();
                if let Some(inner) = inner {
                    Kiosk { inner }.dispatch(event);
                }
            })?
        };
        let inner = Rc::new(Inner {
            journey: RefCell::new(journey),
            ui,
            clock,
            effects: RefCell::new(effects),
            sender: EventSender(tx),
            receiver: rx,
            timers: RefCell::new(Vec::new()),
            shown: RefCell::new(None),
        });
        *link.borrow_mut() = Rc::downgrade(&inner);
        let kiosk = Self { inner };
        kiosk.start_timers();
        Ok(kiosk)
    }

    fn start_timers(&self) {
        let tick = Timer::default();
        let weak = Rc::downgrade(&self.inner);
        tick.start(TimerMode::Repeated, TICK_EVERY, move || {
            if let Some(inner) = weak.upgrade() {
                Kiosk { inner }.dispatch(Event::Tick);
            }
        });
        let poll = Timer::default();
        let weak = Rc::downgrade(&self.inner);
        poll.start(TimerMode::Repeated, POLL_EVERY, move || {
            if let Some(inner) = weak.upgrade() {
                Kiosk { inner }.drain();
            }
        });
        *self.inner.timers.borrow_mut() = vec![tick, poll];
        self.present();
    }

    /// A handle for other threads to send events (card read, submitted, printed).
    pub fn sender(&self) -> EventSender {
        self.inner.sender.clone()
    }

    /// The UI.
    pub fn ui(&self) -> &KioskUi {
        &self.inner.ui
    }

    /// Runs `f` with the journey (for tests and status pages).
    pub fn with_journey<R>(&self, f: impl FnOnce(&Journey) -> R) -> R {
        f(&self.inner.journey.borrow())
    }

    /// Handles one event now: journey, effects, redraw.
    pub fn dispatch(&self, event: Event) {
        let now = self.inner.clock.now();
        let is_tick = matches!(event, Event::Tick);
        let effects = match self.inner.journey.try_borrow_mut() {
            Ok(mut journey) => {
                let effects = journey.handle(event, now);
                // Ticks change the screen only now and then (countdown,
                // time-outs); redrawing on every tick would be wasted work.
                if is_tick
                    && effects.is_empty()
                    && self.inner.shown.borrow().as_ref() == Some(&shown_state(&journey, now))
                {
                    return;
                }
                effects
            }
            Err(_) => {
                // Re-entered from inside a handler: queue it instead.
                self.inner.sender.send(event);
                return;
            }
        };
        {
            let mut handler = self.inner.effects.borrow_mut();
            for effect in effects {
                handler.perform(effect, &self.inner.sender);
            }
        }
        self.present();
    }

    /// Handles every event queued by other threads.
    pub fn drain(&self) {
        // Bounded: events sent while draining wait for the next poll.
        let pending: Vec<Event> = self.inner.receiver.try_iter().take(256).collect();
        for event in pending {
            self.dispatch(event);
        }
    }

    /// Redraws from the journey's state.
    pub fn present(&self) {
        let now = self.inner.clock.now();
        let journey = self.inner.journey.borrow();
        self.inner.ui.present(&journey, now);
        *self.inner.shown.borrow_mut() = Some(shown_state(&journey, now));
    }
}

/// What a tick can change on screen: the step and the countdown second.
fn shown_state(journey: &Journey, now: Now) -> (kiosk_journey::Step, Option<u128>) {
    (
        journey.step().clone(),
        journey
            .idle_warning(now.elapsed)
            .map(|left| left.as_millis().div_ceil(1000)),
    )
}

/// Shows the kiosk full-screen with the default Slint backend (winit) and
/// runs until the window is closed.
pub fn run_window(
    journey: Journey,
    clock: Box<dyn Clock>,
    effects: Box<dyn EffectHandler>,
) -> Result<(), UiError> {
    let kiosk = Kiosk::new(journey, clock, effects)?;
    let window = kiosk.ui().component();
    window.window().set_fullscreen(true);
    window.run().map_err(|e| UiError::Platform(e.to_string()))
}
