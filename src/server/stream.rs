//! One connection type for the control and data connections: plain TCP, or TLS on top of it
//! (RFC 4217). Command handlers and the transfer code read and write a [`Stream`] and never
//! ask which kind it is; only `AUTH TLS` (on the control connection) and `PROT P` (for data
//! connections) decide.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

use super::tls::TlsStream;

/// A connection, plain or TLS. Cloning it gives another handle on the same connection, so a
/// reading thread and a writing thread can each hold one. The handles share one socket (one
/// file descriptor): a `&TcpStream` can read and write, so no `dup` is needed.
pub enum Stream {
    /// Bytes as they are.
    Plain(Arc<TcpStream>),
    /// Bytes encrypted by TLS.
    Tls(Arc<TlsStream>),
}

impl Stream {
    /// The TCP connection underneath.
    pub fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(socket) => socket,
            Stream::Tls(tls) => tls.socket(),
        }
    }

    /// Another handle on the same connection.
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Plain(socket) => Stream::Plain(Arc::clone(socket)),
            Stream::Tls(tls) => Stream::Tls(Arc::clone(tls)),
        })
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// End our side of the connection: the reader sees the end of the data. Under TLS a
    /// close_notify goes first.
    pub fn close(&self) -> io::Result<()> {
        match self {
            Stream::Plain(socket) => socket.shutdown(Shutdown::Write),
            Stream::Tls(tls) => tls.close(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => (&**socket).read(buffer),
            Stream::Tls(tls) => tls.read(buffer),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => (&**socket).write(data),
            Stream::Tls(tls) => tls.write_all(data).map(|()| data.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(socket) => (&**socket).flush(),
            // write_all sends everything it encrypts at once.
            Stream::Tls(_) => Ok(()),
        }
    }
}
