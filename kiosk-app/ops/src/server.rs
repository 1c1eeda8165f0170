//! The HTTP endpoint: `GET /metrics` and `GET /healthz`.
//!
//! The endpoint has no authentication, so it listens on loopback unless the
//! configuration explicitly allows a remote address (a firewall or a reverse proxy
//! then has to protect it).

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::health::Health;
use crate::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE};

/// Port of the default address `127.0.0.1:9464`.
pub const DEFAULT_PORT: u16 = 9464;

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish after shutdown began.
const CONNECTION_DRAIN: Duration = Duration::from_secs(5);

/// Where the endpoint listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpsServerConfig {
    /// Address to listen on. Default `127.0.0.1:9464`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Allow a non-loopback `listen` address. The endpoint has no authentication.
    pub allow_remote: bool,
}

impl Default for OpsServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            allow_remote: false,
        }
    }
}

/// The endpoint could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum OpsServerError {
    /// The address is not loopback and remote access was not allowed.
    #[error(
        "refusing to serve /metrics and /healthz on {0}: it is reachable from the network and the \
         endpoint has no authentication; listen on 127.0.0.1 (the default), or set \
         metrics.allow_remote = true if a firewall protects this address"
    )]
    NotLoopback(SocketAddr),
    /// Binding the address failed.
    #[error(
        "cannot listen on {addr} for /metrics and /healthz: {source} (is another process using \
         the port? choose another metrics.listen port)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
}

#[derive(Debug)]
struct Shared {
    metrics: Metrics,
    health: Health,
}

/// A bound, not yet serving endpoint.
#[derive(Debug)]
pub struct OpsServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl OpsServer {
    /// Binds the endpoint's address; fails for a non-loopback address unless
    /// `config.allow_remote` is set.
    pub async fn bind(
        config: &OpsServerConfig,
        metrics: Metrics,
        health: Health,
    ) -> Result<Self, OpsServerError> {
        if !config.listen.ip().is_loopback() && !config.allow_remote {
            return Err(OpsServerError::NotLoopback(config.listen));
        }
        let bind_error = |source| OpsServerError::Bind {
            addr: config.listen,
            source,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            local_addr,
            shared: Arc::new(Shared { metrics, health }),
        })
    }

    /// The bound address (with the real port when the configuration said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then lets open connections finish their
    /// current request (at most 5 seconds) and returns.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let Self {
            listener,
            local_addr,
            shared,
        } = self;
        tracing::info!(%local_addr, "serving /metrics and /healthz");
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        connections.spawn(serve_connection(stream, Arc::clone(&shared), stop_rx.clone()));
                    }
                    Err(error) => {
                        // Out of file descriptors and similar: wait instead of spinning.
                        tracing::warn!(%error, "accepting a /metrics connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(CONNECTION_DRAIN, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                open = connections.len(),
                "closing /metrics connections that did not finish in time"
            );
            connections.shutdown().await;
        }
        tracing::info!(%local_addr, "stopped serving /metrics and /healthz");
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |request| {
        let response = respond(&shared, &request);
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "/metrics connection ended with an error");
            }
            return;
        }
        _ = stop.wait_for(|stopping| *stopping) => {}
    }
    // Finish the request in progress, then close instead of keeping the connection alive.
    connection.as_mut().graceful_shutdown();
    if let Err(error) = connection.await {
        tracing::debug!(%error, "/metrics connection ended with an error");
    }
}

fn respond(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if path != "/metrics" && path != "/healthz" {
        return text(
            StatusCode::NOT_FOUND,
            "not found: this endpoint serves GET /metrics and GET /healthz\n",
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if path == "/metrics" {
        let (body, content_type) = if wants_openmetrics(request) {
            (
                shared.metrics.render_openmetrics(),
                OPENMETRICS_CONTENT_TYPE,
            )
        } else {
            (shared.metrics.render(), PROMETHEUS_TEXT_CONTENT_TYPE)
        };
        return with_type(StatusCode::OK, body, content_type);
    }
    let report = shared.health.report();
    let status = StatusCode::from_u16(report.http_status()).unwrap_or(StatusCode::OK);
    let mut body = serde_json::to_string(&report).unwrap_or_else(|error| {
        // Serialising plain enums, strings and numbers cannot fail; say so if it ever does.
        format!(r#"{{"status":"failing","error":"cannot serialise the report: {error}"}}"#)
    });
    body.push('\n');
    with_type(status, body, "application/json")
}

/// Prometheus lists `application/openmetrics-text` in `Accept` when it can parse it.
fn wants_openmetrics(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            // A quality of 0 means "not acceptable".
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
        })
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    with_type(status, body.to_owned(), "text/plain; charset=utf-8")
}

fn with_type(
    status: StatusCode,
    body: String,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
