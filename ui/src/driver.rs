//! [`Kiosk`]: the journey, staff mode and the UI joined, with a clock and the
//! effects handed to the rest of the kiosk; [`run_window`] runs it in a real
//! window.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use kiosk_journey::{Effect, Event, Journey, Now, Step};
use kiosk_staff::{StaffEffect, StaffEvent, StaffMode, StaffScreen};
use slint::{ComponentHandle, Timer, TimerMode};

use crate::gesture::CornerTaps;
use crate::present::UiEvent;
use crate::{KioskUi, UiError};

/// Where the kiosk's time comes from.
pub trait Clock {
    /// The time now, as the journey sees it.
    fn now(&self) -> Now;

    /// Wall-clock time, for staff mode (audit entries, token expiry, ages).
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
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

/// Performs the journey's and staff mode's effects (card reads, outbox,
/// printer, staff call, audit log, staff actions). Results come back later
/// as events through the [`EventSender`].
pub trait EffectHandler {
    /// Starts performing a journey `effect`; must not block the UI thread.
    fn perform(&mut self, effect: Effect, events: &EventSender);

    /// Starts performing a staff `effect`: write [`StaffEffect::Audit`]
    /// entries to the audit log, perform [`StaffEffect::Perform`] actions and
    /// answer with [`StaffEvent::ActionFinished`], answer
    /// [`StaffEffect::RefreshStatus`] with [`StaffEvent::StatusUpdated`].
    /// Must not block the UI thread.
    fn perform_staff(&mut self, effect: StaffEffect, events: &EventSender);
}

/// An event for the kiosk from another thread: for the journey or for staff mode.
#[derive(Debug)]
pub enum KioskEvent {
    /// For the citizen journey.
    Journey(Event),
    /// For staff mode (a staff card or token read, an action's result, fresh figures).
    Staff(StaffEvent),
}

impl From<Event> for KioskEvent {
    fn from(event: Event) -> Self {
        Self::Journey(event)
    }
}

impl From<StaffEvent> for KioskEvent {
    fn from(event: StaffEvent) -> Self {
        Self::Staff(event)
    }
}

/// Sends events into the kiosk from any thread (card reader, outbox, printer).
#[derive(Clone, Debug)]
pub struct EventSender(mpsc::Sender<KioskEvent>);

impl EventSender {
    /// Queues a journey `event`; the UI thread handles it within [`POLL_EVERY`].
    /// Returns `false` when the kiosk has shut down.
    pub fn send(&self, event: Event) -> bool {
        self.0.send(KioskEvent::Journey(event)).is_ok()
    }

    /// Queues a staff mode `event` (e.g. [`StaffEvent::CardPresented`] for a
    /// card placed between citizens); handled within [`POLL_EVERY`].
    /// Returns `false` when the kiosk has shut down.
    pub fn send_staff(&self, event: StaffEvent) -> bool {
        self.0.send(KioskEvent::Staff(event)).is_ok()
    }
}

/// How often events from other threads are picked up.
pub const POLL_EVERY: Duration = Duration::from_millis(50);
/// How often time is fed to the journey and staff mode (countdowns, time-outs).
pub const TICK_EVERY: Duration = Duration::from_millis(250);

/// What a tick can change on screen; redraws are skipped when it stays the same.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shown {
    step: Step,
    idle_seconds: Option<u128>,
    staff_screen: Option<StaffScreen>,
    out_of_service: bool,
    locked_seconds: Option<u128>,
}

struct Inner {
    journey: RefCell<Journey>,
    staff: RefCell<StaffMode>,
    corner: RefCell<CornerTaps>,
    ui: KioskUi,
    clock: Box<dyn Clock>,
    effects: RefCell<Box<dyn EffectHandler>>,
    sender: EventSender,
    receiver: mpsc::Receiver<KioskEvent>,
    timers: RefCell<Vec<Timer>>,
    shown: RefCell<Option<Shown>>,
}

