//! Reply codes and the reply format (RFC 959 §4.2), shared by the server and the client.
//!
//! Every FTP reply starts with three digits. RFC 959 §4.2.1 gives each digit a meaning:
//!
//! | first digit | meaning                                                       |
//! |-------------|---------------------------------------------------------------|
//! | 1yz         | positive preliminary: "started, wait for another reply"        |
//! | 2yz         | positive completion: "done"                                   |
//! | 3yz         | positive intermediate: "go on, send the next command"         |
//! | 4yz         | transient negative: "failed this time, trying again may work" |
//! | 5yz         | permanent negative: "failed, do not repeat it as it is"       |
//!
//! The server builds every reply from a [`ReplyCode`], never from a bare number, so a reader can
//! see at each call site *which* reply is sent. The guided client uses the same table to explain
//! what each code it receives means ([`ReplyCode::explain`]).
//!
//! A reply is one line (`230 Login successful.`) or several (RFC 959 §4.2, multi-line replies):
//!
//! ```text
//! 211-Features:          <- first line: code, then a hyphen
//!  UTF8                  <- middle lines: begin with a space, so they can never look like an end
//!  EPSV
//! 211 End                <- last line: the same code, then a space
//! ```

use std::fmt;

mod meaning;

/// The reply codes localftp sends, named after their RFC meaning.
///
/// The doc comment of each variant is the RFC's own wording (RFC 959 §4.2.2 unless another RFC is
/// named); [`ReplyCode::explain`] says the same thing for a student.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ReplyCode {
    /// 110 Restart marker reply.
    RestartMarker = 110,
    /// 120 Service ready in nnn minutes.
    ServiceReadyInMinutes = 120,
    /// 125 Data connection already open; transfer starting.
    DataConnectionAlreadyOpen = 125,
    /// 150 File status okay; about to open data connection.
    AboutToOpenDataConnection = 150,
    /// 200 Command okay.
    CommandOkay = 200,
    /// 202 Command not implemented, superfluous at this site.
    CommandSuperfluous = 202,
    /// 211 System status, or system help reply.
    SystemStatus = 211,
    /// 212 Directory status.
    DirectoryStatus = 212,
    /// 213 File status.
    FileStatus = 213,
    /// 214 Help message.
    HelpMessage = 214,
    /// 215 NAME system type.
    SystemType = 215,
    /// 220 Service ready for new user.
    ServiceReady = 220,
    /// 221 Service closing control connection.
    ClosingControlConnection = 221,
    /// 225 Data connection open; no transfer in progress.
    DataConnectionOpenNoTransfer = 225,
    /// 226 Closing data connection. Requested file action successful.
    ClosingDataConnection = 226,
    /// 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).
    EnteringPassiveMode = 227,
    /// 229 Entering Extended Passive Mode (|||port|) (RFC 2428 §3).
    EnteringExtendedPassiveMode = 229,
    /// 230 User logged in, proceed.
    UserLoggedIn = 230,
    /// 234 Security data exchange complete (RFC 2228 §4: the reply to AUTH).
    SecurityExchangeComplete = 234,
    /// 250 Requested file action okay, completed.
    FileActionOkay = 250,
    /// 257 "PATHNAME" created (also the reply to PWD).
    PathCreated = 257,
    /// 331 User name okay, need password.
    UserNameOkay = 331,
    /// 332 Need account for login.
    NeedAccount = 332,
    /// 350 Requested file action pending further information.
    FileActionPending = 350,
    /// 421 Service not available, closing control connection.
    ServiceNotAvailable = 421,
    /// 425 Can't open data connection.
    CantOpenDataConnection = 425,
    /// 426 Connection closed; transfer aborted.
    TransferAborted = 426,
    /// 450 Requested file action not taken. File unavailable (e.g., file busy).
    FileBusy = 450,
    /// 451 Requested action aborted: local error in processing.
    LocalError = 451,
    /// 452 Requested action not taken. Insufficient storage space in system.
    InsufficientStorage = 452,
    /// 500 Syntax error, command unrecognized.
    SyntaxError = 500,
    /// 501 Syntax error in parameters or arguments.
    SyntaxErrorInArguments = 501,
    /// 502 Command not implemented.
    CommandNotImplemented = 502,
    /// 503 Bad sequence of commands.
    BadSequence = 503,
    /// 504 Command not implemented for that parameter.
    NotImplementedForParameter = 504,
    /// 521 Data connection cannot be opened with this PROT setting (RFC 4217 §9).
    ProtectionLevelRefused = 521,
    /// 522 Network protocol not supported, use (1,2) (RFC 2428 §2). FTPS servers (vsftpd, and
    /// this one) also send it when a TLS data connection does not resume the control
    /// connection's TLS session: "522 SSL connection failed: session reuse required".
    NetworkProtocolNotSupported = 522,
    /// 530 Not logged in.
    NotLoggedIn = 530,
    /// 532 Need account for storing files.
    NeedAccountForStoring = 532,
    /// 534 Request denied for policy reasons (RFC 2228 §4).
    DeniedForPolicy = 534,
    /// 536 Requested PROT level not supported by mechanism (RFC 2228 §4).
    ProtectionLevelNotSupported = 536,
    /// 550 Requested action not taken. File unavailable (e.g., file not found, no access).
    FileUnavailable = 550,
    /// 551 Requested action aborted: page type unknown.
    PageTypeUnknown = 551,
    /// 552 Requested file action aborted. Exceeded storage allocation.
    ExceededStorage = 552,
    /// 553 Requested action not taken. File name not allowed.
    FileNameNotAllowed = 553,
    /// 554 Requested action not taken: invalid REST parameter (RFC 3659 §5.4).
    InvalidRestParameter = 554,
}

