//! The parsers of the verbs whose argument has a grammar of its own: TYPE, LIST's flags, PORT,
//! EPRT, SITE and MFMT. Pure, like `parse`, which calls them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{Command, ListArgs, SiteCommand, TransferType};

/// `TYPE A`, `TYPE A N`, `TYPE I`, `TYPE L 8` are accepted; `TYPE E` (EBCDIC) is valid FTP that
/// localftp does not do (504). Returns the message and whether it is "unsupported".
pub(super) fn parse_type(arg: &str) -> Result<Command, (String, bool)> {
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
pub(super) fn parse_list_args(arg: &str) -> ListArgs {
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
pub(super) fn parse_port(arg: &str) -> Result<SocketAddr, String> {
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
pub(super) fn parse_eprt(arg: &str) -> Result<SocketAddr, String> {
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

pub(super) fn parse_site(arg: &str) -> Result<SiteCommand, String> {
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
pub(super) fn parse_mfmt(arg: &str) -> Result<Command, String> {
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
