//! `kiosk-hwtest list`: what is connected, without testing it.
//!
//! Readers come from pcscd (with the driver that serves them and whether a card is on
//! them), printers from `/dev/usb/lp*`, USB devices of receipt printer makers or with a
//! printer-class interface, and the configured connection; displays from the kernel's DRM
//! connectors; network interfaces from `/sys/class/net`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiosk_card::{ReaderEvent, ReaderManager, WatchConfig};
use serde_json::{Value, json};

use crate::check::bounded;
use crate::lang::Lang;
use crate::settings::Settings;

/// USB vendor ids of receipt printer makers (and of the USB chips common in no-name
/// ESC/POS printers).
const PRINTER_VENDORS: [(u16, &str); 12] = [
    (0x04b8, "Epson"),
    (0x0519, "Star Micronics"),
    (0x1d90, "Citizen"),
    (0x2730, "Citizen"),
    (0x1504, "Bixolon"),
    (0x0dd4, "Custom"),
    (0x0619, "Seiko Instruments"),
    (0x154f, "SNBC"),
    (0x0fe6, "ICS Advent (generic ESC/POS)"),
    (0x0416, "Winbond (generic ESC/POS)"),
    (0x0483, "STMicroelectronics (generic ESC/POS)"),
    (0x28e9, "GD32 (generic ESC/POS)"),
];

/// USB interface class of printers.
const USB_CLASS_PRINTER: u8 = 7;

/// Whether a card is on a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardPresence {
    /// No card.
    Empty,
    /// A card with this ATR (hex). A card that gives no ATR (mute) counts as empty here;
    /// `reader` tells it apart.
    Present {
        /// The ATR.
        atr: String,
    },
}

/// One PC/SC reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// PC/SC name.
    pub name: String,
    /// The driver library serving it, if known.
    pub driver: Option<String>,
    /// Card on it.
    pub card: CardPresence,
}

/// The readers, or why they could not be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readers {
    /// pcscd answered.
    Listed(Vec<ReaderInfo>),
    /// pcscd is not reachable.
    ServiceUnavailable,
}

/// Where a printer was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterSource {
    /// A USB printer-class device file.
    DeviceFile(PathBuf),
    /// A USB device.
    Usb {
        /// Vendor id.
        vendor_id: u16,
        /// Product id.
        product_id: u16,
        /// The maker, if it is a known receipt printer maker.
        maker: Option<&'static str>,
        /// The product string the device reports.
        product: Option<String>,
        /// Whether it has a printer-class interface.
        printer_class: bool,
    },
    /// The connection given on the command line or in the configuration.
    Configured(String),
}

/// One display connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayInfo {
    /// Connector name, e.g. `card0-HDMI-A-1`.
    pub connector: String,
    /// A monitor is plugged in.
    pub connected: bool,
    /// Its preferred mode, e.g. `1920x1080`.
    pub mode: Option<String>,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Name, e.g. `eth0`.
    pub name: String,
    /// Kernel operational state (`up`, `down`, `unknown`).
    pub state: String,
    /// Whether the default route goes through it.
    pub default_route: bool,
}

/// Everything `list` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// Card readers.
    pub readers: Readers,
    /// Printers.
    pub printers: Vec<PrinterSource>,
    /// Display connectors.
    pub displays: Vec<DisplayInfo>,
    /// `WAYLAND_DISPLAY` or `DISPLAY`, if a graphical session is there.
    pub graphical_session: Option<String>,
    /// Network interfaces (without loopback).
    pub interfaces: Vec<InterfaceInfo>,
}

