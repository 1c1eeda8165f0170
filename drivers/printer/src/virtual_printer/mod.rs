//! A virtual ESC/POS printer on 127.0.0.1 for tests, demos and previews.
//!
//! It parses what the driver sends, answers `DLE EOT n` from a configurable state, and keeps
//! every receipt it printed as decoded text lines, raster images and QR payloads, which it can
//! render to PNG. It implements the published protocol, so a test against it checks the real
//! bytes, not a mock's idea of them.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use kiosk_printer::virtual_printer::{VirtualPrinter, VirtualState};
//! let printer = VirtualPrinter::start(VirtualState::Ready).await?;
//! println!("print to {}", printer.addr());
//! printer.set_state(VirtualState::PaperOut);
//! # Ok(()) }
//! ```

pub mod parser;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::codepage::CodePage;
use crate::raster::{Align, Bitmap, shared_rasterizer};
use crate::status::{PaperLevel, PrinterStatus, StatusRequest};
use parser::{Command, QrFunction, parse_one};

/// What the virtual printer pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtualState {
    /// Online, paper present, cover closed.
    Ready,
    /// Prints, but the paper near-end sensor is on.
    PaperNearEnd,
    /// No paper: answers status, prints nothing.
    PaperOut,
    /// Cover open: answers status, prints nothing.
    CoverOpen,
    /// Powered but dead: accepts the connection, never answers, prints nothing.
    Mute,
}

impl VirtualState {
    /// The status a real printer in this state reports (`None` when it does not answer).
    pub fn status(self) -> Option<PrinterStatus> {
        let ready = PrinterStatus::default();
        match self {
            VirtualState::Ready => Some(ready),
            VirtualState::PaperNearEnd => Some(PrinterStatus {
                paper: PaperLevel::NearEnd,
                ..ready
            }),
            VirtualState::PaperOut => Some(PrinterStatus {
                offline: true,
                paper: PaperLevel::Out,
                ..ready
            }),
            VirtualState::CoverOpen => Some(PrinterStatus {
                offline: true,
                cover_open: true,
                ..ready
            }),
            VirtualState::Mute => None,
        }
    }

    fn prints(self) -> bool {
        matches!(self, VirtualState::Ready | VirtualState::PaperNearEnd)
    }
}

/// Something the virtual printer put on paper.
#[derive(Clone, PartialEq, Eq)]
pub enum PrintedElement {
    /// A line of device text, decoded with the code pages selected while it was received.
    Text {
        /// The decoded characters.
        text: String,
        /// Placement.
        align: Align,
        /// Emphasised.
        bold: bool,
        /// Width and height factors.
        size: (u8, u8),
    },
    /// A raster image (`GS v 0`) as received.
    Raster(Bitmap),
    /// A QR code printed natively (`GS ( k`).
    Qr {
        /// The stored data, decoded as UTF-8 (lossy).
        payload: String,
        /// Module size in dots.
        module_dots: u8,
    },
    /// Blank lines.
    Feed(u8),
    /// The paper was cut.
    Cut,
}

impl std::fmt::Debug for PrintedElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrintedElement::Text {
                text,
                align,
                bold,
                size,
            } => write!(
                f,
                "Text(<{} chars>, {align:?}, bold {bold}, size {size:?})",
                text.chars().count()
            ),
            PrintedElement::Raster(bitmap) => write!(f, "Raster({bitmap:?})"),
            PrintedElement::Qr {
                payload,
                module_dots,
            } => {
                write!(f, "Qr(<{} bytes>, {module_dots} dots)", payload.len())
            }
            PrintedElement::Feed(lines) => write!(f, "Feed({lines})"),
            PrintedElement::Cut => f.write_str("Cut"),
        }
    }
}

/// One receipt as the virtual printer printed it (`Debug` shows counts, not the text).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PrintedReceipt {
    /// What was printed, in order.
    pub elements: Vec<PrintedElement>,
    /// Every byte received as a printable character (to check that no UTF-8 was sent).
    pub character_bytes: Vec<u8>,
    /// Commands the virtual printer did not understand, as hex.
    pub unknown_commands: Vec<String>,
    /// Characters that are undefined in the code page they were sent in.
    pub undecodable_characters: usize,
    /// Bytes of print data that arrived while the printer could not print.
    pub discarded_bytes: usize,
    /// Whether the receipt ended with a cut.
    pub cut: bool,
}

