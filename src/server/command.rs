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
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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

/// `TYPE A`, `TYPE A N`, `TYPE I`, `TYPE L 8` are accepted; `TYPE E` (EBCDIC) is valid FTP that
/// localftp does not do (504). Returns the message and whether it is "unsupported".
fn parse_type(arg: &str) -> Result<Command, (String, bool)> {
    let upper = arg.to_ascii_uppercase();
    let mut words = upper.split(' ');
    let kind = words.next().unwrap_or("");
    let format = words.next();
    match (kind, format) {
        ("A", None | Some("N")) => Ok(Command::Type(TransferType::Ascii)),
        ("I", None) | ("L", Some("8")) => Ok(Command::Type(TransferType::Image)),
        ("A", Some("T" | "C")) | ("E", _) | ("L", Some(_)) => Err((
            "only TYPE A (text) and TYPE I (binary) are supported".into(),
            true,
        )),
        _ => Err(("expected TYPE A or TYPE I".into(), false)),
    }
}

/// `LIST` takes an optional path; many clients put `ls` flags first (`LIST -la`).
fn parse_list_args(arg: &str) -> ListArgs {
    let mut rest = arg.trim_start();
    let mut all = false;
    // Strip leading words that look like ls flags ("-l", "-la", "-A"). A folder whose name
    // starts with '-' must then be given as "./-name"; vsftpd and pyftpdlib do the same.
    while let Some(word) = rest.strip_prefix('-') {
        let (flags, after) = word.split_once(' ').unwrap_or((word, ""));
        if flags.is_empty() || !flags.chars().all(|c| c.is_ascii_alphabetic()) {
            break;
        }
        all |= flags.contains(['a', 'A']);
        rest = after.trim_start();
    }
    ListArgs {
        path: (!rest.is_empty()).then(|| rest.to_string()),
        all,
    }
}

/// `PORT h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2): four address bytes, then the port as two bytes.
fn parse_port(arg: &str) -> Result<SocketAddr, String> {
    let numbers: Vec<u8> = arg
        .trim()
        .split(',')
        .map(|n| n.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| "expected six numbers 0-255: h1,h2,h3,h4,p1,p2".to_string())?;
    let [h1, h2, h3, h4, p1, p2] = numbers[..] else {
        return Err("expected six numbers 0-255: h1,h2,h3,h4,p1,p2".into());
    };
    let ip = Ipv4Addr::new(h1, h2, h3, h4);
    Ok(SocketAddr::new(
        IpAddr::V4(ip),
        u16::from(p1) * 256 + u16::from(p2),
    ))
}

/// `EPRT |1|132.235.1.2|6275|` (RFC 2428 §2): the first character is the delimiter.
fn parse_eprt(arg: &str) -> Result<SocketAddr, String> {
    let usage = "expected EPRT |1|address|port| or EPRT |2|address|port|";
    let mut chars = arg.chars();
    let delimiter = chars.next().ok_or(usage)?;
    let fields: Vec<&str> = chars.as_str().split(delimiter).collect();
    let [protocol, address, port, ""] = fields[..] else {
        return Err(usage.into());
    };
    let port: u16 = port.parse().map_err(|_| usage.to_string())?;
    let ip: IpAddr = match protocol {
        "1" => IpAddr::V4(
            address
                .parse()
                .map_err(|_| "not an IPv4 address".to_string())?,
        ),
        "2" => IpAddr::V6(
            address
                .parse()
                .map_err(|_| "not an IPv6 address".to_string())?,
        ),
        _ => return Err("network protocol must be 1 (IPv4) or 2 (IPv6)".into()),
    };
    Ok(SocketAddr::new(ip, port))
}

fn parse_site(arg: &str) -> Result<SiteCommand, String> {
    let (sub, rest) = arg.split_once(' ').unwrap_or((arg, ""));
    match sub.to_ascii_uppercase().as_str() {
        "" => Err("missing SITE command; try SITE HELP".into()),
        "HELP" => Ok(SiteCommand::Help),
        "PERMS" => Ok(SiteCommand::Perms),
        "WHO" => Ok(SiteCommand::Who),
        "QUIZ" => {
            let usage = "expected SITE QUIZ <right> <asked>, e.g. SITE QUIZ 7 9";
            let mut numbers = rest.split_whitespace().map(str::parse::<u32>);
            match (numbers.next(), numbers.next(), numbers.next()) {
                (Some(Ok(right)), Some(Ok(asked)), None) if right <= asked => {
                    Ok(SiteCommand::Quiz { right, asked })
                }
                _ => Err(usage.into()),
            }
        }
        "CHMOD" => {
            let usage = "expected SITE CHMOD <octal mode> <path>, e.g. SITE CHMOD 644 notes.txt";
            let (mode, path) = rest.split_once(' ').ok_or(usage)?;
            let mode = u32::from_str_radix(mode, 8).map_err(|_| usage.to_string())?;
            if mode > 0o7777 || path.is_empty() {
                return Err(usage.into());
            }
            Ok(SiteCommand::Chmod {
                mode,
                path: path.to_string(),
            })
        }
        other => Ok(SiteCommand::Other(other.to_string())),
    }
}

