//! The data connection, written by hand so a student sees each step (RFC 959 §3.2–§3.4 and
//! §4.1.2; RFC 2428 §2–§3 for EPRT and EPSV).
//!
//! Files and listings never travel on the control connection. Before each transfer the client
//! and the server agree who opens a *second* TCP connection, which carries exactly one file or
//! listing and is then closed:
//!
//! | mode | the client sends | the reply | who connects |
//! |------|------------------|-----------|--------------|
//! | passive (the seed's, ftplib's default) | `PASV` | `227 … (h1,h2,h3,h4,p1,p2)`: port = p1 × 256 + p2 | the client |
//! | extended passive | `EPSV` | `229 … (\|\|\|port\|)`: same host, this port | the client |
//! | active | `PORT h1,h2,h3,h4,p1,p2` (or `EPRT \|2\|addr\|port\|`) | `200` | the server |
//!
//! In stream mode (RFC 959 §3.4.1) the end of a file is the close of its connection, which is
//! why every transfer needs a new one. Closing an upload's connection is how the client says
//! "that was the last byte".
//!
//! In TYPE A (ASCII, RFC 959 §3.1.1.1) lines travel with CRLF endings; this client converts
//! them to and from the local LF. In TYPE I (image, binary) bytes travel unchanged.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::error::ClientError;
use super::narrate::Narrator;
use super::wire::Wire;

/// How much is read or written at a time.
const CHUNK: usize = 64 * 1024;

/// Who opens the data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// `PASV`: the server listens, the client connects (RFC 959 §4.1.2).
    Passive,
    /// `EPSV`: like PASV, but only the port is sent, so it works over IPv6 (RFC 2428 §3).
    ExtendedPassive,
    /// `PORT`/`EPRT`: the client listens, the server connects back (RFC 959 §4.1.2).
    Active,
}

impl DataMode {
    /// A short description for the menu and the narration.
    pub fn describe(self) -> &'static str {
        match self {
            DataMode::Passive => "passive (PASV): the client connects to a port the server opens",
            DataMode::ExtendedPassive => "extended passive (EPSV): PASV for IPv4 and IPv6",
            DataMode::Active => "active (PORT): the server connects to a port the client opens",
        }
    }
}

/// The six numbers of a `227` reply, found wherever they are in its text (RFC 1123
/// §4.1.2.6 tells clients to scan for them, since the brackets are not required).
///
/// ```
/// use localftp::client::data::parse_227;
/// let numbers = parse_227("227 Entering Passive Mode (127,0,0,1,195,80).");
/// assert_eq!(numbers, Some([127, 0, 0, 1, 195, 80]));
/// assert_eq!(parse_227("227 =127,0,0,1,4,1"), Some([127, 0, 0, 1, 4, 1]));
/// assert_eq!(parse_227("227 Entering Passive Mode"), None);
/// ```
pub fn parse_227(text: &str) -> Option<[u8; 6]> {
    // Skip the code itself, then try each place where a run of digits starts.
    let body = text.get(4..).unwrap_or("");
    let bytes = body.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
        .find_map(|start| six_numbers(&body[start..]))
}

fn six_numbers(text: &str) -> Option<[u8; 6]> {
    let end = text
        .find(|c: char| !c.is_ascii_digit() && c != ',' && c != ' ')
        .unwrap_or(text.len());
    let parts: Vec<&str> = text[..end].split(',').map(str::trim).collect();
    if parts.len() < 6 {
        return None;
    }
    let mut numbers = [0u8; 6];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        *slot = part.parse().ok()?;
    }
    Some(numbers)
}

/// The port of a `229` reply: the number between `|||` and `|` (RFC 2428 §3).
///
/// ```
/// use localftp::client::data::parse_229;
/// assert_eq!(parse_229("229 Entering Extended Passive Mode (|||50000|)"), Some(50000));
/// assert_eq!(parse_229("229 Entering Extended Passive Mode"), None);
/// ```
pub fn parse_229(text: &str) -> Option<u16> {
    let (_, rest) = text.split_once("|||")?;
    let (port, _) = rest.split_once('|')?;
    port.trim().parse().ok()
}

