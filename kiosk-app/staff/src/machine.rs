//! The staff state machine: `StaffMode::handle(StaffEvent, Now) -> Vec<StaffEffect>`.

use std::time::{Duration, SystemTime};

use uuid::Uuid;

use crate::audit::{AuditAction, AuditEntry, AuditOutcome, StaffIdentity, clean_reason};
use crate::auth::{
    Authenticated, CardUid, Pin, PinDigit, PresentedToken, StaffCredentials, TokenRejection,
};
use crate::status::StaffStatus;

/// The time as staff mode sees it. It never reads a clock itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time since the kiosk started: time-outs and lock-outs.
    pub elapsed: Duration,
    /// Wall-clock time: audit entries, token expiry, ages on the dashboard.
    pub wall: SystemTime,
}

/// How wrong PINs lock the PIN pad.
///
/// After `wrong_pins` wrong PINs in a row the pad locks for `durations[0]`;
/// after the next `wrong_pins` wrong ones for `durations[1]`, and so on; the
/// last duration repeats. Any successful login (PIN, card or token) resets
/// both the count and the escalation. The lock is part of the machine, not
/// of the PIN pad: leaving and reopening the pad does not lift it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Wrong PINs in a row before the pad locks.
    pub wrong_pins: u32,
    /// Lock lengths for the first, second, ... lock-out.
    pub durations: Vec<Duration>,
}

impl Default for LockoutPolicy {
    /// 3 wrong PINs lock for 1 minute, then 5, then 15, then 60 minutes each time.
    fn default() -> Self {
        Self {
            wrong_pins: 3,
            durations: [60, 5 * 60, 15 * 60, 60 * 60]
                .map(Duration::from_secs)
                .to_vec(),
        }
    }
}

impl LockoutPolicy {
    /// The length of lock-out number `n` (from 1).
    pub fn duration(&self, n: u32) -> Duration {
        let index = (n.max(1) - 1) as usize;
        self.durations
            .get(index)
            .or(self.durations.last())
            .copied()
            .unwrap_or(Duration::from_secs(60))
    }
}

/// Time-outs and limits of staff mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffConfig {
    /// Wrong PINs and lock-outs.
    pub lockout: LockoutPolicy,
    /// An untouched PIN pad closes after this (a citizen may have opened it
    /// by chance; the attract screen must come back soon).
    pub pin_pad_timeout: Duration,
    /// Staff mode closes after this long without a touch.
    pub idle_timeout: Duration,
    /// How often the dashboard asks for a fresh [`StaffStatus`] while open.
    pub refresh_every: Duration,
    /// Phone tokens valid for longer than this from now are refused.
    pub token_max_lifetime: Duration,
}

impl Default for StaffConfig {
    fn default() -> Self {
        Self {
            lockout: LockoutPolicy::default(),
            pin_pad_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            refresh_every: Duration::from_secs(5),
            token_max_lifetime: Duration::from_secs(12 * 3600),
        }
    }
}

/// What staff can do from the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffAction {
    /// Try to deliver queued submissions now.
    SyncNow,
    /// Print a test receipt.
    PrintTestPage,
    /// Load the service catalogue again (new services, corrected texts).
    ReloadCatalogue,
    /// Stop taking citizens: they see the out-of-service screen. Needs confirmation.
    OutOfService,
    /// Take citizens again.
    BackInService,
    /// Put a dead letter back in the queue.
    RetryDeadLetter(Uuid),
    /// Delete a dead letter for good. Needs confirmation.
    DiscardDeadLetter(Uuid),
}

