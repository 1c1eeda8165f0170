//! The `kiosk-hwtest` binary: parse the command line, run the checks, print and write the
//! report, exit with its code.

use std::io::{IsTerminal, Write};

use kiosk_hwtest::report::{EXIT_USAGE, Report};
use kiosk_hwtest::{Lang, Settings, cli};

fn usage_error(message: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "kiosk-hwtest: {message}");
    std::process::exit(EXIT_USAGE);
}

fn write_json(report: &Report, path: &std::path::Path, lang: Lang) -> Result<(), String> {
    let text =
        serde_json::to_string_pretty(&report.to_json()).map_err(|error| error.to_string())?;
    std::fs::write(path, text + "\n").map_err(|error| match lang {
        Lang::De => format!(
            "Der JSON-Bericht lässt sich nicht nach {} schreiben: {error}",
            path.display()
        ),
        Lang::En => format!(
            "cannot write the JSON report to {}: {error}",
            path.display()
        ),
    })
}

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let lang = cli::language(&args);
    let matches = cli::command(lang).get_matches_from(args);
    let (subcommand, command_line) = cli::parse(&matches);
    let settings = match Settings::resolve(command_line, lang) {
        Ok(settings) => settings,
        Err(error) => usage_error(&error.to_string()),
    };
    if settings.interactive && subcommand.asks() && !std::io::stdin().is_terminal() {
        usage_error(lang.pick(
            "dieser Test stellt Rückfragen und braucht ein Terminal; für einen Lauf ohne \
             Rückfragen --yes angeben",
            "this test asks questions and needs a terminal; add --yes for a run without \
             questions",
        ));
    }
    let report = match kiosk_hwtest::run(subcommand, &settings) {
        Ok(report) => report,
        Err(error) => usage_error(&error.to_string()),
    };
    print!("{}", report.render());
    let _ = std::io::stdout().flush();
    if let Some(path) = &settings.json
        && let Err(message) = write_json(&report, path, lang)
    {
        usage_error(&message);
    }
    std::process::exit(report.exit_code());
}
