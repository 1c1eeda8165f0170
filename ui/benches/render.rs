//! UI benchmark (issue 6, item 7): the Slint software renderer against
//! headless Chromium rendering an equivalent HTML form page, in one run.
//!
//! `cargo bench -p kiosk-ui --bench render` prints start-up to first frame,
//! full redraws at 1920x1080 and 1080x1920, the redraw after typing one
//! character, and memory (summed PSS), each with Chromium's figure and the
//! ratio. Chromium is skipped (and said so) when it is not installed.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_catalogue::{Catalogue, Language};
use kiosk_journey::{Effect, Journey, JourneyConfig};
use kiosk_ui::generated::{Key, KeyboardAdapter};
use kiosk_ui::{
    Clock, EffectHandler, EventSender, HeadlessPlatform, Kiosk, ManualClock, RepaintBufferType,
    Rgb565Pixel, stage,
};
use slint::ComponentHandle;

struct Ignore;
impl EffectHandler for Ignore {
    fn perform(&mut self, _effect: Effect, _events: &EventSender) {}
    fn perform_staff(&mut self, _effect: kiosk_staff::StaffEffect, _events: &EventSender) {}
}

fn kiosk_on(
    screen: &str,
    repaint: RepaintBufferType,
    size: (u32, u32),
) -> (Kiosk, kiosk_ui::HeadlessWindow) {
    let window = HeadlessPlatform::install_with(repaint).expect("headless platform");
    window.set_size(size.0, size.1);
    let catalogue = Arc::new(Catalogue::embedded_default());
    let clock = ManualClock::new(time::macros::date!(2026 - 11 - 24));
    let journey = Journey::new(catalogue.clone(), JourneyConfig::default(), clock.now());
    // No staff credentials: the benchmark never opens staff mode.
    let staff = kiosk_staff::StaffMode::new(
        kiosk_staff::StaffConfig::default(),
        kiosk_staff::StaffCredentials::default(),
    );
    let kiosk =
        Kiosk::new(journey, staff, Box::new(clock.clone()), Box::new(Ignore)).expect("kiosk");
    kiosk.ui().component().show().expect("show");
    stage(&kiosk, &clock, &catalogue, &Language::german(), screen).expect("stage");
    (kiosk, window)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Full redraws of the form page (every pixel drawn each time).
fn full_redraw(size: (u32, u32)) -> Duration {
    std::thread::spawn(move || {
        let (_kiosk, window) = kiosk_on("form-text", RepaintBufferType::NewBuffer, size);
        let mut buffer = Vec::<Rgb565Pixel>::new();
        window.render_rgb565(&mut buffer);
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut samples = Vec::new();
        while samples.len() < 200 && Instant::now() < deadline {
            let start = Instant::now();
            window.render_rgb565(&mut buffer);
            samples.push(start.elapsed());
        }
        median(samples)
    })
    .join()
    .expect("render thread")
}

/// Typing one character, the journey update and the partial redraw it causes.
fn typing_redraw() -> Duration {
    std::thread::spawn(|| {
        let (kiosk, window) = kiosk_on("form-text", RepaintBufferType::ReusedBuffer, (1920, 1080));
        let mut buffer = Vec::<Rgb565Pixel>::new();
        window.render_rgb565(&mut buffer);
        let keyboard = kiosk.ui().component().global::<KeyboardAdapter<'_>>();
        let mut samples = Vec::new();
        for i in 0..120 {
            let (action, text) = if i % 2 == 0 {
                ("char", "e")
            } else {
                ("backspace", "")
            };
            let start = Instant::now();
            keyboard.invoke_key(Key {
                label: text.into(),
                action: action.into(),
                text: text.into(),
                width: 1.0,
            });
            window.render_rgb565(&mut buffer);
            samples.push(start.elapsed());
        }
        median(samples)
    })
    .join()
    .expect("typing thread")
}

/// Child mode: show the first frame, hand it over, write it as PNG, optionally
/// stay idle.
///
/// The frame is handed over as a kiosk hands it to the compositor: the raw
/// pixels copied into shared memory (here a file in `/dev/shm`, under cage
/// a `wl_shm` buffer), then `frame` on standard output marks the moment. The
/// PNG follows so the run also shows the time to the same PNG file
/// Chromium's `--screenshot` ends with.
fn child(out: &Path, stay: bool) {
    let t0 = Instant::now();
    let (_kiosk, window) = kiosk_on("service", RepaintBufferType::NewBuffer, (1920, 1080));
    let t1 = Instant::now();
    let frame = window.render();
    let t2 = Instant::now();
    let shared = shared_memory_file(out);
    std::fs::write(&shared, frame.as_raw()).expect("raw frame in shared memory");
    println!("frame");
    std::io::stdout().flush().ok();
    let t3 = Instant::now();
    // Chromium writes its screenshot as PNG; a fast encoder, since the kiosk
    // itself never encodes frames.
    let file = std::io::BufWriter::new(std::fs::File::create(out).expect("first frame file"));
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        file,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    );
    frame.write_with_encoder(encoder).expect("first frame");
    std::fs::remove_file(&shared).ok();
    if std::env::var_os("KIOSK_UI_BENCH_TRACE").is_some() {
        eprintln!(
            "setup {:?} render {:?} hand-over {:?} png {:?}",
            t1 - t0,
            t2 - t1,
            t3 - t2,
            t3.elapsed()
        );
    }
    if stay {
        // Every service is loaded (the catalogue), the frame is drawn: idle.
        println!("ready");
        std::io::stdout().flush().ok();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).ok();
    }
}