impl StaffAction {
    /// Stable name for the audit log and the UI (`"discard-dead-letter"`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::SyncNow => "sync-now",
            Self::PrintTestPage => "print-test-page",
            Self::ReloadCatalogue => "reload-catalogue",
            Self::OutOfService => "out-of-service",
            Self::BackInService => "back-in-service",
            Self::RetryDeadLetter(_) => "retry-dead-letter",
            Self::DiscardDeadLetter(_) => "discard-dead-letter",
        }
    }

    /// The action named `name` (see [`StaffAction::name`]); dead-letter
    /// actions take the submission id as `target`.
    pub fn from_name(name: &str, target: Option<Uuid>) -> Option<Self> {
        Some(match (name, target) {
            ("sync-now", _) => Self::SyncNow,
            ("print-test-page", _) => Self::PrintTestPage,
            ("reload-catalogue", _) => Self::ReloadCatalogue,
            ("out-of-service", _) => Self::OutOfService,
            ("back-in-service", _) => Self::BackInService,
            ("retry-dead-letter", Some(id)) => Self::RetryDeadLetter(id),
            ("discard-dead-letter", Some(id)) => Self::DiscardDeadLetter(id),
            _ => return None,
        })
    }

    /// Whether staff must confirm it first (it cannot be undone, or it turns
    /// citizens away).
    pub fn needs_confirmation(&self) -> bool {
        matches!(self, Self::OutOfService | Self::DiscardDeadLetter(_))
    }

    /// The dead letter it acts on.
    pub fn dead_letter(&self) -> Option<Uuid> {
        match self {
            Self::RetryDeadLetter(id) | Self::DiscardDeadLetter(id) => Some(*id),
            _ => None,
        }
    }

    /// Whether the machine does it itself (no [`StaffEffect::Perform`]).
    fn is_internal(&self) -> bool {
        matches!(self, Self::OutOfService | Self::BackInService)
    }
}

/// How a performed action ended, as the app reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// Done.
    Ok,
    /// Not done; a short reason without personal data ("printer offline").
    Failed(String),
}

/// What happened: a staff member's touch, a card, the app's answer, time.
#[derive(Debug, Clone)]
pub enum StaffEvent {
    /// The hidden gesture on the attract (or out-of-service) screen.
    OpenRequested,
    /// A digit on the PIN pad.
    PinDigit(PinDigit),
    /// "Löschen": the last digit.
    PinBackspace,
    /// All digits.
    PinClear,
    /// "Anmelden".
    PinSubmit,
    /// A card was placed on the reader (only between citizens).
    CardPresented(CardUid),
    /// A phone presented a staff token (only between citizens).
    TokenPresented(PresentedToken),
    /// Fresh figures for the dashboard (the answer to [`StaffEffect::RefreshStatus`]).
    StatusUpdated(StaffStatus),
    /// A dashboard button.
    ActionRequested(StaffAction),
    /// "Ja" in the confirmation dialog.
    Confirm,
    /// "Nein" in the confirmation dialog.
    Cancel,
    /// The app finished performing an action.
    ActionFinished {
        /// Which.
        action: StaffAction,
        /// How it ended.
        outcome: ActionOutcome,
    },
    /// "Beenden": leave staff mode.
    Exit,
    /// Any other touch on a staff screen (scrolling), which keeps it open.
    Activity,
    /// Time passed.
    Tick,
}

impl StaffEvent {
    /// Whether a staff member did it (which keeps staff mode open).
    pub fn is_staff_activity(&self) -> bool {
        !matches!(
            self,
            Self::StatusUpdated(_) | Self::ActionFinished { .. } | Self::Tick
        )
    }

    /// Whether it may open staff mode (the caller allows these only between citizens).
    pub fn opens(&self) -> bool {
        matches!(
            self,
            Self::OpenRequested | Self::CardPresented(_) | Self::TokenPresented(_)
        )
    }
}

/// A staff screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffScreen {
    /// The PIN pad (also "place your staff card").
    PinPad,
    /// The dashboard.
    Dashboard,
    /// The dashboard with a confirmation dialog for this action.
    Confirming(StaffAction),
}

