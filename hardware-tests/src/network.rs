//! The network checks: resolve the portal's name, shake hands with it over TLS exactly as
//! the sync engine does (`offline_cache::tls_client_config`: the same roots and pins), and
//! compare the kiosk's clock with the server's `Date` header.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::check::{CheckId, Outcome, Recorder};
use crate::settings::PortalSettings;
use crate::text::{Fact, IoCause, Reason};

/// Time limit for the name lookup.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);
/// Time limit for TCP connect plus TLS handshake.
const TLS_TIMEOUT: Duration = Duration::from_secs(10);
/// Time limit for the HTTP answer that carries the `Date`.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer head read.
const MAX_HEAD: usize = 16 * 1024;

/// Runs the network checks.
pub async fn run(settings: &PortalSettings, recorder: &mut Recorder) {
    let started = Instant::now();
    let Some(url) = &settings.url else {
        recorder.record(
            CheckId::NetworkDns,
            None,
            true,
            Duration::ZERO,
            started,
            Outcome::fail(Reason::NoPortal),
        );
        recorder.blocked(CheckId::NetworkTls, None, CheckId::NetworkDns);
        recorder.blocked(CheckId::NetworkClock, None, CheckId::NetworkDns);
        return;
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    // IPv6 literals come bracketed from the URL; lookups want them bare.
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let portal = format!("{host}:{port}");
    let subject = Some(portal.as_str());

    let is_ip = bare_host.parse::<std::net::IpAddr>().is_ok();
    let lookup = tokio::time::timeout(
        DNS_TIMEOUT,
        tokio::net::lookup_host((bare_host.clone(), port)),
    )
    .await;
    let timed_out = lookup.is_err();
    let addresses: Vec<SocketAddr> = match lookup {
        Ok(Ok(found)) => found.collect(),
        _ => Vec::new(),
    };
    let dns = if addresses.is_empty() {
        if timed_out {
            Outcome::fail(Reason::TimedOut {
                timeout: DNS_TIMEOUT,
            })
        } else {
            Outcome::fail(Reason::DnsFailed {
                host: bare_host.clone(),
            })
        }
    } else if is_ip {
        Outcome::pass(Reason::IpLiteral)
    } else {
        Outcome::pass(Reason::Resolved).with_facts([Fact::Addresses(
            addresses
                .iter()
                .map(|address| address.ip().to_string())
                .collect(),
        )])
    };
    let dns_ok = dns.verdict == crate::check::Verdict::Pass;
    recorder.record(
        CheckId::NetworkDns,
        subject,
        true,
        DNS_TIMEOUT,
        started,
        dns.with_facts([Fact::Portal(url.to_string())]),
    );
    if !dns_ok {
        recorder.blocked(CheckId::NetworkTls, subject, CheckId::NetworkDns);
        recorder.blocked(CheckId::NetworkClock, subject, CheckId::NetworkDns);
        return;
    }

    let path = url.path().to_owned();
    let host_header = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let started = Instant::now();
    let tcp = match connect(&addresses).await {
        Ok(tcp) => tcp,
        Err(reason) => {
            recorder.record(
                CheckId::NetworkTls,
                subject,
                true,
                TLS_TIMEOUT,
                started,
                Outcome::fail(reason),
            );
            recorder.blocked(CheckId::NetworkClock, subject, CheckId::NetworkTls);
            return;
        }
    };
    if url.scheme() == "http" {
        // Only allowed to loopback (checked with the settings): the demo's plain portal.
        recorder.record(
            CheckId::NetworkTls,
            subject,
            false,
            TLS_TIMEOUT,
            started,
            Outcome::skipped(Reason::PlainHttpLoopback),
        );
        let mut tcp = tcp;
        clock(&mut tcp, &host_header, &path, settings, subject, recorder).await;
        return;
    }
    let handshake = tokio::time::timeout(TLS_TIMEOUT, tls(tcp, &bare_host, url, settings)).await;
    let mut stream = match handshake {
        Ok(Ok((stream, facts))) => {
            recorder.record(
                CheckId::NetworkTls,
                subject,
                true,
                TLS_TIMEOUT,
                started,
                Outcome::pass(Reason::TlsOk).with_facts(facts),
            );
            stream
        }
        Ok(Err(reason)) => {
            recorder.record(
                CheckId::NetworkTls,
                subject,
                true,
                TLS_TIMEOUT,
                started,
                Outcome::fail(reason),
            );
            recorder.blocked(CheckId::NetworkClock, subject, CheckId::NetworkTls);
            return;
        }
        Err(_) => {
            recorder.record(
                CheckId::NetworkTls,
                subject,
                true,
                TLS_TIMEOUT,
                started,
                Outcome::fail(Reason::TimedOut {
                    timeout: TLS_TIMEOUT,
                }),
            );
            recorder.blocked(CheckId::NetworkClock, subject, CheckId::NetworkTls);
            return;
        }
    };
    clock(
        &mut stream,
        &host_header,
        &path,
        settings,
        subject,
        recorder,
    )
    .await;
}

/// Connects to the first address that answers.
async fn connect(addresses: &[SocketAddr]) -> Result<TcpStream, Reason> {
    let mut last = None;
    for address in addresses {
        match tokio::time::timeout(TLS_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => last = Some((address, IoCause::from_io(&error))),
            Err(_) => last = Some((address, IoCause::TimedOut)),
        }
    }
    Err(match last {
        Some((address, IoCause::Refused)) => Reason::ConnectionRefused {
            address: address.to_string(),
        },
        Some((address, cause)) => Reason::ConnectFailed {
            address: address.to_string(),
            cause,
        },
        None => Reason::Internal {
            message: "no address to connect to".into(),
        },
    })
}

async fn tls(
    tcp: TcpStream,
    host: &str,
    url: &url::Url,
    settings: &PortalSettings,
) -> Result<(tokio_rustls::client::TlsStream<TcpStream>, Vec<Fact>), Reason> {
    let mut transport = offline_cache::HttpTransportConfig::new(url.as_str());
    transport.extra_roots_pem = settings.extra_roots_pem.clone();
    transport.pinned_spki_sha256 = settings.pins.clone();
    let config =
        offline_cache::tls_client_config(&transport).map_err(|error| Reason::TlsFailed {
            message: error.to_string(),
        })?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|error| {
        Reason::TlsFailed {
            message: format!("'{host}' is not a valid server name: {error}"),
        }
    })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = connector.connect(name, tcp).await.map_err(|error| {
        let tls_error = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match tls_error {
            Some(rustls::Error::InvalidCertificate(problem)) => Reason::CertificateUntrusted {
                message: format!("{problem:?}"),
            },
            Some(other) => Reason::TlsFailed {
                message: other.to_string(),
            },
            None => Reason::TlsFailed {
                message: error.to_string(),
            },
        }
    })?;
    let (_, connection) = stream.get_ref();
    let mut facts = Vec::new();
    if let Some(version) = connection.protocol_version() {
        facts.push(Fact::TlsVersion(
            version.as_str().unwrap_or("TLS").replace('_', "."),
        ));
    }
    if let Some(suite) = connection.negotiated_cipher_suite() {
        facts.push(Fact::CipherSuite(
            suite.suite().as_str().unwrap_or("?").to_owned(),
        ));
    }
    Ok((stream, facts))
}

