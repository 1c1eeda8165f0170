//! Sample receipts in the five shipped languages (a "Meldebescheinigung" request with
//! reference `GE-K07-4F7Q-9X`), for previews, tests, the benchmark and the demo.
//!
//! The texts are this crate's own sample wording; the real wording comes from the catalogue.

use crate::model::{Logo, Receipt, SummaryLine, TextDirection};

/// The reference used by every sample.
pub const SAMPLE_REFERENCE: &str = "GE-K07-4F7Q-9X";

/// The QR payload of every sample (an illustrative status URL carrying the reference).
pub const SAMPLE_QR_PAYLOAD: &str =
    "https://buergerservice.gelsenkirchen.de/vorgang/GE-K07-4F7Q-9X";

/// Languages the samples exist in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleLanguage {
    /// Deutsch.
    German,
    /// English.
    English,
    /// Türkçe.
    Turkish,
    /// العربية.
    Arabic,
    /// Українська.
    Ukrainian,
}

impl SampleLanguage {
    /// All shipped languages.
    pub const ALL: [SampleLanguage; 5] = [
        SampleLanguage::German,
        SampleLanguage::English,
        SampleLanguage::Turkish,
        SampleLanguage::Arabic,
        SampleLanguage::Ukrainian,
    ];

    /// BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            SampleLanguage::German => "de",
            SampleLanguage::English => "en",
            SampleLanguage::Turkish => "tr",
            SampleLanguage::Arabic => "ar",
            SampleLanguage::Ukrainian => "uk",
        }
    }

    /// The sample receipt in this language, without logo.
    pub fn receipt(self) -> Receipt {
        let texts = self.texts();
        Receipt {
            language_tag: self.tag().to_owned(),
            direction: if self == SampleLanguage::Arabic {
                TextDirection::RightToLeft
            } else {
                TextDirection::LeftToRight
            },
            logo: None,
            office: vec![
                "Stadt Gelsenkirchen".to_owned(),
                "Bürgeramt Buer".to_owned(),
                "Goldbergstraße 12, 45894 Gelsenkirchen".to_owned(),
            ],
            service_title: texts.title.to_owned(),
            issued: SummaryLine::new(texts.date, "24.11.2026 10:42"),
            reference: SummaryLine::new(texts.reference, SAMPLE_REFERENCE),
            summary: texts
                .summary
                .iter()
                .map(|(label, value)| SummaryLine::new(*label, *value))
                .collect(),
            qr_payload: Some(SAMPLE_QR_PAYLOAD.to_owned()),
            qr_caption: Some(texts.qr_caption.to_owned()),
            next_steps_title: texts.next_title.to_owned(),
            next_steps: texts.next.iter().map(|text| (*text).to_owned()).collect(),
        }
    }

    /// The sample receipt with the sample logo.
    pub fn receipt_with_logo(self) -> Receipt {
        Receipt {
            logo: Some(sample_logo()),
            ..self.receipt()
        }
    }

    fn texts(self) -> Texts {
        match self {
            SampleLanguage::German => Texts {
                title: "Meldebescheinigung",
                date: "Datum",
                reference: "Vorgangsnummer",
                summary: &[
                    ("Leistung", "Meldebescheinigung (einfach)"),
                    ("Gebühr", "10,00 €"),
                    ("Zustellung", "per Post"),
                ],
                qr_caption: "Status online prüfen",
                next_title: "So geht es weiter",
                next: &[
                    "Die Meldebescheinigung wird innerhalb von drei Werktagen erstellt und Ihnen \
                     per Post zugesandt.",
                    "Bei Fragen nennen Sie bitte die Vorgangsnummer. Telefon: 0209 169-0",
                ],
            },
            SampleLanguage::English => Texts {
                title: "Residence certificate",
                date: "Date",
                reference: "Reference",
                summary: &[
                    ("Service", "Meldebescheinigung (simple)"),
                    ("Fee", "€10.00"),
                    ("Delivery", "by post"),
                ],
                qr_caption: "Check the status online",
                next_title: "What happens next",
                next: &[
                    "Your residence certificate will be prepared within three working days and \
                     sent to you by post.",
                    "If you have questions, please quote the reference. Phone: 0209 169-0",
                ],
            },
            SampleLanguage::Turkish => Texts {
                title: "İkamet belgesi",
                date: "Tarih",
                reference: "İşlem numarası",
                summary: &[
                    ("Hizmet", "Meldebescheinigung (basit)"),
                    ("Ücret", "10,00 €"),
                    ("Teslimat", "posta ile"),
                ],
                qr_caption: "Durumu çevrimiçi kontrol edin",
                next_title: "Bundan sonra ne olacak",
                next: &[
                    "İkamet belgeniz üç iş günü içinde hazırlanacak ve size posta ile \
                     gönderilecektir.",
                    "Sorularınız için lütfen işlem numarasını belirtin. Telefon: 0209 169-0",
                ],
            },
            SampleLanguage::Arabic => Texts {
                title: "شهادة التسجيل",
                date: "التاريخ",
                reference: "رقم المعاملة",
                summary: &[
                    ("الخدمة", "Meldebescheinigung"),
                    ("الرسوم", "10,00 €"),
                    ("التسليم", "بالبريد"),
                ],
                qr_caption: "تحقق من حالة الطلب عبر الإنترنت",
                next_title: "ماذا يحدث بعد ذلك",
                next: &[
                    "سيتم إعداد شهادة التسجيل خلال ثلاثة أيام عمل وإرسالها إليك بالبريد.",
                    "إذا كانت لديك أسئلة، يرجى ذكر رقم المعاملة. الهاتف: 02091690",
                ],
            },
            SampleLanguage::Ukrainian => Texts {
                title: "Довідка про реєстрацію",
                date: "Дата",
                reference: "Номер звернення",
                summary: &[
                    ("Послуга", "Meldebescheinigung (проста)"),
                    ("Збір", "10,00 €"),
                    ("Доставка", "поштою"),
                ],
                qr_caption: "Перевірте статус онлайн",
                next_title: "Що буде далі",
                next: &[
                    "Довідку буде підготовлено протягом трьох робочих днів і надіслано вам \
                     поштою.",
                    "Якщо у вас є питання, назвіть, будь ласка, номер звернення. Телефон: 0209 \
                     169-0",
                ],
            },
        }
    }
}

struct Texts {
    title: &'static str,
    date: &'static str,
    reference: &'static str,
    summary: &'static [(&'static str, &'static str)],
    qr_caption: &'static str,
    next_title: &'static str,
    next: &'static [&'static str],
}

/// A generated greyscale PNG standing in for an office logo (a shaded disc and bar), so the
/// dithering shows in previews without shipping a real coat of arms.
pub fn sample_logo() -> Logo {
    let (width, height) = (360u32, 120u32);
    let image = image::GrayImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f32 - 60.0, y as f32 - 60.0);
        let distance = (dx * dx + dy * dy).sqrt();
        let value = if distance < 52.0 {
            // A shaded disc: dark at the rim, light in the middle.
            (60.0 + 140.0 * (1.0 - distance / 52.0)) as u8
        } else if (130..=350).contains(&x) && (40..=80).contains(&y) {
            // A bar fading from black to light grey.
            (f32::from(u16::try_from(x - 130).unwrap_or(0)) / 220.0 * 200.0) as u8
        } else {
            255
        };
        image::Luma([value])
    });
    let mut png = Vec::new();
    // Encoding into memory cannot fail for a valid greyscale image.
    let _ = image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png);
    Logo {
        png,
        width_percent: 60,
    }
}
