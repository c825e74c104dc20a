//! Protocol notes: where the server departs from the RFCs or from what most servers do, said in
//! one line with the RFC section, while the client carries on where it can.
//!
//! A client written against one polite server breaks on the first impolite one. These notes
//! point out what a sturdier client has to allow for:
//!
//! | note | seen where | the client then |
//! |------|-----------|-----------------|
//! | reply lines ended by a bare LF or CR (RFC 959 §4.2 says CRLF) | [`super::lines`] | accepts the line |
//! | a reply line split across TCP segments (RFC 9293 §2.2: a byte stream) | [`super::lines`] | reads on to the line end |
//! | a multi-line reply where one line is usual (RFC 959 §4.2) | [`super::wire`] | reads to the closing `ddd ` line |
//! | a multi-line reply without its closing line (RFC 959 §4.2) | [`super::wire`] | takes what came, after the timeout |
//! | a slow reply; 421 at any command (RFC 959 §4.2) | [`super::wire`] | waits; stops cleanly on 421 |
//! | a 227 not in the usual `(h1,h2,h3,h4,p1,p2)` form (RFC 1123 §4.1.2.6) | [`super::data`] | scans for the six numbers |
//! | a 227 naming another host than the control connection's (RFC 959 §4.1.2) | [`super::data`] | connects to the control connection's host, as curl does |
//! | no 150/125 before the data (RFC 959 §5.4) | `transfer` | reads the data anyway |
//! | 125 before the server connected (RFC 959 §5.4) | `transfer` | waits for the connection |
//! | 226 before the data connection closed (RFC 959 §3.4.1) | `transfer` | reads to the close |
//! | fewer bytes than the 150 announced, yet 226 (RFC 959 §3.4.1) | `transfer` | keeps the `.part` file |
//! | LIST lines it cannot parse; MLSD missing (RFC 3659 §7) | `listing` | shows them raw; falls back to LIST |
//!
//! The format facts (line ends, split lines, multi-line replies, slowness) are said once per
//! session; events (a short transfer, a wrong address) every time they happen.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use super::lines::{Ending, Line, ReceivedReply};
use super::narrate::Narrator;

/// A reply slower than this gets a note: most servers answer in milliseconds.
const SLOW: Duration = Duration::from_secs(1);

/// One thing the server did that a student should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Reply lines end in LF alone.
    BareLf,
    /// A reply line ended in CR alone.
    BareCr,
    /// A reply line came in several pieces.
    Split {
        /// How many reads it took.
        pieces: usize,
    },
    /// A multi-line reply for a code that is usually one line.
    MultiLine {
        /// The code.
        code: u16,
    },
    /// A multi-line reply whose closing `ddd ` line never came.
    Unterminated {
        /// The code.
        code: u16,
        /// How many lines came.
        lines: usize,
    },
    /// A reply took a long time to come.
    Slow {
        /// The code.
        code: u16,
        /// How long, in milliseconds.
        millis: u64,
    },
    /// 421: the server is closing the session.
    Closing,
    /// The 227's six numbers are not in brackets.
    OddPasvForm,
    /// The 227 names a host other than the control connection's peer.
    WrongPasvAddress {
        /// The address in the 227.
        announced: IpAddr,
        /// The control connection's peer, used instead.
        using: IpAddr,
    },
    /// The transfer command was answered 2yz without a 1yz first.
    NoPreliminary {
        /// The command's verb.
        verb: String,
        /// The reply code.
        code: u16,
    },
    /// 125 ("already open") came before the server had connected (active mode).
    Premature125,
    /// The reply ending a download came while the data connection was still open.
    EarlyFinalReply,
    /// Fewer bytes arrived than the 150 announced, yet the transfer was said to be complete.
    ShortTransfer {
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        announced: u64,
        /// The final reply's code.
        code: u16,
    },
    /// LIST lines that fit no known layout.
    ListUnparsable {
        /// How many.
        count: usize,
        /// The first of them.
        first: String,
    },
    /// The listing ended without a line end.
    ListCut,
    /// No MLSD on this server.
    NoMlsd {
        /// How the client found out.
        why: String,
    },
}

