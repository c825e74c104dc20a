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
//! The tutor hooks in here too. With `--quiz`, [`Wire::read_reply`] first asks the student to
//! predict the reply (see [`super::quiz`]) and judges the guess once the reply is shown. And
//! each reply is compared with the RFCs as it is read: its line ends and how it arrived (see
//! [`super::lines`]), a multi-line reply where one line is usual, a slow reply, a 421. What is
//! unusual becomes a one-line protocol note (see [`super::notes`]), said after the reply.
//!
//! TLS (`--tls`, RFC 4217): [`Wire::secure_control`] sends `AUTH TLS`; once it is answered
//! `234`, [`Wire::start_tls`] runs the handshake on the same socket and puts the TLS stream
//! where the plain one was (see [`super::stream`], and [`super::tls`] for the settings and whom
//! to trust); `send` and `read_reply` go on exactly as before, now encrypted.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustls::ClientConnection;
use suppaftp::{FtpError, FtpStream};

use super::error::ClientError;
use super::lines::{self, LineError};
use super::narrate::Narrator;
use super::notes::{self, Note, Notes};
use super::quiz::{self, SharedQuiz};
use super::stream::{Stream, open_tcp};
use super::tls::Tls;

pub use super::lines::ReceivedReply;

mod auth_tls;

/// The longest reply line the client accepts. Real replies are under 512 bytes; a server that
/// sends an endless line must not make the client buffer it forever.
const MAX_LINE: usize = 8 * 1024;

/// The most lines one multi-line reply may have (a FEAT or HELP reply has a few dozen).
const MAX_LINES: usize = 10_000;

