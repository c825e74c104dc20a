//! The guided client: the seed's `ftp_client.py`, with every step on the wire shown and
//! explained (RFC 959 §5.4, the command-reply sequences).
//!
//! A student runs `cargo run --example client` and is walked through the seed's flow:
//!
//! 1. **Stage 1, the control connection** (RFC 959 §3.2, §5.1): a TCP connection to port 2122,
//!    then the server's `220` greeting, shown exactly as sent.
//!    With `--tls`, **stage 1b**: `AUTH TLS` → `234` and the TLS handshake (RFC 4217 §4), so
//!    that everything after it, the password first, is encrypted.
//! 2. **Stage 2, login** (§4.1.1): `USER` → `331`, `PASS` → `230` (or `530`, and what it means).
//!    With `--tls`, **stage 2b**: `PBSZ 0` and `PROT P`, so data connections are TLS too.
//! 3. **Stage 3, the menu**: one method of [`Client`] per operation: [`Client::pwd`],
//!    [`Client::list`], [`Client::get`], [`Client::put`], [`Client::cd`], [`Client::up`],
//!    [`Client::mkdir`], [`Client::rename`], [`Client::delete`], [`Client::rmdir`],
//!    [`Client::resume`], [`Client::set_type`], [`Client::set_mode`], [`Client::raw`],
//!    [`Client::quit`]; and two that teach: [`Client::compare`] (the same file as TYPE A and
//!    TYPE I, in hex) and [`Client::mlsd`] (the standard listing, when the server has it).
//!
//! **The client as a tutor.** `--quiz` asks the student to predict each reply before it comes
//! ([`quiz`]); protocol notes say, in one line with its RFC section, where the server departs
//! from the RFCs or from what most servers do ([`notes`]); `--walkthrough` plays the seed's
//! whole flow step by step, each step explained ([`walkthrough`]).
//!
//! | module | its one job |
//! |--------|-------------|
//! | [`wire`] | the control connection: the one place every command is sent and every reply read |
//! | [`lines`] | reply lines off a byte stream: CRLF, bare LF or CR, lines split across segments |
//! | [`notes`] | protocol notes: where the server departs from the RFCs, in one line each |
//! | [`quiz`] | `--quiz`: predict each reply, then see why it is what it is |
//! | [`data`] | the second connection: PASV/EPSV/PORT, with their arithmetic shown |
//! | [`copy`] | the bytes on it: counted, and converted in TYPE A |
//! | [`stream`] | one connection type, plain TCP or TLS, for the control and data connections |
//! | [`tls`] | FTPS (RFC 4217): AUTH TLS, the handshakes, PBSZ/PROT, whom to trust |
//! | [`narrate`] | what the student sees: `C:` commands, `S:` replies, `(code)` meanings, `[data]` |
//! | `commands` | the menu's commands without a data connection: PWD, CWD, MKD, RNFR/RNTO, raw lines |
//! | `transfer` | the 1xx … 2xx sequence around a data connection, and what it checks |
//! | `watch` | the control connection watched while the data connection is read |
//! | `files` | RETR, STOR and resuming: local files, `.part` until the 226 |
//! | `listing` | LIST and MLSD: what a listing looks like, and which lines a client can read |
//! | `compare` | `compare FILE`: TYPE A and TYPE I side by side, the changed bytes in hex |
//! | [`walkthrough`] | `--walkthrough`: the seed's flow and its error cases, one explained step at a time |
//! | `options` | [`Options`]: everything the client needs to start, as the example's flags fill it |
//! | [`menu`] | the session from start to QUIT, driven by the dialoguer menu or a script |
//! | [`action`] | the menu's actions as words (`get baca_saya.txt`), for scripts and tests |
//! | `terminal` | prompts, the hidden password, and a clean exit on Ctrl-C |
//! | [`error`] | every failure as one sentence; the menu comes back after each |
//!
//! **How suppaftp is used, and what is written by hand.** suppaftp (the maintained Rust FTP
//! client) opens the session: it reads and checks the `220` greeting on the socket this client
//! connected. Its command methods, though, hide exactly what a student must see: `retr` and
//! `TransferStream::finish` read the `226` that ends a transfer and keep only "226 or 250", and
//! `PASV` is parsed inside without the `227` ever being shown. So after the greeting, [`wire`]
//! reads and writes the control connection itself, and [`data`] makes the data connection with
//! `std::net::TcpStream`, by hand, as the student should see it done. suppaftp's `list`
//! parser still reads the `LIST` lines, which have no standard format. For the same reason TLS
//! is done with rustls directly rather than suppaftp's rustls feature (see [`tls`]).
//!
//! What a production client does that this one leaves out: implicit FTPS (port 990), client
//! certificates, the system's CA store, keeping the connection alive with NOOP, and
//! reconnecting after the server hangs up (after a 421 this one stops and says so).

