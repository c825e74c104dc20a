//! The server as a teaching instrument: `--explain` says why each reply was sent, and
//! `--transcript DIR` keeps each session's whole conversation in a file.
//!
//! pyftpdlib, vsftpd and libunftp log what happened; a student also needs *why*. With
//! `--explain`, each reply is followed in the log (target `explain`) by one line: the command
//! and the RFC section it belongs to, the session state before and after (`awaiting-password →
//! logged-in`), the permission letter that was checked, and the jail's decision (virtual path →
//! real path, or why it was refused). The data connection gets lines too: passive port opened,
//! connection from which address, bytes moved, closed.
//!
//! With `--transcript DIR`, every session writes a `.txt` file (for reading) and a `.jsonl` file
//! (one JSON object a line, for programs) with the control dialogue and the data events in time
//! order, the password masked. The files are named after the user who logged in
//! (`alice-20261130-101502-1.txt`; see `server::transcript` for the names and when they are
//! created). With `--lab` the times become sequence numbers and client ports are hidden, so two
//! runs of the same script give byte-identical files.
//!
//! The teacher's board (`--board`, `--report`) reads the same hooks: each command, reply and
//! data event also goes to `progress::Progress`, which ticks off the seed's stages and keeps the
//! steps for the session's diagram. There is one record of the conversation, not two.
//!
//! Cheap when off: a session without these flags has no `Trace` at all, and each hook is one
//! `if let Some(..)` check.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::diagram::{Step, reply_step};
use super::events::DataEvent;
use super::progress::Progress;
pub use super::tag::{SessionTag, loggable};
use super::transcript::Transcript;
use crate::reply::Reply;

/// One session's explain log and transcript.
pub struct Trace {
    /// Shares its user with the session's own tag, so explain lines name who is logged in.
    tag: SessionTag,
    explain: bool,
    lab: bool,
    started: Instant,
    transcript: Option<Mutex<Transcript>>,
    /// The class's progress, for the board and the grade sheet.
    progress: Option<Arc<Progress>>,
}

/// What one transcript record is.
#[derive(Clone, Copy)]
enum Kind {
    Command,
    Reply,
    Why,
    Data,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Reply => "reply",
            Kind::Why => "why",
            Kind::Data => "data",
        }
    }

    /// The marker at the start of a text line.
    fn marker(self) -> &'static str {
        match self {
            Kind::Command => "C>",
            Kind::Reply => "S>",
            Kind::Why => "  why:",
            Kind::Data => "  data:",
        }
    }
}

impl Trace {
    /// A trace for a session, or `None` when none of `--explain`, `--transcript` and the
    /// board's `progress` is on.
    /// The transcript's files are not created yet: they are named after the user, who is not
    /// known before PASS (see `server::transcript`).
    pub fn start(
        tag: &SessionTag,
        explain: bool,
        transcript_dir: Option<&Path>,
        lab: bool,
        progress: Option<&Arc<Progress>>,
    ) -> io::Result<Option<Trace>> {
        if !explain && transcript_dir.is_none() && progress.is_none() {
            return Ok(None);
        }
        if let Some(progress) = progress {
            progress.opened(tag.id, tag.peer);
        }
        let transcript = match transcript_dir {
            Some(dir) => Some(Mutex::new(Transcript::new(dir, tag, lab)?)),
            None => None,
        };
        Ok(Some(Trace {
            tag: tag.clone(),
            explain,
            lab,
            started: Instant::now(),
            transcript,
            progress: progress.cloned(),
        }))
    }

    /// Whether `--explain` is on (the caller builds the explanation only then).
    pub fn explains(&self) -> bool {
        self.explain
    }

    /// `user` has just logged in: the transcript gets its file, named after them.
    pub fn logged_in(&self, user: &str) {
        if let Some(transcript) = &self.transcript {
            let mut transcript = transcript.lock().unwrap_or_else(|p| p.into_inner());
            transcript.logged_in(user, &self.tag);
        }
    }

