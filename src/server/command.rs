//! Commands and their parser: text in, a typed [`Command`] out, no I/O (RFC 959 §4.1, §5.3).
//!
//! A command line is a verb of letters, then (for most verbs) one space and an argument, ended
//! by CRLF (RFC 959 §5.3.1). Verbs are case-insensitive. The parser is pure: it never touches the
//! disk or the network, so every rule below is tested without a socket.
//!
//! - A verb localftp does not know becomes [`Command::Unknown`], answered `500`.
//! - A known verb with a bad or missing argument is a [`ParseError`], answered `501`
//!   (or `504` where RFC 959 says "not implemented for that parameter").
//! - The old `X` forms from RFC 775 (`XPWD`, `XCWD`, `XCUP`, `XMKD`, `XRMD`) are the same
//!   commands as their RFC 959 names; Windows' `ftp.exe` still sends them.

use std::fmt;
use std::net::SocketAddr;

/// How file bytes travel on the data connection (RFC 959 §3.1.1, the TYPE command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferType {
    /// `TYPE A`: text. Lines end in CRLF on the wire and in LF on the server's disk.
    Ascii,
    /// `TYPE I`: image (binary). Bytes go as they are.
    Image,
}

/// The argument of `EPSV` (RFC 2428 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpsvArg {
    /// `EPSV` alone: listen on the control connection's address family.
    Any,
    /// `EPSV 1` (IPv4) or `EPSV 2` (IPv6); other numbers are refused with 522.
    Protocol(u16),
    /// `EPSV ALL`: from now on only EPSV may set up data connections.
    All,
}

/// What `LIST` and `NLST` were asked for: `ls`-style flags are accepted and a path may follow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListArgs {
    /// The path to list, if one was given (`LIST -la /docs` → `/docs`).
    pub path: Option<String>,
    /// Whether `-a` (or `-la`, `-A`, …) was given. localftp lists dot files either way.
    pub all: bool,
}

/// The `SITE` sub-commands (RFC 959 §4.1.3 leaves SITE to each server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteCommand {
    /// `SITE HELP`: the SITE commands this server knows.
    Help,
    /// `SITE CHMOD 644 file`: change a file's Unix mode bits.
    Chmod {
        /// The mode, parsed from octal.
        mode: u32,
        /// The file.
        path: String,
    },
    /// `SITE PERMS`: the logged-in user's permission letters, explained.
    Perms,
    /// `SITE WHO`: the live sessions (needs the `S` letter).
    Who,
    /// `SITE QUIZ 7 9`: the guided client's quiz score (7 right of 9), for the teacher's board.
    Quiz {
        /// Right answers.
        right: u32,
        /// Questions asked.
        asked: u32,
    },
    /// Any other SITE sub-command (answered 501 with the list of known ones).
    Other(String),
}