/// The PC/SC driver library that serves `reader`, found by the reader's name in pcscd's
/// reader configuration (`/etc/reader.conf.d`) and the USB driver bundles' name lists.
pub fn reader_driver(reader: &str) -> Option<String> {
    let mut candidates: Vec<(String, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/etc/reader.conf.d") {
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let value = |key: &str| {
                text.lines()
                    .map(str::trim)
                    .find_map(|line| line.strip_prefix(key))
                    .map(|rest| rest.trim().trim_matches('"').to_owned())
            };
            if let (Some(name), Some(library)) = (value("FRIENDLYNAME"), value("LIBPATH")) {
                candidates.push((name, file_name(&library)));
            }
        }
    }
    for drivers in ["/usr/lib/pcsc/drivers", "/usr/lib64/pcsc/drivers"] {
        let Ok(bundles) = std::fs::read_dir(drivers) else {
            continue;
        };
        for bundle in bundles.flatten() {
            let plist = bundle.path().join("Contents/Info.plist");
            let Ok(text) = std::fs::read_to_string(&plist) else {
                continue;
            };
            let library = plist_string(&text, "CFBundleExecutable")
                .unwrap_or_else(|| file_name(&bundle.path().to_string_lossy()));
            for name in plist_array(&text, "ifdFriendlyName") {
                candidates.push((name, library.clone()));
            }
        }
    }
    candidates
        .into_iter()
        .filter(|(name, _)| !name.is_empty() && reader.starts_with(name.as_str()))
        .max_by_key(|(name, _)| name.len())
        .map(|(_, library)| library)
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_owned())
}

fn plist_string(text: &str, key: &str) -> Option<String> {
    let after = text.split(&format!("<key>{key}</key>")).nth(1)?;
    let start = after.find("<string>")? + "<string>".len();
    let end = after[start..].find("</string>")?;
    Some(after[start..start + end].trim().to_owned())
}

