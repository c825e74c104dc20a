//! The data connection: the second TCP connection that carries files and listings
//! (RFC 959 §3.2 and §3.3; RFC 2428 for EPSV and EPRT).
//!
//! FTP keeps commands and data apart. Commands travel on the control connection (port 2122
//! here); every file and every listing travels on a new TCP connection opened for it and closed
//! after it. Who opens that connection is the one choice:
//!
//! - **Passive** (`PASV`, `EPSV`): the server opens a listening port and tells the client where
//!   it is (`227 Entering Passive Mode (127,0,0,1,195,80)`, port = 195 × 256 + 80 = 50000); the
//!   client connects to it. This works through the client's NAT and firewall, so every modern
//!   client uses it by default.
//! - **Active** (`PORT`, `EPRT`): the client listens and the server connects to it.
//!
//! Either way the command that needs data (`LIST`, `RETR`, `STOR`, …) comes next, and the
//! connection is made when it runs ([`DataPlan::already_open`], [`DataPlan::open`]).
//!
//! Security (RFC 2577 §3, "bounce attacks" and connection theft): a passive port accepts only a
//! connection from the control connection's own address, so another host cannot steal a file by
//! racing to the port.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long one wait for a connection lasts before the abort flag is looked at again.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// What PASV/EPSV or PORT/EPRT set up for the next transfer.
#[derive(Debug)]
pub enum DataPlan {
    /// The server listens; the client will connect.
    Passive(TcpListener),
    /// The client listens at this address; the server will connect.
    Active(SocketAddr),
}