impl std::fmt::Debug for PrintedReceipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintedReceipt")
            .field("elements", &self.elements.len())
            .field("text_lines", &self.text_lines().len())
            .field("rasters", &self.rasters().len())
            .field("unknown_commands", &self.unknown_commands)
            .field("undecodable_characters", &self.undecodable_characters)
            .field("discarded_bytes", &self.discarded_bytes)
            .field("cut", &self.cut)
            .finish()
    }
}

impl PrintedReceipt {
    /// The decoded device text lines.
    pub fn text_lines(&self) -> Vec<String> {
        self.elements
            .iter()
            .filter_map(|element| match element {
                PrintedElement::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// The raster images, in order.
    pub fn rasters(&self) -> Vec<&Bitmap> {
        self.elements
            .iter()
            .filter_map(|element| match element {
                PrintedElement::Raster(bitmap) => Some(bitmap),
                _ => None,
            })
            .collect()
    }

    /// Whether anything was lost (data arrived while the printer could not print).
    pub fn is_complete(&self) -> bool {
        self.discarded_bytes == 0
    }

    fn is_empty(&self) -> bool {
        self.elements.is_empty() && self.discarded_bytes == 0
    }

    /// Draws the receipt as the paper would look, `width` dots wide.
    pub fn render(&self, width: u32) -> Bitmap {
        let mut rows: Vec<(Bitmap, u32)> = Vec::new();
        let mut rasterizer = shared_rasterizer();
        for element in &self.elements {
            match element {
                PrintedElement::Text {
                    text,
                    align,
                    bold,
                    size,
                } => {
                    let glyphs = rasterizer.device_text(text, *bold);
                    let scaled = glyphs.scaled(u32::from(size.0), u32::from(size.1));
                    let mut line = Bitmap::new(width, scaled.height() + 6);
                    line.draw(&scaled, aligned_x(*align, scaled.width(), width), 0);
                    rows.push((line, 0));
                }
                PrintedElement::Raster(bitmap) => rows.push((bitmap.clone(), 0)),
                PrintedElement::Qr {
                    payload,
                    module_dots,
                } => {
                    if let Ok(code) = crate::layout::qr_symbol(payload) {
                        let symbol = crate::layout::qr_bitmap(&code, u32::from(*module_dots));
                        let mut line = Bitmap::new(width, symbol.height());
                        line.draw(&symbol, aligned_x(Align::Center, symbol.width(), width), 0);
                        rows.push((line, 0));
                    }
                }
                PrintedElement::Feed(lines) => {
                    rows.push((Bitmap::new(width, 30 * u32::from(*lines)), 0))
                }
                PrintedElement::Cut => {
                    let mut line = Bitmap::new(width, 9);
                    for x in (0..width).filter(|x| x % 16 < 8) {
                        line.set(x, 4, true);
                    }
                    rows.push((line, 0));
                }
            }
        }
        let height: u32 = rows.iter().map(|(row, _)| row.height()).sum::<u32>().max(1);
        let mut page = Bitmap::new(width, height);
        let mut y = 0;
        for (row, x) in rows {
            page.draw(&row, x, y);
            y += row.height();
        }
        page
    }

    /// The rendering as PNG bytes, with a grey margin so the paper edge is visible.
    pub fn to_png(&self, width: u32) -> Vec<u8> {
        let paper = self.render(width).to_gray_image();
        let margin = 16;
        let mut framed = image::GrayImage::from_pixel(
            paper.width() + 2 * margin,
            paper.height() + 2 * margin,
            image::Luma([200]),
        );
        image::imageops::replace(&mut framed, &paper, i64::from(margin), i64::from(margin));
        let mut png = Vec::new();
        // Writing PNG into memory only fails on allocation failure.
        let _ = framed.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png);
        png
    }
}

fn aligned_x(align: Align, content: u32, width: u32) -> u32 {
    match align {
        Align::Start => 0,
        Align::Center => width.saturating_sub(content) / 2,
        Align::End => width.saturating_sub(content),
    }
}

/// Turns parsed commands into printed receipts; one per connection.
#[derive(Debug, Default)]
struct Interpreter {
    page: Option<CodePage>,
    align: Align,
    bold: bool,
    size: (u8, u8),
    line: String,
    qr_data: Vec<u8>,
    qr_module: u8,
    current: PrintedReceipt,
}

impl Interpreter {
    fn new() -> Self {
        Self {
            size: (1, 1),
            qr_module: 3,
            page: Some(CodePage::Pc437),
            ..Self::default()
        }
    }

    /// Applies a print command; returns a finished receipt after a cut.
    fn apply(
        &mut self,
        command: Command,
        consumed: usize,
        printing: bool,
    ) -> Option<PrintedReceipt> {
        let content = matches!(
            command,
            Command::Character(_)
                | Command::LineFeed
                | Command::Raster(_)
                | Command::FeedLines(_)
                | Command::Cut
                | Command::Qr(QrFunction::Print)
        );
        if content && !printing {
            self.current.discarded_bytes += consumed;
            return None;
        }
        match command {
            Command::Init => {
                let finished = self.take_if_not_empty();
                let kept = std::mem::take(&mut self.current);
                *self = Interpreter::new();
                self.current = kept;
                return finished;
            }
            Command::StatusRequest(_) | Command::CarriageReturn | Command::OtherSymbol => {}
            Command::SelectCodePage(number) => self.page = parser::code_page(number),
            Command::Emphasis(on) => self.bold = on,
            Command::Justify(align) => self.align = align,
            Command::PrintMode(mode) => {
                self.bold = mode & 0x08 != 0;
                self.size = (
                    if mode & 0x20 != 0 { 2 } else { 1 },
                    if mode & 0x10 != 0 { 2 } else { 1 },
                );
            }
            Command::CharacterSize { width, height } => self.size = (width, height),
            Command::FeedLines(lines) => {
                self.end_line_if_any();
                self.current.elements.push(PrintedElement::Feed(lines));
            }
            Command::LineFeed => {
                let text = std::mem::take(&mut self.line);
                self.current.elements.push(PrintedElement::Text {
                    text,
                    align: self.align,
                    bold: self.bold,
                    size: self.size,
                });
            }
            Command::Cut => {
                self.end_line_if_any();
                self.current.elements.push(PrintedElement::Cut);
                self.current.cut = true;
                return Some(std::mem::take(&mut self.current));
            }
            Command::Raster(bitmap) => {
                self.end_line_if_any();
                self.current.elements.push(PrintedElement::Raster(bitmap));
            }
            Command::Qr(function) => match function {
                QrFunction::ModuleSize(size) => self.qr_module = size.clamp(1, 16),
                QrFunction::Store(data) => self.qr_data = data,
                QrFunction::Print => {
                    self.end_line_if_any();
                    self.current.elements.push(PrintedElement::Qr {
                        payload: String::from_utf8_lossy(&self.qr_data).into_owned(),
                        module_dots: self.qr_module,
                    });
                }
                QrFunction::Model(_) | QrFunction::ErrorCorrection(_) | QrFunction::Other(_) => {}
            },
            Command::Character(byte) => {
                self.current.character_bytes.push(byte);
                match self.page.and_then(|page| page.decode(byte)) {
                    Some(character) => self.line.push(character),
                    None => {
                        self.current.undecodable_characters += 1;
                        self.line.push(char::REPLACEMENT_CHARACTER);
                    }
                }
            }
            Command::Unknown(bytes) => {
                let hex: Vec<String> = bytes.iter().map(|byte| format!("{byte:02X}")).collect();
                self.current.unknown_commands.push(hex.join(" "));
            }
        }
        None
    }

    /// Text without a final LF is printed when the next non-text command arrives.
    fn end_line_if_any(&mut self) {
        if !self.line.is_empty() {
            self.apply(Command::LineFeed, 0, true);
        }
    }

    fn take_if_not_empty(&mut self) -> Option<PrintedReceipt> {
        self.end_line_if_any();
        (!self.current.is_empty()).then(|| std::mem::take(&mut self.current))
    }
}

#[derive(Debug)]
struct Shared {
    state: VirtualState,
    /// After this many more print bytes, switch to the state (to stage "cover opened mid-job").
    pending_change: Option<(usize, VirtualState)>,
    receipts: Vec<PrintedReceipt>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running virtual printer; stops when dropped.
#[derive(Debug)]
pub struct VirtualPrinter {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    changed: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
    /// Connections served with [`VirtualPrinter::serve_stream`], stopped on drop.
    streams: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for VirtualPrinter {
    fn drop(&mut self) {
        self.server.abort();
        for stream in self
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            stream.abort();
        }
    }
}

impl VirtualPrinter {
    /// Starts listening on a free port of 127.0.0.1.
    pub async fn start(state: VirtualState) -> std::io::Result<Self> {
        Self::start_on_port(0, state).await
    }

    /// Starts listening on 127.0.0.1:`port` (0 picks a free port). Only the loopback
    /// interface is used: the virtual printer must never be reachable from the network.
    pub async fn start_on_port(port: u16, state: VirtualState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            state,
            pending_change: None,
            receipts: Vec::new(),
        }));
        let changed = Arc::new(Notify::new());
        let server = tokio::spawn(serve(listener, shared.clone(), changed.clone()));
        Ok(Self {
            addr,
            shared,
            changed,
            server,
            streams: Mutex::new(Vec::new()),
        })
    }