/// A data connection being set up: connected already (passive), or waiting for the server
/// (active).
pub enum Pending {
    /// Passive: the client connected to the server's port before sending the command.
    Connected(TcpStream),
    /// Active: the client listens; the server connects once it accepts the command.
    Listening(TcpListener),
}

/// Agree on a data connection with the server (PASV, EPSV or PORT/EPRT), showing the
/// arithmetic, and connect if the client is the one that connects.
pub fn prepare(wire: &mut Wire, mode: DataMode) -> Result<Pending, ClientError> {
    let peer = wire.peer_addr().map(|a| a.ip());
    match mode {
        DataMode::Passive => {
            let reply = wire.require("PASV", |code| code == 227)?;
            let Some(n) = parse_227(&reply.full_text()) else {
                return Err(ClientError::BadReply {
                    problem: "the 227 reply has no six numbers h1,h2,h3,h4,p1,p2".into(),
                });
            };
            let announced = Ipv4Addr::new(n[0], n[1], n[2], n[3]);
            let port = u16::from(n[4]) * 256 + u16::from(n[5]);
            let note = |text: &str| wire.narrator().note(text);
            note(&format!(
                "the six numbers: h1,h2,h3,h4 = {},{},{},{} is the IP {announced}; p1 = {}, p2 = {}",
                n[0], n[1], n[2], n[3], n[4], n[5]
            ));
            note(&format!(
                "data port = p1 × 256 + p2 = {} × 256 + {} = {port}",
                n[4], n[5]
            ));
            // A server that announces 0.0.0.0 means "the address you already reach me on".
            let ip = match (announced.is_unspecified(), peer) {
                (true, Some(peer)) => {
                    note(&format!(
                        "0.0.0.0 means the same host as the control connection: {peer}"
                    ));
                    peer
                }
                _ => IpAddr::V4(announced),
            };
            connect(SocketAddr::new(ip, port), wire)
        }
        DataMode::ExtendedPassive => {
            let reply = wire.require("EPSV", |code| code == 229)?;
            let Some(port) = parse_229(&reply.full_text()) else {
                return Err(ClientError::BadReply {
                    problem: "the 229 reply has no port between |||s".into(),
                });
            };
            let Some(ip) = peer else {
                return Err(ClientError::BadReply {
                    problem: "the control connection has no peer address".into(),
                });
            };
            wire.narrator().note(&format!(
                "data port = {port}, the number between the |||s; the host is the control \
                 connection's own ({ip}), so EPSV works for IPv4 and IPv6 alike"
            ));
            connect(SocketAddr::new(ip, port), wire)
        }
        DataMode::Active => listen(wire),
    }
}

/// Passive: open the second TCP connection to the server's data port.
fn connect(address: SocketAddr, wire: &Wire) -> Result<Pending, ClientError> {
    let narrator = wire.narrator();
    narrator.data(&format!(
        "opening a second TCP connection to {address} (the data connection)"
    ));
    let stream = TcpStream::connect_timeout(&address, wire.timeout()).map_err(|source| {
        ClientError::Data {
            during: format!("connecting to {address}"),
            source,
        }
    })?;
    if let Ok(local) = stream.local_addr() {
        narrator.data(&format!("open: {local} -> {address}"));
    }
    Ok(Pending::Connected(stream))
}

/// Active: listen on the control connection's local IP, and tell the server where with PORT
/// (IPv4) or EPRT (IPv6).
fn listen(wire: &mut Wire) -> Result<Pending, ClientError> {
    let during = |source| ClientError::Data {
        during: "opening a port for the server to connect to".into(),
        source,
    };
    let ip = wire
        .local_addr()
        .map(|a| a.ip())
        .ok_or_else(|| during(io::ErrorKind::NotConnected.into()))?;
    let listener = TcpListener::bind((ip, 0)).map_err(during)?;
    let port = listener.local_addr().map_err(during)?.port();
    let (p1, p2) = (port / 256, port % 256);
    wire.narrator().data(&format!(
        "listening on {} for the server to connect back (active mode)",
        SocketAddr::new(ip, port)
    ));
    let command = match ip {
        IpAddr::V4(v4) => {
            let [h1, h2, h3, h4] = v4.octets();
            wire.narrator().note(&format!(
                "port {port} = p1 × 256 + p2 with p1 = {port} / 256 = {p1}, p2 = {port} % 256 = {p2}"
            ));
            format!("PORT {h1},{h2},{h3},{h4},{p1},{p2}")
        }
        IpAddr::V6(v6) => format!("EPRT |2|{v6}|{port}|"),
    };
    wire.require(&command, |code| code == 200)?;
    Ok(Pending::Listening(listener))
}