/// What the app must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffEffect {
    /// Staff screens replace the citizen's: show this one.
    Show(StaffScreen),
    /// Staff screens closed; the attract or out-of-service screen is back.
    Close,
    /// Perform the action, then send [`StaffEvent::ActionFinished`].
    Perform(StaffAction),
    /// The kiosk now takes citizens (`true`) or shows the out-of-service
    /// screen (`false`). Already in force in the machine; for metrics,
    /// `/healthz` and keeping it across restarts.
    SetInService(bool),
    /// Read the figures and send [`StaffEvent::StatusUpdated`].
    RefreshStatus,
    /// Append this entry to the audit log.
    Audit(AuditEntry),
}

/// Where staff mode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffState {
    /// Citizens use the kiosk.
    Closed,
    /// The PIN pad is open.
    PinPad,
    /// A staff member is logged in on the dashboard.
    Dashboard,
    /// The dashboard asks to confirm an action.
    Confirming(StaffAction),
    /// No staff screen, and citizens see the out-of-service screen.
    OutOfService,
}

/// Why the PIN pad shows a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinPadNotice {
    /// The PIN was wrong; this many tries before the lock.
    WrongPin {
        /// Tries left.
        attempts_left: u32,
    },
    /// Too many wrong PINs; [`StaffMode::locked_for`] says how long.
    LockedOut,
    /// No PIN is configured on this kiosk: use a staff card or token.
    NoPinConfigured,
    /// The card is not a staff card.
    UnknownCard,
    /// The phone token is not valid (wrong signer, malformed).
    InvalidToken,
    /// The phone token has expired (or lives too long).
    ExpiredToken,
}

#[derive(Debug)]
enum Screen {
    Closed,
    PinPad { entered: Pin },
    Dashboard,
    Confirming(StaffAction),
}

/// An action handed to the app and not yet finished.
#[derive(Debug, Clone)]
struct Running {
    action: StaffAction,
    by: StaffIdentity,
}

/// Staff mode. Feed it events with [`StaffMode::handle`], perform the
/// returned effects, and read its state for the screens.
#[derive(Debug)]
pub struct StaffMode {
    config: StaffConfig,
    credentials: StaffCredentials,
    screen: Screen,
    out_of_service: bool,
    /// Who is logged in (dashboard and confirmation only).
    staff: Option<StaffIdentity>,
    /// Wrong PINs since the last lock-out or login.
    wrong_pins: u32,
    /// Lock-outs since the last login (escalation).
    lockouts: u32,
    locked_until: Option<Duration>,
    notice: Option<PinPadNotice>,
    last_activity: Duration,
    last_refresh: Duration,
    status: StaffStatus,
    running: Option<Running>,
    last_result: Option<(StaffAction, ActionOutcome)>,
}

impl StaffMode {
    /// Staff mode, closed, with the kiosk in service.
    pub fn new(config: StaffConfig, credentials: StaffCredentials) -> Self {
        Self {
            config,
            credentials,
            screen: Screen::Closed,
            out_of_service: false,
            staff: None,
            wrong_pins: 0,
            lockouts: 0,
            locked_until: None,
            notice: None,
            last_activity: Duration::ZERO,
            last_refresh: Duration::ZERO,
            status: StaffStatus::default(),
            running: None,
            last_result: None,
        }
    }

    /// Starts out of service (the app kept the last [`StaffEffect::SetInService`]
    /// across a restart, so a kiosk staff took out of service stays so).
    pub fn starting_out_of_service(mut self, out_of_service: bool) -> Self {
        self.out_of_service = out_of_service;
        self
    }

    /// Where staff mode is.
    pub fn state(&self) -> StaffState {
        match &self.screen {
            Screen::Closed if self.out_of_service => StaffState::OutOfService,
            Screen::Closed => StaffState::Closed,
            Screen::PinPad { .. } => StaffState::PinPad,
            Screen::Dashboard => StaffState::Dashboard,
            Screen::Confirming(action) => StaffState::Confirming(*action),
        }
    }

