//! The configuration file: every shipped file parses, every mistake names its key.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use kiosk_config::{ConfigError, KioskConfig, PrinterConnection, SecretError, SecretSource};
use secrecy::ExposeSecret;

const MINIMAL: &str = r#"
[kiosk]
id = "K07"
town_prefix = "GE"

[printer]
connection = "/dev/usb/lp0"

[portal]
url = "https://portal.example/api"
recipient_key = "/etc/kiosk/recipient.pem"
"#;

/// `MINIMAL` without its `[portal]` table, for tests that write their own.
fn without_portal() -> &'static str {
    MINIMAL.split("\n[portal]").next().expect("minimal")
}

fn problems(text: &str) -> Vec<(String, String)> {
    match KioskConfig::parse(text, "test.toml") {
        Err(ConfigError::Invalid { problems, .. }) => problems
            .into_iter()
            .map(|problem| (problem.key, problem.message))
            .collect(),
        Ok(_) => panic!("expected problems, the configuration was accepted"),
        Err(other) => panic!("expected problems, got {other}"),
    }
}

fn keys(text: &str) -> Vec<String> {
    problems(text).into_iter().map(|(key, _)| key).collect()
}

#[test]
fn the_demo_configuration_is_valid() {
    assert!(MINIMAL.contains("[portal]"));
    let config = KioskConfig::demo();
    assert_eq!(config.kiosk.id, "K27");
    assert_eq!(config.languages.enabled[0], "de");
    assert!(config.staff.pin_hash.is_some());
}

#[test]
fn the_packaged_default_configuration_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/config/kiosk.toml");
    if let Ok(text) = std::fs::read_to_string(&path) {
        KioskConfig::parse(&text, "packaging/config/kiosk.toml")
            .unwrap_or_else(|error| panic!("{error}"));
    }
}

#[test]
fn a_minimal_file_gets_sensible_defaults() {
    let config = KioskConfig::parse(MINIMAL, "test.toml").expect("valid");
    assert_eq!(config.kiosk.data_dir, Path::new("/var/lib/kiosk"));
    assert_eq!(config.timeouts.idle, Duration::from_secs(90));
    assert_eq!(config.timeouts.warning, Duration::from_secs(30));
    assert!(config.reader.enabled);
    assert_eq!(
        config.printer.connection,
        PrinterConnection::Device("/dev/usb/lp0".into())
    );
    assert_eq!(config.metrics.listen.to_string(), "127.0.0.1:9464");
    assert!(config.languages.enabled.is_empty());
    assert_eq!(
        config.outbox_path(),
        Path::new("/var/lib/kiosk/outbox.sqlite")
    );
    assert_eq!(config.eid, kiosk_config::EidSection::default());
    assert_eq!(config.eid.port, 24727);
    assert_eq!(config.check_in.opens_before, Duration::from_secs(30 * 60));
}

#[test]
fn eid_and_check_in_settings_are_checked() {
    let text = format!(
        "{MINIMAL}\n[eid]\nlaunch = \"sometimes\"\nport = 0\n[check_in]\nopens_minutes_before = 5000\n"
    );
    assert_eq!(
        keys(&text),
        ["eid.launch", "eid.port", "check_in.opens_minutes_before"]
    );
    let text =
        format!("{MINIMAL}\n[eid]\nlaunch = \"connect\"\nbinary = \"/usr/bin/AusweisApp2\"\n");
    assert_eq!(keys(&text), ["eid.binary"]);
    let text = format!("{MINIMAL}\n[eid]\nlaunch = \"connect\"\nport = 24728\n");
    let config = KioskConfig::parse(&text, "test.toml").expect("valid");
    assert_eq!(config.eid.launch, kiosk_config::AusweisAppLaunch::Connect);
    assert_eq!(config.eid.port, 24728);
}

#[test]
fn an_unknown_key_is_an_error_that_names_it() {
    let text = format!("{MINIMAL}\n[timeouts]\nidel_seconds = 60\n");
    let error = KioskConfig::parse(&text, "test.toml").unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ConfigError::Syntax { .. }), "{message}");
    assert!(message.contains("idel_seconds"), "{message}");
    assert!(message.contains("test.toml"), "{message}");
}

