//! The serial and device-file transports with real operating-system objects: a
//! pseudo-terminal pair stands in for the serial cable, a regular file for a device that
//! cannot answer.

mod common;

use std::time::Duration;

use common::test_timeouts;
use kiosk_printer::samples::SampleLanguage;
use kiosk_printer::transport::{open_device, open_serial};
use kiosk_printer::{
    Error, ErrorKind, EscPosPrinter, PrintJob, PrinterProfile, ReceiptPrinter, VirtualPrinter,
    VirtualState,
};

#[tokio::test]
async fn a_receipt_prints_over_a_serial_line() {
    let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    let (printer_end, kiosk_end) = tokio_serial::SerialStream::pair().expect("pseudo-terminal");
    let path = tokio_serial::SerialPort::name(&kiosk_end).expect("pty has a name");
    virtual_printer.serve_stream(printer_end);
    let transport = open_serial(&path, 38_400).unwrap();
    let mut driver = EscPosPrinter::new(transport, test_timeouts());
    let job = PrintJob::build(
        &SampleLanguage::Ukrainian.receipt(),
        &PrinterProfile::generic_58mm(),
    )
    .unwrap();
    driver.print(&job).await.unwrap();
    drop(driver);
    drop(kiosk_end);
    let printed = virtual_printer
        .wait_for_receipts(1, Duration::from_secs(10))
        .await;
    assert_eq!(printed.len(), 1);
    assert!(
        printed[0]
            .text_lines()
            .iter()
            .any(|line| line.contains("Довідка"))
    );
}

#[tokio::test]
async fn a_missing_serial_port_is_a_clear_error() {
    let error = open_serial("/dev/ttyNO-SUCH-PRINTER", 38_400).unwrap_err();
    assert!(
        error.to_string().contains("/dev/ttyNO-SUCH-PRINTER"),
        "{error}"
    );
}

#[tokio::test]
async fn a_device_that_cannot_answer_is_never_assumed_ready() {
    let path = std::env::temp_dir().join(format!("kiosk-printer-lp-{}", std::process::id()));
    std::fs::write(&path, b"").unwrap();
    let transport = open_device(&path).await.unwrap();
    let mut driver = EscPosPrinter::new(transport, test_timeouts());
    let job = PrintJob::build(
        &SampleLanguage::German.receipt(),
        &PrinterProfile::generic_80mm(),
    )
    .unwrap();
    let error = driver.print(&job).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Disconnected | ErrorKind::Offline),
        "{error}"
    );
    // Only the status request reached the "device", never the receipt.
    assert_eq!(std::fs::read(&path).unwrap(), vec![0x10, 0x04, 1]);
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn a_missing_usb_device_names_the_path_and_the_fix() {
    let error = open_device(std::path::Path::new("/dev/usb/lp-no-such"))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("/dev/usb/lp-no-such") && message.contains("group lp"),
        "{message}"
    );
}

#[tokio::test]
async fn a_usb_printer_that_is_not_connected_is_a_clear_error() {
    // 0xFFFF is not an assigned vendor id, so this device exists on no machine.
    let error = kiosk_printer::transport::open_usb(0xFFFF, 0x0001)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("usb://ffff:0001"), "{message}");
}
