//! The reference receiver's injected resets are real TCP resets: the client
//! sees `ECONNRESET`, not an orderly end of stream, before and after commit.

use std::io::ErrorKind;
use std::time::Duration;

use std::io::{Read, Write};

use offline_cache_receiver::{Fault, ReceiverConfig, ReferenceReceiver};

/// Sends one submission request by hand (a plain socket, so nothing between
/// the test and the kernel hides the error) and returns what reading the answer gave.
async fn post_and_read(addr: std::net::SocketAddr, id: uuid::Uuid) -> std::io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || post_and_read_blocking(addr, id))
        .await
        .expect("the client thread")
}

fn post_and_read_blocking(addr: std::net::SocketAddr, id: uuid::Uuid) -> std::io::Result<Vec<u8>> {
    let body = serde_json::json!({
        "id": id,
        "reference": "GE-K27-22222-2",
        "serviceId": "dog-tax",
        "serviceVersion": 1,
        "createdAt": "2026-11-24T10:00:00Z",
        "encryptedData": "not checked before the fault",
    })
    .to_string();
    let request = format!(
        "POST /v1/submissions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Idempotency-Key: {id}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(addr)?;
    // Bounded: the server answers and closes (`Connection: close`) or resets.
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_resets_reach_the_client_as_connection_resets() {
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        check_content: false,
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();

    receiver.push_faults([Fault::ResetBeforeCommit]);
    let before = post_and_read(receiver.addr(), uuid::Uuid::new_v4()).await;
    assert_eq!(
        before.as_ref().map_err(std::io::Error::kind).err(),
        Some(ErrorKind::ConnectionReset),
        "{before:?}"
    );
    assert_eq!(
        receiver.received_count(),
        0,
        "stored although reset before commit"
    );

    receiver.push_faults([Fault::ResetAfterCommit]);
    let id = uuid::Uuid::new_v4();
    let after = post_and_read(receiver.addr(), id).await;
    assert_eq!(
        after.as_ref().map_err(std::io::Error::kind).err(),
        Some(ErrorKind::ConnectionReset),
        "{after:?}"
    );
    let received = receiver.received();
    assert_eq!(received.len(), 1, "the commit before the reset is kept");
    assert_eq!(received[0].id, id);

    // Without a fault the same connection handling answers normally.
    let answer = post_and_read(receiver.addr(), id).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 20"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(receiver.stats().replays, 1);
}
