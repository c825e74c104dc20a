//! The control connection (RFC 959 §4.2 replies, §5.3 commands): the one place where every
//! command is sent and every reply is read, and so the one place where both are narrated.
//!
//! A command is one line of text ended by CRLF. A reply is a three-digit code and text; a
//! multi-line reply starts `ddd-` and ends at the first line that starts with the same code and
//! a space (`ddd `). Everything the client says or hears on port 2122 passes through
//! [`Wire::send`] and [`Wire::read_reply`], in the order it happens on the wire.
//!
//! suppaftp makes the connection: [`Wire::connect`] opens the TCP socket (with a timeout) and
//! hands it to `suppaftp::FtpStream::connect_with_stream`, which reads the `220` greeting and
//! refuses a server that sends anything else. After that this module reads the replies itself,
//! from its own handle on the same socket: suppaftp 12.2.1 reads the reply that ends a
//! transfer (the `226`) inside `TransferStream::finish` and keeps only whether it was 226 or
//! 250, and it parses the `227` without showing it, and a teaching client has to show both.
//!
//! Later issues hook in here: a quiz asks the student to predict the code between
//! [`Wire::send`] and [`Wire::read_reply`], and protocol notes compare each reply with the RFCs
//! right after it is read.
//!
//! TLS (`--tls`, RFC 4217): after `AUTH TLS` is answered `234`, [`Wire::start_tls`] runs the
//! handshake on the same socket and puts the TLS stream where the plain one was (see
//! [`super::stream`] and [`super::tls`]); `send` and `read_reply` go on exactly as before,
//! now encrypted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use rustls::ClientConnection;
use suppaftp::{FtpError, FtpStream};

use super::error::ClientError;
use super::narrate::Narrator;
use super::stream::Stream;
use super::tls::Tls;

/// The longest reply line the client accepts. Real replies are under 512 bytes; a server that
/// sends an endless line must not make the client buffer it forever.
const MAX_LINE: u64 = 8 * 1024;

/// The most lines one multi-line reply may have (a FEAT or HELP reply has a few dozen).
const MAX_LINES: usize = 10_000;

/// One reply: its code and every line exactly as received (without CRLF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The lines, each with its code prefix as sent (`227 Entering Passive Mode (…)`).
    pub lines: Vec<String>,
}

impl Reply {
    /// Parse the lines of one reply, as read from the wire.
    ///
    /// ```
    /// use localftp::client::wire::Reply;
    /// let reply = Reply::parse(vec!["230 Login successful.".into()]).unwrap();
    /// assert_eq!(reply.code, 230);
    /// assert_eq!(reply.text(), "Login successful.");
    /// assert!(Reply::parse(vec!["hello".into()]).is_err());
    /// ```
    pub fn parse(lines: Vec<String>) -> Result<Reply, String> {
        let first = lines.first().ok_or("an empty reply")?;
        let code = code_of(first).ok_or_else(|| format!("{first:?} does not start with a code"))?;
        Ok(Reply { code, lines })
    }

    /// The text of the last line, after the code: for a single-line reply, its whole text.
    pub fn text(&self) -> &str {
        let last = self.lines.last().map(String::as_str).unwrap_or("");
        last.get(4..).unwrap_or("")
    }

    /// All the text, every line joined by spaces (for searching a 227 for its numbers).
    pub fn full_text(&self) -> String {
        self.lines.join(" ")
    }

    /// 1yz: the command started; another reply follows (RFC 959 §4.2.1).
    pub fn is_preliminary(&self) -> bool {
        self.code / 100 == 1
    }

    /// 2yz: done.
    pub fn is_success(&self) -> bool {
        self.code / 100 == 2
    }
}

/// The code at the start of a reply line: three digits, then a space, a hyphen or nothing.
fn code_of(line: &str) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match line.as_bytes().get(3) {
        None | Some(b' ') | Some(b'-') => digits.parse().ok(),
        _ => None,
    }
}

/// How a command is shown: the password of `PASS` is masked, everything else is as sent.
///
/// ```
/// use localftp::client::wire::shown;
/// assert_eq!(shown("PASS 12345"), "PASS *****");
/// assert_eq!(shown("pass secret"), "pass *****");
/// assert_eq!(shown("USER user"), "USER user");
/// ```
pub fn shown(line: &str) -> String {
    match line.split_once(' ') {
        Some((verb, _)) if verb.eq_ignore_ascii_case("PASS") => format!("{verb} *****"),
        _ => line.to_string(),
    }
}

