//! The control connection, watched while the data connection is read (RFC 959 §3.4.1, stream
//! mode; §5.4, the replies around a transfer).
//!
//! In stream mode the close of the data connection is the end of the file, and the `226` that
//! follows reports it. A server that sends its `226` while the data connection is still open
//! has the order wrong: a client that stops reading at the `226` may lose the end of the file.
//! [`ReplyWatch`] sits between the data connection and [`super::copy`], and notices when the
//! final reply has arrived while the data connection is open and quiet. It only looks: the
//! reply is read afterwards, as always, by [`super::wire`].

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::error::is_timeout;
use super::stream::Stream;

/// What is waiting on a socket, seen without taking it.
#[derive(Debug, PartialEq, Eq)]
enum Waiting {
    /// Bytes.
    Bytes,
    /// The peer's close (end of file).
    Closed,
    /// Nothing yet: the connection is open and quiet.
    Nothing,
}

fn waiting(socket: &TcpStream) -> Waiting {
    // A look without waiting: the client reads this socket on this thread only, so switching
    // it to non-blocking for one peek disturbs nobody (and works the same on every platform).
    let mut byte = [0u8];
    let peeked = socket
        .set_nonblocking(true)
        .and_then(|()| socket.peek(&mut byte));
    let _ = socket.set_nonblocking(false);
    match peeked {
        Ok(0) => Waiting::Closed,
        Ok(_) => Waiting::Bytes,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Waiting::Nothing,
        // A reset or another error: not a sign of an early reply.
        Err(_) => Waiting::Closed,
    }
}

/// The data connection, read while the control connection is watched: it notices a final
/// reply that arrives while the data connection is still open and quiet, which stream mode does
/// not allow (the close ends the data, RFC 959 §3.4.1, and the 226 reports it).
///
/// A look before each read is not enough: the reply may come while the read waits. So while
/// watching, a read waits [`GLANCE`] at a time, and between two waits looks at the control
/// connection; bytes on the data connection still end the wait at once, so a transfer is not
/// slowed. Writing passes straight through.
pub struct ReplyWatch<'a> {
    data: &'a mut Stream,
    /// The control connection, when watching (plain downloads only).
    control: Option<TcpStream>,
    /// Reply bytes were read already (buffered in the wire) when the transfer started.
    buffered: bool,
    /// How long a read may wait in all (the client's timeout).
    timeout: Duration,
    early: bool,
}

/// How long a watched read waits before it looks at the control connection again.
const GLANCE: Duration = Duration::from_millis(20);

impl<'a> ReplyWatch<'a> {
    /// Watch `control` (if given) while `data` is read; reads give up after `timeout`.
    pub fn new(
        data: &'a mut Stream,
        control: Option<TcpStream>,
        buffered: bool,
        timeout: Duration,
    ) -> Self {
        let control = control.filter(|_| data.socket().set_read_timeout(Some(GLANCE)).is_ok());
        ReplyWatch {
            data,
            control,
            buffered,
            timeout,
            early: false,
        }
    }

    /// Whether the final reply came while the data connection was open and quiet.
    pub fn replied_early(&self) -> bool {
        self.early
    }

    /// Stop watching: reads wait the whole timeout again.
    fn stop(&mut self) {
        if self.control.take().is_some() {
            let _ = self.data.socket().set_read_timeout(Some(self.timeout));
        }
    }
}

impl Read for ReplyWatch<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let Some(control) = &self.control else {
                return self.data.read(buffer);
            };
            match self.data.read(buffer) {
                Err(e) if is_timeout(&e) => {
                    if self.buffered || waiting(control) == Waiting::Bytes {
                        self.early = true;
                        self.stop();
                    } else if Instant::now() >= deadline {
                        return Err(e);
                    }
                }
                other => return other,
            }
        }
    }
}

impl Drop for ReplyWatch<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Write for ReplyWatch<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.data.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.data.flush()
    }
}