/// Sends `HEAD path` and returns the status code and the `Date` header.
async fn http_head<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host_header: &str,
    path: &str,
) -> Result<(u16, Option<String>), String> {
    let request = format!(
        "HEAD {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: kiosk-hwtest/{}\r\n\
         Connection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| error.to_string())?;
    stream.flush().await.map_err(|error| error.to_string())?;
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream
            .read(&mut buffer)
            .await
            .map_err(|error| error.to_string())?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
        if head.len() > MAX_HEAD {
            return Err("the answer head is larger than 16 KiB".into());
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| {
            let mut parts = line.split_whitespace();
            let version = parts.next()?;
            version
                .starts_with("HTTP/")
                .then(|| parts.next()?.parse::<u16>().ok())?
        })
        .ok_or_else(|| "the server did not answer with HTTP".to_owned())?;
    let date = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("date")
            .then(|| value.trim().to_owned())
    });
    Ok((status, date))
}

async fn clock<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host_header: &str,
    path: &str,
    settings: &PortalSettings,
    subject: Option<&str>,
    recorder: &mut Recorder,
) {
    let started = Instant::now();
    let answer = tokio::time::timeout(HTTP_TIMEOUT, http_head(stream, host_header, path)).await;
    let now = SystemTime::now();
    let outcome = match answer {
        Err(_) => Outcome::fail(Reason::TimedOut {
            timeout: HTTP_TIMEOUT,
        }),
        Ok(Err(message)) => Outcome::fail(Reason::NoHttpAnswer { message }),
        Ok(Ok((status, date))) => {
            let parsed = date
                .as_deref()
                .and_then(|date| httpdate::parse_http_date(date).ok());
            let mut facts = vec![Fact::HttpStatus(status)];
            match (date, parsed) {
                (Some(raw), Some(server)) => {
                    facts.push(Fact::ServerDate(raw));
                    facts.push(Fact::KioskDate(httpdate::fmt_http_date(now)));
                    let skew_seconds = match now.duration_since(server) {
                        Ok(ahead) => ahead.as_secs() as i64,
                        Err(behind) => -(behind.duration().as_secs() as i64),
                    };
                    let reason = if skew_seconds.unsigned_abs() <= settings.max_clock_skew.as_secs()
                    {
                        Outcome::pass(Reason::ClockOk { skew_seconds })
                    } else {
                        Outcome::fail(Reason::ClockSkew {
                            skew_seconds,
                            max: settings.max_clock_skew,
                        })
                    };
                    reason.with_facts(facts)
                }
                _ => Outcome::fail(Reason::NoDateHeader).with_facts(facts),
            }
        }
    };
    recorder.record(
        CheckId::NetworkClock,
        subject,
        true,
        HTTP_TIMEOUT,
        started,
        outcome,
    );
}
