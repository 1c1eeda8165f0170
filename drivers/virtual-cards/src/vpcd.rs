//! A vpcd client: puts an [`Emulation`] on a virtual reader slot of pcscd.
//!
//! Protocol (vsmartcard's vpcd): every message in both directions is a 2-byte big-endian
//! length followed by the payload. One-byte messages from vpcd are control messages:
//! `00` power off, `01` power on, `02` reset, `04` get ATR (answered with the ATR). Longer
//! messages are command APDUs, answered with the response APDU.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::emulation::{Emulation, Reply};

const POLL: Duration = Duration::from_millis(50);

/// A virtual card sitting on a vpcd slot; [`VpcdCard::remove`] or dropping it takes the
/// card away.
#[derive(Debug)]
pub struct VpcdCard {
    stop: Arc<AtomicBool>,
    commands: Arc<AtomicUsize>,
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
}

impl VpcdCard {
    /// Connects `emulation` to the vpcd slot on `127.0.0.1:port` (retrying for up to 5 s
    /// while pcscd is still loading the driver).
    pub fn insert<E: Emulation + 'static>(port: u16, emulation: E) -> io::Result<Self> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => break stream,
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => std::thread::sleep(POLL),
            }
        };
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(POLL))?;
        let stop = Arc::new(AtomicBool::new(false));
        let commands = Arc::new(AtomicUsize::new(0));
        let thread_stream = stream.try_clone()?;
        let thread_stop = Arc::clone(&stop);
        let thread_commands = Arc::clone(&commands);
        let thread = std::thread::Builder::new()
            .name("vpcd-card".into())
            .spawn(move || {
                let mut session = Session {
                    stream: thread_stream,
                    stop: thread_stop,
                    commands: thread_commands,
                };
                if let Err(error) = session.serve(emulation) {
                    tracing::debug!("virtual card session ended: {error}");
                }
                let _ = session.stream.shutdown(Shutdown::Both);
            })?;
        Ok(Self {
            stop,
            commands,
            stream,
            thread: Some(thread),
        })
    }

    /// How many APDUs the card has received so far.
    pub fn commands_received(&self) -> usize {
        self.commands.load(Ordering::SeqCst)
    }

    /// Takes the card off the reader and waits for its thread to end.
    pub fn remove(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for VpcdCard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Session {
    stream: TcpStream,
    stop: Arc<AtomicBool>,
    commands: Arc<AtomicUsize>,
}

impl Session {
    fn serve<E: Emulation>(&mut self, mut emulation: E) -> io::Result<()> {
        loop {
            let message = self.receive()?;
            match message.as_slice() {
                [0x00] | [0x02] => emulation.reset(),
                [0x01] => {}
                [0x04] => self.send(&emulation.atr())?,
                [_] => {}
                command => {
                    self.commands.fetch_add(1, Ordering::SeqCst);
                    match emulation.process(command) {
                        Reply::Respond(bytes) => self.send(&bytes)?,
                        // A mute card keeps the connection but never answers.
                        Reply::Silent => {}
                        Reply::Remove => return Ok(()),
                    }
                }
            }
        }
    }

    fn receive(&mut self) -> io::Result<Vec<u8>> {
        let mut length = [0u8; 2];
        self.read_full(&mut length)?;
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
        self.read_full(&mut message)?;
        Ok(message)
    }

    fn read_full(&mut self, buffer: &mut [u8]) -> io::Result<()> {
        let mut filled = 0;
        while filled < buffer.len() {
            if self.stop.load(Ordering::SeqCst) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "card removed"));
            }
            match self.stream.read(&mut buffer[filled..]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "vpcd closed the connection",
                    ));
                }
                Ok(read) => filled += read,
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        let length = u16::try_from(payload.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "vpcd messages are at most 65535 bytes",
            )
        })?;
        let mut frame = Vec::with_capacity(payload.len() + 2);
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame)
    }
}