fn plist_array(text: &str, key: &str) -> Vec<String> {
    let Some(after) = text.split(&format!("<key>{key}</key>")).nth(1) else {
        return Vec::new();
    };
    let Some(end) = after.find("</array>") else {
        return Vec::new();
    };
    after[..end]
        .split("<string>")
        .skip(1)
        .filter_map(|piece| piece.split("</string>").next())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Lists readers and the cards on them from the reader watcher's first events, without
/// connecting: a connection closed just before the reader check connects can race with it
/// in pcscd (protocol negotiation during the other handle's grace period).
fn list_readers() -> Readers {
    let listed = bounded(Duration::from_secs(8), || {
        let names = ReaderManager::new()?.readers()?;
        let mut cards: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        if !names.is_empty() {
            let mut watcher = ReaderManager::watch(WatchConfig::default());
            let mut added = 0;
            let mut quiet_since = Instant::now();
            let deadline = Instant::now() + Duration::from_secs(3);
            // The watcher first reports every reader, then at once the cards on them.
            while Instant::now() < deadline
                && (added < names.len() || quiet_since.elapsed() < Duration::from_millis(250))
            {
                match watcher.try_next() {
                    Some(ReaderEvent::ReaderAdded { .. }) => {
                        added += 1;
                        quiet_since = Instant::now();
                    }
                    Some(ReaderEvent::CardInserted { reader, atr }) => {
                        cards.insert(reader, atr);
                        quiet_since = Instant::now();
                    }
                    Some(ReaderEvent::CardRemoved { reader }) => {
                        cards.remove(&reader);
                    }
                    Some(ReaderEvent::ServiceLost) => break,
                    Some(_) => {}
                    None => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            watcher.stop();
        }
        let readers = names
            .into_iter()
            .map(|name| ReaderInfo {
                driver: reader_driver(&name),
                card: match cards.get(&name) {
                    Some(atr) => CardPresence::Present { atr: hex(atr) },
                    None => CardPresence::Empty,
                },
                name,
            })
            .collect();
        Ok::<_, kiosk_card::Error>(readers)
    });
    match listed {
        Ok(Ok(readers)) => Readers::Listed(readers),
        _ => Readers::ServiceUnavailable,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

fn usb_printers(runtime: &tokio::runtime::Runtime) -> Vec<PrinterSource> {
    let listed = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(3), async {
            nusb::list_devices().await.map(|devices| {
                devices
                    .filter_map(|device| {
                        let maker = PRINTER_VENDORS
                            .iter()
                            .find(|(id, _)| *id == device.vendor_id())
                            .map(|(_, name)| *name);
                        let printer_class = device
                            .interfaces()
                            .any(|interface| interface.class() == USB_CLASS_PRINTER);
                        (maker.is_some() || printer_class).then(|| PrinterSource::Usb {
                            vendor_id: device.vendor_id(),
                            product_id: device.product_id(),
                            maker,
                            product: device.product_string().map(str::to_owned),
                            printer_class,
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await
    });
    match listed {
        Ok(Ok(printers)) => printers,
        // No USB bus visible (containers, no permission): nothing to list.
        _ => Vec::new(),
    }
}

fn device_files() -> Vec<PrinterSource> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("/dev/usb")
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    path.file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with("lp"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(PrinterSource::DeviceFile).collect()
}

fn displays() -> Vec<DisplayInfo> {
    let mut found: Vec<DisplayInfo> = std::fs::read_dir("/sys/class/drm")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let connector = entry.file_name().to_string_lossy().into_owned();
                    // Connectors are `cardN-NAME`; `cardN` alone is the GPU.
                    if !connector.starts_with("card") || !connector.contains('-') {
                        return None;
                    }
                    let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
                    let mode = std::fs::read_to_string(entry.path().join("modes"))
                        .ok()
                        .and_then(|modes| modes.lines().next().map(str::to_owned));
                    Some(DisplayInfo {
                        connector,
                        connected: status.trim() == "connected",
                        mode,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| a.connector.cmp(&b.connector));
    found
}

fn interfaces() -> Vec<InterfaceInfo> {
    let default_routes: Vec<String> = std::fs::read_to_string("/proc/net/route")
        .map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let mut fields = line.split_whitespace();
                    let name = fields.next()?;
                    (fields.next()? == "00000000").then(|| name.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found: Vec<InterfaceInfo> = std::fs::read_dir("/sys/class/net")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name == "lo" {
                        return None;
                    }
                    let state = std::fs::read_to_string(entry.path().join("operstate"))
                        .map(|state| state.trim().to_owned())
                        .unwrap_or_else(|_| "unknown".into());
                    Some(InterfaceInfo {
                        default_route: default_routes.contains(&name),
                        name,
                        state,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

impl Inventory {
    /// Looks at everything (bounded: a dead pcscd or USB bus gives an empty list, no hang).
    pub fn collect(settings: &Settings, runtime: &tokio::runtime::Runtime) -> Inventory {
        let mut printers = device_files();
        printers.extend(usb_printers(runtime));
        if let Some(connection) = &settings.printer.connection {
            printers.push(PrinterSource::Configured(connection.to_string()));
        }
        let graphical_session = std::env::var("WAYLAND_DISPLAY")
            .ok()
            .map(|name| format!("Wayland {name}"))
            .or_else(|| {
                std::env::var("DISPLAY")
                    .ok()
                    .map(|name| format!("X11 {name}"))
            })
            .filter(|name| !name.trim().is_empty());
        Inventory {
            readers: list_readers(),
            printers,
            displays: displays(),
            graphical_session,
            interfaces: interfaces(),
        }
    }

    /// The inventory for people.
    pub fn render(&self, lang: Lang) -> String {
        let mut out = String::new();
        let none = lang.pick("    (keine)\n", "    (none)\n");
        out.push_str(lang.pick("Kartenleser:\n", "Card readers:\n"));
        match &self.readers {
            Readers::ServiceUnavailable => out.push_str(lang.pick(
                "    PC/SC-Dienst (pcscd) nicht erreichbar\n",
                "    PC/SC service (pcscd) not reachable\n",
            )),
            Readers::Listed(readers) if readers.is_empty() => out.push_str(none),
            Readers::Listed(readers) => {
                for reader in readers {
                    let driver = reader
                        .driver
                        .clone()
                        .unwrap_or_else(|| lang.pick("unbekannt", "unknown").into());
                    let card = match &reader.card {
                        CardPresence::Empty => lang.pick("keine Karte", "no card").to_owned(),
                        CardPresence::Present { atr } => match lang {
                            Lang::De => format!("Karte aufgelegt, ATR {atr}"),
                            Lang::En => format!("card present, ATR {atr}"),
                        },
                    };
                    out.push_str(&format!(
                        "    {} — {}: {driver} — {card}\n",
                        reader.name,
                        lang.pick("Treiber", "driver")
                    ));
                }
            }
        }
        out.push_str(lang.pick("Drucker:\n", "Printers:\n"));
        if self.printers.is_empty() {
            out.push_str(none);
        }
        for printer in &self.printers {
            let line = match printer {
                PrinterSource::DeviceFile(path) => match lang {
                    Lang::De => format!("USB-Druckergerät {}", path.display()),
                    Lang::En => format!("USB printer device {}", path.display()),
                },
                PrinterSource::Usb {
                    vendor_id,
                    product_id,
                    maker,
                    product,
                    printer_class,
                } => {
                    let mut line = format!("USB {vendor_id:04x}:{product_id:04x}");
                    if let Some(maker) = maker {
                        line.push_str(&format!(" {maker}"));
                    }
                    if let Some(product) = product {
                        line.push_str(&format!(" „{product}“"));
                    }
                    if *printer_class {
                        line.push_str(lang.pick(" (Druckerklasse)", " (printer class)"));
                    }
                    line
                }
                PrinterSource::Configured(connection) => match lang {
                    Lang::De => format!("konfiguriert: {connection}"),
                    Lang::En => format!("configured: {connection}"),
                },
            };
            out.push_str(&format!("    {line}\n"));
        }
        out.push_str(lang.pick("Bildschirme:\n", "Displays:\n"));
        match &self.graphical_session {
            Some(session) => out.push_str(&match lang {
                Lang::De => format!("    grafische Sitzung: {session}\n"),
                Lang::En => format!("    graphical session: {session}\n"),
            }),
            None => out.push_str(lang.pick(
                "    keine grafische Sitzung (WAYLAND_DISPLAY/DISPLAY nicht gesetzt)\n",
                "    no graphical session (WAYLAND_DISPLAY/DISPLAY not set)\n",
            )),
        }
        for display in &self.displays {
            let state = if display.connected {
                lang.pick("angeschlossen", "connected")
            } else {
                lang.pick("nicht angeschlossen", "not connected")
            };
            let mode = display
                .mode
                .as_deref()
                .map(|mode| format!(", {mode}"))
                .unwrap_or_default();
            out.push_str(&format!("    {}: {state}{mode}\n", display.connector));
        }
        out.push_str(lang.pick("Netzwerk:\n", "Network:\n"));
        if self.interfaces.is_empty() {
            out.push_str(none);
        }
        for interface in &self.interfaces {
            let route = if interface.default_route {
                lang.pick(", Standardroute", ", default route")
            } else {
                ""
            };
            out.push_str(&format!(
                "    {}: {}{route}\n",
                interface.name, interface.state
            ));
        }
        out
    }

    /// The inventory for the JSON report.
    pub fn to_json(&self) -> Value {
        let readers = match &self.readers {
            Readers::ServiceUnavailable => Value::Null,
            Readers::Listed(readers) => readers
                .iter()
                .map(|reader| {
                    let (card, atr) = match &reader.card {
                        CardPresence::Empty => ("empty", None),
                        CardPresence::Present { atr } => ("present", Some(atr.clone())),
                    };
                    json!({"name": reader.name, "driver": reader.driver, "card": card, "atr": atr})
                })
                .collect(),
        };
        let printers: Vec<Value> = self
            .printers
            .iter()
            .map(|printer| match printer {
                PrinterSource::DeviceFile(path) => {
                    json!({"kind": "device_file", "path": path.display().to_string()})
                }
                PrinterSource::Usb {
                    vendor_id,
                    product_id,
                    maker,
                    product,
                    printer_class,
                } => json!({
                    "kind": "usb",
                    "vendor_id": format!("{vendor_id:04x}"),
                    "product_id": format!("{product_id:04x}"),
                    "maker": maker,
                    "product": product,
                    "printer_class": printer_class,
                }),
                PrinterSource::Configured(connection) => {
                    json!({"kind": "configured", "connection": connection})
                }
            })
            .collect();
        json!({
            "readers": readers,
            "pcsc_available": !matches!(self.readers, Readers::ServiceUnavailable),
            "printers": printers,
            "graphical_session": self.graphical_session,
            "displays": self.displays.iter().map(|display| json!({
                "connector": display.connector,
                "connected": display.connected,
                "mode": display.mode,
            })).collect::<Vec<_>>(),
            "network_interfaces": self.interfaces.iter().map(|interface| json!({
                "name": interface.name,
                "state": interface.state,
                "default_route": interface.default_route,
            })).collect::<Vec<_>>(),
        })
    }
}
