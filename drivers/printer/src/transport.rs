//! Byte transports to a printer: TCP (port 9100), USB printer class device files
//! (`/dev/usb/lp*`, or any character device or FIFO), and serial ports.
//!
//! A transport only moves bytes; time-outs are applied by the driver around every call, so a
//! transport that hangs makes the printer "offline", never the kiosk stuck.

use std::future::Future;
use std::io;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A bidirectional byte channel to one printer.
pub trait Transport: Send {
    /// Where the printer is (address or device path), for errors and logs.
    fn endpoint(&self) -> &str;

    /// Sends all of `bytes`.
    fn send(&mut self, bytes: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Receives at most `buf.len()` bytes; `Ok(0)` means the printer closed the connection.
    fn receive(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;
}

/// A transport over any tokio stream (TCP socket, device file, serial port).
#[derive(Debug)]
pub struct StreamTransport<S> {
    stream: S,
    endpoint: String,
}

impl<S> StreamTransport<S> {
    /// Wraps an opened stream; `endpoint` names it in errors.
    pub fn new(stream: S, endpoint: impl Into<String>) -> Self {
        Self {
            stream,
            endpoint: endpoint.into(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Transport for StreamTransport<S> {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    async fn receive(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).await
    }
}

/// A raw TCP printer ("port 9100", "JetDirect").
pub type TcpTransport = StreamTransport<tokio::net::TcpStream>;

/// Connects to a network printer, giving up after `timeout`.
pub async fn connect_tcp(address: &str, timeout: Duration) -> io::Result<TcpTransport> {
    let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no TCP connection to {address} within {timeout:?}"),
            )
        })??;
    stream.set_nodelay(true)?;
    Ok(StreamTransport::new(stream, format!("tcp://{address}")))
}

/// A printer reached through a device file.
pub type DeviceTransport = StreamTransport<tokio::fs::File>;

/// Opens a USB printer class device (`/dev/usb/lp0`) or another read/write device file.
///
/// The kernel's `usblp` driver passes status answers back on read, so status works as on
/// TCP. The kiosk user needs write access (group `lp`).
pub async fn open_device(path: &Path) -> io::Result<DeviceTransport> {
    let file = tokio::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .await
        .map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "cannot open printer device {}: {error} (is the printer plugged in and is \
                     the kiosk user in group lp?)",
                    path.display()
                ),
            )
        })?;
    Ok(StreamTransport::new(file, path.display().to_string()))
}

/// A serial (RS-232 / USB-serial) printer.
pub type SerialTransport = StreamTransport<tokio_serial::SerialStream>;

/// Opens a serial printer at `baud` baud, 8N1, hardware flow control (ESC/POS default).
pub fn open_serial(path: &str, baud: u32) -> io::Result<SerialTransport> {
    use tokio_serial::SerialPortBuilderExt;
    let port = tokio_serial::new(path, baud)
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(tokio_serial::Parity::None)
        .stop_bits(tokio_serial::StopBits::One)
        .flow_control(tokio_serial::FlowControl::Hardware)
        .open_native_async()
        .map_err(|error| {
            io::Error::other(format!(
                "cannot open serial printer {path} at {baud} baud: {error}"
            ))
        })?;
    Ok(StreamTransport::new(port, format!("serial://{path}")))
}

/// USB printer class (interface class 7).
const USB_CLASS_PRINTER: u8 = 7;

/// The bulk OUT and IN endpoints of a USB printer interface, as one stream.
pub struct UsbBulkStream {
    writer: nusb::io::EndpointWrite<nusb::transfer::Bulk>,
    reader: nusb::io::EndpointRead<nusb::transfer::Bulk>,
}

impl std::fmt::Debug for UsbBulkStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UsbBulkStream")
    }
}

impl AsyncRead for UsbBulkStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for UsbBulkStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}

/// A USB printer driven directly through its bulk endpoints (no kernel printer driver).
pub type UsbTransport = StreamTransport<UsbBulkStream>;