    /// The staff screen shown, if any.
    pub fn screen(&self) -> Option<StaffScreen> {
        match &self.screen {
            Screen::Closed => None,
            Screen::PinPad { .. } => Some(StaffScreen::PinPad),
            Screen::Dashboard => Some(StaffScreen::Dashboard),
            Screen::Confirming(action) => Some(StaffScreen::Confirming(*action)),
        }
    }

    /// Whether citizens are turned away (out-of-service screen).
    pub fn is_out_of_service(&self) -> bool {
        self.out_of_service
    }

    /// Whether citizens cannot use the kiosk now (a staff screen is open or
    /// the kiosk is out of service).
    pub fn blocks_citizens(&self) -> bool {
        self.out_of_service || !matches!(self.screen, Screen::Closed)
    }

    /// Digits typed on the PIN pad (shown as dots).
    pub fn pin_len(&self) -> usize {
        match &self.screen {
            Screen::PinPad { entered } => entered.len(),
            _ => 0,
        }
    }

    /// The PIN pad's message.
    pub fn notice(&self) -> Option<PinPadNotice> {
        self.notice
    }

    /// How long the PIN pad stays locked at `now`.
    pub fn locked_for(&self, now: Duration) -> Option<Duration> {
        self.locked_until
            .filter(|&until| until > now)
            .map(|until| until - now)
    }

    /// Who is logged in.
    pub fn staff(&self) -> Option<&StaffIdentity> {
        self.staff.as_ref()
    }

    /// Whether a PIN is configured (the pad shows only "place your card" otherwise).
    pub fn has_pin(&self) -> bool {
        self.credentials.has_pin()
    }

    /// The figures last reported.
    pub fn status(&self) -> &StaffStatus {
        &self.status
    }

    /// The action the app is performing.
    pub fn running(&self) -> Option<StaffAction> {
        self.running.as_ref().map(|r| r.action)
    }

    /// The last action that ended, and how.
    pub fn last_result(&self) -> Option<(StaffAction, &ActionOutcome)> {
        self.last_result.as_ref().map(|(a, o)| (*a, o))
    }

    /// The time-outs and limits.
    pub fn config(&self) -> &StaffConfig {
        &self.config
    }

    /// Whether the dashboard offers `action` now (nothing else running, the
    /// dead letter exists, the service state fits).
    pub fn can_request(&self, action: StaffAction) -> bool {
        matches!(self.screen, Screen::Dashboard)
            && self.running.is_none()
            && match action {
                StaffAction::OutOfService => !self.out_of_service,
                StaffAction::BackInService => self.out_of_service,
                StaffAction::RetryDeadLetter(id) | StaffAction::DiscardDeadLetter(id) => {
                    self.status.dead_letter(id).is_some()
                }
                _ => true,
            }
    }

