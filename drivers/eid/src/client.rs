//! The WebSocket client for AusweisApp's SDK (`ws://127.0.0.1:24727/eID-Kernel`).
//!
//! One task owns the connection. [`EidClient`] handles (cheap clones) send commands to
//! it; [`EidClient::request`] waits for the direct reply (matched by type, or by the
//! command name in `BAD_STATE`/`UNKNOWN_COMMAND`); every message, replies included, is
//! also broadcast to [`Messages`] subscribers. Every wait has a time-out.
//!
//! Logs name commands and message types only. A command with a PIN, CAN or PUK is
//! serialised into a zeroising buffer that becomes the frame's payload (so it is wiped
//! when the frame is dropped), and is followed by a ping of the same length so the
//! WebSocket write buffer, which keeps a masked copy of the last frame, is overwritten.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::{self, Message as Frame, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zeroize::Zeroizing;

use crate::protocol::{ApiLevel, Command, Info, Message, PATH, Reader, Reply, Status};

/// Time limits of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long connecting (TCP and WebSocket handshake) may take.
    pub connect_timeout: Duration,
    /// How long a command may take to be written and, for [`EidClient::request`],
    /// answered.
    pub request_timeout: Duration,
    /// How often the connection is checked with a WebSocket ping. An AusweisApp that
    /// sends nothing (not even the pong) for two of these is taken for hung and the
    /// connection is closed.
    pub heartbeat: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(15),
        }
    }
}

