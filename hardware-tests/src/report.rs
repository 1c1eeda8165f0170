//! The report: the human summary, the versioned JSON document (`docs/report-schema.md`),
//! the printed summary, and the exit code.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::check::{CheckResult, Group, Verdict};
use crate::inventory::Inventory;
use crate::lang::Lang;
use crate::testpage::PaperLine;

/// The `schema` value of every report.
pub const SCHEMA: &str = "kiosk-hwtest-report";
/// The schema version; raised on every incompatible change (see `docs/report-schema.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// Exit code when every required check passed.
pub const EXIT_PASS: i32 = 0;
/// Exit code when a required check did not pass.
pub const EXIT_FAIL: i32 = 1;
/// Exit code when the tool could not run (bad option, unreadable file).
pub const EXIT_USAGE: i32 = 2;

/// One run's results.
#[derive(Debug, Clone)]
pub struct Report {
    /// The subcommand (`all`, `printer`, ...).
    pub command: String,
    /// Whether the technician could be asked questions.
    pub interactive: bool,
    /// Whether `--yes` was given (checks that need a person are skipped).
    pub unattended: bool,
    /// Output language.
    pub lang: Lang,
    /// The machine's host name.
    pub host: String,
    /// Start of the run.
    pub started_at: OffsetDateTime,
    /// End of the run.
    pub finished_at: OffsetDateTime,
    /// What was connected (`list` and `all`).
    pub inventory: Option<Inventory>,
    /// Every check, in the order run.
    pub checks: Vec<CheckResult>,
}

fn timestamp(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}