pub mod action;
mod commands;
mod compare;
pub mod copy;
pub mod data;
pub mod error;
mod files;
pub mod lines;
mod listing;
pub mod menu;
pub mod narrate;
pub mod notes;
mod options;
pub mod quiz;
pub mod stream;
mod terminal;
pub mod tickets;
pub mod tls;
mod transfer;
pub mod walkthrough;
mod watch;
pub mod wire;

use std::time::Duration;

use data::DataMode;
use error::ClientError;
use narrate::Narrator;
use quiz::SharedQuiz;
use terminal::Phase;
use tls::Tls;
use wire::Wire;

pub use action::Action;
pub use menu::run;
pub use options::Options;

/// The seed's host: the server listens on the loopback interface only.
pub const DEFAULT_HOST: &str = crate::seed::SEED_HOST;

/// The seed's user name.
pub const DEFAULT_USER: &str = crate::seed::SEED_USER;

/// The seed's password: given with `--password`, or typed at the hidden prompt, where Enter
/// takes it like the other prompts take theirs.
pub const DEFAULT_PASSWORD: &str = crate::seed::SEED_PASSWORD;

/// How file bytes travel: TYPE A (text, CRLF line endings on the wire) or TYPE I (binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// `TYPE A`: text; line endings are converted.
    Ascii,
    /// `TYPE I`: image; every byte arrives as it was sent. The seed's `retrbinary` uses it.
    Binary,
}

/// What the menu should do after an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Show the menu (or run the next scripted action).
    Continue,
    /// The session has ended (QUIT was answered).
    Quit,
}

/// A logged-in session with its settings.
pub struct Client {
    wire: Wire,
    /// The TYPE used for files (binary unless the student switches).
    file_type: FileType,
    /// The TYPE the server has now, if the client has set one (the server remembers it).
    server_type: Option<FileType>,
    mode: DataMode,
    quit: bool,
    /// Whether FEAT listed MLST, once asked (see `listing`).
    mlst: Option<bool>,
    /// Whether the quiz score is sent before QUIT (see [`Client::quit`]).
    pub report_quiz: bool,
}

impl Client {
    /// Stage 1: open the control connection and show the greeting; with `tls`, stage 1b:
    /// AUTH TLS and the handshake. With a `quiz`, every reply is a question.
    pub fn connect(
        host: &str,
        port: u16,
        timeout: Duration,
        narrator: Narrator,
        tls: Option<Tls>,
        quiz: Option<SharedQuiz>,
    ) -> Result<Client, ClientError> {
        narrator.stage("Stage 1: the control connection (RFC 959 §3.2 and §5.1)");
        narrator.note(&format!(
            "opening a TCP connection to {host}:{port}: the kernels exchange SYN, SYN-ACK, ACK \
             (the three-way handshake), then the server speaks first"
        ));
        let (mut wire, _greeting) = Wire::connect(host, port, timeout, narrator, quiz)?;
        terminal::set_phase(Phase::Connected);
        if let Some(tls) = tls {
            wire = wire.secure_control(tls)?;
        }
        Ok(Client {
            wire,
            file_type: FileType::Binary,
            server_type: None,
            mode: DataMode::Passive,
            quit: false,
            mlst: None,
            report_quiz: true,
        })
    }