/// The journey and staff mode driven by the touchscreen: taps become events,
/// effects go to the [`EffectHandler`], and the screen is redrawn from the
/// journey's and staff mode's state.
///
/// Staff screens replace the journey's while open; while they are open or
/// the kiosk is out of service, citizens' events are not handed to the
/// journey. Staff mode opens (gesture, staff card, phone token) only while
/// the journey is on its attract screen, so no citizen's session is ever
/// behind a staff screen.
#[derive(Clone)]
pub struct Kiosk {
    inner: Rc<Inner>,
}

impl Kiosk {
    /// Builds the UI around `journey` and `staff` and starts the tick and
    /// poll timers. Needs a Slint platform on this thread.
    pub fn new(
        journey: Journey,
        staff: StaffMode,
        clock: Box<dyn Clock>,
        effects: Box<dyn EffectHandler>,
    ) -> Result<Self, UiError> {
        let (tx, rx) = mpsc::channel();
        // The UI's callbacks reach the kiosk through a weak link filled in
        // below, so the window does not keep itself alive.
        let link: Rc<RefCell<Weak<Inner>>> = Rc::new(RefCell::new(Weak::new()));
        let ui = {
            let link = link.clone();
            KioskUi::with_sink(Rc::new(move |event: UiEvent| {
                let inner = link.borrow().upgrade();
                if let Some(inner) = inner {
                    let kiosk = Kiosk { inner };
                    match event {
                        UiEvent::Journey(event) => kiosk.dispatch(event),
                        UiEvent::Staff(event) => kiosk.dispatch_staff(event),
                        UiEvent::CornerTap => kiosk.corner_tap(),
                        UiEvent::ReadAloud => kiosk.read_aloud(),
                    }
                }
            }))?
        };
        let inner = Rc::new(Inner {
            journey: RefCell::new(journey),
            staff: RefCell::new(staff),
            corner: RefCell::new(CornerTaps::default()),
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

    /// Runs `f` with staff mode (for tests, metrics and `/healthz`).
    pub fn with_staff<R>(&self, f: impl FnOnce(&StaffMode) -> R) -> R {
        f(&self.inner.staff.borrow())
    }

    fn staff_now(&self, now: Now) -> kiosk_staff::Now {
        kiosk_staff::Now {
            elapsed: now.elapsed,
            wall: self.inner.clock.wall(),
        }
    }

    /// Handles one journey event now: journey, effects, redraw. A tick also
    /// goes to staff mode.
    pub fn dispatch(&self, event: Event) {
        let now = self.inner.clock.now();
        let is_tick = matches!(event, Event::Tick);
        if event.is_citizen_activity()
            && self
                .inner
                .staff
                .try_borrow()
                .is_ok_and(|s| s.blocks_citizens())
        {
            tracing::debug!(
                "a citizen's event while staff mode is open or out of service; ignored"
            );
            return;
        }
        let effects = match self.inner.journey.try_borrow_mut() {
            Ok(mut journey) => journey.handle(event, now),
            Err(_) => {
                // Re-entered from inside a handler: queue it instead.
                self.inner.sender.send(event);
                return;
            }
        };
        let staff_effects = if is_tick {
            match self.inner.staff.try_borrow_mut() {
                Ok(mut staff) => staff.handle(StaffEvent::Tick, self.staff_now(now)),
                // Busy handling a staff event: the next tick comes soon.
                Err(_) => Vec::new(),
            }
        } else {
            Vec::new()
        };
        // Ticks change the screen only now and then (countdowns,
        // time-outs); redrawing on every tick would be wasted work.
        if is_tick
            && effects.is_empty()
            && staff_effects.is_empty()
            && self.inner.shown.borrow().as_ref() == Some(&self.shown_state(now))
        {
            return;
        }
        self.perform(effects, staff_effects);
        self.present();
    }

    /// Handles one staff mode event now: staff mode, effects, redraw.
    ///
    /// Events that open staff mode ([`StaffEvent::opens`]) are ignored while
    /// a citizen is using the kiosk (the journey is not on its attract screen).
    pub fn dispatch_staff(&self, event: StaffEvent) {
        let now = self.inner.clock.now();
        let staff_open = self
            .inner
            .staff
            .try_borrow()
            .is_ok_and(|s| s.screen().is_some());
        if event.opens()
            && !staff_open
            && self
                .inner
                .journey
                .try_borrow()
                .is_ok_and(|j| *j.step() != Step::Attract)
        {
            tracing::debug!("staff mode does not open during a citizen's session; ignored");
            return;
        }
        let staff_effects = match self.inner.staff.try_borrow_mut() {
            Ok(mut staff) => staff.handle(event, self.staff_now(now)),
            Err(_) => {
                self.inner.sender.send_staff(event);
                return;
            }
        };
        self.perform(Vec::new(), staff_effects);
        self.present();
    }

    /// A tap in the hidden corner; five quick ones open the PIN pad.
    fn corner_tap(&self) {
        let now = self.inner.clock.now();
        if self.inner.corner.borrow_mut().tap(now.elapsed) {
            self.dispatch_staff(StaffEvent::OpenRequested);
        }
    }

    fn perform(&self, effects: Vec<Effect>, staff_effects: Vec<StaffEffect>) {
        let mut handler = self.inner.effects.borrow_mut();
        for effect in effects {
            handler.perform(effect, &self.inner.sender);
        }
        for effect in staff_effects {
            handler.perform_staff(effect, &self.inner.sender);
        }
    }

    /// Handles every event queued by other threads.
    pub fn drain(&self) {
        // Bounded: events sent while draining wait for the next poll.
        let pending: Vec<KioskEvent> = self.inner.receiver.try_iter().take(256).collect();
        for event in pending {
            match event {
                KioskEvent::Journey(event) => self.dispatch(event),
                KioskEvent::Staff(event) => self.dispatch_staff(event),
            }
        }
    }

    /// Speaks the screen ("read aloud" in the header); it counts as activity.
    fn read_aloud(&self) {
        let now = self.inner.clock.now();
        {
            let journey = self.inner.journey.borrow();
            self.inner.ui.read_aloud(&journey, now);
        }
        self.dispatch(Event::Activity);
    }

    /// Redraws from the journey's and staff mode's state.
    pub fn present(&self) {
        let now = self.inner.clock.now();
        {
            let journey = self.inner.journey.borrow();
            let staff = self.inner.staff.borrow();
            // Staff first: it decides which translation the screens need.
            self.inner
                .ui
                .present_staff(&staff, journey.catalogue(), self.staff_now(now));
            self.inner.ui.present(&journey, now);
        }
        *self.inner.shown.borrow_mut() = Some(self.shown_state(now));
    }

    fn shown_state(&self, now: Now) -> Shown {
        let journey = self.inner.journey.borrow();
        let staff = self.inner.staff.borrow();
        Shown {
            step: journey.step().clone(),
            idle_seconds: journey
                .idle_warning(now.elapsed)
                .map(|left| left.as_millis().div_ceil(1000)),
            staff_screen: staff.screen(),
            out_of_service: staff.is_out_of_service(),
            locked_seconds: staff
                .locked_for(now.elapsed)
                .map(|left| left.as_millis().div_ceil(1000)),
        }
    }
}

/// Shows the kiosk full-screen with the default Slint backend (winit) and
/// runs until the window is closed.
pub fn run_window(
    journey: Journey,
    staff: StaffMode,
    clock: Box<dyn Clock>,
    effects: Box<dyn EffectHandler>,
) -> Result<(), UiError> {
    let kiosk = Kiosk::new(journey, staff, clock, effects)?;
    let window = kiosk.ui().component();
    window.window().set_fullscreen(true);
    window.run().map_err(|e| UiError::Platform(e.to_string()))
}