/// Where the child puts its raw frame: shared memory (tmpfs) where there is
/// one, like the compositor's buffer, else next to the PNG.
fn shared_memory_file(out: &Path) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join(format!("kiosk-ui-bench-{}.rgb", std::process::id()))
    } else {
        out.with_extension("rgb")
    }
}

/// The fontconfig file the kiosk's processes use (as `kiosk-app` sets it).
fn kiosk_fontconfig() -> PathBuf {
    std::env::var_os(kiosk_ui::fonts::FONTCONFIG_FILE)
        .map(PathBuf::from)
        .or_else(kiosk_ui::fonts::shipped_fontconfig)
        .expect("ui/fonts/fonts.conf")
}

/// One fresh start: the time until the child says its first frame is handed
/// over, and until it has written the PNG and exited.
fn start_once(me: &Path, out: &Path) -> (Duration, Duration) {
    let start = Instant::now();
    let mut child = Command::new(me)
        .env("KIOSK_UI_BENCH_CHILD", out)
        .env(kiosk_ui::fonts::FONTCONFIG_FILE, kiosk_fontconfig())
        .stdout(Stdio::piped())
        .spawn()
        .expect("child");
    let mut line = String::new();
    // Ends at the child's `frame` line, or at its exit if it never says it.
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("frame line");
    let frame = start.elapsed();
    assert_eq!(line.trim(), "frame", "the child showed no frame");
    let status = child.wait().expect("child exit");
    assert!(status.success());
    (frame, start.elapsed())
}

fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The process and all its descendants.
fn tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces; the fields after ")" are fixed.
        let Some(rest) = stat.rsplit(')').next() else {
            continue;
        };
        if let Some(ppid) = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
        {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Median of 3 fresh Chromium starts with `--screenshot`: until the PNG
/// appears, and until the browser exits. `fontconfig`: the fontconfig file
/// to give it (`None`: the machine's own configuration).
fn chromium_first_frames(
    chromium: &Path,
    url: &str,
    dir: &Path,
    tag: &str,
    fontconfig: Option<&Path>,
) -> (Duration, Duration) {
    // Chromium's first frame is only observable as its screenshot file: the clock
    // stops when the file appears (polled every millisecond, bounded), before the
    // browser's shutdown; the time to its exit is kept too.
    let (mut shots, mut exits) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let shot = dir.join(format!("chromium-{tag}-{i}.png"));
        let mut command = Command::new(chromium);
        match fontconfig {
            Some(conf) => command.env(kiosk_ui::fonts::FONTCONFIG_FILE, conf),
            None => command.env_remove(kiosk_ui::fonts::FONTCONFIG_FILE),
        };
        let start = Instant::now();
        let mut browser = command
            .args(chromium_args(&dir.join(format!("profile-{tag}-{i}"))))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium");
        let mut appeared = None;
        for _ in 0..60_000 {
            if std::fs::metadata(&shot).is_ok_and(|m| m.len() > 0) {
                appeared = Some(start.elapsed());
                break;
            }
            if browser.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let status = browser.wait().expect("chromium exit");
        let exited = start.elapsed();
        assert!(
            status.success() && shot.exists(),
            "chromium made no screenshot"
        );
        shots.push(appeared.unwrap_or(exited));
        exits.push(exited);
    }
    (median(shots), median(exits))
}

fn chromium_args(profile: &Path) -> Vec<String> {
    vec![
        "--headless".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--hide-scrollbars".into(),
        "--window-size=1920,1080".into(),
        format!("--user-data-dir={}", profile.display()),
    ]
}

const FORM_HTML: &str = include_str!("form.html");

fn main() {
    if let Ok(out) = std::env::var("KIOSK_UI_BENCH_CHILD") {
        child(
            Path::new(&out),
            std::env::var_os("KIOSK_UI_BENCH_STAY").is_some(),
        );
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument is not used here.
    let dir = std::env::temp_dir().join(format!("kiosk-ui-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let me = std::env::current_exe().expect("own path");

    // Start-up to first frame: a fresh process until its PNG is written.
    let (mut frames, mut pngs) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let (frame, png) = start_once(&me, &dir.join(format!("slint-{i}.png")));
        frames.push(frame);
        pngs.push(png);
    }
    let (slint_start, slint_png) = (median(frames), median(pngs));

    // Memory: the same program idle after its first frame.
    let mut idle: Child = Command::new(&me)
        .env("KIOSK_UI_BENCH_CHILD", dir.join("slint-idle.png"))
        .env("KIOSK_UI_BENCH_STAY", "1")
        .env(kiosk_ui::fonts::FONTCONFIG_FILE, kiosk_fontconfig())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("idle child");
    // `frame`, then `ready` once idle (bounded: the child says two lines).
    let mut lines = BufReader::new(idle.stdout.take().expect("stdout")).lines();
    for _ in 0..2 {
        match lines.next() {
            Some(Ok(line)) if line == "ready" => break,
            Some(Ok(_)) => {}
            _ => panic!("the idle child ended before it was ready"),
        }
    }
    let slint_pss: u64 = tree(idle.id()).into_iter().map(pss_kib).sum();
    drop(idle.stdin.take());
    idle.wait().ok();

    let landscape = full_redraw((1920, 1080));
    let portrait = full_redraw((1080, 1920));
    let typing = typing_redraw();

    let html = dir.join("form.html");
    std::fs::write(&html, FORM_HTML).expect("html");
    let chrome = chromium().map(|chromium| {
        let url = format!("file://{}", html.display());
        // Like for like: Chromium with the kiosk's fonts only, as the kiosk
        // runs; and with this machine's fonts, as a browser kiosk runs today.
        let (start, exit) = chromium_first_frames(
            &chromium,
            &url,
            &dir,
            "kiosk-fonts",
            Some(&kiosk_fontconfig()),
        );
        let (system_fonts_start, _) =
            chromium_first_frames(&chromium, &url, &dir, "system-fonts", None);
        let mut browser = Command::new(&chromium)
            .env(kiosk_ui::fonts::FONTCONFIG_FILE, kiosk_fontconfig())
            .args(chromium_args(&dir.join("profile-idle")))
            .arg("--remote-debugging-port=0")
            .arg(&url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium idle");
        // Let it load and settle (bounded wait).
        std::thread::sleep(Duration::from_secs(4));
        let processes = tree(browser.id());
        let pss: u64 = processes.iter().copied().map(pss_kib).sum();
        browser.kill().ok();
        browser.wait().ok();
        (start, exit, pss, processes.len(), system_fonts_start)
    });

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| measure | Slint (kiosk-ui) | headless Chromium | ratio | target |");
    println!("| --- | ---: | ---: | ---: | --- |");
    match chrome {
        Some((start, exit, pss, processes, system_fonts_start)) => {
            println!(
                "| start-up to first frame (Slint: frame handed over; Chromium: its PNG appears) | {:.1} ms | {:.1} ms | 1/{:.1} | at most 1/20 |",
                ms(slint_start),
                ms(start),
                ms(start) / ms(slint_start)
            );
            println!(
                "| start-up to first frame, Chromium with this machine's fonts | {:.1} ms | {:.1} ms | 1/{:.1} | – |",
                ms(slint_start),
                ms(system_fonts_start),
                ms(system_fonts_start) / ms(slint_start)
            );
            println!(
                "| start-up to a PNG of the frame written, process exited | {:.1} ms | {:.1} ms | 1/{:.1} | – |",
                ms(slint_png),
                ms(exit),
                ms(exit) / ms(slint_png)
            );
            println!(
                "| memory, summed PSS, idle, all services loaded | {:.1} MiB | {:.1} MiB ({processes} processes) | 1/{:.1} | at most 1/15 |",
                slint_pss as f64 / 1024.0,
                pss as f64 / 1024.0,
                pss as f64 / slint_pss.max(1) as f64
            );
        }
        None => {
            println!(
                "| start-up to first frame | {:.1} ms (PNG written: {:.1} ms) | not installed | – | at most 1/20 |",
                ms(slint_start),
                ms(slint_png)
            );
            println!(
                "| memory, summed PSS | {:.1} MiB | not installed | – | at most 1/15 |",
                slint_pss as f64 / 1024.0
            );
        }
    }
    println!(
        "| full redraw 1920x1080 (form page, median) | {:.2} ms | – | – | under 4 ms |",
        ms(landscape)
    );
    println!(
        "| full redraw 1080x1920 (form page, median) | {:.2} ms | – | – | – |",
        ms(portrait)
    );
    println!(
        "| typing one character (event, journey, partial redraw) | {:.2} ms | – | – | – |",
        ms(typing)
    );
    std::fs::remove_dir_all(&dir).ok();
}
