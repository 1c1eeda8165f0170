//! The log filter: what `RUST_LOG` can and cannot change, with real `tracing`
//! events and real `log` records (the crate `dmrtd` logs through `log`).

use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use kiosk_ops::logging::{LogFormat, LoggingError, subscriber};
use kiosk_ops::{AuditOutcome, StaffAction, audit_staff_action};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn bridge_log_records() {
    static ONCE: Once = Once::new();
    // Forwards `log` records to the thread's current tracing subscriber.
    ONCE.call_once(|| tracing_log::LogTracer::init().unwrap());
}

/// Runs `emit` under the kiosk's subscriber with `rust_log` and returns the output.
fn logged(format: LogFormat, rust_log: Option<&str>, emit: impl FnOnce()) -> String {
    bridge_log_records();
    let capture = Capture::default();
    let subscriber = subscriber(format, rust_log, capture.clone()).unwrap();
    tracing::subscriber::with_default(subscriber, emit);
    capture.text()
}

fn emit_dmrtd_at_every_level() {
    tracing::trace!(target: "dmrtd::pace", "DMRTD-TRACE-MUSTERMANN");
    tracing::debug!(target: "dmrtd::pace", "DMRTD-DEBUG-MUSTERMANN");
    tracing::info!(target: "dmrtd", "DMRTD-INFO-MUSTERMANN");
    tracing::warn!(target: "dmrtd::sm", "DMRTD-WARN");
    tracing::error!(target: "dmrtd::sm", "DMRTD-ERROR");
    log::trace!(target: "dmrtd::lds::dg1", "LOG-TRACE-MUSTERMANN");
    log::debug!(target: "dmrtd::lds::dg1", "LOG-DEBUG-MUSTERMANN");
    log::info!(target: "dmrtd::lds::dg1", "LOG-INFO-MUSTERMANN");
    log::warn!(target: "dmrtd::lds::dg1", "LOG-WARN");
}

#[test]
fn rust_log_cannot_lift_the_dmrtd_cap() {
    for rust_log in [
        None,
        Some("trace"),
        Some("dmrtd=trace"),
        Some("dmrtd::pace=trace,dmrtd::lds=trace,dmrtd::lds::dg1=trace"),
        Some("trace,dmrtd=trace,dmrtd[read]=trace"),
        Some("off,dmrtd=debug"),
    ] {
        for format in [LogFormat::Json, LogFormat::Pretty] {
            let out = logged(format, rust_log, emit_dmrtd_at_every_level);
            assert!(!out.contains("MUSTERMANN"), "{rust_log:?}: {out}");
            if rust_log != Some("off,dmrtd=debug") {
                for kept in ["DMRTD-WARN", "DMRTD-ERROR", "LOG-WARN"] {
                    assert!(out.contains(kept), "{rust_log:?} lost {kept}: {out}");
                }
            }
        }
    }
}

#[test]
fn rust_log_can_raise_our_crates_and_the_capped_third_party_crates() {
    let emit = || {
        tracing::debug!(target: "kiosk_app::kiosk", "APP-DEBUG");
        tracing::info!(target: "kiosk_app::kiosk", "APP-INFO");
        tracing::info!(target: "hyper::proto", "HYPER-INFO");
        tracing::warn!(target: "hyper::proto", "HYPER-WARN");
    };
    let out = logged(LogFormat::Json, None, emit);
    assert!(
        out.contains("APP-INFO") && !out.contains("APP-DEBUG"),
        "{out}"
    );
    assert!(
        out.contains("HYPER-WARN") && !out.contains("HYPER-INFO"),
        "{out}"
    );

    let out = logged(LogFormat::Json, Some("kiosk_app=debug"), emit);
    assert!(out.contains("APP-DEBUG"), "{out}");
    assert!(
        !out.contains("HYPER-INFO"),
        "a plain raise keeps the caps: {out}"
    );

    let out = logged(LogFormat::Json, Some("debug"), emit);
    assert!(
        out.contains("APP-DEBUG") && !out.contains("HYPER-INFO"),
        "{out}"
    );

    let out = logged(LogFormat::Json, Some("hyper=info"), emit);
    assert!(out.contains("HYPER-INFO"), "{out}");
}

#[test]
fn audit_lines_are_written_whatever_rust_log_says() {
    for rust_log in [None, Some("warn"), Some("off"), Some("audit=off")] {
        let out = logged(LogFormat::Json, rust_log, || {
            tracing::info!(target: "kiosk_app", "APP-INFO");
            audit_staff_action(StaffAction::DiscardDeadLetter, AuditOutcome::Done);
        });
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let audit: Vec<_> = lines.iter().filter(|l| l["target"] == "audit").collect();
        assert_eq!(audit.len(), 1, "{rust_log:?}: {out}");
        assert_eq!(audit[0]["level"], "INFO");
        assert_eq!(audit[0]["action"], "discard_dead_letter");
        assert_eq!(audit[0]["outcome"], "done");
        assert_eq!(audit[0]["message"], "staff action");
    }
}

#[test]
fn json_lines_are_one_object_per_event_and_pretty_is_readable() {
    let emit = || {
        tracing::info!(target: "kiosk_app::sync", queued = 3, "sync finished");
        tracing::warn!(target: "kiosk_app::printer", state = "paper_out", "printer needs paper");
    };
    let out = logged(LogFormat::Json, None, emit);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["target"], "kiosk_app::sync");
    assert_eq!(lines[0]["queued"], 3);
    assert_eq!(lines[0]["message"], "sync finished");
    assert_eq!(lines[1]["level"], "WARN");
    assert!(lines[0]["timestamp"].is_string());

    let out = logged(LogFormat::Pretty, None, emit);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.contains("INFO kiosk_app::sync: sync finished queued=3"),
        "{out}"
    );
    assert!(
        !out.contains('\u{1b}'),
        "no colour codes outside a terminal: {out:?}"
    );
}

#[test]
fn a_bad_rust_log_is_a_clear_error() {
    let error = subscriber(LogFormat::Json, Some("kiosk_app=loud"), Capture::default())
        .err()
        .expect("refused");
    assert!(matches!(error, LoggingError::BadFilter { .. }));
    let message = error.to_string();
    assert!(message.contains("RUST_LOG=\"kiosk_app=loud\""), "{message}");
    assert!(
        message.contains("RUST_LOG=info,kiosk_app=debug"),
        "{message}"
    );

    assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
    assert_eq!("pretty".parse::<LogFormat>().unwrap(), LogFormat::Pretty);
    let error = "yaml".parse::<LogFormat>().unwrap_err().to_string();
    assert!(error.contains("\"json\" or \"pretty\""), "{error}");
}
