//! [`TlsStream`]: one TLS connection that the session thread can read while the transfer
//! thread writes, rustls's state behind a mutex held only to encrypt or decrypt.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustls::ServerConnection;

/// A TLS connection that one thread may read while another writes.
pub struct TlsStream {
    /// rustls's state: encryption keys, buffers. Locked only to encrypt or decrypt.
    state: Mutex<ServerConnection>,
    /// The TCP connection underneath.
    socket: TcpStream,
    /// Bytes read from the network that rustls has not taken yet (it takes at most what its
    /// buffers allow at a time). Only the reading thread touches it.
    incoming: Mutex<Incoming>,
}

/// Raw bytes waiting for rustls: `buffer[start..end]`.
struct Incoming {
    buffer: Vec<u8>,
    start: usize,
    end: usize,
}

impl TlsStream {
    pub(super) fn accept(
        config: &Arc<rustls::ServerConfig>,
        socket: TcpStream,
        early: &[u8],
        timeout: Duration,
    ) -> io::Result<TlsStream> {
        let connection = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
        let stream = TlsStream {
            state: Mutex::new(connection),
            socket,
            incoming: Mutex::new(Incoming {
                // One TLS record is at most 16 KiB plus a little: one read can take a whole one.
                buffer: vec![0u8; 17 * 1024],
                start: 0,
                end: 0,
            }),
        };
        if !early.is_empty() {
            let mut state = stream.lock();
            let mut early = early;
            while !early.is_empty() {
                state.read_tls(&mut early)?;
            }
        }
        stream.handshake(timeout)?;
        Ok(stream)
    }
}

impl TlsStream {
    /// The TCP connection underneath (to shut it down, or to look at it).
    pub fn socket(&self) -> &TcpStream {
        &self.socket
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, ServerConnection> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run the handshake to its end.
    fn handshake(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let previous = self.socket.read_timeout()?;
        self.socket.set_read_timeout(Some(timeout))?;
        let result = (|| {
            loop {
                let mut state = self.lock();
                send_pending(&mut state, &self.socket)?;
                if !state.is_handshaking() {
                    return Ok(());
                }
                drop(state);
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "TLS handshake timed out",
                    ));
                }
                if self.receive()? == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection during the TLS handshake",
                    ));
                }
            }
        })();
        self.socket.set_read_timeout(previous)?;
        result
    }

    /// Hand rustls more bytes from the network, reading from the socket (without holding the
    /// state lock) when none are waiting. Returns 0 when the TCP connection has ended.
    fn receive(&self) -> io::Result<usize> {
        let mut incoming = self.incoming.lock().unwrap_or_else(|p| p.into_inner());
        if incoming.start == incoming.end {
            let n = (&self.socket).read(&mut incoming.buffer)?;
            if n == 0 {
                // Tell rustls the stream ended, so it can tell a clean close from a cut one.
                let mut state = self.lock();
                state.read_tls(&mut &[][..])?;
                let _ = state.process_new_packets();
                return Ok(0);
            }
            incoming.start = 0;
            incoming.end = n;
        }
        let mut state = self.lock();
        let (start, end) = (incoming.start, incoming.end);
        let mut waiting = &incoming.buffer[start..end];
        let taken = state.read_tls(&mut waiting)?;
        incoming.start += taken;
        if let Err(error) = state.process_new_packets() {
            // Send the alert that says why, then give up on the connection.
            let _ = send_pending(&mut state, &self.socket);
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
        send_pending(&mut state, &self.socket)?;
        Ok(taken.max(1))
    }

    /// Read decrypted bytes; 0 at the end (the peer's close_notify, or a TCP close without one,
    /// which vsftpd and pyftpdlib also accept as the end).
    pub fn read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.lock().reader().read(buffer) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.receive()? == 0 {
                // The plaintext left (if any) is read above on the next turn; after that,
                // rustls reports the end.
                let mut state = self.lock();
                return match state.reader().read(buffer) {
                    Ok(n) => Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                    Err(e) => Err(e),
                };
            }
        }
    }

    /// Encrypt and send `data`, all of it.
    pub fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        while !data.is_empty() {
            // rustls takes only as much as its buffer limit allows at a time; sending what it
            // has encrypted makes room for the rest.
            let taken = state.writer().write(data)?;
            data = &data[taken..];
            send_pending(&mut state, &self.socket)?;
        }
        Ok(())
    }

    /// Say goodbye in TLS (close_notify), then close our sending side of TCP. In stream mode
    /// the end of the data connection is the end of the file, and under TLS the close_notify is
    /// what proves the end was not forged by cutting the connection (RFC 4217 §12.6).
    pub fn close(&self) -> io::Result<()> {
        let mut state = self.lock();
        state.send_close_notify();
        send_pending(&mut state, &self.socket)?;
        self.socket.shutdown(Shutdown::Write)
    }
}

/// Write out whatever rustls has encrypted and wants sent.
fn send_pending(state: &mut ServerConnection, socket: &TcpStream) -> io::Result<()> {
    let mut socket = socket;
    while state.wants_write() {
        state.write_tls(&mut socket)?;
    }
    Ok(())
}
