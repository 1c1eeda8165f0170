//! `kiosk-hwtest network` against servers on 127.0.0.1 only: the reference receiver as the
//! portal over HTTPS (its TEST ONLY certificate, trusted with --ca-file), a closed port
//! (no network), a server whose clock is an hour behind, and an untrusted certificate.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{closed_port, hwtest};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver, TlsIdentity, test_keys};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Portal {
    runtime: tokio::runtime::Runtime,
    port: u16,
    _receiver: Option<offline_cache_receiver::ReceiverHandle>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The reference receiver over HTTPS.
fn receiver() -> Portal {
    let runtime = runtime();
    let receiver = runtime.block_on(async {
        let mut config = ReceiverConfig::with_test_key();
        config.tls = Some(TlsIdentity::test_only());
        ReferenceReceiver::start(config).await.expect("receiver")
    });
    Portal {
        port: receiver.addr().port(),
        _receiver: Some(receiver),
        runtime,
    }
}

/// A minimal HTTPS server whose `Date` is `offset` behind the real time.
fn skewed_server(behind: Duration) -> Portal {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let runtime = runtime();
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(test_keys::TLS_SERVER_CERT_PEM.as_bytes())
            .collect::<Result<_, _>>()
            .expect("test certificate");
    let key =
        PrivateKeyDer::from_pem_slice(test_keys::TLS_SERVER_KEY_PEM.as_bytes()).expect("test key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buffer = [0u8; 4096];
                let _ = tls.read(&mut buffer).await;
                let date = httpdate::fmt_http_date(SystemTime::now() - behind);
                let answer =
                    format!("HTTP/1.1 204 No Content\r\nDate: {date}\r\nConnection: close\r\n\r\n");
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Portal {
        runtime,
        port,
        _receiver: None,
    }
}

fn ca_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("test-ca.pem");
    std::fs::write(&path, test_keys::TLS_CA_PEM).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn portal_over_tls_passes_dns_tls_and_clock() {
    let portal = receiver();
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(&dir);
    let json = dir.path().join("network.json");
    let url = format!("https://localhost:{}/", portal.port);
    let run = hwtest(
        &[
            "network",
            "--portal",
            &url,
            "--ca-file",
            &ca,
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.line_of("Namensauflösung (DNS)").contains("[OK]"));
    run.expect_stdout("Der Name des Portals ist aufgelöst.");
    run.expect_stdout("Adressen: ");
    run.expect_stdout("TLS-Verbindung zum Portal aufgebaut; das Zertifikat ist gültig.");
    run.expect_stdout("TLS-Version: TLSv1.3");
    run.expect_stdout("Die Uhr stimmt mit dem Portal überein");
    let report = common::json(&json);
    assert_eq!(
        common::check(&report, "network.tls", None)["verdict"],
        "pass"
    );
    let clock = common::check(&report, "network.clock", None);
    assert_eq!(clock["reason_code"], "clock_ok");
    assert!(
        clock["facts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|fact| fact["key"] == "server_date"),
        "{clock:#}"
    );
    drop(portal.runtime);
}

#[test]
fn no_network_fails_the_connection_and_skips_the_clock() {
    let port = closed_port();
    let url = format!("https://localhost:{port}/");
    let de = hwtest(&["network", "--portal", &url], &[]);
    assert_eq!(de.code, 1, "{de:#?}");
    assert!(de.line_of("Namensauflösung (DNS)").contains("[OK]"));
    assert!(de.line_of("TLS zum Portal").contains("[FEHLER]"));
    de.expect_stdout(&format!(
        "Verbindung zu 127.0.0.1:{port} abgelehnt: Läuft das Portal"
    ));
    assert!(de.line_of("Uhrzeit").contains("[ÜBERSPRUNGEN]"));
    de.expect_stdout("Nicht geprüft, weil „TLS zum Portal“ nicht bestanden wurde.");

    let en = hwtest(&["network", "--lang", "en", "--portal", &url], &[]);
    assert_eq!(en.code, 1);
    assert!(en.line_of("TLS to the portal").contains("[FAIL]"));
    en.expect_stdout(&format!(
        "Connection to 127.0.0.1:{port} refused: is the portal running"
    ));
    en.expect_stdout("Not checked because “TLS to the portal” did not pass.");
}

#[test]
fn clock_an_hour_off_fails_with_the_difference() {
    let portal = skewed_server(Duration::from_secs(3600 + 125));
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(&dir);
    let url = format!("https://127.0.0.1:{}/status", portal.port);
    let de = hwtest(&["network", "--portal", &url, "--ca-file", &ca], &[]);
    assert_eq!(de.code, 1, "{de:#?}");
    assert!(de.line_of("Namensauflösung").contains("[OK]"));
    de.expect_stdout("Die Portal-Adresse ist eine IP-Adresse; keine Namensauflösung nötig.");
    assert!(de.line_of("Uhrzeit").contains("[FEHLER]"));
    de.expect_stdout("Die Uhr des Kiosks geht 1 h 2 min vor (erlaubt sind 1 min).");
    de.expect_stdout("HTTP-Status: 204");

    let en = hwtest(
        &[
            "network",
            "--lang",
            "en",
            "--portal",
            &url,
            "--ca-file",
            &ca,
        ],
        &[],
    );
    assert_eq!(en.code, 1, "{en:#?}");
    assert!(en.line_of("Clock").contains("[FAIL]"));
    en.expect_stdout("The kiosk's clock is 1 h 2 min ahead (allowed: 1 min).");
    drop(portal.runtime);
}

#[test]
fn untrusted_certificate_and_missing_portal_fail_with_what_to_do() {
    let portal = receiver();
    let url = format!("https://localhost:{}/", portal.port);
    let run = hwtest(&["network", "--lang", "en", "--portal", &url], &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.line_of("TLS to the portal").contains("[FAIL]"));
    run.expect_stdout("The portal's certificate is not accepted (UnknownIssuer).");
    run.expect_stdout("Is the root certificate missing (--ca-file / [portal] extra_roots)?");

    let none = hwtest(&["network"], &[]);
    assert_eq!(none.code, 1);
    none.expect_stdout("Keine Portal-Adresse angegeben: --portal https://…");
    drop(portal.runtime);
}

#[test]
fn plain_http_is_only_accepted_on_loopback() {
    let remote = hwtest(
        &[
            "network",
            "--lang",
            "en",
            "--portal",
            "http://portal.example.org",
        ],
        &[],
    );
    assert_eq!(remote.code, kiosk_hwtest::EXIT_USAGE, "{remote:#?}");
    assert!(
        remote
            .stderr
            .contains("plain http is only allowed to 127.0.0.1; use https://"),
        "{remote:#?}"
    );
}
