//! The shutdown coordinator: holds delay the end of shutdown, for a bounded time.
//! Time is paused, so waits of seconds take no real time and are exact.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kiosk_ops::{Drained, Shutdown, ShuttingDown};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn finish_waits_for_an_in_flight_submission() {
    let shutdown = Shutdown::new();
    let hold = shutdown.hold("outbox submission").unwrap();
    assert_eq!(shutdown.in_flight(), 1);
    let committed = Arc::new(AtomicBool::new(false));
    let submission = {
        let committed = Arc::clone(&committed);
        tokio::spawn(async move {
            // The commit takes a while (fsync); the hold ends when it is done.
            tokio::time::sleep(Duration::from_secs(3)).await;
            committed.store(true, Ordering::SeqCst);
            drop(hold);
        })
    };
    let started = tokio::time::Instant::now();
    assert_eq!(
        shutdown.finish(Duration::from_secs(20)).await,
        Drained::Complete
    );
    assert!(
        committed.load(Ordering::SeqCst),
        "finish returned before the commit"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not wait for the bound"
    );
    assert_eq!(shutdown.in_flight(), 0);
    submission.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn finish_gives_up_after_the_maximum_wait_and_names_what_was_left() {
    let shutdown = Shutdown::new();
    let _stuck = shutdown.hold("outbox submission").unwrap();
    let _other = shutdown.hold("receipt print").unwrap();
    let outcome = tokio::time::timeout(WAIT, shutdown.finish(Duration::from_secs(5)))
        .await
        .expect("finish is bounded");
    assert_eq!(
        outcome,
        Drained::TimedOut {
            outstanding: vec!["outbox submission", "receipt print"]
        }
    );
}

#[tokio::test(start_paused = true)]
async fn no_new_work_starts_once_shutdown_began() {
    let shutdown = Shutdown::new();
    assert!(!shutdown.is_triggered());
    shutdown.trigger();
    shutdown.trigger();
    assert!(shutdown.is_triggered());
    let refused = shutdown.hold("outbox submission").unwrap_err();
    assert_eq!(refused, ShuttingDown("outbox submission"));
    assert_eq!(
        refused.to_string(),
        "the kiosk is shutting down: outbox submission cannot start now"
    );
    assert_eq!(
        shutdown.finish(Duration::from_secs(5)).await,
        Drained::Complete
    );
}

#[tokio::test(start_paused = true)]
async fn every_task_sees_the_trigger() {
    let shutdown = Shutdown::new();
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let triggered = shutdown.triggered();
            tokio::spawn(triggered)
        })
        .collect();
    // A task that subscribes after the trigger sees it too.
    shutdown.trigger();
    let late = tokio::spawn(shutdown.triggered());
    for task in tasks.into_iter().chain([late]) {
        tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn holds_taken_and_dropped_before_shutdown_do_not_count() {
    let shutdown = Shutdown::new();
    for _ in 0..5 {
        let hold = shutdown.hold("outbox submission").unwrap();
        drop(hold);
    }
    assert_eq!(shutdown.in_flight(), 0);
    let clone = shutdown.clone();
    let guard = clone.hold("receipt print").unwrap();
    assert_eq!(
        format!("{guard:?}"),
        "HoldGuard { what: \"receipt print\" }"
    );
    assert_eq!(shutdown.in_flight(), 1);
    drop(guard);
    assert_eq!(
        shutdown.finish(Duration::from_secs(1)).await,
        Drained::Complete
    );
}
