//! One connection type for the control connection and the data connections: plain TCP, or TLS
//! on top of it (RFC 4217), like the server's `server::stream::Stream`. [`super::wire`],
//! [`super::copy`] and the transfers read and write a [`Stream`] and never ask which kind it
//! is; only `AUTH TLS` (the control connection) and `PROT P` (the data connections) decide.
//!
//! The TLS kind is a `rustls::StreamOwned`: rustls's state and the socket together, read and
//! written by one thread. That is enough for this client, which never writes while it waits
//! to read; the server, which must answer on the control connection while a transfer runs on
//! another thread, needs a different shape (see `server::tls`).
//!
//! [`open_tcp`] makes the control connection's TCP socket: the host's name resolved, each of its
//! addresses tried in turn, each within the timeout.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use rustls::{ClientConnection, StreamOwned};

use super::error::ClientError;

/// How long a finished TLS data connection waits for the server's own close_notify (or its
/// close) before closing: long enough for any server on a working network, short enough that
/// one that never closes costs little.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// A TLS connection: rustls's state (keys, buffers) and the TCP socket under it.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A connection, plain or TLS.
pub enum Stream {
    /// Bytes as they are: anyone on the path can read them.
    Plain(TcpStream),
    /// Bytes encrypted by TLS (boxed: rustls's state is large, and moves with the stream).
    Tls(Box<TlsStream>),
}

impl Stream {
    /// The TCP connection underneath (for its addresses).
    pub fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(socket) => socket,
            Stream::Tls(tls) => tls.get_ref(),
        }
    }

    /// The TLS state, when the connection is encrypted (version, cipher suite, certificate).
    pub fn tls(&self) -> Option<&ClientConnection> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(tls) => Some(&tls.conn),
        }
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Close a data connection after its transfer. In stream mode the close *is* the end of
    /// the file (RFC 959 §3.4.1). Under TLS a close that anyone on the path could forge is not
    /// proof enough, so when the transfer is `complete` a TLS close_notify goes first (RFC 4217
    /// §12.6; our server and Python-style servers wait for it), and then the client waits a
    /// moment for the server's own, as Python's `unwrap` and curl do. An incomplete transfer
    /// gets no close_notify: the server must not take a broken upload for a whole one.
    pub fn close(self, complete: bool) {
        match self {
            Stream::Plain(socket) => {
                let _ = socket.shutdown(Shutdown::Both);
            }
            Stream::Tls(mut tls) => {
                if complete {
                    tls.conn.send_close_notify();
                    // flush() writes out what rustls has queued: here, the close_notify alert.
                    let _ = tls.flush();
                }
                let _ = tls.get_ref().shutdown(Shutdown::Write);
                if complete && tls.get_ref().set_read_timeout(Some(GOODBYE_WAIT)).is_ok() {
                    // After a download the server's close_notify is already here (0 at once);
                    // after an upload it follows ours. Reading it means our close cannot reset
                    // the connection with it unread.
                    let mut rest = [0u8; 4096];
                    while matches!(tls.read(&mut rest), Ok(n) if n > 0) {}
                }
                let _ = tls.get_ref().shutdown(Shutdown::Both);
            }
        }
    }
}

impl Read for Stream {
    /// Plain: the bytes as they come. TLS: decrypted bytes; 0 only after the server's
    /// close_notify, and an `UnexpectedEof` error when the TCP connection ends without one (a
    /// file cut short could otherwise pass for a whole one).
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.read(buffer),
            Stream::Tls(tls) => tls.read(buffer),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.write(data),
            Stream::Tls(tls) => tls.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(socket) => socket.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// Resolve `host` and connect to the first address that answers, each within `timeout`.
pub fn open_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, ClientError> {
    let address = format!("{host}:{port}");
    let candidates: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|source| ClientError::Resolve {
            host: host.to_string(),
            source,
        })?
        .collect();
    let mut last_error = std::io::Error::other("the name has no address");
    for candidate in candidates {
        match TcpStream::connect_timeout(&candidate, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = e,
        }
    }
    Err(ClientError::Connect {
        address,
        source: last_error,
        timeout,
    })
}
