//! Runs the reference receiver for a demo: `cargo run -p offline-cache-receiver --example serve [ADDR]`.
//!
//! Listens on ADDR (default 127.0.0.1:8088) with the TEST ONLY key pair and
//! prints each stored submission (id, reference, service; never the answers).
//! Point the kiosk's `HttpTransportConfig::new("http://127.0.0.1:8088")` at it and
//! give it `test_keys::PUBLIC_KEY_PEM` as the recipient key. Stop with Ctrl+C.

use std::net::SocketAddr;
use std::time::Duration;

use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver};

#[tokio::main]
async fn main() {
    let bind: SocketAddr = match std::env::args().nth(1).map(|a| a.parse()) {
        None => SocketAddr::from(([127, 0, 0, 1], 8088)),
        Some(Ok(addr)) => addr,
        Some(Err(e)) => {
            eprintln!("usage: serve [ADDR like 127.0.0.1:8088]: {e}");
            std::process::exit(2);
        }
    };
    let receiver = match ReferenceReceiver::start(ReceiverConfig {
        bind,
        ..ReceiverConfig::with_test_key()
    })
    .await
    {
        Ok(receiver) => receiver,
        Err(e) => {
            eprintln!("cannot start the receiver: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "reference receiver (TEST KEYS ONLY) at {}/v1/submissions",
        receiver.base_url()
    );
    let mut shown = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let received = receiver.received();
        for submission in &received[shown..] {
            println!(
                "stored {} {} {} v{} -> {}",
                submission.id,
                submission.reference,
                submission.service_id,
                submission.service_version,
                submission.server_reference
            );
        }
        shown = received.len();
    }
}
