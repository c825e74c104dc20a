//! The instruments, in one place: `--explain` and `--transcript` (the trace),
//! `--lab` (the same bytes in every run) and `--fault` (misbehaving on purpose).
//!
//! The session loop (`Session::run`) is RFC 959's read → parse → gate → dispatch → reply, and
//! `transfer::run` is §5.4's sequence (1xx, open the data connection, move the bytes, 226):
//! at each step they tell [`SessionWatch`] or [`TransferWatch`] what happened, and the watch
//! decides what each instrument does with it. Whether an instrument is on is asked here, and
//! for the faults that change a reply's shape on the wire, in `control::Replier`. With none
//! on, every method is a check of an `Option` or a flag and returns at once.

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::SystemTime;

use super::command::Command;
use super::copy::{Failure, Source};
use super::events::DataEvent;
use super::faults::{COMMANDS_BEFORE_421, Fault, Faults, SLOW_PAUSE};
use super::trace::{SessionTag, Trace, loggable};
use crate::reply::{Reply, ReplyCode};

/// What the instruments see of one transfer.
pub struct TransferWatch<'a> {
    tag: &'a SessionTag,
    trace: Option<&'a Trace>,
    faults: &'a Faults,
    lab: bool,
}

impl<'a> TransferWatch<'a> {
    /// The instruments of the session `tag` for one transfer.
    pub fn new(
        tag: &'a SessionTag,
        trace: Option<&'a Trace>,
        faults: &'a Faults,
        lab: bool,
    ) -> TransferWatch<'a> {
        TransferWatch {
            tag,
            trace,
            faults,
            lab,
        }
    }

    /// The 1xx code to send: 125 when the data connection is already open, else 150, unless
    /// the `always-125` fault says 125 anyway. The `slow` fault pauses before it.
    pub fn preliminary_code(&self, already_open: bool) -> ReplyCode {
        let code = if already_open {
            ReplyCode::DataConnectionAlreadyOpen
        } else if self.faults.has(Fault::Always125) {
            Fault::Always125.fired(self.tag, "125 although the data connection is not open yet");
            ReplyCode::DataConnectionAlreadyOpen
        } else {
            ReplyCode::AboutToOpenDataConnection
        };
        self.slow(code);
        code
    }

    /// `--explain`'s line for the 1xx reply.
    pub fn why_preliminary(
        &self,
        (verb, path, context): (&str, &str, Option<&str>),
        code: ReplyCode,
        already_open: bool,
    ) -> Option<String> {
        self.trace?;
        let state = if already_open {
            "the client connected before the command, so the data connection is already open"
        } else {
            "the data connection is about to be opened"
        };
        let context = match context {
            Some(context) => context.to_string(),
            None => format!("for {verb} ({path})"),
        };
        Some(format!(
            "{} {context}: {state} (RFC 959 §5.4)",
            code.number()
        ))
    }

    /// The data connection is open.
    pub fn opened(&self, stream: &TcpStream) {
        let Some(trace) = self.trace else { return };
        // --lab hides the client's port, which changes from run to run.
        let peer = match (stream.peer_addr(), self.lab) {
            (Ok(peer), false) => peer.to_string(),
            (Ok(peer), true) => peer.ip().to_string(),
            (Err(_), _) => "?".to_string(),
        };
        trace.data(&DataEvent::Open { peer }.to_string());
    }

    /// The TLS handshake on the data connection is done (PROT P).
    pub fn secured(&self) {
        if let Some(trace) = self.trace {
            trace.data(&DataEvent::Tls.to_string());
        }
    }

    /// How many bytes a download may send: all of them, unless the `early-close` fault stops
    /// it halfway (and still says 226).
    pub fn send_limit(&self, verb: &str, source: &mut Source) -> Option<u64> {
        if !self.faults.has(Fault::EarlyClose) {
            return None;
        }
        let half = source.measure().map(|len| len / 2);
        let stop = match half {
            Some(bytes) => format!("{verb} stops after {bytes} bytes"),
            None => format!("{verb} stops at once (its size is unknown)"),
        };
        Fault::EarlyClose.fired(self.tag, &stop);
        half
    }

    /// The bytes stopped moving: all of them (`Ok`), or not.
    pub(super) fn moved(&self, result: &Result<u64, Failure>, received: bool) {
        let Some(trace) = self.trace else { return };
        let event = match result {
            Ok(bytes) => DataEvent::Done {
                bytes: *bytes,
                received,
            },
            Err(failure) => DataEvent::Stopped {
                why: failure.to_string(),
            },
        };
        trace.data(&event.to_string());
    }

    /// The 226 for `bytes` moved in `seconds`: without the time in `--lab`, so the reply is the
    /// same in every run. The `slow` fault pauses before it.
    pub fn complete(&self, bytes: u64, seconds: f64) -> Reply {
        self.slow(ReplyCode::ClosingDataConnection);
        let text = if self.lab {
            format!("Transfer complete: {bytes} bytes.")
        } else {
            format!("Transfer complete: {bytes} bytes in {seconds:.3} s.")
        };
        Reply::new(ReplyCode::ClosingDataConnection, text)
    }

    /// `--explain`'s line for the final reply.
    pub fn why_final(&self, verb: &str, path: &str, reply: &Reply) -> Option<String> {
        self.trace?;
        let why = match reply.code {
            ReplyCode::ClosingDataConnection => {
                "all bytes moved and the data connection is closed (RFC 959 §4.2)"
            }
            ReplyCode::TransferAborted => {
                "the data connection closed before the end (RFC 959 §4.2)"
            }
            _ => "the server could not finish the transfer (RFC 959 §4.2)",
        };
        Some(format!("{} for {verb} ({path}): {why}", reply.code))
    }

    /// The `slow` fault: a pause before the reply `code`.
    fn slow(&self, code: ReplyCode) {
        if self.faults.has(Fault::Slow) {
            Fault::Slow.fired(self.tag, &format!("a pause before {}", code.number()));
            thread::sleep(SLOW_PAUSE);
        }
    }
}