    /// Also serves `stream` (e.g. one end of a pseudo-terminal pair, to test the serial
    /// transport), with the same state and receipts as the TCP port.
    pub fn serve_stream<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let task = tokio::spawn(connection(
            stream,
            self.shared.clone(),
            self.changed.clone(),
        ));
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }

    /// The address to print to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes the state now.
    pub fn set_state(&self, state: VirtualState) {
        let mut shared = lock(&self.shared);
        shared.state = state;
        shared.pending_change = None;
    }

    /// Changes the state once `bytes` more bytes of print data have been processed.
    pub fn set_state_after_bytes(&self, bytes: usize, state: VirtualState) {
        lock(&self.shared).pending_change = Some((bytes, state));
    }

    /// The current state.
    pub fn state(&self) -> VirtualState {
        lock(&self.shared).state
    }

    /// Every receipt printed so far (finished by a cut, a new `ESC @` or a closed connection).
    pub fn receipts(&self) -> Vec<PrintedReceipt> {
        lock(&self.shared).receipts.clone()
    }

    /// Waits until at least `count` receipts were printed, at most `timeout`; returns what is
    /// there then.
    pub async fn wait_for_receipts(&self, count: usize, timeout: Duration) -> Vec<PrintedReceipt> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let receipts = self.receipts();
            if receipts.len() >= count {
                return receipts;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.receipts();
            }
        }
    }
}

