//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use kiosk_printer::raster::Bitmap;
use kiosk_printer::transport::{TcpTransport, connect_tcp};
use kiosk_printer::{EscPosPrinter, Timeouts, VirtualPrinter};

/// Short time-outs: everything runs on 127.0.0.1.
pub fn test_timeouts() -> Timeouts {
    Timeouts {
        status_answer: Duration::from_millis(400),
        write: Duration::from_secs(5),
    }
}

/// A driver connected to the virtual printer.
pub async fn driver_for(virtual_printer: &VirtualPrinter) -> EscPosPrinter<TcpTransport> {
    let transport = connect_tcp(&virtual_printer.addr().to_string(), Duration::from_secs(2))
        .await
        .expect("connect to the virtual printer");
    EscPosPrinter::new(transport, test_timeouts())
}

/// Bitmaps stacked top to bottom (all must have the same width).
pub fn stack<'a>(bitmaps: impl IntoIterator<Item = &'a Bitmap>) -> Bitmap {
    let bitmaps: Vec<&Bitmap> = bitmaps.into_iter().collect();
    let width = bitmaps.first().map_or(0, |bitmap| bitmap.width());
    let height = bitmaps.iter().map(|bitmap| bitmap.height()).sum();
    let mut out = Bitmap::new(width, height);
    let mut y = 0;
    for bitmap in bitmaps {
        assert_eq!(bitmap.width(), width, "all rasters span the paper width");
        out.draw(bitmap, 0, y);
        y += bitmap.height();
    }
    out
}

/// Words of a text, for comparing wrapped output with the intended text.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Decodes every QR code in a PNG.
pub fn decode_qr_codes(png: &[u8]) -> Vec<String> {
    let image = image::load_from_memory(png).expect("PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}
