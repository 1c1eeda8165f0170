//! Every shipped language, on every built-in profile, printed through the driver to the
//! virtual printer over TCP: the decoded text is the intended text, Arabic arrives as raster
//! lines (and never as UTF-8), the QR code decodes to the reference URL.

mod common;

use std::time::Duration;

use common::{decode_qr_codes, driver_for, stack, words};
use kiosk_printer::layout::{Block, layout};
use kiosk_printer::raster::shared_rasterizer;
use kiosk_printer::samples::{SAMPLE_QR_PAYLOAD, SampleLanguage};
use kiosk_printer::{
    PrintJob, PrinterProfile, Receipt, ReceiptPrinter, TextDirection, VirtualPrinter, VirtualState,
};

/// The receipt's texts in reading order, as the citizen should read them.
fn intended_texts(receipt: &Receipt) -> Vec<String> {
    let mut texts = receipt.office.clone();
    texts.push(receipt.service_title.clone());
    for line in [&receipt.issued, &receipt.reference]
        .into_iter()
        .chain(&receipt.summary)
    {
        texts.push(line.label.clone());
        texts.push(line.value.clone());
    }
    texts.extend(receipt.qr_caption.clone());
    texts.push(receipt.next_steps_title.clone());
    texts.extend(receipt.next_steps.clone());
    texts
}

fn is_rule(line: &str) -> bool {
    !line.is_empty() && line.chars().all(|character| character == '-')
}

/// UTF-8 of Arabic letters starts with 0xD8..=0xDB followed by a continuation byte.
fn contains_utf8_arabic(bytes: &[u8]) -> bool {
    bytes
        .windows(2)
        .any(|pair| (0xD8..=0xDB).contains(&pair[0]) && (0x80..=0xBF).contains(&pair[1]))
}