impl ReplyCode {
    /// Every code in the table, in numeric order.
    pub const ALL: [ReplyCode; 46] = [
        ReplyCode::RestartMarker,
        ReplyCode::ServiceReadyInMinutes,
        ReplyCode::DataConnectionAlreadyOpen,
        ReplyCode::AboutToOpenDataConnection,
        ReplyCode::CommandOkay,
        ReplyCode::CommandSuperfluous,
        ReplyCode::SystemStatus,
        ReplyCode::DirectoryStatus,
        ReplyCode::FileStatus,
        ReplyCode::HelpMessage,
        ReplyCode::SystemType,
        ReplyCode::ServiceReady,
        ReplyCode::ClosingControlConnection,
        ReplyCode::DataConnectionOpenNoTransfer,
        ReplyCode::ClosingDataConnection,
        ReplyCode::EnteringPassiveMode,
        ReplyCode::EnteringExtendedPassiveMode,
        ReplyCode::UserLoggedIn,
        ReplyCode::SecurityExchangeComplete,
        ReplyCode::FileActionOkay,
        ReplyCode::PathCreated,
        ReplyCode::UserNameOkay,
        ReplyCode::NeedAccount,
        ReplyCode::FileActionPending,
        ReplyCode::ServiceNotAvailable,
        ReplyCode::CantOpenDataConnection,
        ReplyCode::TransferAborted,
        ReplyCode::FileBusy,
        ReplyCode::LocalError,
        ReplyCode::InsufficientStorage,
        ReplyCode::SyntaxError,
        ReplyCode::SyntaxErrorInArguments,
        ReplyCode::CommandNotImplemented,
        ReplyCode::BadSequence,
        ReplyCode::NotImplementedForParameter,
        ReplyCode::ProtectionLevelRefused,
        ReplyCode::NetworkProtocolNotSupported,
        ReplyCode::NotLoggedIn,
        ReplyCode::NeedAccountForStoring,
        ReplyCode::DeniedForPolicy,
        ReplyCode::ProtectionLevelNotSupported,
        ReplyCode::FileUnavailable,
        ReplyCode::PageTypeUnknown,
        ReplyCode::ExceededStorage,
        ReplyCode::FileNameNotAllowed,
        ReplyCode::InvalidRestParameter,
    ];

    /// The three-digit number sent on the wire.
    pub fn number(self) -> u16 {
        self as u16
    }