/// `MFMT YYYYMMDDHHMMSS path`: the time is UTC.
fn parse_mfmt(arg: &str) -> Result<Command, String> {
    let usage = "expected MFMT YYYYMMDDHHMMSS path";
    let (time, path) = arg.split_once(' ').ok_or(usage)?;
    let time = crate::server::clock::parse_timeval(time).ok_or(usage)?;
    if path.is_empty() {
        return Err(usage.into());
    }
    Ok(Command::Mfmt {
        time,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_case_insensitive() {
        assert_eq!(parse("pWd"), Ok(Command::Pwd));
        assert_eq!(
            parse("cwd Folder_Tes"),
            Ok(Command::Cwd("Folder_Tes".into()))
        );
    }

    #[test]
    fn x_forms_are_the_same_commands() {
        assert_eq!(parse("XCUP"), Ok(Command::Cdup));
        assert_eq!(parse("XMKD a"), Ok(Command::Mkd("a".into())));
        assert_eq!(parse("XRMD a"), Ok(Command::Rmd("a".into())));
        assert_eq!(parse("XCWD a"), Ok(Command::Cwd("a".into())));
    }

    #[test]
    fn missing_arguments_are_501() {
        for line in [
            "USER", "CWD", "RETR", "STOR", "DELE", "MKD", "RMD", "RNFR", "RNTO",
        ] {
            let err = parse(line).unwrap_err();
            assert!(!err.unsupported, "{line}");
            assert!(err.message.contains("missing"), "{line}: {}", err.message);
        }
    }

    #[test]
    fn type_mode_stru() {
        assert_eq!(parse("TYPE I"), Ok(Command::Type(TransferType::Image)));
        assert_eq!(parse("type a"), Ok(Command::Type(TransferType::Ascii)));
        assert_eq!(parse("TYPE A N"), Ok(Command::Type(TransferType::Ascii)));
        assert_eq!(parse("TYPE L 8"), Ok(Command::Type(TransferType::Image)));
        assert!(parse("TYPE E").unwrap_err().unsupported);
        assert!(!parse("TYPE X").unwrap_err().unsupported);
        assert!(!parse("TYPE").unwrap_err().unsupported);
        assert_eq!(parse("MODE S"), Ok(Command::Mode));
        assert!(parse("MODE B").unwrap_err().unsupported);
        assert_eq!(parse("STRU F"), Ok(Command::Stru));
        assert!(parse("STRU R").unwrap_err().unsupported);
    }

    #[test]
    fn port_and_eprt() {
        assert_eq!(
            parse("PORT 127,0,0,1,195,80"),
            Ok(Command::Port("127.0.0.1:50000".parse().unwrap()))
        );
        assert!(parse("PORT 127,0,0,1,300,80").is_err());
        assert!(parse("PORT 127,0,0,1,195").is_err());
        assert_eq!(
            parse("EPRT |2|::1|6275|"),
            Ok(Command::Eprt("[::1]:6275".parse().unwrap()))
        );
        assert_eq!(
            parse("EPRT !1!10.0.0.1!21!"),
            Ok(Command::Eprt("10.0.0.1:21".parse().unwrap()))
        );
        assert!(parse("EPRT |3|x|1|").is_err());
        assert!(parse("EPRT |1|::1|1|").is_err());
        assert!(parse("EPRT |1|1.2.3.4|99999|").is_err());
        assert!(parse("EPRT").is_err());
    }

    #[test]
    fn epsv_forms() {
        assert_eq!(parse("EPSV"), Ok(Command::Epsv(EpsvArg::Any)));
        assert_eq!(parse("EPSV all"), Ok(Command::Epsv(EpsvArg::All)));
        assert_eq!(parse("EPSV 2"), Ok(Command::Epsv(EpsvArg::Protocol(2))));
        assert!(parse("EPSV x").is_err());
    }

    #[test]
    fn list_arguments() {
        let list = |path: Option<&str>, all| {
            Ok(Command::List(ListArgs {
                path: path.map(String::from),
                all,
            }))
        };
        assert_eq!(parse("LIST"), list(None, false));
        assert_eq!(parse("LIST -a"), list(None, true));
        assert_eq!(parse("LIST -l"), list(None, false));
        assert_eq!(parse("LIST -la /dir"), list(Some("/dir"), true));
        assert_eq!(parse("LIST -l -a my dir"), list(Some("my dir"), true));
        assert_eq!(parse("LIST my folder"), list(Some("my folder"), false));
        assert_eq!(parse("LIST -"), list(Some("-"), false));
        assert_eq!(parse("LIST -1x.txt"), list(Some("-1x.txt"), false));
    }

    #[test]
    fn rest_needs_a_number() {
        assert_eq!(parse("REST 100"), Ok(Command::Rest(100)));
        assert!(parse("REST -1").is_err());
        assert!(parse("REST").is_err());
    }

    #[test]
    fn site_commands() {
        assert_eq!(parse("SITE help"), Ok(Command::Site(SiteCommand::Help)));
        assert_eq!(
            parse("SITE CHMOD 755 run me.sh"),
            Ok(Command::Site(SiteCommand::Chmod {
                mode: 0o755,
                path: "run me.sh".into()
            }))
        );
        assert!(parse("SITE CHMOD 999 x").is_err());
        assert!(parse("SITE").is_err());
    }

    #[test]
    fn unknown_verbs_are_not_errors() {
        assert_eq!(parse("FOO bar"), Ok(Command::Unknown("FOO".into())));
        assert_eq!(parse(""), Ok(Command::Unknown("".into())));
    }
}