/// Opens the USB printer `vendor_id:product_id` through its bulk endpoints with `nusb`
/// (pure Rust, Linux usbfs; no libusb needed). The kernel's `usblp` driver is detached from
/// the printer interface first. Use this when `/dev/usb/lp*` is not available or does not
/// pass status answers back.
pub async fn open_usb(vendor_id: u16, product_id: u16) -> io::Result<UsbTransport> {
    let name = format!("usb://{vendor_id:04x}:{product_id:04x}");
    let not_found = || {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no USB printer {name} is connected; check the cable and the printer's power"),
        )
    };
    let context = |what: &'static str| {
        let name = name.clone();
        move |error: nusb::Error| {
            let error = io::Error::from(error);
            io::Error::new(
                error.kind(),
                format!(
                    "USB printer {name}: cannot {what}: {error} (the kiosk user needs access to \
                     the device node, e.g. a udev rule)"
                ),
            )
        }
    };
    let info = nusb::list_devices()
        .await
        .map_err(context("list USB devices"))?
        .find(|device| device.vendor_id() == vendor_id && device.product_id() == product_id)
        .ok_or_else(not_found)?;
    let interface_number = info
        .interfaces()
        .find(|interface| interface.class() == USB_CLASS_PRINTER)
        .map(|interface| interface.interface_number())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("USB device {name} has no printer-class interface; is it the printer?"),
            )
        })?;
    let device = info.open().await.map_err(context("open the device"))?;
    let (out_address, in_address) = {
        let configuration = device.active_configuration().map_err(|error| {
            io::Error::other(format!(
                "USB printer {name}: no active configuration: {error}"
            ))
        })?;
        let endpoints: Vec<(u8, bool)> = configuration
            .interfaces()
            .filter(|interface| interface.interface_number() == interface_number)
            .flat_map(|interface| interface.alt_settings().take(1).collect::<Vec<_>>())
            .flat_map(|setting| setting.endpoints().collect::<Vec<_>>())
            .filter(|endpoint| endpoint.transfer_type() == nusb::descriptors::TransferType::Bulk)
            .map(|endpoint| {
                (
                    endpoint.address(),
                    endpoint.direction() == nusb::transfer::Direction::In,
                )
            })
            .collect();
        let out = endpoints.iter().find(|(_, is_in)| !is_in).map(|(a, _)| *a);
        let input = endpoints.iter().find(|(_, is_in)| *is_in).map(|(a, _)| *a);
        match (out, input) {
            (Some(out), Some(input)) => (out, input),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "USB printer {name} has no bulk IN endpoint, so it cannot report its \
                         status; it cannot be used by the kiosk"
                    ),
                ));
            }
        }
    };
    let interface = device
        .detach_and_claim_interface(interface_number)
        .await
        .map_err(context("claim the printer interface"))?;
    let writer = interface
        .endpoint::<nusb::transfer::Bulk, nusb::transfer::Out>(out_address)
        .map_err(context("open the bulk OUT endpoint"))?
        .writer(4096);
    let reader = interface
        .endpoint::<nusb::transfer::Bulk, nusb::transfer::In>(in_address)
        .map_err(context("open the bulk IN endpoint"))?
        .reader(64);
    Ok(StreamTransport::new(UsbBulkStream { writer, reader }, name))
}

/// Where a printer is, as a technician writes it in the kiosk's configuration
/// or on the command line: `tcp://HOST:PORT`, a device path such as
/// `/dev/usb/lp0`, or `serial:DEVICE:BAUD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Raw TCP (port 9100): `tcp://HOST:PORT`.
    Tcp(String),
    /// A device file such as `/dev/usb/lp0`.
    Device(std::path::PathBuf),
    /// A serial port: `serial:/dev/ttyS0:19200`.
    Serial {
        /// Device path.
        path: String,
        /// Baud rate.
        baud: u32,
    },
}