/// `2026-11-24 09:42:13 UTC`.
pub fn human_time(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// The machine's host name (not personal: it names the kiosk).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

impl Report {
    /// Whether every required check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(CheckResult::acceptable)
    }

    /// The process exit code for this report.
    pub fn exit_code(&self) -> i32 {
        if self.passed() { EXIT_PASS } else { EXIT_FAIL }
    }

    fn count(&self, verdict: Verdict) -> usize {
        self.checks
            .iter()
            .filter(|check| check.verdict == verdict)
            .count()
    }

    fn failed_required(&self) -> Vec<&CheckResult> {
        self.checks
            .iter()
            .filter(|check| !check.acceptable())
            .collect()
    }

    fn check_name(check: &CheckResult, lang: Lang) -> String {
        match &check.subject {
            Some(subject) => format!("{} ({subject})", check.id.title(lang)),
            None => check.id.title(lang).to_owned(),
        }
    }

    /// The one-line result.
    pub fn result_line(&self) -> String {
        let lang = self.lang;
        let counts = match lang {
            Lang::De => format!(
                "{} bestanden, {} fehlgeschlagen, {} übersprungen",
                self.count(Verdict::Pass),
                self.count(Verdict::Fail),
                self.count(Verdict::Skipped)
            ),
            Lang::En => format!(
                "{} passed, {} failed, {} skipped",
                self.count(Verdict::Pass),
                self.count(Verdict::Fail),
                self.count(Verdict::Skipped)
            ),
        };
        let failed = self.failed_required();
        if failed.is_empty() {
            match lang {
                Lang::De => {
                    format!("Ergebnis: BESTANDEN – alle Pflichtprüfungen bestanden ({counts}).")
                }
                Lang::En => format!("Result: PASSED – every required check passed ({counts})."),
            }
        } else {
            let names: Vec<String> = failed
                .iter()
                .map(|check| {
                    format!(
                        "{}: {}",
                        check.id.group().title(lang),
                        Self::check_name(check, lang)
                    )
                })
                .collect();
            match lang {
                Lang::De => format!(
                    "Ergebnis: NICHT BESTANDEN – {} Pflichtprüfung(en) nicht bestanden: {} \
                     ({counts}).",
                    failed.len(),
                    names.join("; ")
                ),
                Lang::En => format!(
                    "Result: FAILED – {} required check(s) did not pass: {} ({counts}).",
                    failed.len(),
                    names.join("; ")
                ),
            }
        }
    }

    /// The report for people (standard output).
    pub fn render(&self) -> String {
        let lang = self.lang;
        let mut out = String::new();
        out.push_str(&match lang {
            Lang::De => format!(
                "kiosk-hwtest {} – Hardwaretest auf {}, {}\n",
                env!("CARGO_PKG_VERSION"),
                self.host,
                human_time(self.started_at)
            ),
            Lang::En => format!(
                "kiosk-hwtest {} – hardware test on {}, {}\n",
                env!("CARGO_PKG_VERSION"),
                self.host,
                human_time(self.started_at)
            ),
        });
        if self.unattended {
            out.push_str(lang.pick(
                "Lauf ohne Rückfragen (--yes): Prüfungen, die einen Menschen brauchen, werden \
                 übersprungen.\n",
                "Run without questions (--yes): checks that need a person are skipped.\n",
            ));
        }
        if let Some(inventory) = &self.inventory {
            out.push('\n');
            out.push_str(&inventory.render(lang));
        }
        let width = [Verdict::Pass, Verdict::Fail, Verdict::Skipped]
            .iter()
            .map(|verdict| verdict.word(lang).chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        for group in Group::ALL {
            let checks: Vec<&CheckResult> = self
                .checks
                .iter()
                .filter(|check| check.id.group() == group)
                .collect();
            if checks.is_empty() {
                continue;
            }
            out.push('\n');
            out.push_str(group.title(lang));
            out.push('\n');
            for check in checks {
                let tag = format!("[{}]", check.verdict.word(lang));
                out.push_str(&format!(
                    "  {tag:<width$} {} – {}\n",
                    Self::check_name(check, lang),
                    check.reason.text(lang)
                ));
                for fact in &check.facts {
                    out.push_str(&format!(
                        "  {:<width$}   {}: {}\n",
                        "",
                        fact.label(lang),
                        fact.value(lang)
                    ));
                }
            }
        }
        out.push('\n');
        if self.checks.is_empty() {
            out.push_str(lang.pick("Keine Prüfungen ausgeführt.\n", "No checks were run.\n"));
        } else {
            out.push_str(&self.result_line());
            out.push('\n');
        }
        out
    }

    /// The versioned JSON report (see `docs/report-schema.md`).
    pub fn to_json(&self) -> Value {
        let lang = self.lang;
        let checks: Vec<Value> = self
            .checks
            .iter()
            .map(|check| {
                json!({
                    "id": check.id.code(),
                    "group": check.id.group().code(),
                    "title": check.id.title(lang),
                    "subject": check.subject,
                    "required": check.required,
                    "verdict": check.verdict.code(),
                    "reason_code": check.reason.code(),
                    "reason": check.reason.text(lang),
                    "facts": check.facts.iter().map(|fact| json!({
                        "key": fact.key(),
                        "label": fact.label(lang),
                        "value": fact.value(lang),
                    })).collect::<Vec<_>>(),
                    "timeout_ms": u64::try_from(check.timeout.as_millis()).unwrap_or(u64::MAX),
                    "duration_ms": u64::try_from(check.elapsed.as_millis()).unwrap_or(u64::MAX),
                })
            })
            .collect();
        let failed: Vec<&str> = self
            .failed_required()
            .iter()
            .map(|check| check.id.code())
            .collect();
        json!({
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "tool_version": env!("CARGO_PKG_VERSION"),
            "command": self.command,
            "interactive": self.interactive,
            "language": lang.tag(),
            "host": self.host,
            "started_at": timestamp(self.started_at),
            "finished_at": timestamp(self.finished_at),
            "inventory": self.inventory.as_ref().map(Inventory::to_json),
            "checks": checks,
            "summary": {
                "result": if self.passed() { "pass" } else { "fail" },
                "exit_code": self.exit_code(),
                "passed": self.count(Verdict::Pass),
                "failed": self.count(Verdict::Fail),
                "skipped": self.count(Verdict::Skipped),
                "required_not_passed": failed,
                "text": self.result_line(),
            },
        })
    }

    /// The summary for the receipt printer: a title and lines.
    pub fn paper(&self) -> (String, Vec<PaperLine>) {
        let lang = self.lang;
        let line = |text: String, emphasis: bool| PaperLine { text, emphasis };
        let mut lines = vec![
            line(format!("kiosk-hwtest {}", env!("CARGO_PKG_VERSION")), false),
            line(self.host.clone(), false),
            line(human_time(self.started_at), false),
            line(String::new(), false),
        ];
        for check in &self.checks {
            lines.push(line(
                format!(
                    "{} {}: {}",
                    check.verdict.word(lang),
                    check.id.group().title(lang),
                    Self::check_name(check, lang)
                ),
                check.verdict == Verdict::Fail,
            ));
            if check.verdict == Verdict::Fail {
                lines.push(line(format!("  {}", check.reason.text(lang)), false));
            }
        }
        lines.push(line(String::new(), false));
        lines.push(line(self.result_line(), true));
        (lang.pick("Hardwaretest", "Hardware test").to_owned(), lines)
    }
}