    /// The named code for a number, if localftp knows it.
    ///
    /// ```
    /// use localftp::reply::ReplyCode;
    /// assert_eq!(ReplyCode::from_number(530), Some(ReplyCode::NotLoggedIn));
    /// assert_eq!(ReplyCode::from_number(299), None);
    /// ```
    pub fn from_number(number: u16) -> Option<ReplyCode> {
        ReplyCode::ALL
            .into_iter()
            .find(|code| code.number() == number)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// One reply as the server builds and sends it: a named code and one or more lines of text.
///
/// The guided client reads replies into a type of its own, `client::lines::ReceivedReply`: a reply as
/// received, whose code is any three digits (a server may send one this table does not name)
/// and whose lines are kept exactly as they arrived, code prefix and all. This one's code is
/// always a [`ReplyCode`], and its lines are text to be framed by [`Reply::to_wire`].
///
/// ```
/// use localftp::reply::{Reply, ReplyCode};
/// let one = Reply::new(ReplyCode::UserLoggedIn, "Login successful.");
/// assert_eq!(one.to_wire(), "230 Login successful.\r\n");
///
/// let many = Reply::multi(ReplyCode::SystemStatus, "Features:", ["UTF8", "EPSV"], "End");
/// assert_eq!(many.to_wire(), "211-Features:\r\n UTF8\r\n EPSV\r\n211 End\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code.
    pub code: ReplyCode,
    /// The text lines; one line is a single-line reply.
    pub lines: Vec<String>,
}

impl Reply {
    /// A single-line reply.
    pub fn new(code: ReplyCode, text: impl Into<String>) -> Reply {
        Reply {
            code,
            lines: vec![clean_line(text.into())],
        }
    }

    /// A multi-line reply: a first line, middle lines (each sent with a leading space), a last line.
    pub fn multi<I, S>(code: ReplyCode, first: &str, middle: I, last: &str) -> Reply
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut lines = vec![clean_line(first.to_string())];
        lines.extend(middle.into_iter().map(|l| clean_line(l.into())));
        lines.push(clean_line(last.to_string()));
        Reply { code, lines }
    }

    /// The text of a single-line reply, or the first line of a multi-line one.
    pub fn text(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    /// The reply exactly as it goes on the wire, each line ended by CRLF.
    pub fn to_wire(&self) -> String {
        let code = self.code.number();
        match self.lines.as_slice() {
            [] => format!("{code} \r\n"),
            [only] => format!("{code} {only}\r\n"),
            [first, middle @ .., last] => {
                let mut out = format!("{code}-{first}\r\n");
                for line in middle {
                    // The leading space keeps a middle line that starts with digits (a file
                    // named "226 done", say) from being read as the end of the reply.
                    out.push(' ');
                    out.push_str(line);
                    out.push_str("\r\n");
                }
                out.push_str(&format!("{code} {last}\r\n"));
                out
            }
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.lines.join(" / "))
    }
}

/// Replies carry text that may come from the client (a file name, say). A CR or LF inside it
/// would end the reply line early and let the rest pose as a reply of its own, so both become
/// spaces.
fn clean_line(text: String) -> String {
    if text.contains(['\r', '\n']) {
        text.replace(['\r', '\n'], " ")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_number() {
        for code in ReplyCode::ALL {
            assert_eq!(ReplyCode::from_number(code.number()), Some(code));
            assert!(!code.explain().is_empty());
        }
        let mut numbers: Vec<u16> = ReplyCode::ALL.iter().map(|c| c.number()).collect();
        let sorted = {
            let mut s = numbers.clone();
            s.sort();
            s
        };
        assert_eq!(numbers, sorted, "ALL is in numeric order");
        numbers.dedup();
        assert_eq!(numbers.len(), ReplyCode::ALL.len(), "no code listed twice");
    }

    #[test]
    fn reply_text_cannot_inject_a_second_reply() {
        let reply = Reply::new(ReplyCode::FileUnavailable, "no such file: a\r\n230 hi");
        assert_eq!(reply.to_wire(), "550 no such file: a  230 hi\r\n");
    }

    #[test]
    fn two_line_reply_has_no_middle() {
        let reply = Reply::multi(ReplyCode::HelpMessage, "Help:", Vec::<String>::new(), "End");
        assert_eq!(reply.to_wire(), "214-Help:\r\n214 End\r\n");
    }
}