/// Why a printer endpoint could not be parsed; the message names the value
/// and shows the right form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// `tcp://` without a host or a port from 1 to 65535.
    #[error("'{0}' is not HOST:PORT with a port from 1 to 65535, e.g. tcp://192.168.1.50:9100")]
    Tcp(String),
    /// `serial:` without an absolute device path or a standard baud rate.
    #[error(
        "'{0}' is not serial:DEVICE:BAUD with a standard baud rate (4800, 9600, 19200, 38400, 57600, 115200), e.g. serial:/dev/ttyS0:19200"
    )]
    Serial(String),
    /// None of the forms.
    #[error(
        "'{0}' is not a printer connection; write tcp://HOST:PORT, a device path such as /dev/usb/lp0, or serial:/dev/ttyS0:19200"
    )]
    Unknown(String),
}

impl Endpoint {
    /// Baud rates a serial receipt printer can be set to.
    pub const BAUD_RATES: [u32; 6] = [4800, 9600, 19200, 38400, 57600, 115_200];

    /// Parses the configuration syntax.
    pub fn parse(value: &str) -> Result<Self, EndpointError> {
        let value = value.trim();
        if let Some(address) = value.strip_prefix("tcp://") {
            let valid = address.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port != 0)
            });
            return if valid {
                Ok(Self::Tcp(address.to_owned()))
            } else {
                Err(EndpointError::Tcp(value.to_owned()))
            };
        }
        if let Some(rest) = value.strip_prefix("serial:") {
            let parsed = rest
                .rsplit_once(':')
                .and_then(|(path, baud)| Some((path, baud.parse::<u32>().ok()?)));
            return match parsed {
                Some((path, baud)) if path.starts_with('/') && Self::BAUD_RATES.contains(&baud) => {
                    Ok(Self::Serial {
                        path: path.to_owned(),
                        baud,
                    })
                }
                _ => Err(EndpointError::Serial(value.to_owned())),
            };
        }
        if value.starts_with('/') {
            return Ok(Self::Device(std::path::PathBuf::from(value)));
        }
        Err(EndpointError::Unknown(value.to_owned()))
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(address) => write!(f, "tcp://{address}"),
            Self::Device(path) => write!(f, "{}", path.display()),
            Self::Serial { path, baud } => write!(f, "serial:{path}:{baud}"),
        }
    }
}

/// Any of the transports, chosen by an [`Endpoint`].
#[derive(Debug)]
pub enum AnyTransport {
    /// Raw TCP.
    Tcp(TcpTransport),
    /// Device file.
    Device(DeviceTransport),
    /// Serial port.
    Serial(SerialTransport),
}

impl Transport for AnyTransport {
    fn endpoint(&self) -> &str {
        match self {
            Self::Tcp(transport) => transport.endpoint(),
            Self::Device(transport) => transport.endpoint(),
            Self::Serial(transport) => transport.endpoint(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Tcp(transport) => transport.send(bytes).await,
            Self::Device(transport) => transport.send(bytes).await,
            Self::Serial(transport) => transport.send(bytes).await,
        }
    }

    async fn receive(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(transport) => transport.receive(buf).await,
            Self::Device(transport) => transport.receive(buf).await,
            Self::Serial(transport) => transport.receive(buf).await,
        }
    }
}

/// Opens the printer at `endpoint`, giving up after `timeout`.
pub async fn open(endpoint: &Endpoint, timeout: Duration) -> io::Result<AnyTransport> {
    let opened = tokio::time::timeout(timeout, async {
        match endpoint {
            Endpoint::Tcp(address) => connect_tcp(address, timeout).await.map(AnyTransport::Tcp),
            Endpoint::Device(path) => open_device(path).await.map(AnyTransport::Device),
            Endpoint::Serial { path, baud } => open_serial(path, *baud).map(AnyTransport::Serial),
        }
    })
    .await;
    opened.unwrap_or_else(|_| {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection to {endpoint} within {timeout:?}"),
        ))
    })
}