impl Note {
    /// The sentence (without the RFC section).
    pub fn text(&self) -> String {
        match self {
            Note::BareLf => "this server ends reply lines with LF alone, not CRLF; the client \
                accepts both, as most clients do"
                .into(),
            Note::BareCr => "a reply line ended with a bare CR (no LF after it); the client took \
                the CR as the line end"
                .into(),
            Note::Split { pieces } => format!(
                "that reply line arrived in {pieces} pieces (TCP segments): TCP carries a byte \
                 stream, not messages, so the client reads up to the line end rather than one \
                 read per reply"
            ),
            Note::MultiLine { code } => format!(
                "{code} came as a multi-line reply ({code}- lines, then `{code} `), and others may \
                 too: allowed for any reply, though most servers send these on one line; a client \
                 that reads one line here would fall out of step"
            ),
            Note::Unterminated { code, lines } => format!(
                "the multi-line {code} reply never got its closing `{code} ` line; the client \
                 takes the {lines} line(s) that came as the whole reply"
            ),
            Note::Slow { code, millis } => format!(
                "{code} took {:.1} s to come: a client must wait for every reply (up to its \
                 timeout) and never take a pause for an answer",
                *millis as f64 / 1000.0
            ),
            Note::Closing => "421: the server is closing the session, which it may do in reply \
                to any command; the client stops here (run it again to reconnect)"
                .into(),
            Note::OddPasvForm => "the 227 does not put its six numbers in brackets as \
                (h1,h2,h3,h4,p1,p2); no RFC fixes the form, so the client scans the text for them"
                .into(),
            Note::WrongPasvAddress { announced, using } => format!(
                "the 227 names {announced}, but the control connection goes to {using}: a \
                 server behind NAT announcing its inside address? connecting to {using} \
                 instead, as curl does by default"
            ),
            Note::NoPreliminary { verb, code } => format!(
                "{verb} was answered {code} with no 150 or 125 before it; the client reads the \
                 data connection anyway"
            ),
            Note::Premature125 => "125 means the data connection is already open, but the server \
                had not connected to the client's port yet: 150 was the right reply; the \
                client waits for the connection anyway"
                .into(),
            Note::EarlyFinalReply => "the final reply came while the data connection was still \
                open; in stream mode the close marks the end of the data, so the reply should \
                follow it (the client read on until the close)"
                .into(),
            Note::ShortTransfer {
                got,
                announced,
                code,
            } => format!(
                "only {got} of the {announced} bytes the server announced arrived, yet it said \
                 {code}: the transfer was short; the bytes stay in the .part file"
            ),
            Note::ListUnparsable { count, first } => format!(
                "{count} LIST line(s) fit no known layout, e.g. {first:?}: LIST's format is not \
                 standard, so clients guess; MLSD's is"
            ),
            Note::ListCut => "the listing's last line has no line end: the data connection \
                closed in the middle of a line"
                .into(),
            Note::NoMlsd { why } => format!(
                "this server has no MLSD ({why}), only LIST, whose lines no RFC fixes; falling \
                 back to LIST"
            ),
        }
    }

    /// The RFC section the note is about.
    pub fn rfc(&self) -> &'static str {
        match self {
            Note::BareLf | Note::BareCr => "RFC 959 §4.2",
            Note::Split { .. } => "RFC 9293 §2.2",
            Note::MultiLine { .. } | Note::Unterminated { .. } => "RFC 959 §4.2",
            Note::Slow { .. } | Note::Closing => "RFC 959 §4.2",
            Note::OddPasvForm => "RFC 1123 §4.1.2.6",
            Note::WrongPasvAddress { .. } => "RFC 959 §4.1.2",
            Note::NoPreliminary { .. } | Note::Premature125 => "RFC 959 §5.4",
            Note::EarlyFinalReply | Note::ShortTransfer { .. } | Note::ListCut => "RFC 959 §3.4.1",
            Note::ListUnparsable { .. } => "RFC 959 §4.1.3, RFC 3659 §7",
            Note::NoMlsd { .. } => "RFC 3659 §7",
        }
    }

    /// What makes two notes the same, for those said once per session; `None` for events,
    /// which are said every time.
    fn once_key(&self) -> Option<String> {
        match self {
            Note::BareLf => Some("bare LF".into()),
            Note::BareCr => Some("bare CR".into()),
            Note::Split { .. } => Some("split".into()),
            Note::MultiLine { .. } => Some("multi-line".into()),
            Note::Slow { code, .. } => Some(format!("slow {code}")),
            Note::OddPasvForm => Some("227 form".into()),
            _ => None,
        }
    }
}

/// The notes of one control connection: which were said already.
#[derive(Debug, Default)]
pub struct Notes {
    said: HashSet<String>,
}

impl Notes {
    /// Say `note`, unless it is a once-per-session note that was said already.
    pub fn say(&mut self, narrator: &Narrator, note: &Note) {
        if let Some(key) = note.once_key()
            && !self.said.insert(key)
        {
            return;
        }
        narrator.protocol(&note.text(), note.rfc());
    }
}

/// What one reply line shows: how it ended, and in how many pieces it came.
pub fn of_line(line: &Line) -> Vec<Note> {
    let mut found = Vec::new();
    if line.after_bare_cr || line.ending == Ending::Cr {
        found.push(Note::BareCr);
    }
    if line.ending == Ending::Lf {
        found.push(Note::BareLf);
    }
    if line.pieces > 1 {
        found.push(Note::Split {
            pieces: line.pieces,
        });
    }
    found
}