/// Why talking to AusweisApp failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Nothing listens on the address (AusweisApp is not running, or not yet).
    #[error("nothing listens on {address}: start AusweisApp (`AusweisApp2 --ui websocket`)")]
    NotListening {
        /// The address tried.
        address: String,
    },
    /// AusweisApp answered 429: another client is connected (it serves one at a time).
    #[error("AusweisApp on {address} already serves another client; close that one first")]
    Busy {
        /// The address tried.
        address: String,
    },
    /// Connecting failed otherwise.
    #[error("could not connect to AusweisApp on {address}: {reason}")]
    Connect {
        /// The address tried.
        address: String,
        /// What went wrong (no message content).
        reason: String,
    },
    /// No answer within the time limit.
    #[error("AusweisApp did not answer {command} within {after:?}")]
    Timeout {
        /// The command, or `"message"` for a wait on the message stream.
        command: &'static str,
        /// The time limit.
        after: Duration,
    },
    /// The connection is closed.
    #[error("the connection to AusweisApp is closed")]
    Disconnected,
    /// AusweisApp refused the command (`BAD_STATE`, `UNKNOWN_COMMAND`, `INVALID`,
    /// `INTERNAL_ERROR`).
    #[error("AusweisApp refused {command} with {answer}")]
    Refused {
        /// The command.
        command: &'static str,
        /// The answer's message type.
        answer: String,
    },
    /// AusweisApp answered with an unexpected message type.
    #[error("AusweisApp answered {command} with an unexpected {answer}")]
    Unexpected {
        /// The command.
        command: &'static str,
        /// The answer's message type.
        answer: String,
    },
    /// [`EidClient::request`] was used for a command that has no direct reply.
    #[error("{0} has no direct reply; use send and watch the message stream")]
    NoReply(&'static str),
    /// A subscriber fell behind and missed messages.
    #[error("missed {0} messages from AusweisApp (the subscriber was too slow)")]
    Missed(u64),
    /// The command could not be serialised.
    #[error("could not serialise {0}")]
    Serialise(&'static str),
}

/// How many messages a slow subscriber may fall behind before it misses some.
const BROADCAST_CAPACITY: usize = 256;

/// A connection to AusweisApp. Clones share the connection; it closes when the last
/// clone is dropped (or AusweisApp goes away).
#[derive(Clone, Debug)]
pub struct EidClient {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    outgoing: mpsc::Sender<Outgoing>,
    /// Asks the connection task to close the connection (whatever clones exist).
    close: watch::Sender<bool>,
    messages: broadcast::Sender<Message>,
    closed: watch::Receiver<bool>,
    config: ClientConfig,
    address: String,
}

struct Outgoing {
    command: Command,
    /// Set for [`EidClient::request`].
    reply: Option<oneshot::Sender<Message>>,
    /// Whether the frame was written.
    written: oneshot::Sender<Result<(), ClientError>>,
}

struct Pending {
    command: Command,
    reply: oneshot::Sender<Message>,
}

impl EidClient {
    /// Connects to AusweisApp at `ws://{host}:{port}/eID-Kernel`.
    pub async fn connect(host: &str, port: u16, config: ClientConfig) -> Result<Self, ClientError> {
        let address = format!("{host}:{port}");
        let url = format!("ws://{address}{PATH}");
        let connecting = tokio_tungstenite::connect_async(url.as_str());
        let socket = match tokio::time::timeout(config.connect_timeout, connecting).await {
            Err(_) => {
                return Err(ClientError::Timeout {
                    command: "connect",
                    after: config.connect_timeout,
                });
            }
            Ok(Err(tungstenite::Error::Io(error)))
                if error.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                return Err(ClientError::NotListening { address });
            }
            Ok(Err(tungstenite::Error::Http(response))) if response.status().as_u16() == 429 => {
                return Err(ClientError::Busy { address });
            }
            // AusweisApp refuses with an HTTP/1.0 response, which tungstenite rejects
            // before reading the status: ask again by hand to learn the status.
            Ok(Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::WrongHttpVersion,
            ))) => {
                let status = probe_status(&address, config.connect_timeout).await;
                if status == Some(429) {
                    return Err(ClientError::Busy { address });
                }
                let reason = match status {
                    Some(status) => format!("AusweisApp answered HTTP {status}"),
                    None => "the server answered with HTTP/1.0".to_owned(),
                };
                return Err(ClientError::Connect { address, reason });
            }
            Ok(Err(error)) => {
                return Err(ClientError::Connect {
                    address,
                    reason: error.to_string(),
                });
            }
            Ok(Ok((socket, _response))) => socket,
        };
        tracing::debug!(%address, "connected to AusweisApp");
        let (outgoing, commands) = mpsc::channel(16);
        let (close, close_rx) = watch::channel(false);
        let (messages, _) = broadcast::channel(BROADCAST_CAPACITY);
        let (closed_tx, closed) = watch::channel(false);
        tokio::spawn(run(
            socket,
            commands,
            close_rx,
            messages.clone(),
            closed_tx,
            config,
        ));
        Ok(Self {
            shared: Arc::new(Shared {
                outgoing,
                close,
                messages,
                closed,
                config,
                address,
            }),
        })
    }

    /// The `host:port` this client is connected to.
    pub fn address(&self) -> &str {
        &self.shared.address
    }

    /// The client's time limits.
    pub fn config(&self) -> ClientConfig {
        self.shared.config
    }

    /// A stream of every message from now on (replies to requests included).
    pub fn subscribe(&self) -> Messages {
        Messages {
            receiver: self.shared.messages.subscribe(),
            closed: self.shared.closed.clone(),
        }
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }

    /// Resolves when the connection is closed.
    pub async fn closed(&self) {
        let mut closed = self.shared.closed.clone();
        // An error means the task ended, which also means closed.
        let _ = closed.wait_for(|closed| *closed).await;
    }

    /// Closes the connection (for every clone) and waits until it is closed, at most
    /// the request time-out.
    pub async fn close(&self) {
        let _ = self.shared.close.send(true);
        let _ = tokio::time::timeout(self.shared.config.request_timeout, self.closed()).await;
    }

    /// Sends a command without waiting for an answer (answers arrive on [`Messages`]).
    pub async fn send(&self, command: Command) -> Result<(), ClientError> {
        self.submit(command, None).await
    }

    /// Sends a command and waits for its direct reply. `BAD_STATE`, `UNKNOWN_COMMAND`,
    /// `INVALID` and `INTERNAL_ERROR` answers come back as `Ok` messages: use the typed
    /// helpers ([`get_info`](Self::get_info) …) to have them as errors.
    pub async fn request(&self, command: Command) -> Result<Message, ClientError> {
        let name = command.name();
        if command.reply() != Reply::Always {
            return Err(ClientError::NoReply(name));
        }
        let (reply, answer) = oneshot::channel();
        let limit = self.shared.config.request_timeout;
        let exchange = async {
            self.submit(command, Some(reply)).await?;
            answer.await.map_err(|_| ClientError::Disconnected)
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                command: name,
                after: limit,
            }),
        }
    }

    async fn submit(
        &self,
        command: Command,
        reply: Option<oneshot::Sender<Message>>,
    ) -> Result<(), ClientError> {
        let name = command.name();
        let limit = self.shared.config.request_timeout;
        let (written, done) = oneshot::channel();
        let outgoing = Outgoing {
            command,
            reply,
            written,
        };
        let submit = async {
            self.shared
                .outgoing
                .send(outgoing)
                .await
                .map_err(|_| ClientError::Disconnected)?;
            done.await.map_err(|_| ClientError::Disconnected)?
        };
        tokio::time::timeout(limit, submit)
            .await
            .map_err(|_| ClientError::Timeout {
                command: name,
                after: limit,
            })?
    }

    /// `GET_INFO`.
    pub async fn get_info(&self) -> Result<Info, ClientError> {
        match self.request(Command::GetInfo).await? {
            Message::Info(info) => Ok(info),
            other => Err(unexpected("GET_INFO", &other)),
        }
    }

    /// `GET_STATUS`.
    pub async fn get_status(&self) -> Result<Status, ClientError> {
        match self.request(Command::GetStatus).await? {
            Message::Status(status) => Ok(status),
            other => Err(unexpected("GET_STATUS", &other)),
        }
    }

    /// `GET_API_LEVEL`.
    pub async fn get_api_level(&self) -> Result<ApiLevel, ClientError> {
        match self.request(Command::GetApiLevel).await? {
            Message::ApiLevel(level) => Ok(level),
            other => Err(unexpected("GET_API_LEVEL", &other)),
        }
    }

    /// `SET_API_LEVEL`; an `error` in the answer (unsupported level) is an error.
    pub async fn set_api_level(&self, level: u32) -> Result<ApiLevel, ClientError> {
        match self.request(Command::SetApiLevel { level }).await? {
            Message::ApiLevel(answer) if answer.error.is_none() => Ok(answer),
            Message::ApiLevel(_) => Err(ClientError::Refused {
                command: "SET_API_LEVEL",
                answer: "API_LEVEL with an error".into(),
            }),
            other => Err(unexpected("SET_API_LEVEL", &other)),
        }
    }

    /// `GET_READER_LIST`.
    pub async fn get_reader_list(&self) -> Result<Vec<Reader>, ClientError> {
        match self.request(Command::GetReaderList).await? {
            Message::ReaderList(list) => Ok(list.readers),
            other => Err(unexpected("GET_READER_LIST", &other)),
        }
    }

    /// `GET_READER` for one reader.
    pub async fn get_reader(&self, name: &str) -> Result<Reader, ClientError> {
        let command = Command::GetReader { name: name.into() };
        match self.request(command).await? {
            Message::Reader(reader) => Ok(reader),
            other => Err(unexpected("GET_READER", &other)),
        }
    }

    /// Makes sure no workflow runs (one left over from an earlier session would make
    /// `RUN_AUTH` fail): asks `GET_STATUS`, and if a workflow runs, cancels it and waits
    /// until AusweisApp reports its end, at most `limit`.
    pub async fn ensure_idle(&self, limit: Duration) -> Result<(), ClientError> {
        let mut messages = self.subscribe();
        let status = self.get_status().await?;
        let Some(workflow) = status.workflow else {
            return Ok(());
        };
        tracing::warn!(%workflow, "cancelling a workflow left over in AusweisApp");
        self.send(Command::Cancel).await?;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(ClientError::Timeout {
                    command: "CANCEL",
                    after: limit,
                });
            }
            match messages.next(left).await? {
                Message::Auth(auth) if auth.is_final() => return Ok(()),
                Message::ChangePin(change) if change.success.is_some() => return Ok(()),
                Message::BadState(error) if error.error.as_deref() == Some("CANCEL") => {
                    return Ok(());
                }
                _ => {}
            }
        }
    }
}

