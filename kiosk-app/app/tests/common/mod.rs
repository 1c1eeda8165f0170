//! Shared by the test binaries that drive a windowless kiosk.

#![allow(dead_code)]

use kiosk_app::kiosk::{Happened, Kiosk};
use kiosk_catalogue::Language;
use kiosk_journey::{Event, IdentifyChoice, Step};

/// A German citizen types everything in for `service`, ticks every consent
/// and submits; what the kiosk did on submitting.
pub async fn submit(kiosk: &mut Kiosk, service: &str) -> Vec<Happened> {
    kiosk.dispatch(Event::Start).await;
    kiosk
        .dispatch(Event::ChooseLanguage(Language::german()))
        .await;
    kiosk.dispatch(Event::ChooseService(service.into())).await;
    if matches!(kiosk.journey().step(), Step::Identify(_)) {
        kiosk
            .dispatch(Event::ChooseIdentification(IdentifyChoice::TypeItIn))
            .await;
    }
    let definition = kiosk.journey().service().expect("a service").clone();
    for _ in 0..definition.pages.len() {
        if !matches!(kiosk.journey().step(), Step::Form { .. }) {
            break;
        }
        kiosk.answer_page_with_samples(&[]).await;
        kiosk.dispatch(Event::Next).await;
    }
    kiosk.dispatch(Event::Next).await;
    for consent in &definition.consents {
        kiosk
            .dispatch(Event::SetConsent {
                id: consent.id.clone(),
                given: true,
            })
            .await;
    }
    kiosk.dispatch(Event::Next).await
}

/// The reference of the saved application among `happened`.
pub fn saved_reference(happened: &[Happened]) -> Option<String> {
    happened.iter().find_map(|h| match h {
        Happened::Saved { reference, .. } => Some(reference.clone()),
        _ => None,
    })
}
