//! The client's reply matching, time-outs and disconnects against a scripted WebSocket
//! server on 127.0.0.1 (for the cases the real AusweisApp cannot be made to produce),
//! and the supervisor's problems without AusweisApp.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kiosk_eid::protocol::{Command, Message};
use kiosk_eid::{
    ClientConfig, ClientError, Connection, EidClient, Launch, StatusProblem, Supervisor,
    SupervisorConfig,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;

const CONFIG: ClientConfig = ClientConfig {
    connect_timeout: Duration::from_secs(5),
    request_timeout: Duration::from_millis(500),
    heartbeat: Duration::from_secs(15),
};

/// A server that hands every received text to the test and sends what the test says.
async fn scripted() -> (u16, mpsc::Receiver<String>, mpsc::Sender<Option<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (received_tx, received) = mpsc::channel(16);
    let (send, mut to_send) = mpsc::channel::<Option<String>>(16);
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        loop {
            tokio::select! {
                frame = socket.next() => match frame {
                    Some(Ok(Frame::Text(text))) => {
                        let _ = received_tx.send(text.to_string()).await;
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
                text = to_send.recv() => match text {
                    Some(Some(text)) => socket.send(Frame::text(text)).await.unwrap(),
                    // `None`: close the connection.
                    _ => {
                        let _ = socket.close(None).await;
                        return;
                    }
                },
            }
        }
    });
    (port, received, send)
}

#[tokio::test]
async fn a_late_reply_after_a_time_out_is_not_taken_for_the_next_request() {
    let (port, mut received, send) = scripted().await;
    let client = EidClient::connect("127.0.0.1", port, CONFIG).await.unwrap();
    let mut messages = client.subscribe();

    let timed_out = client.get_info().await;
    assert!(
        matches!(
            timed_out,
            Err(ClientError::Timeout {
                command: "GET_INFO",
                ..
            })
        ),
        "{timed_out:?}"
    );
    assert_eq!(received.recv().await.unwrap(), r#"{"cmd":"GET_INFO"}"#);

    // The late INFO must not answer the next request; the next STATUS does.
    let status = tokio::spawn({
        let client = client.clone();
        async move { client.get_status().await }
    });
    assert_eq!(received.recv().await.unwrap(), r#"{"cmd":"GET_STATUS"}"#);
    send.send(Some(r#"{"msg":"INFO","VersionInfo":{}}"#.into()))
        .await
        .unwrap();
    send.send(Some(
        r#"{"msg":"READER","name":"R","attached":true}"#.into(),
    ))
    .await
    .unwrap();
    send.send(Some(r#"{"msg":"STATUS","workflow":null}"#.into()))
        .await
        .unwrap();
    let status = status.await.unwrap().expect("STATUS");
    assert_eq!(status.workflow, None);

    // Every message reaches subscribers, replies included, in order.
    let mut names = Vec::new();
    for _ in 0..3 {
        names.push(
            messages
                .next(CONFIG.request_timeout)
                .await
                .unwrap()
                .name()
                .to_owned(),
        );
    }
    assert_eq!(names, ["INFO", "READER", "STATUS"]);
}

#[tokio::test]
async fn refusals_come_back_as_errors_naming_the_command() {
    let (port, mut received, send) = scripted().await;
    let client = EidClient::connect("127.0.0.1", port, CONFIG).await.unwrap();
    let reply = tokio::spawn({
        let client = client.clone();
        async move { client.get_reader_list().await }
    });
    received.recv().await.unwrap();
    // A BAD_STATE for another command does not answer this one.
    send.send(Some(r#"{"msg":"BAD_STATE","error":"CANCEL"}"#.into()))
        .await
        .unwrap();
    send.send(Some(
        r#"{"msg":"BAD_STATE","error":"GET_READER_LIST"}"#.into(),
    ))
    .await
    .unwrap();
    let refused = reply.await.unwrap();
    assert!(
        matches!(&refused, Err(ClientError::Refused { command: "GET_READER_LIST", answer }) if answer == "BAD_STATE"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_closed_connection_delivers_what_came_before_and_then_disconnected() {
    let (port, mut received, send) = scripted().await;
    let client = EidClient::connect("127.0.0.1", port, CONFIG).await.unwrap();
    let mut messages = client.subscribe();
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.request(Command::GetCertificate).await }
    });
    received.recv().await.unwrap();
    send.send(Some(
        r#"{"msg":"STATUS","workflow":"AUTH","progress":10}"#.into(),
    ))
    .await
    .unwrap();
    send.send(None).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .expect("closed");
    assert!(client.is_closed());
    assert!(matches!(
        messages.next(CONFIG.request_timeout).await,
        Ok(Message::Status(_))
    ));
    assert!(matches!(
        messages.next(CONFIG.request_timeout).await,
        Err(ClientError::Disconnected)
    ));
    assert!(matches!(
        pending.await.unwrap(),
        Err(ClientError::Disconnected)
    ));
    assert!(matches!(
        client.send(Command::Cancel).await,
        Err(ClientError::Disconnected)
    ));
}

#[tokio::test]
async fn unreadable_and_unknown_messages_do_not_break_the_connection() {
    let (port, mut received, send) = scripted().await;
    let client = EidClient::connect("127.0.0.1", port, CONFIG).await.unwrap();
    let mut messages = client.subscribe();
    for text in [
        "not json",
        r#"{"no":"msg"}"#,
        r#"{"msg":"READER","attached":"wrong type"}"#,
        r#"{"msg":"PAUSE","cause":"BadCardPosition"}"#,
    ] {
        send.send(Some(text.into())).await.unwrap();
    }
    let message = messages.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(message.name(), "PAUSE");
    let info = tokio::spawn({
        let client = client.clone();
        async move { client.get_info().await }
    });
    received.recv().await.unwrap();
    send.send(Some(
        r#"{"msg":"INFO","VersionInfo":{"Implementation-Version":"9.9.9"}}"#.into(),
    ))
    .await
    .unwrap();
    let info = info.await.unwrap().unwrap();
    assert_eq!(
        info.version_info.implementation_version.as_deref(),
        Some("9.9.9")
    );
}

#[tokio::test]
async fn a_server_that_stops_answering_pings_is_taken_for_hung() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (hold, mut held) = mpsc::channel(1);
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        // Never read again (so no pong), but keep the connection open.
        let _ = hold.send(socket).await;
    });
    let config = ClientConfig {
        heartbeat: Duration::from_millis(100),
        ..CONFIG
    };
    let client = EidClient::connect("127.0.0.1", port, config).await.unwrap();
    let _socket = held.recv().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .expect("a silent AusweisApp is given up");
    assert!(matches!(
        client.get_info().await,
        Err(ClientError::Disconnected)
    ));
}

#[tokio::test]
async fn connecting_to_nothing_says_so() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = EidClient::connect("127.0.0.1", port, CONFIG)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::NotListening { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("start AusweisApp"));
}

#[tokio::test]
async fn supervisor_reports_a_missing_binary_and_nothing_running() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let cases = [
        (
            Launch::Binary("/nonexistent/AusweisApp2".into()),
            StatusProblem::BinaryMissing,
        ),
        (Launch::Never, StatusProblem::NotRunning),
    ];
    for (launch, problem) in cases {
        let supervisor = Supervisor::start(SupervisorConfig {
            port,
            launch,
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(100),
            ..SupervisorConfig::default()
        });
        let status = supervisor
            .wait_for_status(Duration::from_secs(5), |s| s.problem.is_some())
            .await
            .expect("a problem is reported");
        assert_eq!(status.problem, Some(problem));
        assert_eq!(status.connection, Connection::Starting);
        assert!(!status.conditions(true).eid_client);
        assert!(supervisor.client(Duration::from_millis(50)).await.is_none());
        let watch = supervisor.watch_status();
        supervisor.stop().await;
        assert_eq!(watch.borrow().connection, Connection::Stopped);
    }
}
