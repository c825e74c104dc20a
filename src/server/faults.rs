//! Faults on purpose: `--fault NAME` makes the server misbehave in one specific, documented way,
//! so students can write clients that survive real servers. Never on by default.
//!
//! Real FTP servers are not all like this one. Some split replies across TCP segments, some send
//! multi-line replies where one line is usual, some announce a private address in 227 from behind
//! a NAT, some close the data connection early. A client written against one polite server breaks
//! on the first impolite one. Each fault below imitates one of those, and logs a line (target
//! `fault`) every time it fires, so the teacher sees what the student's client was up against.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One way to misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `multiline`: replies that are usually one line come as multi-line replies
    /// (RFC 959 §4.2 allows it; many clients forget).
    Multiline,
    /// `split`: each reply is written in small pieces with short pauses, so it arrives in
    /// several TCP segments, even in the middle of a line.
    Split,
    /// `slow`: a pause before each 150/125 and before each 226.
    Slow,
    /// `always-125`: 125 ("already open") even when the data connection is not open yet.
    Always125,
    /// `wrong-227`: the 227 reply announces 10.255.255.1, a private address the client cannot
    /// reach: the mistake of a server behind NAT without `--masquerade`.
    WrongPasvAddress,
    /// `early-close`: a download's data connection is closed after about half the bytes, and
    /// the server still says 226.
    EarlyClose,
    /// `421-at-fifth-command`: the fifth command after login is answered 421 and the connection
    /// closed. (Its first name, `random-421`, still works; it was never random.)
    FifthCommand421,
    /// `bare-lf`: replies end in LF alone instead of CRLF (RFC 959 §4.2 says CRLF).
    BareLf,
}

impl Fault {
    /// Every fault, with its name on the command line.
    pub const ALL: [(Fault, &'static str); 8] = [
        (Fault::Multiline, "multiline"),
        (Fault::Split, "split"),
        (Fault::Slow, "slow"),
        (Fault::Always125, "always-125"),
        (Fault::WrongPasvAddress, "wrong-227"),
        (Fault::EarlyClose, "early-close"),
        (Fault::FifthCommand421, "421-at-fifth-command"),
        (Fault::BareLf, "bare-lf"),
    ];

    /// The name used by `--fault`.
    pub fn name(self) -> &'static str {
        Fault::ALL
            .iter()
            .find(|(fault, _)| *fault == self)
            .map(|(_, name)| *name)
            .unwrap_or("?")
    }

    /// Log that this fault fired, with what it did.
    pub fn fired(self, tag: &impl fmt::Display, what: &str) {
        log::warn!(target: "fault", "{tag} fault {}: {what}", self.name());
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(name: &str) -> Result<Fault, String> {
        // The first name of `421-at-fifth-command`, kept so that older notes still work.
        if name == "random-421" {
            return Ok(Fault::FifthCommand421);
        }
        Fault::ALL
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(fault, _)| *fault)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|(_, name)| *name).collect();
                format!("unknown fault {name:?} (known: {})", names.join(", "))
            })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The address `wrong-227` announces: private, and not this machine's.
pub const WRONG_PASV_ADDRESS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 255, 255, 1);

/// The pause `slow` makes before 150/125 and 226.
pub const SLOW_PAUSE: Duration = Duration::from_millis(1500);

/// How many commands after login `421-at-fifth-command` lets through before it strikes.
pub const COMMANDS_BEFORE_421: u32 = 4;

/// The faults a server was started with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults(Vec<Fault>);

impl Faults {
    /// These faults.
    pub fn new(faults: Vec<Fault>) -> Faults {
        Faults(faults)
    }

    /// Whether `fault` is on.
    pub fn has(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }

    /// Whether any fault is on.
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// The faults that are on.
    pub fn iter(&self) -> impl Iterator<Item = Fault> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (fault, name) in Fault::ALL {
            assert_eq!(name.parse::<Fault>(), Ok(fault));
            assert_eq!(fault.name(), name);
        }
        let err = "nope".parse::<Fault>().unwrap_err();
        assert!(err.contains("wrong-227"), "{err}");
        assert_eq!("random-421".parse::<Fault>(), Ok(Fault::FifthCommand421));
    }
}