/// What the instruments see of a session: the commands and replies on the control connection,
/// the jail's decisions, the login changing hands, and the `--lab` and `--fault` choices that
/// belong to the session (STOU's names, the 421 at the fifth command).
///
/// The session loop and the handlers report to it, and it asks whether `--explain`,
/// `--transcript`, `--lab` or a fault is on (the wire faults aside: `control::Replier`).
pub struct SessionWatch {
    /// `--explain`, `--transcript` and the board's progress, when any is on.
    trace: Option<Arc<Trace>>,
    faults: Faults,
    lab: bool,
    /// The explanation of the command being handled, made before it runs: "for RETR (RFC 959
    /// §4.1.3); permission 'r' granted", and the login state then.
    pending: RefCell<Option<(String, String)>>,
    /// What the jail decided about the last path, to be said with the reply.
    jail_note: RefCell<Option<String>>,
    /// Commands since login (the `421-at-fifth-command` fault counts them).
    commands_since_login: Cell<u32>,
    /// STOU names handed out (numbered in `--lab`).
    stou_count: Cell<u32>,
}

impl SessionWatch {
    /// The instruments for a session, from the server's flags.
    pub fn new(trace: Option<Arc<Trace>>, faults: Faults, lab: bool) -> SessionWatch {
        SessionWatch {
            trace,
            faults,
            lab,
            pending: RefCell::new(None),
            jail_note: RefCell::new(None),
            commands_since_login: Cell::new(0),
            stou_count: Cell::new(0),
        }
    }

    /// A command line arrived, while the login was `state` (asked only when tracing). It is
    /// logged (at debug level, or with `--explain` at the default level by the trace) and goes
    /// into the transcript.
    pub fn received(&self, tag: &SessionTag, line: &str, state: impl FnOnce() -> String) {
        // With --explain the trace logs it at the default level instead. Logged under the
        // session's name, where RUST_LOG filters (and the lessons) look for it.
        if !self.trace.as_ref().is_some_and(|trace| trace.explains()) {
            log::debug!(target: "localftp::server::session", "{tag} <- {}", loggable(line));
        }
        if let Some(trace) = &self.trace {
            trace.command(line);
            *self.pending.borrow_mut() = Some((String::new(), state()));
        }
    }

    /// What the command is, for `--explain`: `explanation` is asked only when tracing, so the
    /// words cost nothing otherwise.
    pub fn understood(&self, explanation: impl FnOnce() -> String) {
        if let Some((context, _)) = self.pending.borrow_mut().as_mut() {
            *context = explanation();
        }
    }

