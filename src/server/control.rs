//! The control connection: reading command lines, writing replies, logging both
//! (RFC 959 §4.1, §5.3; Telnet conventions from RFC 854).
//!
//! Commands arrive as lines ended by CRLF. A real server must not trust what arrives, so the
//! reader here:
//!
//! - caps a line at [`MAX_LINE`] bytes: a longer one is answered `500` and the rest of it is
//!   read and thrown away, so memory stays bounded whatever a client sends;
//! - accepts a bare LF as a line end (some scripts send one), and drops the CR before it;
//! - strips Telnet commands (`IAC IP`, `IAC DM`, …), which clients send before `ABOR`
//!   (RFC 959 §4.1.3) and which are not part of any command;
//! - refuses lines that are not UTF-8 or that hold a NUL byte (`501`): a NUL could cut a path
//!   short in a system call, and FTP paths are UTF-8 (RFC 2640).
//!
//! Replies go through [`Replier`], a handle that both the session thread and its transfer thread
//! hold, so the transfer can send its final `226` while the session thread waits for the next
//! command (that is how `ABOR` and `STAT` are heard during a transfer).

use std::io::{self, BufRead, BufReader};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stream::Stream;
use super::tls::TlsStream;
// Who a session is and how a command line is logged (defined in the leaf module `tag`); named
// here too, where the reading and replying happen.
pub use super::tag::{SessionTag, loggable};

mod replier;
pub use replier::Replier;

/// The longest command line accepted, in bytes, CRLF included. RFC 959 sets no limit; 2048 is
/// far above any real path and as much as a session should hold in memory for a command.
pub const MAX_LINE: usize = 2048;

/// The read buffer of the control connection. Commands are short; a small buffer keeps an idle
/// session's memory small (a session that sends a 2 KiB line just takes two reads).
const READ_BUFFER: usize = 512;

/// Telnet's "Interpret As Command" byte (RFC 854): it starts a Telnet command sequence.
const IAC: u8 = 0xFF;

/// What one read of the control connection produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A command line, without its line end.
    Line(String),
    /// A line longer than [`MAX_LINE`]; it was read to its end and dropped.
    TooLong,
    /// A line that is not valid UTF-8 or that holds a NUL byte; the reason is given.
    Invalid(&'static str),
    /// The client closed the connection.
    Closed,
}

/// The reading half of the control connection.
pub struct ControlReader {
    reader: BufReader<Stream>,
    line: Vec<u8>,
    /// How long a whole command line may take to arrive.
    idle: Duration,
    /// Whether the server is shutting down. Where shutting the socket down does not wake this
    /// reader (`platform::WAKE_SLICE`), it reads in slices and asks this between them.
    stopping: Box<dyn Fn() -> bool + Send>,
}

impl ControlReader {
    /// Read from `stream` (the session thread's own handle); a command line must arrive whole
    /// within `idle`.
    pub fn new(stream: Stream, idle: Duration) -> io::Result<ControlReader> {
        stream
            .socket()
            .set_read_timeout(Some(crate::platform::read_slice(idle)))?;
        Ok(ControlReader {
            reader: BufReader::with_capacity(READ_BUFFER, stream),
            line: Vec::new(),
            idle,
            stopping: Box::new(|| false),
        })
    }

    /// Ask `stopping` between read slices, where a shutdown cannot wake the reader otherwise.
    pub fn stop_when(&mut self, stopping: impl Fn() -> bool + Send + 'static) {
        self.stopping = Box::new(stopping);
    }