/// The control connection, with the narrator that shows everything on it.
pub struct Wire {
    /// The connection, plain or TLS: read through the buffer, written through `get_mut`.
    reader: BufReader<Stream>,
    narrator: Narrator,
    timeout: Duration,
    /// The TLS settings, once the control connection is TLS (the data connections reuse them).
    tls: Option<Tls>,
    /// `PROT P` was accepted: every data connection starts with a TLS handshake.
    private_data: bool,
}

impl Wire {
    /// Open the control connection to `host:port`, let suppaftp read the greeting, and show
    /// it. Returns the connection and the greeting (a 220).
    pub fn connect(
        host: &str,
        port: u16,
        timeout: Duration,
        narrator: Narrator,
    ) -> Result<(Wire, Reply), ClientError> {
        let socket = open_tcp(host, port, timeout)?;
        let lost = |e| ClientError::control("setting up the control connection", e, timeout);
        socket.set_read_timeout(Some(timeout)).map_err(lost)?;
        socket.set_write_timeout(Some(timeout)).map_err(lost)?;
        // Commands are short and each waits for its reply: send them at once (no Nagle delay).
        socket.set_nodelay(true).map_err(lost)?;
        narrator.note(&format!(
            "connected: {} -> {} (the control connection)",
            socket.local_addr().map_err(lost)?,
            socket.peer_addr().map_err(lost)?
        ));
        let ours = socket.try_clone().map_err(lost)?;
        let greeting = match FtpStream::connect_with_stream(socket) {
            // suppaftp drops the CRLFs' trailing whitespace; the lines are otherwise as sent.
            Ok(ftp) => Reply::parse(
                ftp.get_welcome_msg()
                    .unwrap_or_default()
                    .lines()
                    .map(|l| l.trim_end_matches('\r').to_string())
                    .collect(),
            )
            .map_err(|problem| ClientError::BadReply { problem })?,
            Err(FtpError::UnexpectedResponse(response)) => {
                // Not a 220: a 421 "too many connections", or a 120 "ready in n minutes".
                let reply = reply_from_bytes(&response.body)?;
                narrator.reply(&reply);
                return Err(ClientError::Refused {
                    command: "the connection".into(),
                    code: reply.code,
                    text: reply.text().to_string(),
                });
            }
            Err(FtpError::ConnectionError(e)) => {
                return Err(ClientError::control("the 220 greeting", e, timeout));
            }
            Err(other) => {
                return Err(ClientError::BadReply {
                    problem: format!("the greeting: {other}"),
                });
            }
        };
        // suppaftp's copy of the socket closes here; ours keeps the connection open.
        narrator.reply(&greeting);
        let wire = Wire {
            reader: BufReader::new(Stream::Plain(ours)),
            narrator,
            timeout,
            tls: None,
            private_data: false,
        };
        Ok((wire, greeting))
    }

    /// After `234` to `AUTH TLS`: run the TLS handshake on this connection, and carry on with
    /// the TLS stream in place of the plain one.
    pub fn start_tls(self, mut tls: Tls) -> Result<Wire, ClientError> {
        if !self.reader.buffer().is_empty() {
            // Bytes after the 234 in clear text would be read later as if they came through
            // TLS: a man in the middle could plant replies that way (the STARTTLS injection).
            return Err(ClientError::BadReply {
                problem: "the server sent more after the 234, before the TLS handshake".into(),
            });
        }
        let Stream::Plain(socket) = self.reader.into_inner() else {
            return Err(ClientError::Usage("TLS is already on".into()));
        };
        let stream = tls
            .handshake_control(socket)
            .map_err(|source| ClientError::Tls {
                during: "on the control connection, after AUTH TLS".into(),
                source,
            })?;
        Ok(Wire {
            reader: BufReader::new(Stream::Tls(Box::new(stream))),
            narrator: self.narrator,
            timeout: self.timeout,
            tls: Some(tls),
            private_data: false,
        })
    }