/// Why the data connection could not be made (answered `425`).
#[derive(Debug)]
pub enum DataError {
    /// Nobody connected to the passive port in time.
    AcceptTimeout(Duration),
    /// A connection came from another address than the control connection's.
    ForeignPeer(SocketAddr),
    /// The server could not connect to the client's port.
    Connect(io::Error),
    /// The transfer was aborted before the connection was made.
    Aborted,
    /// Any other socket error.
    Io(io::Error),
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::AcceptTimeout(t) => {
                write!(
                    f,
                    "no data connection arrived within {:.1} s",
                    t.as_secs_f64()
                )
            }
            DataError::ForeignPeer(peer) => write!(
                f,
                "data connection from {} refused: it must come from the control connection's address",
                peer.ip()
            ),
            DataError::Connect(e) => write!(f, "could not connect to the client: {e}"),
            DataError::Aborted => write!(f, "aborted"),
            DataError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Open a passive listener on `ip` (the control connection's local address, so the client can
/// reach it the same way), on a port from `ports` if given, else from the system's range of
/// ephemeral ports. `sequential` (for `--lab`) takes the first free port of the range instead
/// of a random one, so the same script sees the same ports in every run.
///
/// Without a range the port is still chosen here, not by `bind` to port 0. Every passive data
/// connection the server closes leaves its port in TIME_WAIT for a minute, and Linux's search
/// for a free port 0 steps over each of those: after some 10,000 transfers in a minute (a
/// client mirroring small files), each PASV took milliseconds of CPU and the server managed
/// 560 files/s instead of 3,900 (BENCHMARKS.md). Binding one chosen port with SO_REUSEADDR
/// (which std sets on Unix) succeeds at once over a port that only TIME_WAIT holds. vsftpd
/// picks its passive ports itself too.
pub fn listen(
    ip: IpAddr,
    ports: Option<&RangeInclusive<u16>>,
    sequential: bool,
) -> io::Result<TcpListener> {
    let system = crate::platform::ephemeral_ports();
    let chosen = ports.unwrap_or(&system);
    match walk(ip, chosen, sequential) {
        // A full system range: let the OS look once more, in case it knows better.
        Err(_) if ports.is_none() => TcpListener::bind((ip, 0)),
        other => other,
    }
}

/// Bind the first port of `ports` that is free, starting at a random one (or the first).
fn walk(ip: IpAddr, ports: &RangeInclusive<u16>, sequential: bool) -> io::Result<TcpListener> {
    // Start at a random port of the range and walk it: a port that another session holds is
    // skipped. Random, so the next data port cannot be guessed from the last one.
    let span = u32::from(*ports.end() - *ports.start()) + 1;
    let first = if sequential {
        0
    } else {
        (random_u64() % u64::from(span)) as u32
    };
    let mut last_error = None;
    for i in 0..span {
        let port = *ports.start() + ((first + i) % span) as u16;
        match TcpListener::bind((ip, port)) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("empty passive port range")))
}

impl DataPlan {
    /// The data connection, if the client has already made it: a passive connection waiting
    /// in the listener's backlog. Then the transfer's first reply is 125, not 150 (RFC 959
    /// §4.2: "data connection already open; transfer starting").
    ///
    /// `control_peer` is the control connection's client address: a passive connection from
    /// any other address is refused. `None` accepts any address (`permit_foreign_addresses`).
    pub fn already_open(
        &self,
        control_peer: Option<IpAddr>,
    ) -> Result<Option<TcpStream>, DataError> {
        let DataPlan::Passive(listener) = self else {
            return Ok(None);
        };
        listener.set_nonblocking(true).map_err(DataError::Io)?;
        let first = listener.accept();
        listener.set_nonblocking(false).map_err(DataError::Io)?;
        match first {
            Ok(pair) => {
                let stream = checked(pair, control_peer)?;
                stream.set_nonblocking(false).map_err(DataError::Io)?;
                Ok(Some(stream))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(DataError::Io(e)),
        }
    }

    /// Make the data connection: wait for the client's connection (passive) or connect to the
    /// client (active), at most `timeout`, giving up early if `abort` is set.
    pub fn open(
        self,
        control_peer: Option<IpAddr>,
        timeout: Duration,
        abort: &AtomicBool,
    ) -> Result<TcpStream, DataError> {
        match self {
            DataPlan::Passive(listener) => accept(&listener, control_peer, timeout, abort),
            DataPlan::Active(address) => {
                TcpStream::connect_timeout(&address, timeout).map_err(DataError::Connect)
            }
        }
    }
}

/// A passive connection is kept only if it comes from the control connection's host.
fn checked(
    (stream, peer): (TcpStream, SocketAddr),
    control_peer: Option<IpAddr>,
) -> Result<TcpStream, DataError> {
    if control_peer.is_none_or(|control| same_host(peer.ip(), control)) {
        Ok(stream)
    } else {
        Err(DataError::ForeignPeer(peer))
    }
}

fn accept(
    listener: &TcpListener,
    control_peer: Option<IpAddr>,
    timeout: Duration,
    abort: &AtomicBool,
) -> Result<TcpStream, DataError> {
    // std has no accept() with a timeout: wait in short slices (`platform::accept_within`) and
    // look at the abort flag between them.
    let deadline = Instant::now() + timeout;
    loop {
        if abort.load(Ordering::SeqCst) {
            return Err(DataError::Aborted);
        }
        match crate::platform::accept_within(listener, WAIT_SLICE) {
            Ok(pair) => return checked(pair, control_peer),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if Instant::now() >= deadline {
                    return Err(DataError::AcceptTimeout(timeout));
                }
            }
            Err(e) => return Err(DataError::Io(e)),
        }
    }
}

/// Whether two addresses are the same host, treating `::ffff:127.0.0.1` and `127.0.0.1` alike.
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The six numbers of a 227 reply: `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2).
///
/// ```
/// use std::net::Ipv4Addr;
/// use localftp::server::data::pasv_numbers;
/// assert_eq!(pasv_numbers(Ipv4Addr::new(127, 0, 0, 1), 50000), "127,0,0,1,195,80");
/// ```
pub fn pasv_numbers(ip: std::net::Ipv4Addr, port: u16) -> String {
    let [h1, h2, h3, h4] = ip.octets();
    format!("{h1},{h2},{h3},{h4},{},{}", port >> 8, port & 0xFF)
}

/// A random number from the standard library's hash seed (fresh per call): enough to spread
/// passive ports and temporary names, with no extra crate. Not for cryptography.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_port_range_is_respected() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        // Find a free block by asking the OS for a port and using the few after it.
        let probe = TcpListener::bind((ip, 0)).unwrap();
        let start = probe.local_addr().unwrap().port();
        drop(probe);
        let range = start..=start.saturating_add(3);
        let mut held = Vec::new();
        for _ in 0..4 {
            match listen(ip, Some(&range), false) {
                Ok(listener) => {
                    assert!(range.contains(&listener.local_addr().unwrap().port()));
                    held.push(listener);
                }
                Err(_) => break, // another process took one of them; the rest still held
            }
        }
        assert!(!held.is_empty());
        // With every port of the range held by us, one more must fail, not leave the range.
        if held.len() == 4 {
            assert!(listen(ip, Some(&range), false).is_err());
        }
    }

    #[test]
    fn accept_times_out_and_notices_abort() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let never = AtomicBool::new(false);
        let plan = DataPlan::Passive(listen(ip, None, false).unwrap());
        let start = Instant::now();
        let result = plan.open(Some(ip), Duration::from_millis(300), &never);
        assert!(matches!(result, Err(DataError::AcceptTimeout(_))));
        assert!(start.elapsed() < Duration::from_secs(3));

        let aborted = AtomicBool::new(true);
        let plan = DataPlan::Passive(listen(ip, None, false).unwrap());
        let result = plan.open(Some(ip), Duration::from_secs(30), &aborted);
        assert!(matches!(result, Err(DataError::Aborted)));
    }

    #[test]
    fn a_waiting_connection_is_already_open() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let listener = listen(ip, None, false).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let never = AtomicBool::new(false);
        let plan = DataPlan::Passive(listener);
        assert!(plan.already_open(Some(ip)).ok().unwrap().is_some());
        // Nothing is waiting now.
        assert!(plan.already_open(Some(ip)).ok().unwrap().is_none());
        let _ = never;
    }

    #[test]
    fn a_connection_from_another_host_is_refused() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let listener = listen(ip, None, false).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        // Pretend the control connection came from elsewhere.
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let listener2 = listen(ip, None, false).unwrap();
        let _client2 = TcpStream::connect(listener2.local_addr().unwrap()).unwrap();
        let result = DataPlan::Passive(listener).already_open(Some(other));
        assert!(matches!(result, Err(DataError::ForeignPeer(_))));
        // Unless foreign addresses are permitted.
        let result = DataPlan::Passive(listener2).already_open(None);
        assert!(matches!(result, Ok(Some(_))));
    }
}