    /// The next command line. Blocks until a whole line arrives, the client closes, or the
    /// idle time passes (then an error of kind `WouldBlock` or `TimedOut`).
    ///
    /// The time limit is for the whole line, not for each read: a client that sends one byte a
    /// second (a "slowloris") would otherwise hold this session's thread forever.
    pub fn read(&mut self) -> io::Result<Incoming> {
        self.line.clear();
        let mut too_long = false;
        let started = Instant::now();
        let mut shortened = false;
        let mut first_read = true;
        let result = loop {
            // Whole lines usually come in one read, at the socket's full timeout. After a
            // partial line, wait only for what is left of the line's time.
            if !std::mem::take(&mut first_read) {
                let left = self.idle.saturating_sub(started.elapsed());
                if left.is_zero() {
                    break Err(io::Error::from(io::ErrorKind::TimedOut));
                }
                self.reader
                    .get_ref()
                    .socket()
                    .set_read_timeout(Some(crate::platform::read_slice(left)))?;
                shortened = true;
            }
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                // A slice ended (Windows): a shutdown reads as the end of input, as it does
                // where shutting the socket down wakes the reader; otherwise wait on.
                Err(e) if is_timeout(&e) && started.elapsed() < self.idle => {
                    if (self.stopping)() {
                        break Ok(Incoming::Closed);
                    }
                    continue;
                }
                Err(e) => break Err(e),
            };
            if available.is_empty() {
                // End of stream. A last line without its LF is still a command.
                break Ok(if self.line.is_empty() && !too_long {
                    Incoming::Closed
                } else {
                    self.finish(too_long)
                });
            }
            let (chunk, found_end) = match available.iter().position(|&b| b == b'\n') {
                Some(end) => (&available[..end], true),
                None => (available, false),
            };
            // The limit counts the line as sent, its LF (and CR) included.
            let line_end = usize::from(found_end);
            if !too_long && self.line.len() + chunk.len() + line_end <= MAX_LINE {
                self.line.extend_from_slice(chunk);
            } else {
                too_long = true;
                self.line.clear();
            }
            let used = chunk.len() + usize::from(found_end);
            self.reader.consume(used);
            if found_end {
                break Ok(self.finish(too_long));
            }
        };
        if shortened {
            self.reader
                .get_ref()
                .socket()
                .set_read_timeout(Some(crate::platform::read_slice(self.idle)))?;
        }
        result
    }

    fn finish(&mut self, too_long: bool) -> Incoming {
        if too_long {
            // Hand the memory back: one long line must not keep a big buffer alive.
            self.line = Vec::new();
            return Incoming::TooLong;
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        let bytes = strip_telnet(&self.line);
        if bytes.contains(&0) {
            return Incoming::Invalid("the command holds a NUL byte");
        }
        match String::from_utf8(bytes) {
            Ok(text) => Incoming::Line(text),
            Err(_) => Incoming::Invalid("the command is not valid UTF-8"),
        }
    }
}

/// Whether a read ended because its timeout passed.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl ControlReader {
    /// Bytes already read from the network but not yet used: after `AUTH TLS`, the start of
    /// the client's TLS handshake may be among them.
    pub fn unread(&self) -> &[u8] {
        self.reader.buffer()
    }

    /// From now on, read through `tls` (after `AUTH TLS` and a finished handshake). The unread
    /// bytes were handed to the handshake, so they are dropped here.
    pub fn upgrade(&mut self, tls: Arc<TlsStream>) {
        let unread = self.reader.buffer().len();
        self.reader.consume(unread);
        *self.reader.get_mut() = Stream::Tls(tls);
    }
}

