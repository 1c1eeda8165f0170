//! A receipt may carry a citizen's name (the issue asks that every name prints correctly);
//! no Debug output or error of this crate may repeat it.

use kiosk_printer::layout::layout;
use kiosk_printer::raster::shared_rasterizer;
use kiosk_printer::samples::SampleLanguage;
use kiosk_printer::virtual_printer::interpret;
use kiosk_printer::{PrintJob, PrinterProfile, SummaryLine};

#[test]
fn names_on_the_receipt_never_appear_in_debug_output() {
    for (name, language) in [
        ("Erika Mustermann", SampleLanguage::German),
        ("Ayşe Yılmaz", SampleLanguage::Turkish),
        ("فاطمة الزهراء", SampleLanguage::Arabic),
        ("Олена Коваленко", SampleLanguage::Ukrainian),
    ] {
        let mut receipt = language.receipt();
        receipt.summary.push(SummaryLine::new("Name", name));
        let profile = PrinterProfile::generic_80mm();
        let blocks = layout(&receipt, &profile, &mut shared_rasterizer()).unwrap();
        let job = PrintJob::build(&receipt, &profile).unwrap();
        let printed = interpret(job.bytes());
        let surname = name.split_whitespace().last().unwrap();
        for debug in [
            format!("{receipt:?}"),
            format!("{blocks:?}"),
            format!("{job:?}"),
            format!("{printed:?}"),
            format!("{:?}", printed[0].elements),
        ] {
            assert!(!debug.contains(surname), "{surname} leaked: {debug}");
        }
        // The name is on the paper, though: as text or as a raster line.
        let on_paper = printed[0]
            .text_lines()
            .iter()
            .any(|line| line.contains(surname))
            || language == SampleLanguage::Arabic;
        assert!(on_paper, "{name} was not printed");
    }
}