/// The HTTP status AusweisApp answers a WebSocket handshake with (read by hand).
async fn probe_status(address: &str, limit: Duration) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let probe = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        let request = format!(
            "GET {PATH} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 64];
        let mut read = 0;
        while read < head.len() && !head[..read].contains(&b'\n') {
            let n = stream.read(&mut head[read..]).await.ok()?;
            if n == 0 {
                break;
            }
            read += n;
        }
        let line = std::str::from_utf8(&head[..read]).ok()?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(limit, probe).await.ok().flatten()
}

fn unexpected(command: &'static str, answer: &Message) -> ClientError {
    match answer {
        Message::BadState(_)
        | Message::UnknownCommand(_)
        | Message::Invalid(_)
        | Message::InternalError(_) => ClientError::Refused {
            command,
            answer: answer.name().to_owned(),
        },
        _ => ClientError::Unexpected {
            command,
            answer: answer.name().to_owned(),
        },
    }
}

/// Every message from AusweisApp, in order, from the moment of subscribing.
#[derive(Debug)]
pub struct Messages {
    receiver: broadcast::Receiver<Message>,
    closed: watch::Receiver<bool>,
}

impl Messages {
    /// The next message, waiting at most `limit`. Messages that arrived before the
    /// connection closed are still delivered; after them comes
    /// [`ClientError::Disconnected`].
    pub async fn next(&mut self, limit: Duration) -> Result<Message, ClientError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match self.receiver.try_recv() {
                Ok(message) => return Ok(message),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    return Err(ClientError::Missed(missed));
                }
                Err(broadcast::error::TryRecvError::Closed) => {
                    return Err(ClientError::Disconnected);
                }
                Err(broadcast::error::TryRecvError::Empty) => {}
            }
            if *self.closed.borrow() {
                return Err(ClientError::Disconnected);
            }
            tokio::select! {
                biased;
                received = self.receiver.recv() => match received {
                    Ok(message) => return Ok(message),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        return Err(ClientError::Missed(missed));
                    }
                    Err(broadcast::error::RecvError::Closed) => return Err(ClientError::Disconnected),
                },
                // Loop to drain what arrived before the close.
                _ = self.closed.changed() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(ClientError::Timeout { command: "message", after: limit });
                }
            }
        }
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The connection task: writes commands, reads messages, matches replies.
async fn run(
    mut socket: Socket,
    mut commands: mpsc::Receiver<Outgoing>,
    mut close: watch::Receiver<bool>,
    messages: broadcast::Sender<Message>,
    closed: watch::Sender<bool>,
    config: ClientConfig,
) {
    let mut pending: Vec<Pending> = Vec::new();
    let mut heartbeat = tokio::time::interval(config.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > config.heartbeat * 2 {
                    tracing::warn!("AusweisApp stopped answering (no pong); closing");
                    break;
                }
                let ping = tokio::time::timeout(config.request_timeout, socket.send(Frame::Ping(Bytes::new())));
                if !matches!(ping.await, Ok(Ok(()))) {
                    tracing::warn!("pinging AusweisApp failed; closing");
                    break;
                }
            }
            // The flag only ever turns true; an error means every handle is gone.
            _ = close.changed() => {
                let _ = tokio::time::timeout(config.request_timeout, socket.close(None)).await;
                break;
            }
            outgoing = commands.recv() => {
                let Some(outgoing) = outgoing else {
                    // Every client handle is gone: close politely.
                    let _ = tokio::time::timeout(config.request_timeout, socket.close(None)).await;
                    break;
                };
                let name = outgoing.command.name();
                let result = write(&mut socket, &outgoing.command, config.request_timeout).await;
                let failed = result.is_err();
                if let (Ok(()), Some(reply)) = (&result, outgoing.reply) {
                    pending.push(Pending { command: outgoing.command, reply });
                }
                let _ = outgoing.written.send(result);
                if failed {
                    tracing::warn!(command = name, "writing to AusweisApp failed; closing");
                    break;
                }
            }
            frame = socket.next() => match frame {
                Some(Ok(Frame::Text(text))) => {
                    last_heard = tokio::time::Instant::now();
                    match Message::parse(text.as_str()) {
                        Ok(message) => deliver(message, &mut pending, &messages),
                        Err(error) => tracing::warn!(%error, "unreadable message from AusweisApp dropped"),
                    }
                }
                Some(Ok(Frame::Close(_))) | None => {
                    tracing::info!("AusweisApp closed the connection");
                    break;
                }
                // Pongs (and pings, which tungstenite answers) show AusweisApp is alive.
                Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
                Some(Err(error)) => {
                    tracing::warn!(error = %error, "connection to AusweisApp failed");
                    break;
                }
            },
        }
    }
    // Dropping the pending replies wakes their waiters with "disconnected".
    drop(pending);
    let _ = closed.send(true);
}