/// How a command is shown: the password of `PASS` is replaced by `(hidden)`, whatever its
/// length (a row of stars would suggest one), everything else is as sent.
///
/// ```
/// use localftp::client::wire::shown;
/// assert_eq!(shown("PASS 12345"), "PASS (hidden)");
/// assert_eq!(shown("pass secret"), "pass (hidden)");
/// assert_eq!(shown("PASS "), "PASS (hidden)");
/// assert_eq!(shown("USER user"), "USER user");
/// ```
pub fn shown(line: &str) -> String {
    match line.split_once(' ') {
        Some((verb, _)) if verb.eq_ignore_ascii_case("PASS") => format!("{verb} (hidden)"),
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
    /// The last line read ended in a CR whose LF has not been seen yet (see [`super::lines`]).
    pending_cr: bool,
    /// The protocol notes said so far.
    notes: Notes,
    /// Notes found while a reply's lines were read, said once the reply is shown.
    found: Vec<Note>,
    /// `--quiz`: the quiz this connection asks.
    quiz: Option<SharedQuiz>,
    /// The verb of the last command sent, for the quiz's "why".
    last_verb: String,
}

impl Wire {
    /// With a quiz that asked anything: report its score with `SITE QUIZ right asked`, for the
    /// teacher's board (localftp's own SITE command; other servers answer 500 or 502, and the
    /// score simply stays here). This one reply is not a question of the quiz.
    pub fn report_quiz(&mut self) -> Result<(), ClientError> {
        let Some((right, asked)) = self.quiz.as_ref().and_then(|quiz| quiz.borrow().tally()) else {
            return Ok(());
        };
        self.narrator
            .stage("SITE QUIZ: report the quiz score to the teacher");
        self.narrator.note(
            "SITE is where a server keeps commands of its own (RFC 959 §4.1.3); localftp's \
             SITE QUIZ puts your score on the teacher's board (--no-report leaves it out)",
        );
        let quiz = self.quiz.take();
        let result = self.command(&format!("SITE QUIZ {right} {asked}"));
        self.quiz = quiz;
        match result?.code {
            200 => self
                .narrator
                .note("the teacher's board shows your score now"),
            code => self.narrator.note(&format!(
                "this server does not collect quiz scores ({code}); the score stays here"
            )),
        }
        Ok(())
    }

    /// Open the control connection to `host:port`, let suppaftp read the greeting, and show
    /// it. Returns the connection and the greeting (a 220). With a quiz, the student predicts
    /// the greeting first.
    pub fn connect(
        host: &str,
        port: u16,
        timeout: Duration,
        narrator: Narrator,
        quiz: Option<SharedQuiz>,
    ) -> Result<(Wire, ReceivedReply), ClientError> {
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
        let guess = quiz::ask(quiz.as_ref(), &narrator, "the greeting")?;
        let greeting = match FtpStream::connect_with_stream(socket) {
            // suppaftp drops the CRLFs' trailing whitespace; the lines are otherwise as sent.
            Ok(ftp) => ReceivedReply::parse(
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
                quiz::judge(quiz.as_ref(), &narrator, guess, reply.code, "");
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
        quiz::judge(quiz.as_ref(), &narrator, guess, greeting.code, "");
        let wire = Wire {
            reader: BufReader::new(Stream::Plain(ours)),
            narrator,
            timeout,
            tls: None,
            private_data: false,
            pending_cr: false,
            notes: Notes::default(),
            found: Vec::new(),
            quiz,
            last_verb: String::new(),
        };
        Ok((wire, greeting))
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
        self.last_verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        // No Telnet IAC (0xFF) escaping is needed: 0xFF never occurs in UTF-8 text.
        let writer = self.reader.get_mut();
        writer
            .write_all(format!("{line}\r\n").as_bytes())
            .and_then(|()| writer.flush())
            .map_err(|e| ClientError::control(format!("sending {}", shown(line)), e, self.timeout))
    }

    /// Read one whole reply (every line of a multi-line one) and show it with its meaning,
    /// then the quiz's verdict and any protocol notes.
    pub fn read_reply(&mut self, waiting_for: &str) -> Result<ReceivedReply, ClientError> {
        let guess = quiz::ask(self.quiz.as_ref(), &self.narrator, waiting_for)?;
        let started = Instant::now();
        let first = self.read_line(waiting_for)?;
        let mut lines = vec![first];
        let reply =
            ReceivedReply::parse(lines.clone()).map_err(|problem| ClientError::BadReply {
                problem: format!("{waiting_for}: {problem}"),
            })?;
        if lines[0].as_bytes().get(3) == Some(&b'-') {
            let end = format!("{} ", reply.code);
            loop {
                let line = match self.read_line(waiting_for) {
                    Ok(line) => line,
                    Err(error) => {
                        // No closing line: after a timeout the client goes on with what came;
                        // a closed connection ends the session.
                        self.found.push(Note::Unterminated {
                            code: reply.code,
                            lines: lines.len(),
                        });
                        if matches!(error, ClientError::Timeout { .. }) {
                            break;
                        }
                        self.narrator.reply(&ReceivedReply { lines, ..reply });
                        self.say_found();
                        return Err(error);
                    }
                };
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
        let reply = ReceivedReply { lines, ..reply };
        let waited = started.elapsed();
        self.narrator.reply(&reply);
        let verb = &self.last_verb;
        quiz::judge(self.quiz.as_ref(), &self.narrator, guess, reply.code, verb);
        self.found.extend(notes::of_reply(&reply, waited));
        self.say_found();
        Ok(reply)
    }

    /// Say a protocol note now (the transfers and the data connection find theirs).
    pub fn note(&mut self, note: Note) {
        self.notes.say(&self.narrator, &note);
    }

    fn say_found(&mut self) {
        for note in std::mem::take(&mut self.found) {
            self.notes.say(&self.narrator, &note);
        }
    }

    /// Whether bytes of the next reply have arrived already (read, not yet used).
    pub fn has_buffered(&self) -> bool {
        !self.reader.buffer().is_empty()
    }

    /// Wait, without reading anything, until the next reply starts to arrive (or the read
    /// timeout passes): the moment to look at what else has happened (see `transfer`).
    pub fn wait_for_reply(&self) {
        if self.has_buffered() {
            return;
        }
        let _ = self.socket().peek(&mut [0u8]);
    }

    /// The control connection's socket, to look at without reading (see `transfer`).
    pub fn socket(&self) -> &TcpStream {
        self.reader.get_ref().socket()
    }

    /// Send a command and read its first reply.
    pub fn command(&mut self, line: &str) -> Result<ReceivedReply, ClientError> {
        self.send(line)?;
        let verb = line.split(' ').next().unwrap_or(line).to_ascii_uppercase();
        self.read_reply(&format!("the reply to {verb}"))
    }

    /// Send a command and require a reply for which `ok` holds; any other reply is a
    /// [`ClientError::Refused`].
    pub fn require(
        &mut self,
        line: &str,
        ok: impl Fn(u16) -> bool,
    ) -> Result<ReceivedReply, ClientError> {
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

    /// One reply line; how it ended and how it arrived become notes (see [`super::lines`]).
    fn read_line(&mut self, waiting_for: &str) -> Result<String, ClientError> {
        let read = lines::read_line(&mut self.reader, &mut self.pending_cr, MAX_LINE);
        let line = match read {
            Ok(Some(line)) => line,
            Ok(None) => {
                return Err(ClientError::ConnectionLost {
                    during: format!("while waiting for {waiting_for}"),
                    source: std::io::ErrorKind::UnexpectedEof.into(),
                });
            }
            Err(LineError::Io(e)) => {
                return Err(ClientError::control(waiting_for, e, self.timeout));
            }
            Err(LineError::TooLong) => {
                return Err(ClientError::BadReply {
                    problem: format!("{waiting_for}: a reply line over {MAX_LINE} bytes"),
                });
            }
        };
        self.found.extend(notes::of_line(&line));
        Ok(line.text)
    }
}

/// The error for a command answered with a reply it did not want.
pub fn refusal(line: &str, reply: &ReceivedReply) -> ClientError {
    ClientError::Refused {
        command: shown(line),
        code: reply.code,
        text: reply.text().to_string(),
    }
}

fn reply_from_bytes(body: &[u8]) -> Result<ReceivedReply, ClientError> {
    let text = String::from_utf8_lossy(body);
    ReceivedReply::parse(
        text.lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect(),
    )
    .map_err(|problem| ClientError::BadReply { problem })
}
