//! `kiosk-app demo` end to end on real parts: an SQLite outbox file, the
//! virtual ESC/POS printer on 127.0.0.1 and the reference receiver (HTTP on
//! 127.0.0.1), which comes online only after three citizens have submitted.

use std::process::Command;

#[test]
fn the_demo_queues_offline_prints_and_delivers_each_application_once() {
    let out = std::env::temp_dir().join(format!("kiosk-app-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["demo", "--headless", "--out"])
        .arg(&out)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let saved: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("saved in the encrypted outbox"))
        .collect();
    assert_eq!(saved.len(), 3, "{stdout}");
    assert!(
        saved.iter().all(|l| l.contains("(portal offline: queued)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("receipt NOT printed"),
        "the paper-out visit falls back to a QR code: {stdout}"
    );
    assert!(
        stdout.contains("sync: 3 application(s) delivered; the portal received 3"),
        "{stdout}"
    );
    for line in &saved {
        let reference = line
            .split("reference ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert!(
            stdout.contains(&format!("with reference {reference} ")),
            "{reference} reached the portal: {stdout}"
        );
    }

    for receipt in ["receipt-1.png", "receipt-2.png"] {
        let png = std::fs::read(out.join("receipts").join(receipt)).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{receipt} is a PNG");
    }
    assert!(
        !out.join("receipts/receipt-3.png").exists(),
        "nothing printed without paper"
    );
    // Screenshots of what each citizen saw, drawn by the real UI.
    let screens: Vec<String> = std::fs::read_dir(out.join("screens"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "de-dog-tax-identify",
        "ar-lost-property-review",
        "uk-bulky-waste-receipt",
    ] {
        assert!(
            screens.iter().any(|name| name.contains(expected)),
            "no {expected} screenshot in {screens:?}"
        );
    }
    for name in &screens {
        let png = std::fs::read(out.join("screens").join(name)).unwrap();
        let image = image::load_from_memory(&png).unwrap();
        assert_eq!((image.width(), image.height()), (1920, 1080), "{name}");
    }
    let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    assert_eq!(
        summary.trim_end(),
        stdout
            .lines()
            .filter(|l| !l.starts_with("summary: "))
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
    );

    // The demo's sample citizen must not appear in the logs.
    for personal in [
        "Musterfrau",
        "Erika",
        "Musterstraße",
        "erika.musterfrau@example.de",
        "+492091690",
    ] {
        assert!(
            !stderr.contains(personal),
            "'{personal}' leaked into the log:\n{stderr}"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn config_check_accepts_the_example_and_names_the_key_of_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let example = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["config", "example"])
        .output()
        .unwrap();
    assert!(example.status.success());
    let recipient = dir.path().join("recipient.pem");
    std::fs::write(
        &recipient,
        offline_cache_receiver::test_keys::PUBLIC_KEY_PEM,
    )
    .unwrap();
    let text = String::from_utf8(example.stdout).unwrap().replace(
        "/tmp/kiosk-demo/recipient.pem",
        &recipient.display().to_string(),
    );
    let good = dir.path().join("good.toml");
    std::fs::write(&good, &text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["config", "check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("valid"), "{stdout}");
    assert!(stdout.contains("GE-K27"), "{stdout}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        text.replace(
            "enabled = []",
            "enabled = [\"dog-tax\", \"fishing-licence\"]",
        )
        .replace("id = \"K27\"", "id = \"K01\"")
        .replace(
            &recipient.display().to_string(),
            "/nonexistent/recipient.pem",
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "services.enabled: 'fishing-licence' is not a service of the catalogue",
        "kiosk.id:",
        "portal.recipient_key: cannot read the office's public key /nonexistent/recipient.pem",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing in:\n{stderr}"
        );
    }
}

#[test]
fn with_the_portal_offline_the_applications_stay_queued() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["demo", "--headless", "--portal-offline", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("portal stays offline"), "{stdout}");
    assert!(!stdout.contains("sync:"), "{stdout}");
    let queued = stdout
        .lines()
        .filter(|l| l.contains("(portal offline: queued)"))
        .count();
    assert_eq!(queued, 3, "{stdout}");
    assert!(out.path().join("outbox.sqlite").exists());
}

#[test]
fn run_refuses_a_missing_configuration_with_advice() {
    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["run", "--config", "/nonexistent/kiosk.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/kiosk.toml"), "{stderr}");
    assert!(stderr.contains("--config"), "{stderr}");
}

#[test]
fn receipt_preview_writes_every_language_for_both_paper_widths() {
    let out = std::env::temp_dir().join(format!("kiosk-app-preview-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["receipt-preview", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = String::from_utf8(output.stdout).unwrap();
    let files: Vec<&str> = listed.lines().collect();
    for language in ["de", "en", "tr", "ar", "uk"] {
        for width in ["58", "80"] {
            assert!(
                files
                    .iter()
                    .any(|f| f.contains(language) && f.contains(width)),
                "no {language} preview for {width} mm in {files:?}"
            );
        }
    }
    for file in files {
        assert!(
            std::fs::read(file).unwrap().starts_with(b"\x89PNG"),
            "{file}"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}