/// Writes one command. A command with a secret goes out from a zeroising buffer and is
/// followed by a ping of the same length that overwrites the write buffer's copy.
async fn write(socket: &mut Socket, command: &Command, limit: Duration) -> Result<(), ClientError> {
    let name = command.name();
    let json: Zeroizing<Vec<u8>> = command
        .to_json()
        .map_err(|_| ClientError::Serialise(name))?;
    let length = json.len();
    let payload =
        Utf8Bytes::try_from(Bytes::from_owner(json)).map_err(|_| ClientError::Serialise(name))?;
    tracing::trace!(command = name, "sending command to AusweisApp");
    let mut frames = vec![Frame::Text(payload)];
    if command.carries_secret() {
        // Control frames carry at most 125 bytes; a SET_* command is far shorter.
        frames.push(Frame::Ping(Bytes::from(vec![0u8; length.min(125)])));
    }
    let sending = async {
        for frame in frames {
            socket.send(frame).await?;
        }
        Ok::<(), tungstenite::Error>(())
    };
    match tokio::time::timeout(limit, sending).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(ClientError::Disconnected),
        Err(_) => Err(ClientError::Timeout {
            command: name,
            after: limit,
        }),
    }
}

/// Resolves the request `message` answers, if any, and broadcasts it.
fn deliver(message: Message, pending: &mut Vec<Pending>, messages: &broadcast::Sender<Message>) {
    let unknown = message.unknown_fields();
    if !unknown.is_empty() {
        tracing::debug!(msg = message.name(), fields = ?unknown, "message has fields this client does not know");
    }
    if let Message::Unknown(unknown) = &message {
        tracing::info!(msg = %unknown.msg, fields = ?unknown.fields, "message type this client does not know");
    } else {
        tracing::trace!(msg = message.name(), "message from AusweisApp");
    }
    // Requests whose waiter gave up (time-out) must not catch a later message.
    pending.retain(|request| !request.reply.is_closed());
    if let Some(index) = pending
        .iter()
        .position(|request| answers(&request.command, &message))
    {
        let request = pending.remove(index);
        let _ = request.reply.send(message.clone());
    }
    // No subscriber is fine: then nobody is interested.
    let _ = messages.send(message);
}