async fn serve(listener: TcpListener, shared: Arc<Mutex<Shared>>, changed: Arc<Notify>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, shared.clone(), changed.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "virtual printer: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection<S>(mut stream: S, shared: Arc<Mutex<Shared>>, changed: Arc<Notify>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut interpreter = Interpreter::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        pending.extend_from_slice(&buffer[..read]);
        let mut offset = 0;
        while let Some((consumed, command)) = parse_one(&pending[offset..]) {
            offset += consumed;
            if let Command::StatusRequest(number) = command {
                let answer = {
                    let shared = lock(&shared);
                    let request = StatusRequest::from_number(number);
                    shared
                        .state
                        .status()
                        .zip(request)
                        .map(|(status, request)| status.answer(request))
                };
                if let Some(answer) = answer
                    && stream.write_all(&[answer]).await.is_err()
                {
                    return;
                }
                continue;
            }
            let finished = {
                let mut shared = lock(&shared);
                let printing = shared.state.prints();
                if let Some((remaining, next)) = shared.pending_change {
                    if remaining <= consumed {
                        shared.state = next;
                        shared.pending_change = None;
                    } else {
                        shared.pending_change = Some((remaining - consumed, next));
                    }
                }
                interpreter.apply(command, consumed, printing)
            };
            if let Some(receipt) = finished {
                lock(&shared).receipts.push(receipt);
                changed.notify_waiters();
            }
        }
        pending.drain(..offset);
    }
    if let Some(receipt) = interpreter.take_if_not_empty() {
        lock(&shared).receipts.push(receipt);
    }
    changed.notify_waiters();
}

/// Interprets a byte stream as a ready virtual printer would, without a network (previews).
/// Status requests are ignored; text after the last cut becomes a last receipt.
pub fn interpret(bytes: &[u8]) -> Vec<PrintedReceipt> {
    let mut interpreter = Interpreter::new();
    let mut receipts = Vec::new();
    let mut offset = 0;
    while let Some((consumed, command)) = parse_one(&bytes[offset..]) {
        offset += consumed;
        if let Some(receipt) = interpreter.apply(command, consumed, true) {
            receipts.push(receipt);
        }
    }
    if let Some(mut receipt) = interpreter.take_if_not_empty() {
        // Bytes left over at the end are an incomplete command.
        if offset < bytes.len() {
            receipt
                .unknown_commands
                .push(format!("{} trailing bytes", bytes.len() - offset));
        }
        receipts.push(receipt);
    }
    receipts
}