/// One command from the client, parsed.
///
/// The variants follow RFC 959 §4.1's families; the extensions name their RFC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    // --- Access control (RFC 959 §4.1.1) ---
    /// `USER name`
    User(String),
    /// `PASS password`
    Pass(String),
    /// `ACCT account`
    Acct(String),
    /// `CWD path` (also `XCWD`)
    Cwd(String),
    /// `CDUP` (also `XCUP`): CWD to the parent.
    Cdup,
    /// `REIN`: log out, keep the connection.
    Rein,
    /// `QUIT`
    Quit,

    // --- Transfer parameters (RFC 959 §4.1.2, RFC 2428) ---
    /// `PORT h1,h2,h3,h4,p1,p2`: active mode, IPv4.
    Port(SocketAddr),
    /// `EPRT |1|addr|port|` or `|2|addr|port|`: active mode, any family (RFC 2428 §2).
    Eprt(SocketAddr),
    /// `PASV`: passive mode, IPv4.
    Pasv,
    /// `EPSV [1|2|ALL]`: passive mode, any family (RFC 2428 §3).
    Epsv(EpsvArg),
    /// `TYPE A` or `TYPE I`.
    Type(TransferType),
    /// `MODE S` (stream; the only mode localftp has).
    Mode,
    /// `STRU F` (file; the only structure localftp has).
    Stru,

    // --- Service commands (RFC 959 §4.1.3) ---
    /// `RETR path`: download.
    Retr(String),
    /// `STOR path`: upload, replacing.
    Stor(String),
    /// `STOU`: upload under a name the server picks.
    Stou,
    /// `APPE path`: upload, appending.
    Appe(String),
    /// `ALLO n`: reserve space (not needed here).
    Allo,
    /// `REST offset`: the next RETR/STOR starts at this byte (RFC 3659 §5).
    Rest(u64),
    /// `RNFR path`: rename, step one.
    Rnfr(String),
    /// `RNTO path`: rename, step two.
    Rnto(String),
    /// `ABOR`: stop the transfer in progress.
    Abor,
    /// `DELE path`: delete a file.
    Dele(String),
    /// `RMD path` (also `XRMD`): remove an empty folder.
    Rmd(String),
    /// `MKD path` (also `XMKD`): make a folder.
    Mkd(String),
    /// `PWD` (also `XPWD`): print the current folder.
    Pwd,
    /// `LIST [-flags] [path]`: `ls -l` style listing on the data connection.
    List(ListArgs),
    /// `NLST [-flags] [path]`: names only.
    Nlst(ListArgs),
    /// `SITE ...`
    Site(SiteCommand),
    /// `SYST`
    Syst,
    /// `STAT` (session status) or `STAT path` (a listing on the control connection).
    Stat(Option<String>),
    /// `HELP [verb]`
    Help(Option<String>),
    /// `NOOP`
    Noop,

    // --- Extensions ---
    /// `FEAT` (RFC 2389 §3): the extensions this server has.
    Feat,
    /// `OPTS ...` (RFC 2389 §4), e.g. `OPTS UTF8 ON`.
    Opts(String),
    /// `SIZE path` (RFC 3659 §4).
    Size(String),
    /// `MDTM path` (RFC 3659 §3).
    Mdtm(String),
    /// `MLSD [path]` (RFC 3659 §7).
    Mlsd(Option<String>),
    /// `MLST [path]` (RFC 3659 §7).
    Mlst(Option<String>),
    /// `MFMT time path`: set a file's modification time (draft-somers-ftp-mfxx).
    Mfmt {
        /// Seconds since the Unix epoch, UTC.
        time: i64,
        /// The file.
        path: String,
    },
    /// `AUTH TLS` (RFC 2228 §3, RFC 4217 §4).
    Auth(String),
    /// `PBSZ n` (RFC 2228 §3).
    Pbsz(String),
    /// `PROT C|P` (RFC 2228 §3).
    Prot(String),
    /// `CCC` (RFC 2228 §3).
    Ccc,

    /// A verb this server does not know (answered 500).
    Unknown(String),
}

/// Why a known verb's argument was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The verb, upper-cased.
    pub verb: String,
    /// What is wrong, for the reply text.
    pub message: String,
    /// True when the argument is valid FTP but not supported here (`TYPE E`, `MODE B`): 504.
    pub unsupported: bool,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.verb, self.message)
    }
}

