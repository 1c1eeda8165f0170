//! Writes PNG previews of the sample receipt in every language on 58 and 80 mm paper.
//!
//! `cargo run -p kiosk-printer --example receipt_preview -- OUT_DIR`

fn main() -> std::process::ExitCode {
    let out_dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| std::path::PathBuf::from("receipt-previews"), Into::into);
    match kiosk_printer::render_previews(&out_dir) {
        Ok(files) => {
            for file in files {
                println!("{}", file.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("receipt preview failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