    /// Handles one event and returns the effects to perform, in order.
    pub fn handle(&mut self, event: StaffEvent, now: Now) -> Vec<StaffEffect> {
        let mut effects = Vec::new();
        if self.locked_for(now.elapsed).is_none() && self.locked_until.is_some() {
            self.locked_until = None;
            if self.notice == Some(PinPadNotice::LockedOut) {
                self.notice = None;
            }
        }
        if event.is_staff_activity() && !matches!(self.screen, Screen::Closed) {
            self.last_activity = now.elapsed;
        }
        match event {
            StaffEvent::OpenRequested => {
                if matches!(self.screen, Screen::Closed) {
                    self.open_pin_pad(now, &mut effects);
                }
            }
            StaffEvent::PinDigit(digit) => {
                let locked = self.locked_for(now.elapsed).is_some();
                if let Screen::PinPad { entered } = &mut self.screen
                    && !locked
                {
                    entered.push(digit);
                    if !matches!(self.notice, Some(PinPadNotice::LockedOut)) {
                        self.notice = None;
                    }
                }
            }
            StaffEvent::PinBackspace => {
                if let Screen::PinPad { entered } = &mut self.screen {
                    entered.pop();
                }
            }
            StaffEvent::PinClear => {
                if let Screen::PinPad { entered } = &mut self.screen {
                    *entered = Pin::default();
                }
            }
            StaffEvent::PinSubmit => self.submit_pin(now, &mut effects),
            StaffEvent::CardPresented(uid) => {
                if self.staff.is_some() {
                    return effects;
                }
                match self.credentials.check_card(&uid) {
                    Ok(hash) => self.login(Authenticated::Card(hash), now, &mut effects),
                    // Between citizens a citizen's own card may be placed on
                    // the reader: only on the open PIN pad is it a failed login.
                    Err(()) if matches!(self.screen, Screen::PinPad { .. }) => {
                        self.notice = Some(PinPadNotice::UnknownCard);
                        effects.push(self.audit(
                            now,
                            StaffIdentity::UnknownCard,
                            AuditAction::Login,
                            AuditOutcome::Failed,
                            None,
                            Some("not a staff card".into()),
                        ));
                    }
                    Err(()) => tracing::debug!("a card that is not a staff card; ignored"),
                }
            }
            StaffEvent::TokenPresented(token) => {
                if self.staff.is_some() {
                    return effects;
                }
                let checked =
                    self.credentials
                        .check_token(&token, now.wall, self.config.token_max_lifetime);
                match checked {
                    Ok(verified) => self.login(Authenticated::Token(verified), now, &mut effects),
                    Err(rejection) => self.token_rejected(rejection, now, &mut effects),
                }
            }
            StaffEvent::StatusUpdated(status) => self.status = status,
            StaffEvent::ActionRequested(action) => self.request(action, now, &mut effects),
            StaffEvent::Confirm => {
                if let Screen::Confirming(action) = self.screen {
                    self.screen = Screen::Dashboard;
                    effects.push(StaffEffect::Show(StaffScreen::Dashboard));
                    if self.can_request(action) {
                        self.start(action, now, &mut effects);
                    } else if let Some(staff) = self.staff.clone() {
                        // The dead letter went away (delivered by a retry
                        // elsewhere) or another action started meanwhile.
                        effects.push(self.audit(
                            now,
                            staff,
                            AuditAction::Action(action),
                            AuditOutcome::Failed,
                            action.dead_letter().map(|id| id.to_string()),
                            Some("no longer possible when confirmed".into()),
                        ));
                    }
                }
            }
            StaffEvent::Cancel => {
                if let Screen::Confirming(action) = self.screen {
                    self.cancel_confirmation(action, now, &mut effects);
                    effects.push(StaffEffect::Show(StaffScreen::Dashboard));
                }
            }
            StaffEvent::ActionFinished { action, outcome } => {
                self.finished(action, outcome, now, &mut effects)
            }
            StaffEvent::Exit => self.close(AuditOutcome::Ok, now, &mut effects),
            StaffEvent::Activity => {}
            StaffEvent::Tick => self.tick(now, &mut effects),
        }
        effects
    }

    fn open_pin_pad(&mut self, now: Now, effects: &mut Vec<StaffEffect>) {
        self.screen = Screen::PinPad {
            entered: Pin::default(),
        };
        self.last_activity = now.elapsed;
        self.notice = if self.locked_for(now.elapsed).is_some() {
            Some(PinPadNotice::LockedOut)
        } else {
            None
        };
        effects.push(StaffEffect::Show(StaffScreen::PinPad));
    }