/// Parse one command line (without its CRLF) into a [`Command`].
///
/// ```
/// use localftp::server::command::{parse, Command, ListArgs};
/// assert_eq!(parse("user alice"), Ok(Command::User("alice".into())));
/// assert_eq!(parse("XPWD"), Ok(Command::Pwd));
/// assert_eq!(parse("RETR my file.txt"), Ok(Command::Retr("my file.txt".into())));
/// assert_eq!(
///     parse("LIST -la /docs"),
///     Ok(Command::List(ListArgs { path: Some("/docs".into()), all: true }))
/// );
/// assert_eq!(parse("HELLO"), Ok(Command::Unknown("HELLO".into())));
/// assert!(parse("CWD").is_err()); // a missing argument is a 501
/// ```
pub fn parse(line: &str) -> Result<Command, ParseError> {
    // RFC 959 §5.3: the verb ends at the first space; the argument is everything after it,
    // spaces included (file names may contain spaces).
    let (verb, arg) = match line.split_once(' ') {
        Some((verb, arg)) => (verb, arg),
        None => (line, ""),
    };
    let verb = verb.to_ascii_uppercase();
    let fail = |message: &str| ParseError {
        verb: verb.clone(),
        message: message.to_string(),
        unsupported: false,
    };
    let unsupported = |message: &str| ParseError {
        verb: verb.clone(),
        message: message.to_string(),
        unsupported: true,
    };
    let required = |what: &str| -> Result<String, ParseError> {
        if arg.is_empty() {
            Err(fail(&format!("missing argument: {what}")))
        } else {
            Ok(arg.to_string())
        }
    };
    let optional = || (!arg.is_empty()).then(|| arg.to_string());
    let no_argument = |command: Command| -> Result<Command, ParseError> {
        // Some clients send "PASV " or "NOOP x"; RFC 959 gives these verbs no argument, and
        // refusing them would only break such clients, so the argument is ignored.
        Ok(command)
    };

    use Command::*;
    match verb.as_str() {
        "USER" => required("a user name").map(User),
        // An empty password is legal (RFC 959 says PASS takes a string, which may be empty
        // for anonymous users whose client sends none).
        "PASS" => Ok(Pass(arg.to_string())),
        "ACCT" => required("an account").map(Acct),
        "CWD" | "XCWD" => required("a folder").map(Cwd),
        "CDUP" | "XCUP" => no_argument(Cdup),
        "REIN" => no_argument(Rein),
        "QUIT" => no_argument(Quit),
        "PORT" => parse_port(arg).map(Port).map_err(|m| fail(&m)),
        "EPRT" => parse_eprt(arg).map(Eprt).map_err(|m| fail(&m)),
        "PASV" => no_argument(Pasv),
        "EPSV" => match arg.to_ascii_uppercase().as_str() {
            "" => Ok(Epsv(EpsvArg::Any)),
            "ALL" => Ok(Epsv(EpsvArg::All)),
            number => number
                .parse::<u16>()
                .map(|n| Epsv(EpsvArg::Protocol(n)))
                .map_err(|_| fail("expected EPSV, EPSV 1, EPSV 2 or EPSV ALL")),
        },
        "TYPE" => parse_type(arg).map_err(|(message, is_unsupported)| {
            if is_unsupported {
                unsupported(&message)
            } else {
                fail(&message)
            }
        }),
        "MODE" => match arg.to_ascii_uppercase().as_str() {
            "S" => Ok(Mode),
            "B" | "C" => Err(unsupported("only MODE S (stream) is supported")),
            _ => Err(fail("expected MODE S")),
        },
        "STRU" => match arg.to_ascii_uppercase().as_str() {
            "F" => Ok(Stru),
            "R" | "P" => Err(unsupported("only STRU F (file) is supported")),
            _ => Err(fail("expected STRU F")),
        },
        "RETR" => required("a file name").map(Retr),
        "STOR" => required("a file name").map(Stor),
        "STOU" => no_argument(Stou),
        "APPE" => required("a file name").map(Appe),
        "ALLO" => no_argument(Allo),
        "REST" => arg
            .parse::<u64>()
            .map(Rest)
            .map_err(|_| fail("expected a byte offset, e.g. REST 1024")),
        "RNFR" => required("the name to rename").map(Rnfr),
        "RNTO" => required("the new name").map(Rnto),
        "ABOR" => no_argument(Abor),
        "DELE" => required("a file name").map(Dele),
        "RMD" | "XRMD" => required("a folder").map(Rmd),
        "MKD" | "XMKD" => required("a folder name").map(Mkd),
        "PWD" | "XPWD" => no_argument(Pwd),
        "LIST" => Ok(List(parse_list_args(arg))),
        "NLST" => Ok(Nlst(parse_list_args(arg))),
        "SITE" => parse_site(arg).map(Site).map_err(|m| fail(&m)),
        "SYST" => no_argument(Syst),
        "STAT" => Ok(Stat(optional())),
        "HELP" => Ok(Help(optional())),
        "NOOP" => no_argument(Noop),
        "FEAT" => no_argument(Feat),
        "OPTS" => required("an option, e.g. OPTS UTF8 ON").map(Opts),
        "SIZE" => required("a file name").map(Size),
        "MDTM" => required("a file name").map(Mdtm),
        "MLSD" => Ok(Mlsd(optional())),
        "MLST" => Ok(Mlst(optional())),
        "MFMT" => parse_mfmt(arg).map_err(|m| fail(&m)),
        "AUTH" => required("a mechanism, e.g. AUTH TLS").map(Auth),
        "PBSZ" => required("a buffer size, e.g. PBSZ 0").map(Pbsz),
        "PROT" => required("a level, e.g. PROT P").map(Prot),
        "CCC" => no_argument(Ccc),
        _ => Ok(Unknown(verb)),
    }
}

mod arguments;
use arguments::{parse_eprt, parse_list_args, parse_mfmt, parse_port, parse_site, parse_type};

#[cfg(test)]
mod tests;
