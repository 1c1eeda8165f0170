//! `kiosk-app catalogue check`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use kiosk_catalogue::Catalogue;

/// Checks the catalogue in `dir` (or the embedded one) and prints the result.
pub fn run(dir: Option<&Path>) -> ExitCode {
    let (source, result) = match dir {
        Some(dir) => (dir.display().to_string(), Catalogue::load_dir(dir)),
        None => (
            "built-in default catalogue".to_owned(),
            Catalogue::from_files(&Catalogue::embedded_default_files()),
        ),
    };
    let mut out = std::io::stdout().lock();
    match result {
        Ok(catalogue) => {
            let _ = writeln!(out, "{}", summary(&catalogue));
            let _ = writeln!(
                out,
                "ok: {source}: catalogue {} with {} services in {} languages",
                catalogue.version,
                catalogue.services.len(),
                catalogue.languages.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{errors}");
            let _ = writeln!(
                err,
                "error: {source}: {} problem(s); the catalogue was not accepted",
                errors.0.len()
            );
            ExitCode::FAILURE
        }
    }
}

/// One line per service: id, version, languages, field count, German title.
pub fn summary(catalogue: &Catalogue) -> String {
    let languages: Vec<&str> = catalogue.languages.iter().map(|l| l.code()).collect();
    let width = catalogue
        .services
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(0);
    catalogue
        .services
        .iter()
        .map(|s| {
            format!(
                "{:<width$}  v{:<3} {}  {:>3} fields  {}",
                s.id,
                s.version,
                languages.join(","),
                s.field_count(),
                s.title.get(&kiosk_catalogue::Language::german())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