    /// The user has just logged out (REIN): the transcript's file ends, and what follows goes
    /// to the next one, as if the connection were new (RFC 959 §4.1.1 says REIN is exactly that).
    pub fn logged_out(&self) {
        if let Some(transcript) = &self.transcript {
            let mut transcript = transcript.lock().unwrap_or_else(|p| p.into_inner());
            transcript.logged_out(&self.tag);
        }
    }

    /// A command as received (the password masked). With `--explain` it is logged at the
    /// default level, so each `why:` line has the command it explains beside it.
    pub fn command(&self, line: &str) {
        let line = loggable(line);
        if self.explain {
            log::info!(target: "explain", "{} <- {line}", self.tag);
        }
        self.step(|| Some(Step::Command(line.to_string())));
        self.record(Kind::Command, &line);
    }

    /// A reply as sent (logged at the default level with `--explain`, like the command).
    pub fn reply(&self, reply: &Reply) {
        if self.explain {
            log::info!(target: "explain", "{} -> {reply}", self.tag);
        }
        let wire = reply.to_wire();
        self.step(|| reply_step(&wire));
        self.record(Kind::Reply, wire.trim_end_matches("\r\n"));
    }

    /// Why the reply just sent was sent (`--explain`).
    pub fn why(&self, text: &str) {
        if self.explain {
            log::info!(target: "explain", "{} why: {text}", self.tag);
        }
        self.record(Kind::Why, text);
    }

    /// Something that happened on the data connection.
    pub fn data(&self, text: &str) {
        if self.explain {
            log::info!(target: "explain", "{} data: {text}", self.tag);
        }
        self.step(|| DataEvent::parse(text).map(Step::Data));
        self.record(Kind::Data, text);
    }

    /// Hand a step to the board's progress, when there is a board (`step` is made only then).
    fn step(&self, step: impl FnOnce() -> Option<Step>) {
        let Some(progress) = &self.progress else {
            return;
        };
        if let Some(step) = step() {
            progress.step(self.tag.id, step);
        }
    }

    fn record(&self, kind: Kind, text: &str) {
        let Some(transcript) = &self.transcript else {
            return;
        };
        let mut transcript = transcript.lock().unwrap_or_else(|p| p.into_inner());
        let sequence = transcript.next_sequence();
        let millis = self.started.elapsed().as_millis();
        let stamp = if self.lab {
            format!("[{sequence:04}]")
        } else {
            format!("[+{:>7.3}s]", millis as f64 / 1000.0)
        };
        let mut line = String::new();
        for (i, part) in text.split("\r\n").enumerate() {
            let marker = if i == 0 { kind.marker() } else { "  " };
            let _ = writeln!(line, "{stamp} {marker} {part}");
        }
        let time = if self.lab {
            String::new()
        } else {
            format!("\"t_ms\":{millis},")
        };
        let json = format!(
            "{{\"seq\":{sequence},{time}\"kind\":\"{}\",\"text\":{}}}\n",
            kind.name(),
            json_string(text)
        );
        transcript.write(&line, &json, &self.tag);
    }
}

/// The session is over (the last handle on its trace is gone, whichever thread held it): a
/// transcript still waiting for a login is written now, under a name that says nobody logged in.
impl Drop for Trace {
    fn drop(&mut self) {
        if let Some(progress) = &self.progress {
            progress.closed(self.tag.id);
        }
        if let Some(transcript) = &self.transcript {
            let mut transcript = transcript.lock().unwrap_or_else(|p| p.into_inner());
            transcript.finish(&self.tag);
        }
    }
}

/// `text` as a JSON string literal (RFC 8259 §7): quotes, backslashes and control characters
/// escaped.
///
/// ```
/// use localftp::server::trace::json_string;
/// assert_eq!(json_string("a \"b\"\r\n\\"), r#""a \"b\"\r\n\\""#);
/// ```
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
