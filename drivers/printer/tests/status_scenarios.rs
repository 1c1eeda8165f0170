//! Printer states through the real driver and the virtual printer: a job is only sent to a
//! printer that says it can print, silence is "offline", problems mid-job are reported.

mod common;

use std::time::{Duration, Instant};

use common::{driver_for, test_timeouts};
use kiosk_printer::samples::SampleLanguage;
use kiosk_printer::status::PaperLevel;
use kiosk_printer::transport::connect_tcp;
use kiosk_printer::{
    Error, ErrorKind, EscPosPrinter, PrintJob, PrinterError, PrinterProfile, ReceiptPrinter,
    StaffAlert, VirtualPrinter, VirtualState,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn job() -> PrintJob {
    PrintJob::build(
        &SampleLanguage::German.receipt_with_logo(),
        &PrinterProfile::generic_80mm(),
    )
    .unwrap()
}

#[tokio::test]
async fn paper_out_before_the_job_means_nothing_is_sent() {
    let virtual_printer = VirtualPrinter::start(VirtualState::PaperOut).await.unwrap();
    let mut driver = driver_for(&virtual_printer).await;
    let error = driver.print(&job()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PaperOut);
    assert!(matches!(error, PrinterError::NotReady { .. }), "{error}");
    // Even once paper is back, nothing of the refused job shows up.
    virtual_printer.set_state(VirtualState::Ready);
    drop(driver);
    let printed = virtual_printer
        .wait_for_receipts(1, Duration::from_millis(500))
        .await;
    assert!(printed.is_empty(), "{printed:?}");
}

#[tokio::test]
async fn cover_open_is_reported_before_the_job() {
    let virtual_printer = VirtualPrinter::start(VirtualState::CoverOpen)
        .await
        .unwrap();
    let mut driver = driver_for(&virtual_printer).await;
    let status = driver.status().await.unwrap();
    assert!(status.cover_open);
    let error = driver.print(&job()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CoverOpen);
}

#[tokio::test]
async fn cover_opened_mid_job_is_reported_and_the_receipt_is_incomplete() {
    let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    let job = job();
    assert!(job.bytes().len() > 4096, "the job spans several chunks");
    virtual_printer.set_state_after_bytes(2000, VirtualState::CoverOpen);
    let mut driver = driver_for(&virtual_printer).await;
    let error = driver.print(&job).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CoverOpen);
    match error {
        PrinterError::Interrupted {
            sent_bytes,
            total_bytes,
            ..
        } => assert!(sent_bytes < total_bytes, "{sent_bytes} of {total_bytes}"),
        other => panic!("expected an interrupted job, got {other}"),
    }
    drop(driver);
    let printed = virtual_printer
        .wait_for_receipts(1, Duration::from_secs(5))
        .await;
    assert_eq!(printed.len(), 1);
    // The printer stopped: the footer never came out and the paper was not cut.
    assert!(!printed[0].cut);
    assert!(
        !printed[0]
            .text_lines()
            .iter()
            .any(|line| line == "So geht es weiter")
    );
}

#[tokio::test]
async fn mute_printer_is_offline_within_the_time_out() {
    let virtual_printer = VirtualPrinter::start(VirtualState::Mute).await.unwrap();
    let mut driver = driver_for(&virtual_printer).await;
    let started = Instant::now();
    let error = driver.print(&job()).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(error.kind(), ErrorKind::Offline);
    assert!(matches!(error, PrinterError::NoAnswer { .. }), "{error}");
    assert!(error.to_string().contains("treated as offline"));
    // One unanswered status request, then the driver gives up (never "fail open").
    assert!(waited >= test_timeouts().status_answer);
    assert!(waited < test_timeouts().status_answer * 3, "{waited:?}");
}

#[tokio::test]
async fn paper_near_end_prints_and_raises_a_staff_alert() {
    let virtual_printer = VirtualPrinter::start(VirtualState::PaperNearEnd)
        .await
        .unwrap();
    let mut driver = driver_for(&virtual_printer).await;
    let report = driver.print(&job()).await.unwrap();
    assert_eq!(report.alert, Some(StaffAlert::PaperNearEnd));
    assert_eq!(report.status_after.paper, PaperLevel::NearEnd);
    let printed = virtual_printer
        .wait_for_receipts(1, Duration::from_secs(5))
        .await;
    assert!(printed[0].is_complete() && printed[0].cut);
}

#[tokio::test]
async fn paper_running_out_during_the_job_is_reported() {
    let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    virtual_printer.set_state_after_bytes(5000, VirtualState::PaperOut);
    let mut driver = driver_for(&virtual_printer).await;
    let error = driver.print(&job()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PaperOut);
    assert!(matches!(error, PrinterError::Interrupted { .. }));
}

#[tokio::test]
async fn a_closed_port_is_disconnected() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let error = connect_tcp(&address, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn a_printer_closing_the_connection_is_disconnected() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        drop(stream);
    });
    let transport = connect_tcp(&address, Duration::from_secs(1)).await.unwrap();
    let mut driver = EscPosPrinter::new(transport, test_timeouts());
    server.await.unwrap();
    let error = driver.status().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Disconnected, "{error}");
}

/// A device on port 9100 that answers status requests with bytes that are not status bytes.
#[tokio::test]
async fn garbage_status_answers_are_a_protocol_error_not_a_panic() {
    for garbage in [0xFFu8, 0x00, 0x80, 0x13, b'H'] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 3];
            if stream.read_exact(&mut request).await.is_ok() {
                let _ = stream.write_all(&[garbage]).await;
            }
            // Keep the connection open until the driver is done.
            let _ = stream.read(&mut request).await;
        });
        let transport = connect_tcp(&address, Duration::from_secs(1)).await.unwrap();
        let mut driver = EscPosPrinter::new(transport, test_timeouts());
        let error = driver.print(&job()).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
        assert!(
            error.to_string().contains(&format!("{garbage:#04x}")),
            "{error}"
        );
        drop(driver);
        server.await.unwrap();
    }
}