    fn submit_pin(&mut self, now: Now, effects: &mut Vec<StaffEffect>) {
        let Screen::PinPad { entered } = &mut self.screen else {
            return;
        };
        // The PIN leaves the pad whatever happens next.
        let pin = std::mem::take(entered);
        if self.locked_for(now.elapsed).is_some() {
            self.notice = Some(PinPadNotice::LockedOut);
            return;
        }
        if pin.is_empty() {
            return;
        }
        if !self.credentials.has_pin() {
            self.notice = Some(PinPadNotice::NoPinConfigured);
            return;
        }
        if self.credentials.check_pin(&pin) {
            self.login(Authenticated::Pin, now, effects);
            return;
        }
        self.wrong_pins += 1;
        effects.push(self.audit(
            now,
            StaffIdentity::Pin,
            AuditAction::Login,
            AuditOutcome::Failed,
            None,
            Some("wrong PIN".into()),
        ));
        let allowed = self.config.lockout.wrong_pins.max(1);
        if self.wrong_pins >= allowed {
            self.wrong_pins = 0;
            self.lockouts += 1;
            let length = self.config.lockout.duration(self.lockouts);
            self.locked_until = Some(now.elapsed + length);
            self.notice = Some(PinPadNotice::LockedOut);
            tracing::warn!(
                lockout = self.lockouts,
                seconds = length.as_secs(),
                "staff PIN pad locked after wrong PINs"
            );
            effects.push(self.audit(
                now,
                StaffIdentity::Pin,
                AuditAction::PinLockOut,
                AuditOutcome::Started,
                None,
                Some(format!("locked for {} s", length.as_secs())),
            ));
        } else {
            self.notice = Some(PinPadNotice::WrongPin {
                attempts_left: allowed - self.wrong_pins,
            });
        }
    }

    fn token_rejected(
        &mut self,
        rejection: TokenRejection,
        now: Now,
        effects: &mut Vec<StaffEffect>,
    ) {
        let (staff, notice) = match &rejection {
            TokenRejection::Malformed | TokenRejection::UnknownSigner => {
                (StaffIdentity::UnverifiedToken, PinPadNotice::InvalidToken)
            }
            TokenRejection::Expired { staff_id } | TokenRejection::TooLongLived { staff_id } => (
                StaffIdentity::Token(staff_id.clone()),
                PinPadNotice::ExpiredToken,
            ),
        };
        if matches!(self.screen, Screen::PinPad { .. }) {
            self.notice = Some(notice);
        }
        effects.push(self.audit(
            now,
            staff,
            AuditAction::Login,
            AuditOutcome::Failed,
            None,
            Some(format!("token {rejection}")),
        ));
    }

    fn login(&mut self, how: Authenticated, now: Now, effects: &mut Vec<StaffEffect>) {
        let staff = match how {
            Authenticated::Pin => StaffIdentity::Pin,
            Authenticated::Card(hash) => StaffIdentity::Card(hash.prefix()),
            Authenticated::Token(token) => StaffIdentity::Token(token.staff_id),
        };
        tracing::info!(staff = %staff, "staff mode opened");
        self.screen = Screen::Dashboard;
        self.staff = Some(staff.clone());
        self.wrong_pins = 0;
        self.lockouts = 0;
        self.locked_until = None;
        self.notice = None;
        self.last_activity = now.elapsed;
        self.last_refresh = now.elapsed;
        self.last_result = None;
        effects.push(self.audit(now, staff, AuditAction::Login, AuditOutcome::Ok, None, None));
        effects.push(StaffEffect::Show(StaffScreen::Dashboard));
        effects.push(StaffEffect::RefreshStatus);
    }

    fn request(&mut self, action: StaffAction, now: Now, effects: &mut Vec<StaffEffect>) {
        if !self.can_request(action) {
            tracing::debug!(
                action = action.name(),
                "staff action not available now; ignored"
            );
            return;
        }
        if action.needs_confirmation() {
            self.screen = Screen::Confirming(action);
            effects.push(StaffEffect::Show(StaffScreen::Confirming(action)));
        } else {
            self.start(action, now, effects);
        }
    }

    fn start(&mut self, action: StaffAction, now: Now, effects: &mut Vec<StaffEffect>) {
        let Some(staff) = self.staff.clone() else {
            return;
        };
        let target = action.dead_letter().map(|id| id.to_string());
        if action.is_internal() {
            self.out_of_service = action == StaffAction::OutOfService;
            tracing::warn!(
                out_of_service = self.out_of_service,
                "staff changed the service state"
            );
            effects.push(StaffEffect::SetInService(!self.out_of_service));
            effects.push(self.audit(
                now,
                staff,
                AuditAction::Action(action),
                AuditOutcome::Ok,
                target,
                None,
            ));
            self.last_result = Some((action, ActionOutcome::Ok));
            return;
        }
        self.running = Some(Running {
            action,
            by: staff.clone(),
        });
        self.last_result = None;
        effects.push(self.audit(
            now,
            staff,
            AuditAction::Action(action),
            AuditOutcome::Started,
            target,
            None,
        ));
        effects.push(StaffEffect::Perform(action));
    }

