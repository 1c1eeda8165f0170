//! Real SIGTERM and SIGINT sent to this test process by `kill`. This file holds
//! a single test, so no other test in the process receives the signals.

use std::time::Duration;

use kiosk_ops::{Shutdown, Signal, shutdown_signal};

const WAIT: Duration = Duration::from_secs(10);

fn send(signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(std::process::id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test]
async fn sigterm_triggers_shutdown_and_sigint_resolves_the_signal_future() {
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals().unwrap();
    let triggered = shutdown.triggered();
    send("TERM");
    tokio::time::timeout(WAIT, triggered)
        .await
        .expect("SIGTERM triggers shutdown");
    assert!(shutdown.is_triggered());

    let interrupted = shutdown_signal().unwrap();
    send("INT");
    let signal = tokio::time::timeout(WAIT, interrupted)
        .await
        .expect("SIGINT resolves the future");
    assert_eq!(signal, Signal::Interrupt);
    assert_eq!(signal.to_string(), "SIGINT");

    let terminated = shutdown_signal().unwrap();
    send("TERM");
    assert_eq!(
        tokio::time::timeout(WAIT, terminated).await.unwrap(),
        Signal::Terminate
    );
}