impl Pending {
    /// The open data connection, once the server has accepted the transfer command. Passive:
    /// already open. Active: wait (at most the timeout) for the server to connect, from the
    /// control connection's host only (RFC 2577 §3: anyone else could be stealing the file).
    pub fn open(self, wire: &Wire) -> Result<TcpStream, ClientError> {
        let stream = match self {
            Pending::Connected(stream) => stream,
            Pending::Listening(listener) => accept(&listener, wire)?,
        };
        let timeout = Some(wire.timeout());
        let _ = stream.set_read_timeout(timeout);
        let _ = stream.set_write_timeout(timeout);
        Ok(stream)
    }
}

fn accept(listener: &TcpListener, wire: &Wire) -> Result<TcpStream, ClientError> {
    let failed = |source| ClientError::Data {
        during: "waiting for the server to connect".into(),
        source,
    };
    let server = wire.peer_addr().map(|a| a.ip());
    // std has no accept timeout: poll a non-blocking listener until the deadline.
    listener.set_nonblocking(true).map_err(failed)?;
    let deadline = Instant::now() + wire.timeout();
    loop {
        match listener.accept() {
            Ok((stream, from)) if Some(from.ip()) == server => {
                stream.set_nonblocking(false).map_err(failed)?;
                wire.narrator()
                    .data(&format!("open: the server connected from {from}"));
                return Ok(stream);
            }
            Ok((_, from)) => wire.narrator().data(&format!(
                "ignored a connection from {from}: it is not the server"
            )),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(20));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(failed(io::ErrorKind::TimedOut.into()));
            }
            Err(e) => return Err(failed(e)),
        }
    }
}

/// How many bytes moved: on the wire, and in the local file (they differ in TYPE A).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Bytes that went over the data connection.
    pub wire: u64,
    /// Bytes read from or written to the local file.
    pub local: u64,
}

/// Why a copy stopped: the network side or the local file side.
#[derive(Debug)]
pub enum CopyError {
    /// Reading or writing the data connection failed.
    Network(io::Error, Counts),
    /// Reading or writing the local file failed.
    Local(io::Error, Counts),
}

/// Copy the data connection into `local` until the server closes it (a download or listing).
/// In ASCII mode CRLF becomes LF.
pub fn receive<R: Read + ?Sized, W: Write + ?Sized>(
    data: &mut R,
    local: &mut W,
    ascii: bool,
    bar: Option<&ProgressBar>,
) -> Result<Counts, CopyError> {
    let mut buffer = vec![0u8; CHUNK];
    let mut counts = Counts::default();
    let mut text = LineEndings::default();
    loop {
        let n = match data.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Network(e, counts)),
        };
        counts.wire += n as u64;
        let out = if ascii {
            text.convert_to_local(&buffer[..n])
        } else {
            buffer[..n].to_vec()
        };
        local
            .write_all(&out)
            .map_err(|e| CopyError::Local(e, counts))?;
        counts.local += out.len() as u64;
        if let Some(bar) = bar {
            bar.inc(n as u64);
        }
    }
    let rest = text.finish();
    local
        .write_all(&rest)
        .and_then(|()| local.flush())
        .map_err(|e| CopyError::Local(e, counts))?;
    counts.local += rest.len() as u64;
    Ok(counts)
}

/// Copy `local` onto the data connection (an upload). In ASCII mode LF becomes CRLF.
pub fn send<R: Read + ?Sized, W: Write + ?Sized>(
    local: &mut R,
    data: &mut W,
    ascii: bool,
    bar: Option<&ProgressBar>,
) -> Result<Counts, CopyError> {
    let mut buffer = vec![0u8; CHUNK];
    let mut counts = Counts::default();
    let mut text = LineEndings::default();
    loop {
        let n = match local.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Local(e, counts)),
        };
        counts.local += n as u64;
        let out = if ascii {
            text.convert_to_wire(&buffer[..n])
        } else {
            buffer[..n].to_vec()
        };
        data.write_all(&out)
            .map_err(|e| CopyError::Network(e, counts))?;
        counts.wire += out.len() as u64;
        if let Some(bar) = bar {
            bar.inc(n as u64);
        }
    }
    data.flush().map_err(|e| CopyError::Network(e, counts))?;
    Ok(counts)
}