async fn round_trip(language: SampleLanguage, profile: &PrinterProfile) {
    let receipt = language.receipt();
    let blocks = layout(&receipt, profile, &mut shared_rasterizer()).expect("layout");
    let job = PrintJob::build(&receipt, profile).expect("encode");

    let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    let mut driver = driver_for(&virtual_printer).await;
    let report = driver.print(&job).await.expect("print");
    assert_eq!(report.alert, None);
    drop(driver);
    let printed = virtual_printer
        .wait_for_receipts(1, Duration::from_secs(10))
        .await;
    assert_eq!(printed.len(), 1, "{language:?} on {}", profile.name);
    let printed = &printed[0];
    let context = format!("{language:?} on {}", profile.name);

    assert!(
        printed.unknown_commands.is_empty(),
        "{context}: {:?}",
        printed.unknown_commands
    );
    assert_eq!(printed.undecodable_characters, 0, "{context}");
    assert!(printed.is_complete(), "{context}");
    assert_eq!(printed.cut, profile.cutter, "{context}");
    assert!(
        !contains_utf8_arabic(&printed.character_bytes),
        "{context}: UTF-8 was sent"
    );

    // The device text decodes to exactly the lines the layout made.
    let expected_lines: Vec<String> = blocks
        .iter()
        .filter_map(|block| match block {
            Block::Text(line) => Some(line.text.clone()),
            _ => None,
        })
        .collect();
    let decoded = printed.text_lines();
    assert_eq!(decoded, expected_lines, "{context}");

    // Raster lines arrive dot for dot as rendered.
    let expected_rasters: Vec<_> = blocks
        .iter()
        .filter_map(|block| match block {
            Block::RasterText(line) => Some(&line.bitmap),
            Block::Image(bitmap) => Some(bitmap),
            _ => None,
        })
        .collect();
    assert_eq!(
        stack(printed.rasters()),
        stack(expected_rasters),
        "{context}: raster data differs"
    );

    // Read together, device text and raster lines say exactly the intended text.
    let mut read: Vec<String> = Vec::new();
    for block in &blocks {
        match block {
            Block::Text(line) if !is_rule(&line.text) => read.extend(words(&line.text)),
            Block::RasterText(line) => read.extend(words(&line.text)),
            _ => {}
        }
    }
    let intended: Vec<String> = intended_texts(&receipt)
        .iter()
        .flat_map(|text| words(text))
        .collect();
    if receipt.direction == TextDirection::LeftToRight {
        // Everything in these languages is printed as device text: decoded == intended.
        let decoded_words: Vec<String> = decoded
            .iter()
            .filter(|line| !is_rule(line))
            .flat_map(|line| words(line))
            .collect();
        assert_eq!(decoded_words, intended, "{context}");
        assert!(
            printed.rasters().len() <= 2,
            "{context}: only QR bands may be raster"
        );
    } else {
        // Arabic: every Arabic text became raster lines; no Arabic reached the device font.
        assert_eq!(read, intended, "{context}");
        let raster_lines = blocks
            .iter()
            .filter(|block| matches!(block, Block::RasterText(_)))
            .count();
        assert!(raster_lines >= 10, "{context}: {raster_lines} raster lines");
        assert!(
            decoded
                .iter()
                .all(|line| !line.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)))
        );
        assert!(decoded.contains(&"Stadt Gelsenkirchen".to_owned()));
    }

    // The QR code on the rendered paper decodes to the reference URL.
    let png = printed.to_png(u32::from(profile.dots_per_line));
    assert_eq!(
        decode_qr_codes(&png),
        vec![SAMPLE_QR_PAYLOAD.to_owned()],
        "{context}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_round_trips_on_58mm() {
    for language in SampleLanguage::ALL {
        round_trip(language, &PrinterProfile::generic_58mm()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_round_trips_on_80mm() {
    for language in SampleLanguage::ALL {
        round_trip(language, &PrinterProfile::generic_80mm()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_round_trips_on_the_180_dpi_epson_profile() {
    for language in SampleLanguage::ALL {
        round_trip(language, &PrinterProfile::epson_tm_t88()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_scripts_switch_code_pages_mid_line() {
    use kiosk_printer::SummaryLine;
    let mut receipt = SampleLanguage::German.receipt();
    receipt.summary = vec![SummaryLine::new("Gebühr", "10 € — Київ, İzmir")];
    let profile = PrinterProfile::generic_80mm();
    let job = PrintJob::build(&receipt, &profile).unwrap();
    let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    let mut driver = driver_for(&virtual_printer).await;
    driver.print(&job).await.unwrap();
    let printed = virtual_printer
        .wait_for_receipts(1, Duration::from_secs(10))
        .await;
    let line = printed[0]
        .text_lines()
        .into_iter()
        .find(|line| line.starts_with("Gebühr"))
        .expect("fee line");
    assert!(line.ends_with("10 € — Київ, İzmir"), "{line}");
    // ESC t appears more than twice: start page plus switches inside the line.
    let switches = job
        .bytes()
        .windows(2)
        .filter(|pair| pair == b"\x1bt")
        .count();
    assert!(switches >= 3, "{switches} code page selections");
}

/// A name in a script none of the printer's pages has is printed as a raster line; the rest
/// of the receipt stays device text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_in_another_script_becomes_a_raster_line() {
    use kiosk_printer::SummaryLine;
    let mut receipt = SampleLanguage::German.receipt();
    receipt
        .summary
        .push(SummaryLine::new("Name", "Γιώργος Παπαδόπουλος"));
    let profile = PrinterProfile::generic_58mm();
    let blocks = layout(&receipt, &profile, &mut shared_rasterizer()).unwrap();
    let raster_texts: Vec<&str> = blocks
        .iter()
        .filter_map(|block| match block {
            Block::RasterText(line) => Some(line.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(raster_texts, vec!["Name Γιώργος Παπαδόπουλος"]);

    let job = PrintJob::build(&receipt, &profile).unwrap();
    let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    let mut driver = driver_for(&virtual_printer).await;
    driver.print(&job).await.unwrap();
    drop(driver);
    let printed = virtual_printer
        .wait_for_receipts(1, Duration::from_secs(10))
        .await;
    assert_eq!(printed[0].undecodable_characters, 0);
    assert!(
        printed[0]
            .text_lines()
            .iter()
            .any(|line| line.starts_with("Gebühr"))
    );
    assert!(
        !printed[0]
            .text_lines()
            .iter()
            .any(|line| line.contains("Γιώργος"))
    );
    // The name's raster line, a little over one text line high, arrived as sent.
    assert!(
        printed[0]
            .rasters()
            .iter()
            .any(|raster| raster.height() == 30 && raster.black_dots() > 200)
    );
}

/// Printers without a cutter: consecutive jobs on one connection are still told apart (each
/// job starts with `ESC @`), so the staff preview shows one receipt per citizen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_jobs_without_cutter_are_separate_receipts() {
    let profile = PrinterProfile::generic_58mm();
    let virtual_printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    let mut driver = driver_for(&virtual_printer).await;
    for language in [SampleLanguage::German, SampleLanguage::Turkish] {
        let job = PrintJob::build(&language.receipt(), &profile).unwrap();
        driver.print(&job).await.unwrap();
    }
    drop(driver);
    let printed = virtual_printer
        .wait_for_receipts(2, Duration::from_secs(10))
        .await;
    assert_eq!(printed.len(), 2);
    assert!(
        printed[0]
            .text_lines()
            .contains(&"So geht es weiter".to_owned())
    );
    assert!(
        printed[1]
            .text_lines()
            .contains(&"Bundan sonra ne olacak".to_owned())
    );
}