/// What a whole reply shows: several lines where one is usual, a long wait, a 421.
pub fn of_reply(reply: &ReceivedReply, waited: Duration) -> Vec<Note> {
    let mut found = Vec::new();
    if reply.lines.len() > 1 && usually_one_line(reply.code) {
        found.push(Note::MultiLine { code: reply.code });
    }
    // A pause before 530 is on purpose: it makes guessing passwords slow (RFC 2577 §5).
    if waited >= SLOW && reply.code != 530 {
        found.push(Note::Slow {
            code: reply.code,
            millis: waited.as_millis() as u64,
        });
    }
    if reply.code == 421 {
        found.push(Note::Closing);
    }
    found
}

/// Codes that servers almost always send as one line; a multi-line one is worth a note.
/// (220, 211, 214 and 200, the reply to SITE commands, are often multi-line by design.)
pub fn usually_one_line(code: u16) -> bool {
    matches!(
        code,
        125 | 150 | 226 | 227 | 229 | 230 | 250 | 257 | 331 | 350
    )
}

/// Whether the six numbers of a 227 are in brackets, as RFC 959 §4.1.2 and almost every
/// server write them.
///
/// ```
/// use localftp::client::notes::usual_pasv_form;
/// assert!(usual_pasv_form("227 Entering Passive Mode (127,0,0,1,195,80)."));
/// assert!(!usual_pasv_form("227 Entering Passive Mode 127,0,0,1,195,80"));
/// ```
pub fn usual_pasv_form(text: &str) -> bool {
    // Any bracketed group will do: a multi-line 227 may have other brackets before it.
    text.split('(').skip(1).any(|group| {
        group.split_once(')').is_some_and(|(numbers, _)| {
            let parts: Vec<&str> = numbers.split(',').collect();
            parts.len() == 6 && parts.iter().all(|p| p.trim().parse::<u8>().is_ok())
        })
    })
}

/// Whether a download was short: fewer bytes crossed the wire than the 150 announced. In
/// TYPE A the wire carries at least as many bytes as the file (a CR may be added per line),
/// so a shortfall means bytes are missing in either type.
///
/// ```
/// use localftp::client::notes::is_short;
/// assert!(is_short(Some(100), 50));
/// assert!(!is_short(Some(100), 100));
/// assert!(!is_short(None, 0));
/// ```
pub fn is_short(announced: Option<u64>, received_on_wire: u64) -> bool {
    announced.is_some_and(|announced| received_on_wire < announced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_note_is_one_line_and_names_an_rfc() {
        let ip: IpAddr = "10.255.255.1".parse().unwrap();
        let notes = [
            Note::BareLf,
            Note::BareCr,
            Note::Split { pieces: 3 },
            Note::MultiLine { code: 230 },
            Note::Unterminated {
                code: 220,
                lines: 2,
            },
            Note::Slow {
                code: 226,
                millis: 1500,
            },
            Note::Closing,
            Note::OddPasvForm,
            Note::WrongPasvAddress {
                announced: ip,
                using: ip,
            },
            Note::NoPreliminary {
                verb: "RETR".into(),
                code: 226,
            },
            Note::Premature125,
            Note::EarlyFinalReply,
            Note::ShortTransfer {
                got: 1,
                announced: 2,
                code: 226,
            },
            Note::ListUnparsable {
                count: 1,
                first: "x".into(),
            },
            Note::ListCut,
            Note::NoMlsd { why: "500".into() },
        ];
        for note in notes {
            assert!(!note.text().contains('\n'), "{note:?}");
            assert!(note.rfc().starts_with("RFC "), "{note:?}");
        }
    }

    #[test]
    fn format_notes_are_said_once_and_events_every_time() {
        assert_eq!(Note::BareLf.once_key(), Some("bare LF".into()));
        assert_eq!(
            Note::MultiLine { code: 230 }.once_key(),
            Note::MultiLine { code: 250 }.once_key()
        );
        assert_ne!(
            Note::Slow {
                code: 150,
                millis: 1500
            }
            .once_key(),
            Note::Slow {
                code: 226,
                millis: 1500
            }
            .once_key()
        );
        assert_eq!(Note::ListCut.once_key(), None);
    }

    #[test]
    fn the_usual_227_has_six_numbers_in_brackets() {
        assert!(usual_pasv_form("227 ok (10,0,0,1,4,1)"));
        assert!(!usual_pasv_form("227 =10,0,0,1,4,1"));
        assert!(!usual_pasv_form("227 (10,0,0,1,4)"));
        assert!(usual_pasv_form(
            "227-Several lines (fault multiline). 227 Entering Passive Mode (127,0,0,1,4,1)."
        ));
    }
}
