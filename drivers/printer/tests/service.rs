//! The printer service polls the status between jobs and publishes it.

mod common;

use std::time::Duration;

use common::driver_for;
use kiosk_printer::samples::SampleLanguage;
use kiosk_printer::service::{Observation, PrinterService};
use kiosk_printer::{
    Error, ErrorKind, PrintJob, PrinterProfile, StaffAlert, VirtualPrinter, VirtualState,
};

/// Waits (bounded) until the service publishes an observation matching `wanted`.
async fn wait_for<E: Error + Send + 'static>(
    service: &PrinterService<E>,
    wanted: impl Fn(&Observation) -> bool,
) -> Observation {
    let mut observations = service.observations();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let current = *observations.borrow_and_update();
        if wanted(&current) {
            return current;
        }
        match tokio::time::timeout_at(deadline, observations.changed()).await {
            Ok(Ok(())) => {}
            _ => return *observations.borrow(),
        }
    }
}

#[tokio::test]
async fn status_changes_are_seen_between_jobs_and_jobs_still_print() {
    let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    let driver = driver_for(&virtual_printer).await;
    let service = PrinterService::spawn(driver, Duration::from_millis(50));

    assert!(wait_for(&service, Observation::ready).await.ready());

    virtual_printer.set_state(VirtualState::PaperNearEnd);
    let seen = wait_for(&service, |o| o.staff_alert().is_some()).await;
    assert_eq!(seen.staff_alert(), Some(StaffAlert::PaperNearEnd));
    assert!(seen.ready(), "near end still prints");

    let job = PrintJob::build(
        &SampleLanguage::English.receipt(),
        &PrinterProfile::generic_80mm(),
    )
    .unwrap();
    let report = service.print(job.clone()).await.unwrap();
    assert_eq!(report.alert, Some(StaffAlert::PaperNearEnd));

    virtual_printer.set_state(VirtualState::PaperOut);
    let seen = wait_for(&service, |o| !o.ready()).await;
    assert!(!seen.ready());
    let error = service.print(job.clone()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PaperOut);

    virtual_printer.set_state(VirtualState::Mute);
    let seen = wait_for(&service, |o| *o == Observation::Failed(ErrorKind::Offline)).await;
    assert_eq!(seen, Observation::Failed(ErrorKind::Offline));

    let printed = virtual_printer
        .wait_for_receipts(1, Duration::from_secs(5))
        .await;
    assert_eq!(
        printed.len(),
        1,
        "only the job sent while paper was there printed"
    );
}
