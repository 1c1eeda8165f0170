//! The kiosk's Prometheus metrics.
//!
//! [`Metrics`] owns a `prometheus-client` registry and offers one typed method per
//! thing the kiosk reports. Label values come only from the closed enums in
//! [`crate::labels`] and from the configured [`KioskId`] and [`CatalogueVersion`].
//!
//! `prometheus-client` encodes the OpenMetrics text format. Prometheus asks for that
//! format first, and [`Metrics::render_openmetrics`] serves it unchanged.
//! [`Metrics::render`] gives the classic text format 0.0.4 (`text/plain`) that other
//! scrapers and `curl` get. Only counters and gauges are registered, because both
//! formats know these two types. The two formats then differ only in how a counter's
//! `# HELP`/`# TYPE` lines are named (`x` vs `x_total`) and in the `# EOF` line.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

use crate::labels::{
    AbandonReason, CatalogueVersion, FailureClass, KioskId, PrinterState, ReaderState, StaffAction,
};

/// `Content-Type` of [`Metrics::render`].
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// `Content-Type` of [`Metrics::render_openmetrics`].
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: FailureClass,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrinterLabels {
    state: PrinterState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReaderLabels {
    state: ReaderState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: AbandonReason,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: StaffAction,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KioskInfoLabels {
    kiosk_id: KioskId,
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CatalogueLabels {
    version: CatalogueVersion,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EidVersionLabels {
    version: String,
}

/// AusweisApp (the eID client) as the kiosk's supervisor last saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EidClientState {
    /// Connected to AusweisApp's SDK.
    pub connected: bool,
    /// AusweisApp's version, when connected.
    pub version: Option<String>,
    /// Readers AusweisApp sees (its simulator included).
    pub readers: u64,
    /// Real card readers among them.
    pub card_readers: u64,
    /// How often the supervisor restarted it.
    pub restarts: u64,
}

/// A version as a label value: only `A-Z a-z 0-9 . + - _`, at most 32 characters,
/// so whatever AusweisApp reports cannot break the exposition format.
fn version_label(version: &str) -> Option<String> {
    let label: String = version
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_'))
        .take(32)
        .collect();
    (!label.is_empty()).then_some(label)
}

/// A handle on the kiosk's metrics: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    queue_depth: Gauge,
    dead_letters: Gauge,
    deliveries: Counter,
    delivery_failures: Family<ClassLabels, Counter>,
    dead_lettered: Family<ClassLabels, Counter>,
    printer_state: Family<PrinterLabels, Gauge>,
    reader_state: Family<ReaderLabels, Gauge>,
    journeys_started: Counter,
    journeys_completed: Counter,
    journeys_abandoned: Family<ReasonLabels, Counter>,
    staff_actions: Family<ActionLabels, Counter>,
    eid_up: Gauge,
    eid_card_readers: Gauge,
    eid_restarts: Gauge,
    state: Arc<ScrapeTimeMetrics>,
}

/// Metrics whose value is computed when scraped: an age must grow between two
/// updates from the app, and an info metric must show only its current label.
#[derive(Debug)]
struct ScrapeTimeMetrics {
    kiosk: KioskInfoLabels,
    started: SystemTime,
    current: Mutex<Current>,
}

#[derive(Debug, Default)]
struct Current {
    oldest_undelivered: Option<SystemTime>,
    catalogue: Option<CatalogueVersion>,
    eid_version: Option<String>,
}

impl ScrapeTimeMetrics {
    fn current(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn seconds_since_epoch(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

impl Collector for ScrapeTimeMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let (oldest, catalogue, eid_version) = {
            let current = self.current();
            (
                current.oldest_undelivered,
                current.catalogue.clone(),
                current.eid_version.clone(),
            )
        };
        if let Some(version) = eid_version {
            let info = ConstGauge::new(1i64);
            let mut family = encoder.encode_descriptor(
                "kiosk_eid_client_info",
                "The connected AusweisApp's version; the value is always 1 (absent while disconnected).",
                None,
                info.metric_type(),
            )?;
            info.encode(family.encode_family(&EidVersionLabels { version })?)?;
        }

        let info = ConstGauge::new(1i64);
        let mut family = encoder.encode_descriptor(
            "kiosk_info",
            "This kiosk: its configured id and the software version; the value is always 1.",
            None,
            info.metric_type(),
        )?;
        info.encode(family.encode_family(&self.kiosk)?)?;

        let started = ConstGauge::new(seconds_since_epoch(self.started));
        started.encode(encoder.encode_descriptor(
            "kiosk_start_time_seconds",
            "When the kiosk process started, in seconds since the Unix epoch.",
            None,
            started.metric_type(),
        )?)?;

        // No submission waiting is an age of 0, so alerts on "older than N" stay quiet.
        let age = oldest
            .map(|t| {
                SystemTime::now()
                    .duration_since(t)
                    .unwrap_or(Duration::ZERO)
                    .as_secs_f64()
            })
            .unwrap_or(0.0);
        let age = ConstGauge::new(age);
        age.encode(encoder.encode_descriptor(
            "kiosk_outbox_oldest_undelivered_age_seconds",
            "Age of the oldest submission not yet delivered to the portal, 0 when none waits.",
            None,
            age.metric_type(),
        )?)?;

        if let Some(version) = catalogue {
            let info = ConstGauge::new(1i64);
            let mut family = encoder.encode_descriptor(
                "kiosk_catalogue_info",
                "The service catalogue in use; the value is always 1.",
                None,
                info.metric_type(),
            )?;
            info.encode(family.encode_family(&CatalogueLabels { version })?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Creates the metrics of the kiosk `kiosk_id`.
    ///
    /// Every labelled series exists from the start (at 0), so rates and alerts
    /// work before the first event. Printer and reader start as "not installed"
    /// (all state series 0) until the app reports a state.
    pub fn new(kiosk_id: KioskId) -> Self {
        let mut registry = Registry::default();

        let queue_depth = Gauge::default();
        registry.register(
            "kiosk_outbox_queue_depth",
            "Submissions in the outbox waiting for delivery",
            queue_depth.clone(),
        );
        let dead_letters = Gauge::default();
        registry.register(
            "kiosk_outbox_dead_letters",
            "Submissions the portal refused for good, waiting for staff to retry or discard them",
            dead_letters.clone(),
        );
        let deliveries = Counter::default();
        registry.register(
            "kiosk_deliveries",
            "Submissions delivered to the portal and confirmed",
            deliveries.clone(),
        );
        let delivery_failures = Family::<ClassLabels, Counter>::default();
        for class in FailureClass::ALL {
            let _ = delivery_failures.get_or_create_owned(&ClassLabels { class });
        }
        registry.register(
            "kiosk_delivery_failures",
            "Failed delivery attempts, by failure class (an attempt that ends in a dead letter counts too)",
            delivery_failures.clone(),
        );
        let dead_lettered = Family::<ClassLabels, Counter>::default();
        for class in FailureClass::ALL {
            let _ = dead_lettered.get_or_create_owned(&ClassLabels { class });
        }
        registry.register(
            "kiosk_dead_letters",
            "Submissions moved to the dead letters for staff, by failure class",
            dead_lettered.clone(),
        );
        let printer_state = Family::<PrinterLabels, Gauge>::default();
        for state in PrinterState::ALL {
            let _ = printer_state.get_or_create_owned(&PrinterLabels { state });
        }
        registry.register(
            "kiosk_printer_state",
            "Receipt printer state: 1 for the current state, 0 for the others; all 0 without a printer",
            printer_state.clone(),
        );
        let reader_state = Family::<ReaderLabels, Gauge>::default();
        for state in ReaderState::ALL {
            let _ = reader_state.get_or_create_owned(&ReaderLabels { state });
        }
        registry.register(
            "kiosk_reader_state",
            "Card reader state: 1 for the current state, 0 for the others; all 0 without a reader",
            reader_state.clone(),
        );
        let journeys_started = Counter::default();
        registry.register(
            "kiosk_journeys_started",
            "Citizen journeys started",
            journeys_started.clone(),
        );
        let journeys_completed = Counter::default();
        registry.register(
            "kiosk_journeys_completed",
            "Citizen journeys that ended with a saved submission",
            journeys_completed.clone(),
        );
        let journeys_abandoned = Family::<ReasonLabels, Counter>::default();
        for reason in AbandonReason::ALL {
            let _ = journeys_abandoned.get_or_create_owned(&ReasonLabels { reason });
        }
        registry.register(
            "kiosk_journeys_abandoned",
            "Citizen journeys that ended without a submission, by reason",
            journeys_abandoned.clone(),
        );
        let staff_actions = Family::<ActionLabels, Counter>::default();
        for action in StaffAction::ALL {
            let _ = staff_actions.get_or_create_owned(&ActionLabels { action });
        }
        registry.register(
            "kiosk_staff_actions",
            "Staff actions, by action",
            staff_actions.clone(),
        );

        let eid_up = Gauge::default();
        registry.register(
            "kiosk_eid_client_up",
            "1 while AusweisApp (the eID client) is connected, else 0 (also without eID login)",
            eid_up.clone(),
        );
        let eid_card_readers = Gauge::default();
        registry.register(
            "kiosk_eid_card_readers",
            "Card readers AusweisApp sees (its simulator not counted)",
            eid_card_readers.clone(),
        );
        let eid_restarts = Gauge::default();
        registry.register(
            "kiosk_eid_client_restarts",
            "How often the kiosk restarted AusweisApp since it started",
            eid_restarts.clone(),
        );

        let state = Arc::new(ScrapeTimeMetrics {
            kiosk: KioskInfoLabels {
                kiosk_id,
                version: env!("CARGO_PKG_VERSION"),
            },
            started: SystemTime::now(),
            current: Mutex::new(Current::default()),
        });
        registry.register_collector(Box::new(Arc::clone(&state)));

        Self {
            inner: Arc::new(Inner {
                registry,
                queue_depth,
                dead_letters,
                deliveries,
                delivery_failures,
                dead_lettered,
                printer_state,
                reader_state,
                journeys_started,
                journeys_completed,
                journeys_abandoned,
                staff_actions,
                eid_up,
                eid_card_readers,
                eid_restarts,
                state,
            }),
        }
    }

    /// Reports AusweisApp's state.
    pub fn set_eid_client(&self, state: EidClientState) {
        self.inner.eid_up.set(i64::from(state.connected));
        self.inner
            .eid_card_readers
            .set(i64::try_from(state.card_readers).unwrap_or(i64::MAX));
        self.inner
            .eid_restarts
            .set(i64::try_from(state.restarts).unwrap_or(i64::MAX));
        self.inner.state.current().eid_version = state
            .version
            .as_deref()
            .filter(|_| state.connected)
            .and_then(version_label);
    }

    /// The kiosk id these metrics were created for.
    pub fn kiosk_id(&self) -> &KioskId {
        &self.inner.state.kiosk.kiosk_id
    }

    /// Sets how many submissions wait in the outbox.
    pub fn set_queue_depth(&self, depth: u64) {
        self.inner.queue_depth.set(saturating_i64(depth));
    }

    /// Sets how many dead letters wait for staff.
    pub fn set_dead_letters(&self, count: u64) {
        self.inner.dead_letters.set(saturating_i64(count));
    }

    /// Sets when the oldest undelivered submission was saved (`None`: nothing waits).
    ///
    /// The metric is the age at scrape time, so it keeps growing while the kiosk
    /// is offline even if the app reports nothing new.
    pub fn set_oldest_undelivered(&self, saved_at: Option<SystemTime>) {
        self.inner.state.current().oldest_undelivered = saved_at;
    }

    /// Counts one submission delivered and confirmed by the portal.
    pub fn delivery_succeeded(&self) {
        self.inner.deliveries.inc();
    }

    /// Counts one failed delivery attempt.
    pub fn delivery_failed(&self, class: FailureClass) {
        self.inner
            .delivery_failures
            .get_or_create(&ClassLabels { class })
            .inc();
    }

    /// Counts one submission moved to the dead letters. Its failed attempt is
    /// counted separately with [`Metrics::delivery_failed`].
    pub fn dead_lettered(&self, class: FailureClass) {
        self.inner
            .dead_lettered
            .get_or_create(&ClassLabels { class })
            .inc();
    }

    /// Sets the printer's current state.
    pub fn set_printer_state(&self, current: PrinterState) {
        for state in PrinterState::ALL {
            self.inner
                .printer_state
                .get_or_create(&PrinterLabels { state })
                .set(i64::from(state == current));
        }
    }

    /// Marks the kiosk as having no printer: every printer state series is 0.
    pub fn set_printer_not_installed(&self) {
        for state in PrinterState::ALL {
            self.inner
                .printer_state
                .get_or_create(&PrinterLabels { state })
                .set(0);
        }
    }

    /// Sets the card reader's current state.
    pub fn set_reader_state(&self, current: ReaderState) {
        for state in ReaderState::ALL {
            self.inner
                .reader_state
                .get_or_create(&ReaderLabels { state })
                .set(i64::from(state == current));
        }
    }

    /// Marks the kiosk as having no card reader: every reader state series is 0.
    pub fn set_reader_not_installed(&self) {
        for state in ReaderState::ALL {
            self.inner
                .reader_state
                .get_or_create(&ReaderLabels { state })
                .set(0);
        }
    }

    /// Counts a citizen journey started.
    pub fn journey_started(&self) {
        self.inner.journeys_started.inc();
    }

    /// Counts a citizen journey that ended with a saved submission.
    pub fn journey_completed(&self) {
        self.inner.journeys_completed.inc();
    }

    /// Counts a citizen journey that ended without a submission.
    pub fn journey_abandoned(&self, reason: AbandonReason) {
        self.inner
            .journeys_abandoned
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Counts a staff action.
    pub fn staff_action(&self, action: StaffAction) {
        self.inner
            .staff_actions
            .get_or_create(&ActionLabels { action })
            .inc();
    }

    /// Sets the version of the catalogue in use (`kiosk_catalogue_info`).
    pub fn set_catalogue_version(&self, version: CatalogueVersion) {
        self.inner.state.current().catalogue = Some(version);
    }

    /// The metrics in the Prometheus text format 0.0.4
    /// (`Content-Type: `[`PROMETHEUS_TEXT_CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        openmetrics_to_prometheus_text(&self.render_openmetrics())
    }

    /// The metrics in the OpenMetrics 1.0 text format
    /// (`Content-Type: `[`OPENMETRICS_CONTENT_TYPE`]), ending in `# EOF`.
    pub fn render_openmetrics(&self) -> String {
        let mut text = String::with_capacity(4096);
        // Writing into a String cannot fail and every value is a plain number;
        // should the encoder still refuse one, serve what was encoded, not a panic.
        if let Err(error) =
            prometheus_client::encoding::text::encode(&mut text, &self.inner.registry)
        {
            tracing::error!(%error, "encoding the metrics failed; serving what was encoded");
        }
        text
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("kiosk_id", self.kiosk_id())
            .finish_non_exhaustive()
    }
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Rewrites `prometheus-client`'s OpenMetrics text as text format 0.0.4.
///
/// In OpenMetrics a counter family `x` has samples `x_total`; in 0.0.4 the
/// family is named like its samples. OpenMetrics' `unknown` is 0.0.4's
/// `untyped`. `# UNIT` and `# EOF` do not exist in 0.0.4 and are dropped.
/// Other OpenMetrics-only types (info, stateset, gaugehistogram) are never
/// registered here; a test checks that `render` only contains counters and gauges.
fn openmetrics_to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut lines = openmetrics.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(help) = line.strip_prefix("# HELP ") {
            let (name, text) = help.split_once(' ').unwrap_or((help, ""));
            let declared = lines
                .peek()
                .and_then(|next| next.strip_prefix("# TYPE "))
                .and_then(|next| next.split_once(' '))
                .filter(|(type_name, _)| *type_name == name)
                .map(|(_, kind)| kind);
            if let Some(kind) = declared {
                lines.next();
                let (suffix, kind) = match kind {
                    "counter" => ("_total", "counter"),
                    "unknown" => ("", "untyped"),
                    other => ("", other),
                };
                out.push_str(&format!(
                    "# HELP {name}{suffix} {text}\n# TYPE {name}{suffix} {kind}\n"
                ));
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_like_their_samples_in_text_format_0_0_4() {
        let openmetrics = "# HELP kiosk_deliveries Delivered.\n\
                           # TYPE kiosk_deliveries counter\n\
                           kiosk_deliveries_total 3\n\
                           # HELP kiosk_outbox_queue_depth Waiting.\n\
                           # TYPE kiosk_outbox_queue_depth gauge\n\
                           kiosk_outbox_queue_depth 2\n\
                           # HELP odd Something.\n\
                           # TYPE odd unknown\n\
                           odd 1\n\
                           # EOF\n";
        assert_eq!(
            openmetrics_to_prometheus_text(openmetrics),
            "# HELP kiosk_deliveries_total Delivered.\n\
             # TYPE kiosk_deliveries_total counter\n\
             kiosk_deliveries_total 3\n\
             # HELP kiosk_outbox_queue_depth Waiting.\n\
             # TYPE kiosk_outbox_queue_depth gauge\n\
             kiosk_outbox_queue_depth 2\n\
             # HELP odd Something.\n\
             # TYPE odd untyped\n\
             odd 1\n"
        );
    }

    #[test]
    fn only_types_both_formats_know_are_registered() {
        let metrics = Metrics::new(KioskId::new("K27").unwrap());
        metrics.set_catalogue_version(CatalogueVersion::new("2026.11.24").unwrap());
        metrics.set_oldest_undelivered(Some(SystemTime::now()));
        let text = metrics.render();
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        assert!(!types.is_empty());
        assert!(
            types.iter().all(|t| *t == "counter" || *t == "gauge"),
            "{types:?}"
        );
        // Help texts must read the same in both formats: no characters either escapes.
        for help in text.lines().filter_map(|l| l.strip_prefix("# HELP ")) {
            assert!(!help.contains('\\') && !help.contains('"'), "{help}");
        }
        assert!(!text.contains("# EOF"));
        assert!(metrics.render_openmetrics().ends_with("# EOF\n"));
    }

    #[test]
    fn debug_output_is_short() {
        let metrics = Metrics::new(KioskId::new("K27").unwrap());
        assert_eq!(
            format!("{metrics:?}"),
            "Metrics { kiosk_id: KioskId(\"K27\"), .. }"
        );
    }
}
