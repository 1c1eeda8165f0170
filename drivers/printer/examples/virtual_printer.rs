//! Runs the virtual printer so people can print to it and look at the receipts.
//!
//! `cargo run -p kiosk-printer --example virtual_printer -- OUT_DIR [PORT] [DOTS]`
//!
//! Listens on 127.0.0.1:PORT (default 9100; use the kiosk's printer setting
//! `tcp://127.0.0.1:9100`), writes every received receipt as `OUT_DIR/receipt-N.png`
//! rendered DOTS wide (576 for 80 mm, 384 for 58 mm), and stops on Ctrl-C.

use std::path::PathBuf;
use std::time::Duration;

use kiosk_printer::{VirtualPrinter, VirtualState};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out_dir = PathBuf::from(args.next().unwrap_or_else(|| "virtual-receipts".to_owned()));
    let port: u16 = args.next().map_or(Ok(9100), |port| port.parse())?;
    let dots: u32 = args.next().map_or(Ok(576), |dots| dots.parse())?;
    std::fs::create_dir_all(&out_dir)?;

    let printer = VirtualPrinter::start_on_port(port, VirtualState::Ready).await?;
    println!(
        "virtual printer listening on {}; receipts go to {}",
        printer.addr(),
        out_dir.display()
    );
    let mut written = 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            receipts = printer.wait_for_receipts(written + 1, Duration::from_secs(3600)) => {
                for receipt in receipts.iter().skip(written) {
                    written += 1;
                    let path = out_dir.join(format!("receipt-{written}.png"));
                    std::fs::write(&path, receipt.to_png(dots))?;
                    println!("{}: {} text lines, {} images, complete: {}", path.display(),
                        receipt.text_lines().len(), receipt.rasters().len(), receipt.is_complete());
                }
            }
        }
    }
    Ok(())
}