    /// What the jail decided about a path (`note` is asked only when tracing).
    pub fn jail(&self, note: impl FnOnce() -> String) {
        if self.trace.is_some() {
            *self.jail_note.borrow_mut() = Some(note());
        }
    }

    /// The `421-at-fifth-command` fault: the fifth command after login is answered 421 and
    /// the connection closed. `Some(reply)` when it fires now.
    pub fn cut_off(&self, tag: &SessionTag, command: &Command, logged_in: bool) -> Option<Reply> {
        if !logged_in {
            return None;
        }
        let count = self.commands_since_login.get() + 1;
        self.commands_since_login.set(count);
        if !self.faults.has(Fault::FifthCommand421) || count != COMMANDS_BEFORE_421 + 1 {
            return None;
        }
        Fault::FifthCommand421.fired(tag, &format!("421 instead of {}", command.verb()));
        Some(Reply::new(
            ReplyCode::ServiceNotAvailable,
            "Service not available, closing control connection (fault 421-at-fifth-command).",
        ))
    }

    /// The explanation a transfer's 1xx reply carries (the command, the state, the jail).
    pub fn transfer_context(&self, state: impl FnOnce() -> String) -> Option<String> {
        let pending = self.pending.borrow();
        let (context, before) = pending.as_ref()?;
        Some(self.why(context, before, state))
    }

    /// The reply to the command was sent, and the login is now `state` (asked only when
    /// tracing): `--explain`'s line.
    pub fn replied(&self, reply: &Reply, state: impl FnOnce() -> String) {
        let (Some(trace), Some((context, before))) = (&self.trace, self.pending.take()) else {
            return;
        };
        trace.why(&format!(
            "{} {}",
            reply.code,
            self.why(&context, &before, state)
        ));
    }

    /// `context; state before → after; jail: note`.
    fn why(&self, context: &str, before: &str, state: impl FnOnce() -> String) -> String {
        let mut why = context.to_string();
        let after = state();
        if after == before {
            why.push_str(&format!("; state {after}"));
        } else {
            why.push_str(&format!("; state {before} → {after}"));
        }
        if let Some(note) = self.jail_note.borrow_mut().take() {
            why.push_str(&format!("; jail: {note}"));
        }
        why
    }

    /// The login changed hands, from `before` to `now` (a name, or `None`): the transcript
    /// follows (see `Trace::logged_in`).
    pub fn login_changed(&self, before: Option<&str>, now: Option<&str>) {
        let Some(trace) = &self.trace else { return };
        if before.is_some() {
            trace.logged_out();
        }
        if let Some(user) = now {
            trace.logged_in(user);
        }
    }

    /// PASV/EPSV opened a passive port.
    pub fn listening(&self, port: u16, at: &IpAddr) {
        if let Some(trace) = &self.trace {
            let at = at.to_string();
            trace.data(&DataEvent::Listening { port, at }.to_string());
        }
    }

    /// A name for STOU: numbered in `--lab`, so the same script gets the same names in every
    /// run; random otherwise.
    pub fn stou_name(&self) -> String {
        let count = self.stou_count.get() + 1;
        self.stou_count.set(count);
        if self.lab {
            format!("stou-{count:04}")
        } else {
            format!("stou-{:08x}", super::data::random_u64() as u32)
        }
    }

    /// The one time every file shows in `--lab`; `None` otherwise.
    pub fn fixed_time(&self) -> Option<SystemTime> {
        self.lab.then(super::clock::lab_time)
    }

    /// Whether `--lab` is on, for the passive-port picker (`data::listen` takes the first
    /// free port of the range in order then, instead of a random one).
    pub fn lab(&self) -> bool {
        self.lab
    }

    /// A client's address as replies show it: without the port in `--lab`, where it changes
    /// from run to run.
    pub fn peer(&self, peer: &std::net::SocketAddr) -> String {
        match self.lab {
            true => peer.ip().to_string(),
            false => peer.to_string(),
        }
    }

    /// A timing for a reply (`text` is asked only without `--lab`); empty in `--lab`, so the
    /// reply is the same in every run.
    pub fn timing(&self, text: impl FnOnce() -> String) -> String {
        match self.lab {
            true => String::new(),
            false => text(),
        }
    }
}