/// TYPE A line-ending conversion that works chunk by chunk: a CR at the end of one chunk may
/// be followed by the LF at the start of the next.
#[derive(Debug, Default)]
struct LineEndings {
    /// Receiving: a CR was seen last and its LF may come next.
    held_cr: bool,
    /// Sending: the last byte sent was a CR (so an LF after it is already CRLF).
    last_was_cr: bool,
}

impl LineEndings {
    /// CRLF → LF; a CR not followed by LF is kept.
    fn convert_to_local(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len());
        for &byte in chunk {
            if self.held_cr {
                self.held_cr = false;
                if byte != b'\n' {
                    out.push(b'\r');
                }
            }
            if byte == b'\r' {
                self.held_cr = true;
            } else {
                out.push(byte);
            }
        }
        out
    }

    /// What a CR at the very end of a download stands for: itself.
    fn finish(&mut self) -> Vec<u8> {
        if std::mem::take(&mut self.held_cr) {
            vec![b'\r']
        } else {
            Vec::new()
        }
    }

    /// LF → CRLF, leaving existing CRLFs alone.
    fn convert_to_wire(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 16);
        for &byte in chunk {
            if byte == b'\n' && !self.last_was_cr {
                out.push(b'\r');
            }
            out.push(byte);
            self.last_was_cr = byte == b'\r';
        }
        out
    }
}

/// Say how the data connection ended and how many bytes it carried.
pub fn report(narrator: &Narrator, counts: Counts, downloading: bool) {
    let converted = if counts.wire != counts.local {
        format!(
            " ({} bytes in the local file: TYPE A changed the line endings)",
            counts.local
        )
    } else {
        String::new()
    };
    if downloading {
        narrator.data(&format!(
            "{} bytes received{converted}; the server closed the data connection (end of data)",
            counts.wire
        ));
    } else {
        narrator.data(&format!(
            "{} bytes sent{converted}; the client closed the data connection, \
             which tells the server the file is complete",
            counts.wire
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_split_across_chunks_becomes_one_lf() {
        let mut text = LineEndings::default();
        let mut out = text.convert_to_local(b"one\r");
        out.extend(text.convert_to_local(b"\ntwo\r\n"));
        out.extend(text.finish());
        assert_eq!(out, b"one\ntwo\n");
    }

    #[test]
    fn lone_cr_survives_a_download() {
        let mut text = LineEndings::default();
        let mut out = text.convert_to_local(b"a\rb\r");
        out.extend(text.finish());
        assert_eq!(out, b"a\rb\r");
    }

    #[test]
    fn uploads_get_crlf_once() {
        let mut text = LineEndings::default();
        let mut out = text.convert_to_wire(b"a\nb\r");
        out.extend(text.convert_to_wire(b"\nc\n"));
        assert_eq!(out, b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn binary_copies_are_byte_for_byte() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        let mut out = Vec::new();
        let counts = receive(&mut bytes.as_slice(), &mut out, false, None).unwrap();
        assert_eq!(out, bytes);
        assert_eq!(counts.wire, 200_000);
        assert_eq!(counts.local, 200_000);
    }

    #[test]
    fn a_full_local_disk_is_a_local_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(28))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let result = receive(&mut &b"some bytes"[..], &mut Full, false, None);
        match result {
            Err(CopyError::Local(e, counts)) => {
                assert!(super::super::error::is_disk_full(&e));
                assert_eq!(counts.wire, 10);
                assert_eq!(counts.local, 0);
            }
            other => panic!("expected a local error, got {other:?}"),
        }
    }

    #[test]
    fn the_six_numbers_are_found_after_the_code() {
        // The code's own digits (227) must not be taken for h1.
        assert_eq!(
            parse_227("227 Entering Passive Mode (10,0,0,5,4,1)"),
            Some([10, 0, 0, 5, 4, 1])
        );
        assert_eq!(parse_227("227 (300,0,0,1,4,1)"), None);
    }
}
