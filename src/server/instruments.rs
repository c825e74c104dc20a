//! The instruments of a transfer, in one place: `--explain` and `--transcript` (the trace),
//! `--lab` (the same bytes in every run) and `--fault` (misbehaving on purpose).
//!
//! `transfer::run` is RFC 959 §5.4's sequence (1xx, open the data connection, move the bytes,
//! 226) and nothing else: at each step it tells [`TransferWatch`] what happened, and the watch
//! decides what each instrument does with it. Whether any instrument is on is asked only here.
//! With none on, every method is a check of an `Option` or a flag and returns at once.

use std::net::TcpStream;
use std::thread;

use super::copy::Failure;
use super::events::DataEvent;
use super::faults::{Fault, Faults, SLOW_PAUSE};
use super::trace::{SessionTag, Trace};
use super::transfer::{Direction, Job};
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
        job: &Job,
        code: ReplyCode,
        already_open: bool,
    ) -> Option<String> {
        self.trace?;
        let state = if already_open {
            "the client connected before the command, so the data connection is already open"
        } else {
            "the data connection is about to be opened"
        };
        let context = match &job.context {
            Some(context) => context.clone(),
            None => format!("for {} ({})", job.verb, job.path),
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
    pub fn send_limit(&self, job: &mut Job) -> Option<u64> {
        if !self.faults.has(Fault::EarlyClose) {
            return None;
        }
        let Direction::Send(source) = &mut job.direction else {
            return None;
        };
        let half = source.measure().map(|len| len / 2);
        let stop = match half {
            Some(bytes) => format!("{} stops after {bytes} bytes", job.verb),
            None => format!("{} stops at once (its size is unknown)", job.verb),
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
