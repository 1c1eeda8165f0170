//! Turns the journey's receipt content into the printer's receipt, with the
//! receipt's own texts (headings, captions) in the citizen's language.

use kiosk_catalogue::Language;
use kiosk_journey::ReceiptContent;
use kiosk_printer::{Receipt, SummaryLine, TextDirection};

/// The fixed texts of a receipt in one language.
struct ReceiptTexts {
    issued: &'static str,
    reference: &'static str,
    next_steps: &'static str,
    qr_caption: &'static str,
    queued: &'static str,
}

fn texts(language: &Language) -> ReceiptTexts {
    match language.code() {
        "en" => ReceiptTexts {
            issued: "Date",
            reference: "Reference",
            next_steps: "What happens next",
            qr_caption: "Your reference as a QR code",
            queued: "Your application is saved. The kiosk is offline at the moment and will send it automatically as soon as it is back online.",
        },
        "tr" => ReceiptTexts {
            issued: "Tarih",
            reference: "Referans",
            next_steps: "Bundan sonra ne olacak",
            qr_caption: "QR kod olarak referansınız",
            queued: "Başvurunuz kaydedildi. Terminal şu anda çevrimdışı; tekrar bağlandığında başvurunuzu otomatik olarak gönderecek.",
        },
        "ar" => ReceiptTexts {
            issued: "التاريخ",
            reference: "الرقم المرجعي",
            next_steps: "ماذا سيحدث بعد ذلك",
            qr_caption: "رقمك المرجعي كرمز QR",
            queued: "تم حفظ طلبك. الجهاز غير متصل بالإنترنت حاليًا، وسيرسل الطلب تلقائيًا فور عودة الاتصال.",
        },
        "uk" => ReceiptTexts {
            issued: "Дата",
            reference: "Номер заяви",
            next_steps: "Що буде далі",
            qr_caption: "Ваш номер заяви у вигляді QR-коду",
            queued: "Вашу заяву збережено. Термінал зараз не має зв’язку з мережею і надішле її автоматично, щойно зв’язок відновиться.",
        },
        _ => ReceiptTexts {
            issued: "Datum",
            reference: "Referenz",
            next_steps: "Wie geht es weiter?",
            qr_caption: "Ihre Referenz als QR-Code",
            queued: "Ihr Antrag ist gespeichert. Der Kiosk ist gerade offline und sendet ihn automatisch, sobald die Verbindung wieder besteht.",
        },
    }
}

/// The printer's receipt for a saved application.
pub fn printer_receipt(content: &ReceiptContent, office: &[String], issued: &str) -> Receipt {
    let texts = texts(&content.language);
    let mut next_steps = vec![content.next_steps.clone()];
    if content.queued_offline {
        next_steps.push(texts.queued.to_owned());
    }
    Receipt {
        language_tag: content.language.code().to_owned(),
        direction: if content.language.is_right_to_left() {
            TextDirection::RightToLeft
        } else {
            TextDirection::LeftToRight
        },
        logo: None,
        office: office.to_vec(),
        service_title: content.service_title.clone(),
        issued: SummaryLine::new(texts.issued, issued),
        reference: SummaryLine::new(texts.reference, &content.reference),
        summary: content
            .lines
            .iter()
            .map(|(label, value)| SummaryLine::new(label, value))
            .collect(),
        qr_payload: Some(content.reference.clone()),
        qr_caption: Some(texts.qr_caption.to_owned()),
        next_steps_title: texts.next_steps.to_owned(),
        next_steps,
    }
}