#[test]
fn a_wrong_type_is_an_error_with_the_line() {
    let text = format!("{MINIMAL}\n[timeouts]\nidle_seconds = \"ninety\"\n");
    let message = KioskConfig::parse(&text, "test.toml")
        .unwrap_err()
        .to_string();
    assert!(message.contains("idle_seconds"), "{message}");
    assert!(message.contains("line"), "{message}");
}

#[test]
fn every_problem_is_reported_at_once_with_its_key() {
    let text = r#"
[kiosk]
id = ""
town_prefix = "GE"
data_dir = "relative/dir"

[languages]
enabled = ["en", "deu"]

[timeouts]
warning_seconds = 5

[printer]
connection = "tcp://printer"
model = "star-tsp100"

[metrics]
listen = "0.0.0.0:9464"

[logging]
format = "xml"
"#;
    let found = keys(text);
    for key in [
        "kiosk.id",
        "kiosk.data_dir",
        "languages.enabled",
        "timeouts.warning_seconds",
        "printer.connection",
        "printer.model",
        "metrics.listen",
        "logging.format",
    ] {
        assert!(found.iter().any(|k| k == key), "{key} missing in {found:?}");
    }
    let all = problems(text);
    let warning = &all
        .iter()
        .find(|(key, _)| key == "timeouts.warning_seconds")
        .expect("warning problem")
        .1;
    assert!(warning.contains("20"), "says the limit: {warning}");
    let model = &all
        .iter()
        .find(|(key, _)| key == "printer.model")
        .expect("model")
        .1;
    assert!(
        model.contains("epson-tm-t88"),
        "lists the known models: {model}"
    );
}

#[test]
fn the_portal_table_is_required() {
    let all = problems(without_portal());
    assert!(
        all.iter()
            .any(|(key, message)| key == "portal" && message.contains("recipient_key"))
    );
}

#[test]
fn german_must_come_first() {
    let text = format!("{MINIMAL}\n[languages]\nenabled = [\"en\", \"de\"]\n");
    let all = problems(&text);
    assert!(
        all.iter()
            .any(|(key, message)| key == "languages.enabled" && message.contains("German"))
    );
}