    /// Whether the control connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.reader.get_ref().is_tls()
    }

    /// The control connection's TLS state (version, cipher suite, certificate), if TLS.
    pub fn tls_state(&self) -> Option<&ClientConnection> {
        self.reader.get_ref().tls()
    }

    /// Record the server's answer to `PROT`: P makes data connections TLS, C plain.
    pub fn set_private_data(&mut self, private: bool) {
        self.private_data = private && self.tls.is_some();
    }

    /// The TLS settings for data connections: some only under `PROT P`.
    pub fn data_tls(&self) -> Option<&Tls> {
        self.tls.as_ref().filter(|_| self.private_data)
    }

    /// Send one command line (CRLF is added) and show it.
    pub fn send(&mut self, line: &str) -> Result<(), ClientError> {
        if line.contains(['\r', '\n']) {
            // A line break would end the command early and smuggle in a second one.
            return Err(ClientError::Usage(
                "a command cannot contain a line break".into(),
            ));
        }
        self.narrator.command(&shown(line));
        // No Telnet IAC (0xFF) escaping is needed: 0xFF never occurs in UTF-8 text.
        let writer = self.reader.get_mut();
        writer
            .write_all(format!("{line}\r\n").as_bytes())
            .and_then(|()| writer.flush())
            .map_err(|e| ClientError::control(format!("sending {}", shown(line)), e, self.timeout))
    }

    /// Read one whole reply (every line of a multi-line one) and show it with its meaning.
    pub fn read_reply(&mut self, waiting_for: &str) -> Result<Reply, ClientError> {
        let first = self.read_line(waiting_for)?;
        let mut lines = vec![first];
        let reply = Reply::parse(lines.clone()).map_err(|problem| ClientError::BadReply {
            problem: format!("{waiting_for}: {problem}"),
        })?;
        if lines[0].as_bytes().get(3) == Some(&b'-') {
            let end = format!("{} ", reply.code);
            loop {
                let line = self.read_line(waiting_for)?;
                let last = line.starts_with(&end) || line == reply.code.to_string();
                lines.push(line);
                if last {
                    break;
                }
                if lines.len() > MAX_LINES {
                    return Err(ClientError::BadReply {
                        problem: format!("{waiting_for}: a reply of over {MAX_LINES} lines"),
                    });
                }
            }
        }
        let reply = Reply { lines, ..reply };
        self.narrator.reply(&reply);
        Ok(reply)
    }

    /// Send a command and read its first reply.
    pub fn command(&mut self, line: &str) -> Result<Reply, ClientError> {
        self.send(line)?;
        let verb = line.split(' ').next().unwrap_or(line).to_ascii_uppercase();
        self.read_reply(&format!("the reply to {verb}"))
    }

    /// Send a command and require a reply for which `ok` holds; any other reply is a
    /// [`ClientError::Refused`].
    pub fn require(&mut self, line: &str, ok: impl Fn(u16) -> bool) -> Result<Reply, ClientError> {
        let reply = self.command(line)?;
        if ok(reply.code) {
            Ok(reply)
        } else {
            Err(refusal(line, &reply))
        }
    }

    /// Who shows what happens: the data connection and the actions narrate through it too.
    pub fn narrator(&self) -> &Narrator {
        &self.narrator
    }

    /// How long any read may wait.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The server's address (a passive data connection goes to the same host).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.reader.get_ref().socket().peer_addr().ok()
    }

    /// The client's own address (an active data connection listens on the same IP).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.reader.get_ref().socket().local_addr().ok()
    }

    fn read_line(&mut self, waiting_for: &str) -> Result<String, ClientError> {
        let mut bytes = Vec::new();
        let timeout = self.timeout;
        let n = (&mut self.reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(|e| ClientError::control(waiting_for, e, timeout))?;
        if n == 0 {
            return Err(ClientError::ConnectionLost {
                during: format!("while waiting for {waiting_for}"),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        if n as u64 > MAX_LINE {
            return Err(ClientError::BadReply {
                problem: format!("{waiting_for}: a reply line over {MAX_LINE} bytes"),
            });
        }
        // RFC 959 ends lines with CRLF; a bare LF is tolerated, as every client does.
        let text = String::from_utf8_lossy(&bytes);
        Ok(text
            .trim_end_matches('\n')
            .trim_end_matches('\r')
            .to_string())
    }
}

/// The error for a command answered with a reply it did not want.
pub fn refusal(line: &str, reply: &Reply) -> ClientError {
    ClientError::Refused {
        command: shown(line),
        code: reply.code,
        text: reply.text().to_string(),
    }
}

fn reply_from_bytes(body: &[u8]) -> Result<Reply, ClientError> {
    let text = String::from_utf8_lossy(body);
    Reply::parse(
        text.lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect(),
    )
    .map_err(|problem| ClientError::BadReply { problem })
}

/// Resolve `host` and connect to the first address that answers, each within `timeout`.
fn open_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, ClientError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_need_three_digits_and_a_separator() {
        assert_eq!(code_of("220 hi"), Some(220));
        assert_eq!(code_of("211-Features:"), Some(211));
        assert_eq!(code_of("226"), Some(226));
        assert_eq!(code_of("22 hi"), None);
        assert_eq!(code_of("2200 hi"), None);
        assert_eq!(code_of(" UTF8"), None);
    }

    #[test]
    fn the_text_of_a_multi_line_reply_is_its_last_line() {
        let reply = Reply::parse(vec![
            "211-Features:".into(),
            " EPSV".into(),
            "211 End".into(),
        ])
        .unwrap();
        assert_eq!(reply.text(), "End");
        assert!(reply.is_success() && !reply.is_preliminary());
    }
}