    /// Stage 2: USER, then PASS if the server asks for it (331).
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        self.narrator()
            .stage("Stage 2: login (RFC 959 §4.1.1, USER and PASS)");
        self.exchange_credentials(user, password)
            .map_err(|error| match error {
                ClientError::Refused { code, text, .. } => ClientError::Refused {
                    command: format!("logging in as {user}"),
                    code,
                    text,
                },
                other => other,
            })
    }

    fn exchange_credentials(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        let reply = self
            .wire
            .require(&format!("USER {user}"), |code| code == 331 || code == 230)?;
        if reply.code == 331 {
            self.narrator().note(if self.wire.is_tls() {
                "the password goes next, encrypted: it travels inside the TLS connection that \
                 AUTH TLS set up"
            } else {
                "the password goes next, in clear text: plain FTP encrypts nothing \
                 (FTPS, RFC 4217, adds TLS)"
            });
            self.wire
                .require(&format!("PASS {password}"), |code| code == 230)?;
        }
        terminal::set_phase(Phase::LoggedIn);
        self.narrator()
            .note("logged in: every command from now on travels on this same control connection");
        Ok(())
    }

    /// Whether the control connection is encrypted (`--tls`).
    pub fn is_tls(&self) -> bool {
        self.wire.is_tls()
    }

    /// Who shows what happens.
    pub fn narrator(&self) -> &Narrator {
        self.wire.narrator()
    }

    /// Whether QUIT has been answered (the control connection is closed).
    pub fn has_quit(&self) -> bool {
        self.quit
    }

    /// The TYPE used for files.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// Who opens data connections.
    pub fn mode(&self) -> DataMode {
        self.mode
    }

    /// Do one menu action.
    pub fn perform(&mut self, action: &Action) -> Result<Flow, ClientError> {
        match action {
            Action::Pwd => self.pwd(),
            Action::List(path) => self.list(path.as_deref()),
            Action::Get { remote, local } => self.get(remote, local.as_deref()),
            Action::Put { local, remote } => self.put(local, remote.as_deref()),
            Action::Cd(folder) => self.cd(folder),
            Action::Up => self.up(),
            Action::Mkdir(folder) => self.mkdir(folder),
            Action::Rename { from, to } => self.rename(from, to),
            Action::Delete(file) => self.delete(file),
            Action::Rmdir(folder) => self.rmdir(folder),
            Action::Resume { remote, local } => self.resume(remote, local.as_deref()),
            Action::Type(file_type) => self.set_type(*file_type),
            Action::Mode(mode) => {
                self.set_mode(*mode);
                Ok(())
            }
            Action::Raw(line) => self.raw(line),
            Action::Compare(file) => self.compare(file),
            Action::Mlsd(path) => self.mlsd(path.as_deref()),
            Action::Quit => return self.quit().map(|()| Flow::Quit),
        }
        .map(|()| {
            if self.quit {
                Flow::Quit
            } else {
                Flow::Continue
            }
        })
    }

    /// TYPE A or TYPE I: how file bytes travel from now on.
    pub fn set_type(&mut self, file_type: FileType) -> Result<(), ClientError> {
        self.narrator()
            .stage("TYPE: text or binary transfers? (RFC 959 §3.1.1)");
        self.file_type = file_type;
        self.server_type = None;
        self.ensure_type(file_type)
    }

    /// Choose who opens data connections. Nothing is sent now: the choice shows at the next
    /// transfer, as PASV, EPSV or PORT.
    pub fn set_mode(&mut self, mode: DataMode) {
        self.narrator()
            .stage("Data connection mode (RFC 959 §3.2, RFC 2428)");
        self.mode = mode;
        self.narrator().note(&format!(
            "from now on: {}; nothing is sent until the next transfer",
            mode.describe()
        ));
    }

    /// QUIT: the server answers 221 and closes the control connection.
    pub fn quit(&mut self) -> Result<(), ClientError> {
        if self.quit {
            return Ok(());
        }
        if self.report_quiz {
            // The score goes to the teacher while the session is still open; a server that
            // does not collect scores says so, and nothing else changes.
            self.wire.report_quiz()?;
        }
        self.narrator()
            .stage("QUIT: end the session (RFC 959 §4.1.1)");
        let reply = self.wire.require("QUIT", |code| code == 221);
        self.quit = true;
        terminal::set_phase(Phase::Ended);
        reply.map(|_| ())
    }

    /// Set TYPE on the server if it is not already `wanted`: the server remembers it for the
    /// session, so it is sent only when it changes.
    fn ensure_type(&mut self, wanted: FileType) -> Result<(), ClientError> {
        if self.server_type == Some(wanted) {
            return Ok(());
        }
        let (line, why) = match wanted {
            FileType::Ascii => (
                "TYPE A",
                "TYPE A: text; lines travel with CRLF endings and each side converts them",
            ),
            FileType::Binary => (
                "TYPE I",
                "TYPE I: binary (image); every byte arrives exactly as sent, as with ftplib's \
                 retrbinary and storbinary",
            ),
        };
        self.narrator().note(why);
        self.wire.require(line, |code| code == 200)?;
        self.server_type = Some(wanted);
        Ok(())
    }
}

/// The path in a 257 reply: between the first and the last double quote, with `""` inside
/// meaning one quote (RFC 959 Appendix II).
///
/// ```
/// use localftp::client::quoted_path;
/// assert_eq!(quoted_path("\"/docs\" is the current directory."), Some("/docs".into()));
/// assert_eq!(quoted_path("\"/a \"\"b\"\"\" created."), Some("/a \"b\"".into()));
/// assert_eq!(quoted_path("no quotes"), None);
/// ```
pub fn quoted_path(text: &str) -> Option<String> {
    let start = text.find('"')?;
    let rest = &text[start + 1..];
    let mut path = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                path.push('"');
            } else {
                return Some(path);
            }
        } else {
            path.push(c);
        }
    }
    None
}