    fn cancel_confirmation(
        &mut self,
        action: StaffAction,
        now: Now,
        effects: &mut Vec<StaffEffect>,
    ) {
        self.screen = Screen::Dashboard;
        if let Some(staff) = self.staff.clone() {
            effects.push(self.audit(
                now,
                staff,
                AuditAction::Action(action),
                AuditOutcome::Cancelled,
                action.dead_letter().map(|id| id.to_string()),
                None,
            ));
        }
    }

    fn finished(
        &mut self,
        action: StaffAction,
        outcome: ActionOutcome,
        now: Now,
        effects: &mut Vec<StaffEffect>,
    ) {
        let Some(running) = self.running.take_if(|r| r.action == action) else {
            tracing::warn!(
                action = action.name(),
                "an action finished that staff mode did not start; ignored"
            );
            return;
        };
        let (result, reason) = match &outcome {
            ActionOutcome::Ok => (AuditOutcome::Ok, None),
            ActionOutcome::Failed(reason) => (AuditOutcome::Failed, Some(clean_reason(reason))),
        };
        effects.push(self.audit(
            now,
            running.by,
            AuditAction::Action(action),
            result,
            action.dead_letter().map(|id| id.to_string()),
            reason.clone(),
        ));
        let outcome = match reason {
            Some(reason) => ActionOutcome::Failed(reason),
            None => ActionOutcome::Ok,
        };
        self.last_result = Some((action, outcome));
        if !matches!(self.screen, Screen::Closed) {
            self.last_refresh = now.elapsed;
            effects.push(StaffEffect::RefreshStatus);
        }
    }

    fn tick(&mut self, now: Now, effects: &mut Vec<StaffEffect>) {
        let timeout = match self.screen {
            Screen::Closed => return,
            Screen::PinPad { .. } => self.config.pin_pad_timeout,
            Screen::Dashboard | Screen::Confirming(_) => self.config.idle_timeout,
        };
        if now.elapsed.saturating_sub(self.last_activity) >= timeout {
            self.close(AuditOutcome::TimedOut, now, effects);
            return;
        }
        if self.staff.is_some()
            && now.elapsed.saturating_sub(self.last_refresh) >= self.config.refresh_every
        {
            self.last_refresh = now.elapsed;
            effects.push(StaffEffect::RefreshStatus);
        }
    }

    /// Leaves staff mode; the PIN typed so far is wiped with the pad.
    fn close(&mut self, how: AuditOutcome, now: Now, effects: &mut Vec<StaffEffect>) {
        if matches!(self.screen, Screen::Closed) {
            return;
        }
        if let Screen::Confirming(action) = self.screen {
            self.cancel_confirmation(action, now, effects);
        }
        if let Some(staff) = self.staff.take() {
            tracing::info!(staff = %staff, "staff mode closed");
            effects.push(self.audit(now, staff, AuditAction::Logout, how, None, None));
        }
        self.screen = Screen::Closed;
        if self.notice != Some(PinPadNotice::LockedOut) {
            self.notice = None;
        }
        effects.push(StaffEffect::Close);
    }

    fn audit(
        &self,
        now: Now,
        staff: StaffIdentity,
        action: AuditAction,
        outcome: AuditOutcome,
        target: Option<String>,
        reason: Option<String>,
    ) -> StaffEffect {
        StaffEffect::Audit(AuditEntry {
            at: now.wall,
            staff,
            action,
            outcome,
            target,
            reason,
        })
    }
}