/// Remove Telnet command sequences (RFC 854) from a line.
///
/// `IAC IAC` is a literal 0xFF byte; `IAC WILL/WONT/DO/DONT x` are three bytes; any other
/// `IAC x` with x ≥ 240 is two. Before ABOR, clients send `IAC IP` and then `IAC DM` as TCP
/// urgent data; a socket that takes urgent data out of band leaves a lone IAC before the verb,
/// so an IAC followed by an ordinary byte is dropped and the byte kept.
///
/// ```
/// use localftp::server::control::strip_telnet;
/// assert_eq!(strip_telnet(b"\xff\xf4\xff\xf2ABOR"), b"ABOR");
/// assert_eq!(strip_telnet(b"\xff\xf4\xffABOR"), b"ABOR");
/// assert_eq!(strip_telnet(b"RETR \xff\xffx"), b"RETR \xffx");
/// ```
pub fn strip_telnet(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != IAC {
            out.push(line[i]);
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(&IAC) => {
                out.push(IAC);
                i += 2;
            }
            // WILL, WONT, DO, DONT carry one option byte.
            Some(0xFB..=0xFE) => i += 3,
            Some(0xF0..=0xFA) => i += 2,
            // A lone IAC (its partner taken out of band) or IAC at the end: drop the IAC.
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    /// A reader over a real socket pair, fed with `bytes` and then closed.
    fn reader_for(bytes: &[u8]) -> ControlReader {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(bytes).unwrap();
        drop(client);
        ControlReader::new(Stream::Plain(Arc::new(server)), Duration::from_secs(10)).unwrap()
    }

    #[test]
    fn a_line_sent_a_byte_at_a_time_must_still_arrive_in_time() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let mut reader =
            ControlReader::new(Stream::Plain(Arc::new(server)), Duration::from_millis(300))
                .unwrap();
        let writer = std::thread::spawn(move || {
            // One byte every 100 ms: each read comes well within 300 ms, the line never does.
            for byte in b"USER slowloris" {
                if client.write_all(&[*byte]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let started = Instant::now();
        let error = reader.read().unwrap_err();
        // The last wait ends either by the line's own deadline (TimedOut) or by the socket's
        // shortened timeout (WouldBlock on Linux): the session treats both as a timeout.
        assert!(
            matches!(
                error.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ),
            "{error:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        writer.join().unwrap();
    }

    #[test]
    fn lines_end_in_crlf_or_lf() {
        let mut r = reader_for(b"USER a\r\nPASS b\nNOOP");
        assert_eq!(r.read().unwrap(), Incoming::Line("USER a".into()));
        assert_eq!(r.read().unwrap(), Incoming::Line("PASS b".into()));
        assert_eq!(r.read().unwrap(), Incoming::Line("NOOP".into()));
        assert_eq!(r.read().unwrap(), Incoming::Closed);
    }

    #[test]
    fn long_lines_are_dropped_whole() {
        let mut input = vec![b'A'; MAX_LINE * 50];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        let mut r = reader_for(&input);
        assert_eq!(r.read().unwrap(), Incoming::TooLong);
        assert_eq!(r.read().unwrap(), Incoming::Line("NOOP".into()));
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_kept() {
        // MAX_LINE bytes in all: the line end counts.
        let mut input = vec![b'A'; MAX_LINE - 2];
        input.extend_from_slice(b"\r\nNOOP\n");
        input.extend(vec![b'B'; MAX_LINE - 1]);
        input.push(b'\n');
        let mut r = reader_for(&input);
        assert!(matches!(r.read().unwrap(), Incoming::Line(l) if l.len() == MAX_LINE - 2));
        assert_eq!(r.read().unwrap(), Incoming::Line("NOOP".into()));
        assert!(matches!(r.read().unwrap(), Incoming::Line(l) if l.len() == MAX_LINE - 1));
    }

    #[test]
    fn one_byte_over_the_limit_is_too_long() {
        let mut input = vec![b'A'; MAX_LINE - 1];
        input.extend_from_slice(b"\r\n");
        input.extend(vec![b'B'; MAX_LINE]);
        input.push(b'\n');
        let mut r = reader_for(&input);
        assert_eq!(r.read().unwrap(), Incoming::TooLong);
        assert_eq!(r.read().unwrap(), Incoming::TooLong);
    }

    #[test]
    fn bad_bytes_are_refused() {
        let mut r = reader_for(b"RETR a\0b\r\nRETR \xc3\x28\r\n");
        assert!(matches!(r.read().unwrap(), Incoming::Invalid(m) if m.contains("NUL")));
        assert!(matches!(r.read().unwrap(), Incoming::Invalid(m) if m.contains("UTF-8")));
    }

    #[test]
    fn telnet_before_abor() {
        let mut r = reader_for(b"\xff\xf4\xff\xf2ABOR\r\n");
        assert_eq!(r.read().unwrap(), Incoming::Line("ABOR".into()));
    }
}