/// Whether `message` is the direct reply to `command`.
fn answers(command: &Command, message: &Message) -> bool {
    if let Some(rejected) = message.rejected_command() {
        return rejected == command.name();
    }
    match (command, message) {
        (_, Message::Invalid(_) | Message::InternalError(_)) => true,
        (Command::GetInfo, Message::Info(_))
        | (Command::GetStatus, Message::Status(_))
        | (Command::GetApiLevel | Command::SetApiLevel { .. }, Message::ApiLevel(_))
        | (Command::GetReaderList, Message::ReaderList(_))
        | (Command::RunAuth(_), Message::Auth(_))
        | (Command::RunChangePin(_), Message::ChangePin(_))
        | (Command::GetAccessRights | Command::SetAccessRights { .. }, Message::AccessRights(_))
        | (Command::GetCertificate, Message::Certificate(_)) => true,
        (Command::GetReader { name }, Message::Reader(reader)) => reader.name == *name,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Message {
        Message::parse(text).unwrap()
    }

    #[test]
    fn replies_are_matched_by_type_and_rejections_by_name() {
        assert!(answers(
            &Command::GetInfo,
            &parse(r#"{"msg":"INFO","VersionInfo":{}}"#)
        ));
        assert!(!answers(&Command::GetInfo, &parse(r#"{"msg":"STATUS"}"#)));
        assert!(answers(
            &Command::GetReader { name: "A".into() },
            &parse(r#"{"msg":"READER","name":"A","attached":true}"#)
        ));
        assert!(!answers(
            &Command::GetReader { name: "A".into() },
            &parse(r#"{"msg":"READER","name":"B","attached":true}"#)
        ));
        assert!(answers(
            &Command::GetCertificate,
            &parse(r#"{"msg":"BAD_STATE","error":"GET_CERTIFICATE"}"#)
        ));
        assert!(!answers(
            &Command::GetInfo,
            &parse(r#"{"msg":"BAD_STATE","error":"CANCEL"}"#)
        ));
        assert!(answers(
            &Command::GetStatus,
            &parse(r#"{"msg":"UNKNOWN_COMMAND","error":"GET_STATUS"}"#)
        ));
    }
}