#[test]
fn a_secret_in_the_toml_is_refused_with_advice() {
    let text = format!(
        "{}\n[portal]\nurl = \"https://portal.example\"\nrecipient_key = \"/etc/kiosk/recipient.pem\"\nclient_secret = \"hunter2\"\n",
        without_portal()
    );
    let all = problems(&text);
    let (_, message) = all
        .iter()
        .find(|(key, _)| key == "portal.client_secret")
        .expect("client_secret refused");
    assert!(message.contains("client_secret_file"), "{message}");
    // The refused secret itself is not repeated in the error.
    let error = KioskConfig::parse(&text, "test.toml")
        .unwrap_err()
        .to_string();
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn plain_http_is_only_allowed_on_loopback() {
    let portal = |url: &str| {
        format!(
            "{}\n[portal]\nurl = \"{url}\"\nrecipient_key = \"/etc/kiosk/r.pem\"\n",
            without_portal()
        )
    };
    assert!(keys(&portal("http://portal.example/api")).contains(&"portal.url".to_owned()));
    assert!(keys(&portal("ftp://x")).contains(&"portal.url".to_owned()));
    for good in [
        "https://portal.example/api",
        "http://127.0.0.1:8080",
        "http://localhost/x",
    ] {
        KioskConfig::parse(&portal(good), "t").unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn oauth_settings_come_together() {
    let text = format!(
        "{}\n[portal]\nurl = \"https://p.example\"\nrecipient_key = \"/r.pem\"\ntoken_url = \"https://auth.example/token\"\n",
        without_portal()
    );
    assert!(keys(&text).contains(&"portal.token_url".to_owned()));
    let complete = format!(
        "{}\n[portal]\nurl = \"https://p.example\"\nrecipient_key = \"/r.pem\"\ntoken_url = \"https://auth.example/token\"\nclient_id = \"kiosk-07\"\nclient_secret_credential = \"portal-secret\"\n",
        without_portal()
    );
    let config = KioskConfig::parse(&complete, "t").expect("valid");
    assert_eq!(
        config.portal.client_secret,
        Some(SecretSource::SystemdCredential("portal-secret".into()))
    );
}

#[test]
fn printer_connections_parse() {
    assert_eq!(
        PrinterConnection::parse("tcp://192.168.1.50:9100"),
        Ok(PrinterConnection::Tcp("192.168.1.50:9100".into()))
    );
    assert_eq!(
        PrinterConnection::parse("serial:/dev/ttyS0:19200"),
        Ok(PrinterConnection::Serial {
            path: "/dev/ttyS0".into(),
            baud: 19200
        })
    );
    for bad in [
        "tcp://host:0",
        "tcp://:9100",
        "serial:/dev/ttyS0:12345",
        "usb0",
        "COM3",
    ] {
        let message = PrinterConnection::parse(bad).unwrap_err().to_string();
        assert!(message.contains(bad), "names the value: {message}");
    }
}

#[test]
fn staff_settings_hold_no_raw_pins_or_uids() {
    let text = format!(
        "{MINIMAL}\n[staff]\npin_hash = \"123456\"\ncard_uid_sha256 = [\"04A1B2C3D4E5F6\"]\n"
    );
    let found = keys(&text);
    assert!(found.contains(&"staff.pin_hash".to_owned()));
    assert!(found.contains(&"staff.card_uid_sha256".to_owned()));
    let error = KioskConfig::parse(&text, "t").unwrap_err().to_string();
    assert!(
        !error.contains("123456") && !error.contains("04A1B2C3D4E5F6"),
        "{error}"
    );
}

#[test]
fn a_missing_file_says_which_and_what_to_do() {
    let error = KioskConfig::load(Path::new("/nonexistent/kiosk.toml")).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("/nonexistent/kiosk.toml"), "{message}");
    assert!(message.contains("--config"), "{message}");
}

fn secret_file(contents: &str, mode: u32) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(contents.as_bytes()).expect("write");
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    file
}

#[test]
fn a_secret_file_must_be_private() {
    let open = secret_file("s3cret\n", 0o644);
    let error = SecretSource::File(open.path().to_owned())
        .read(None)
        .unwrap_err();
    assert!(matches!(error, SecretError::TooOpen { mode: 0o644, .. }));
    assert!(error.to_string().contains("chmod 600"), "{error}");
    assert!(!error.to_string().contains("s3cret"));

    let private = secret_file("s3cret\n", 0o600);
    let secret = SecretSource::File(private.path().to_owned())
        .read(None)
        .expect("readable");
    assert_eq!(secret.expose_secret(), "s3cret");

    let empty = secret_file("\n", 0o400);
    assert!(matches!(
        SecretSource::File(empty.path().to_owned()).read(None),
        Err(SecretError::Empty { .. })
    ));
}

#[test]
fn a_systemd_credential_is_read_from_the_credentials_directory() {
    let directory = tempfile::tempdir().expect("dir");
    std::fs::write(directory.path().join("portal-secret"), "from-systemd\n").expect("write");
    let source = SecretSource::SystemdCredential("portal-secret".into());
    assert_eq!(
        source
            .read(Some(directory.path()))
            .expect("read")
            .expose_secret(),
        "from-systemd"
    );
    let error = source.read(None).unwrap_err();
    assert!(
        error.to_string().contains("LoadCredential=portal-secret"),
        "{error}"
    );
}

#[test]
fn debug_output_of_a_secret_source_shows_no_secret() {
    let private = secret_file("topsecret", 0o600);
    let secret = SecretSource::File(private.path().to_owned())
        .read(None)
        .expect("read");
    assert!(!format!("{secret:?}").contains("topsecret"));
}
