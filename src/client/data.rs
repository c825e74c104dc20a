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
//! Under `PROT P` (FTPS, RFC 4217 §9) the new connection starts with a TLS handshake, in which
//! the server is the TLS server whichever side connected; see [`super::tls::secure_data`].
//!
//! Once the connection is open, [`super::copy`] moves and counts the bytes (through the
//! watch of `watch`, which notices a final reply sent before the data connection closed).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::error::ClientError;
use super::notes::{Note, usual_pasv_form};
use super::stream::Stream;
use super::tls;
use super::wire::Wire;

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
    /// Active: the server has connected already (seen by [`Pending::connected_yet`]).
    Accepted(TcpStream, SocketAddr),
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
            if !usual_pasv_form(&reply.full_text()) {
                wire.note(Note::OddPasvForm);
            }
            let announced = Ipv4Addr::new(n[0], n[1], n[2], n[3]);
            let port = u16::from(n[4]) * 256 + u16::from(n[5]);
            let narrator = wire.narrator().clone();
            let note = |text: &str| narrator.note(text);
            note(&format!(
                "the six numbers: h1,h2,h3,h4 = {},{},{},{} is the IP {announced}; p1 = {}, p2 = {}",
                n[0], n[1], n[2], n[3], n[4], n[5]
            ));
            note(&format!(
                "data port = p1 × 256 + p2 = {} × 256 + {} = {port}",
                n[4], n[5]
            ));
            // A server that announces 0.0.0.0 means "the address you already reach me on". One
            // that announces another address is most often behind NAT and names its inside
            // address, which the client cannot reach: like curl, use the control connection's.
            let ip = match (announced.is_unspecified(), peer) {
                (true, Some(peer)) => {
                    note(&format!(
                        "0.0.0.0 means the same host as the control connection: {peer}"
                    ));
                    peer
                }
                (false, Some(peer)) if peer != IpAddr::V4(announced) => {
                    wire.note(Note::WrongPasvAddress {
                        announced: IpAddr::V4(announced),
                        using: peer,
                    });
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
    /// Under `PROT P`, the TLS handshake follows.
    pub fn open(self, wire: &Wire) -> Result<Stream, ClientError> {
        let stream = match self {
            Pending::Connected(stream) => stream,
            Pending::Listening(listener) => accept(&listener, wire)?,
            Pending::Accepted(stream, from) => {
                wire.narrator()
                    .data(&format!("open: the server connected from {from}"));
                stream
            }
        };
        let timeout = Some(wire.timeout());
        let _ = stream.set_read_timeout(timeout);
        let _ = stream.set_write_timeout(timeout);
        match wire.data_tls() {
            Some(settings) => tls::secure_data(stream, settings, wire.narrator()),
            None => Ok(Stream::Plain(stream)),
        }
    }
}

impl Pending {
    /// Active mode: whether the server has connected yet, looking without waiting. If it has,
    /// the connection is taken now (and shown when it is used).
    pub fn connected_yet(&mut self, wire: &Wire) -> bool {
        let Pending::Listening(listener) = self else {
            return true;
        };
        if listener.set_nonblocking(true).is_err() {
            return true;
        }
        let accepted = listener.accept();
        let _ = listener.set_nonblocking(false);
        match accepted {
            Ok((stream, from)) if Some(from.ip()) == wire.peer_addr().map(|a| a.ip()) => {
                let _ = stream.set_nonblocking(false);
                *self = Pending::Accepted(stream, from);
                true
            }
            Ok((_, from)) => {
                wire.narrator().data(&format!(
                    "ignored a connection from {from}: it is not the server"
                ));
                false
            }
            Err(_) => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
