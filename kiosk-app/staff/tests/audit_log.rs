//! The audit log file on a real file system: JSON lines, appended, private.

mod support;

use std::time::Duration;

use kiosk_staff::{ActionOutcome, AuditLog, StaffAction, StaffEffect, StaffEvent, StaffIdentity};
use support::{DEAD, Harness, PIN};

#[test]
fn a_staff_visit_is_appended_as_json_lines_that_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut h = Harness::new();
    h.send(StaffEvent::OpenRequested);
    h.type_pin("000000");
    h.login();
    h.send(StaffEvent::ActionRequested(StaffAction::DiscardDeadLetter(
        DEAD,
    )));
    h.send(StaffEvent::Confirm);
    h.send(StaffEvent::ActionFinished {
        action: StaffAction::DiscardDeadLetter(DEAD),
        outcome: ActionOutcome::Ok,
    });
    h.advance(Duration::from_secs(121));

    let entries = h.audits();
    let (first, rest) = entries.split_at(2);
    {
        let mut log = AuditLog::open(&path).unwrap();
        for entry in first {
            log.append(entry).unwrap();
        }
    }
    let mut log = AuditLog::open(&path).unwrap();
    assert_eq!(log.path(), path);
    for entry in rest {
        log.append(entry).unwrap();
    }

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {} {}",
                l["staff"].as_str().unwrap(),
                l["action"].as_str().unwrap(),
                l["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "pin login failed",
            "pin login ok",
            "pin discard-dead-letter started",
            "pin discard-dead-letter ok",
            "pin logout timed-out",
        ]
    );
    assert_eq!(lines[2]["target"], DEAD.to_string());
    assert!(
        lines[0]["at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-24T08:")
    );
    assert!(!text.contains(PIN) && !text.contains("000000"));
    assert_eq!(StaffIdentity::Pin.to_string(), "pin");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the kiosk's user reads the audit log");
    }
    let _ = StaffEffect::Close;
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = AuditLog::open(dir.path().join("missing/audit.jsonl")).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("missing/audit.jsonl"), "{text}");
    assert!(text.contains("data directory exists"), "{text}");
}
