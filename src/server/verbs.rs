//! The command table: every command's facts in one place, as pyftpdlib's `proto_cmds` keeps
//! them, but checked by the compiler.
//!
//! For each kind of command ([`Verb`]) one arm of [`Verb::facts`] says: how it is spelled, the
//! RFC section that defines it, the permission letter it needs, whether it may come before
//! login, its HELP line, the FEAT line it adds, and its old RFC 775 names. Everything that asks
//! about a command reads this one `match`:
//!
//! - the gate (`Session::gate`): `before_login`, and the letter through `permissions::required`;
//! - `HELP` and `FEAT` (`commands::info`);
//! - `--explain` (`Session::describe`): the name and the RFC section;
//! - log lines and refusals: the name.
//!
//! A new variant of [`Verb`] without its arm here does not compile, and a new [`Command`]
//! without its [`Verb`] does not either (see [`Command::kind`]).

use super::command::{Command, SiteCommand};
use super::permissions::Perm;

/// What kind of command a [`Command`] is, without its argument. `STAT` with and without a path
/// are two kinds (one needs `l` and a login, the other neither), and so are the SITE commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[rustfmt::skip]
#[allow(missing_docs)] // each variant is the command of the same name; its facts say the rest
pub enum Verb {
    User, Pass, Acct, Cwd, Cdup, Rein, Quit,
    Port, Eprt, Pasv, Epsv, Type, Mode, Stru,
    Retr, Stor, Stou, Appe, Allo, Rest, Rnfr, Rnto, Abor, Dele, Rmd, Mkd, Pwd, List, Nlst,
    SiteHelp, SitePerms, SiteChmod, SiteWho, SiteQuiz, SiteOther,
    Syst, Stat, StatPath, Help, Noop,
    Feat, Opts, Size, Mdtm, Mlsd, Mlst, Mfmt,
    Auth, Pbsz, Prot, Ccc,
}

/// One command's facts: a row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// How logs and refusals name it (`RETR`, `SITE CHMOD`).
    pub name: &'static str,
    /// Where it is defined.
    pub rfc: &'static str,
    /// The permission letter it needs, if any (pyftpdlib's letters; see `permissions`).
    pub letter: Option<Perm>,
    /// Whether a client may send it before logging in (RFC 959 §5.4).
    pub before_login: bool,
    /// Its line in `HELP`, for one kind per verb on the wire (`STAT`'s covers both STATs).
    pub help: Option<&'static str>,
    /// The line it adds to `FEAT` (RFC 2389), for an extension.
    pub feature: Option<&'static str>,
    /// Its old names (RFC 775: `XPWD` for `PWD`), which the parser accepts too.
    pub aliases: &'static [&'static str],
}

/// A row with the common values: no letter, not before login, no HELP line, no FEAT line, no
/// old names. Each arm of [`Verb::facts`] says only what differs.
const fn row(name: &'static str, rfc: &'static str) -> Facts {
    Facts {
        name,
        rfc,
        letter: None,
        before_login: false,
        help: None,
        feature: None,
        aliases: &[],
    }
}

/// The same row, allowed before login.
const fn early(facts: Facts) -> Facts {
    Facts {
        before_login: true,
        ..facts
    }
}

const ACCESS: &str = "RFC 959 §4.1.1";
const PARAMETERS: &str = "RFC 959 §4.1.2";
const SERVICE: &str = "RFC 959 §4.1.3";

impl Verb {
    /// Every kind, in RFC 959's order, then the extensions.
    #[rustfmt::skip]
    pub const ALL: [Verb; 51] = {
        use Verb::*;
        [
            User, Pass, Acct, Cwd, Cdup, Rein, Quit,
            Port, Eprt, Pasv, Epsv, Type, Mode, Stru,
            Retr, Stor, Stou, Appe, Allo, Rest, Rnfr, Rnto, Abor, Dele, Rmd, Mkd, Pwd, List, Nlst,
            SiteHelp, SitePerms, SiteChmod, SiteWho, SiteQuiz, SiteOther,
            Syst, Stat, StatPath, Help, Noop,
            Feat, Opts, Size, Mdtm, Mlsd, Mlst, Mfmt,
            Auth, Pbsz, Prot, Ccc,
        ]
    };

    /// The table: one row per kind of command.
    #[rustfmt::skip]
    pub const fn facts(self) -> Facts {
        use Perm::*;
        match self {
            // Access control (RFC 959 §4.1.1).
            Verb::User => Facts { help: Some("USER <name> - log in, step 1"), ..early(row("USER", ACCESS)) },
            Verb::Pass => Facts { help: Some("PASS <password> - the password, after USER"), ..early(row("PASS", ACCESS)) },
            Verb::Acct => Facts { help: Some("ACCT <account> - not needed here (202)"), ..early(row("ACCT", ACCESS)) },
            Verb::Cwd => Facts { letter: Some(ChangeDir), help: Some("CWD <folder> - change folder"), aliases: &["XCWD"], ..row("CWD", ACCESS) },
            Verb::Cdup => Facts { letter: Some(ChangeDir), help: Some("CDUP - go to the parent folder"), aliases: &["XCUP"], ..row("CDUP", ACCESS) },
            Verb::Rein => Facts { help: Some("REIN - log out, keep the connection"), ..early(row("REIN", ACCESS)) },
            Verb::Quit => Facts { help: Some("QUIT - log out and close the connection"), ..early(row("QUIT", ACCESS)) },
            // Transfer parameters (RFC 959 §4.1.2; RFC 2428).
            Verb::Port => Facts { help: Some("PORT h1,h2,h3,h4,p1,p2 - active mode: the server connects to the client"), ..row("PORT", PARAMETERS) },
            Verb::Eprt => Facts { help: Some("EPRT |1|<ip>|<port>| - active mode, any address family (RFC 2428)"), feature: Some("EPRT"), ..row("EPRT", "RFC 2428 §2") },
            Verb::Pasv => Facts { help: Some("PASV - passive mode: the server listens, the client connects"), feature: Some("PASV"), ..row("PASV", PARAMETERS) },
            Verb::Epsv => Facts { help: Some("EPSV [1|2|ALL] - passive mode, any address family (RFC 2428)"), feature: Some("EPSV"), ..row("EPSV", "RFC 2428 §3") },
            Verb::Type => Facts { help: Some("TYPE A|I - ASCII (line ends converted) or binary"), ..row("TYPE", PARAMETERS) },
            Verb::Mode => Facts { help: Some("MODE S - stream mode (the only one)"), ..row("MODE", PARAMETERS) },
            Verb::Stru => Facts { help: Some("STRU F - file structure (the only one)"), ..row("STRU", PARAMETERS) },
            // Service commands (RFC 959 §4.1.3).
            Verb::Retr => Facts { letter: Some(Retrieve), help: Some("RETR <file> - download a file"), ..row("RETR", SERVICE) },
            Verb::Stor => Facts { letter: Some(Store), help: Some("STOR <file> - upload a file"), ..row("STOR", SERVICE) },
            Verb::Stou => Facts { letter: Some(Store), help: Some("STOU - upload under a unique name the server picks"), ..row("STOU", SERVICE) },
            Verb::Appe => Facts { letter: Some(Append), help: Some("APPE <file> - upload, appending to the file"), ..row("APPE", SERVICE) },
            Verb::Allo => Facts { help: Some("ALLO <bytes> - not needed here (202)"), ..row("ALLO", SERVICE) },
            Verb::Rest => Facts { help: Some("REST <offset> - start the next RETR/STOR at this byte (RFC 3659)"), feature: Some("REST STREAM"), ..row("REST", "RFC 3659 §5") },
            Verb::Rnfr => Facts { letter: Some(Rename), help: Some("RNFR <path> - rename, step 1: the current name"), ..row("RNFR", SERVICE) },
            Verb::Rnto => Facts { letter: Some(Rename), help: Some("RNTO <path> - rename, step 2: the new name"), ..row("RNTO", SERVICE) },
            Verb::Abor => Facts { help: Some("ABOR - stop the transfer in progress"), ..early(row("ABOR", SERVICE)) },
            Verb::Dele => Facts { letter: Some(Delete), help: Some("DELE <file> - delete a file"), ..row("DELE", SERVICE) },
            Verb::Rmd => Facts { letter: Some(Delete), help: Some("RMD <folder> - remove an empty folder"), aliases: &["XRMD"], ..row("RMD", SERVICE) },
            Verb::Mkd => Facts { letter: Some(MakeDir), help: Some("MKD <folder> - make a folder"), aliases: &["XMKD"], ..row("MKD", SERVICE) },
            Verb::Pwd => Facts { help: Some("PWD - print the current folder"), aliases: &["XPWD"], ..row("PWD", SERVICE) },
            Verb::List => Facts { letter: Some(List), help: Some("LIST [-la] [<path>] - ls -l style listing on the data connection"), ..row("LIST", SERVICE) },
            Verb::Nlst => Facts { letter: Some(List), help: Some("NLST [<path>] - names only, on the data connection"), ..row("NLST", SERVICE) },
            Verb::SiteHelp => Facts { help: Some("SITE HELP|PERMS|WHO|QUIZ|CHMOD <mode> <file> - server-specific commands"), ..row("SITE", SERVICE) },
            Verb::SitePerms | Verb::SiteOther => row("SITE", SERVICE),
            Verb::SiteChmod => Facts { letter: Some(Chmod), ..row("SITE CHMOD", SERVICE) },
            Verb::SiteWho => Facts { letter: Some(Sessions), ..row("SITE WHO", SERVICE) },
            Verb::SiteQuiz => row("SITE QUIZ", SERVICE),
            Verb::Syst => Facts { help: Some("SYST - the system type"), ..early(row("SYST", SERVICE)) },
            Verb::Stat => Facts { help: Some("STAT [<path>] - session status, or a listing on the control connection"), ..early(row("STAT", SERVICE)) },
            Verb::StatPath => Facts { letter: Some(List), ..row("STAT", SERVICE) },
            Verb::Help => Facts { help: Some("HELP [<command>] - this help"), ..early(row("HELP", SERVICE)) },
            Verb::Noop => Facts { help: Some("NOOP - do nothing; keeps the connection alive"), ..early(row("NOOP", SERVICE)) },
            // Extensions: RFC 2389 (FEAT, OPTS), RFC 3659 (SIZE, MDTM, MLSD, MLST), MFMT.
            Verb::Feat => Facts { help: Some("FEAT - list the extensions this server has (RFC 2389)"), ..early(row("FEAT", "RFC 2389 §3")) },
            Verb::Opts => Facts { help: Some("OPTS UTF8 ON | OPTS MLST <facts> - options for other commands (RFC 2389)"), ..early(row("OPTS", "RFC 2389 §4")) },
            Verb::Size => Facts { letter: Some(List), help: Some("SIZE <file> - size in bytes in the current TYPE (RFC 3659)"), feature: Some("SIZE"), ..row("SIZE", "RFC 3659 §4") },
            Verb::Mdtm => Facts { letter: Some(List), help: Some("MDTM <file> - modification time, YYYYMMDDHHMMSS UTC (RFC 3659)"), feature: Some("MDTM"), ..row("MDTM", "RFC 3659 §3") },
            Verb::Mlsd => Facts { letter: Some(List), help: Some("MLSD [<folder>] - machine-readable listing on the data connection (RFC 3659)"), ..row("MLSD", "RFC 3659 §7") },
            Verb::Mlst => Facts { letter: Some(List), help: Some("MLST [<path>] - machine-readable facts of one entry (RFC 3659)"), ..row("MLST", "RFC 3659 §7") },
            Verb::Mfmt => Facts { letter: Some(SetTime), help: Some("MFMT <YYYYMMDDHHMMSS> <file> - set the modification time (needs 'T')"), feature: Some("MFMT"), ..row("MFMT", "draft-somers-ftp-mfxx") },
            // Security (RFC 2228 as RFC 4217 uses it).
            Verb::Auth => Facts { help: Some("AUTH TLS - encrypt the control connection (RFC 4217; needs a certificate)"), ..early(row("AUTH", "RFC 4217 §4")) },
            Verb::Pbsz => Facts { help: Some("PBSZ 0 - protection buffer size, after AUTH TLS (RFC 4217)"), ..early(row("PBSZ", "RFC 4217 §8-9")) },
            Verb::Prot => Facts { help: Some("PROT P|C - encrypted (P) or clear (C) data connections (RFC 4217)"), ..early(row("PROT", "RFC 4217 §8-9")) },
            Verb::Ccc => Facts { help: Some("CCC - clear the control connection: refused (534)"), ..row("CCC", "RFC 4217 §6") },
        }
    }
}

impl Command {
    /// The kind of command, for the table; `None` for a verb this server does not know.
    pub fn kind(&self) -> Option<Verb> {
        use Command::*;
        Some(match self {
            User(_) => Verb::User,
            Pass(_) => Verb::Pass,
            Acct(_) => Verb::Acct,
            Cwd(_) => Verb::Cwd,
            Cdup => Verb::Cdup,
            Rein => Verb::Rein,
            Quit => Verb::Quit,
            Port(_) => Verb::Port,
            Eprt(_) => Verb::Eprt,
            Pasv => Verb::Pasv,
            Epsv(_) => Verb::Epsv,
            Type(_) => Verb::Type,
            Mode => Verb::Mode,
            Stru => Verb::Stru,
            Retr(_) => Verb::Retr,
            Stor(_) => Verb::Stor,
            Stou => Verb::Stou,
            Appe(_) => Verb::Appe,
            Allo => Verb::Allo,
            Rest(_) => Verb::Rest,
            Rnfr(_) => Verb::Rnfr,
            Rnto(_) => Verb::Rnto,
            Abor => Verb::Abor,
            Dele(_) => Verb::Dele,
            Rmd(_) => Verb::Rmd,
            Mkd(_) => Verb::Mkd,
            Pwd => Verb::Pwd,
            List(_) => Verb::List,
            Nlst(_) => Verb::Nlst,
            Site(SiteCommand::Help) => Verb::SiteHelp,
            Site(SiteCommand::Perms) => Verb::SitePerms,
            Site(SiteCommand::Chmod { .. }) => Verb::SiteChmod,
            Site(SiteCommand::Who) => Verb::SiteWho,
            Site(SiteCommand::Quiz { .. }) => Verb::SiteQuiz,
            Site(SiteCommand::Other(_)) => Verb::SiteOther,
            Syst => Verb::Syst,
            Stat(None) => Verb::Stat,
            Stat(Some(_)) => Verb::StatPath,
            Help(_) => Verb::Help,
            Noop => Verb::Noop,
            Feat => Verb::Feat,
            Opts(_) => Verb::Opts,
            Size(_) => Verb::Size,
            Mdtm(_) => Verb::Mdtm,
            Mlsd(_) => Verb::Mlsd,
            Mlst(_) => Verb::Mlst,
            Mfmt { .. } => Verb::Mfmt,
            Auth(_) => Verb::Auth,
            Pbsz(_) => Verb::Pbsz,
            Prot(_) => Verb::Prot,
            Ccc => Verb::Ccc,
            Unknown(_) => return None,
        })
    }

    /// The verb as RFC 959 spells it, for logs and for the permission table's messages.
    pub fn verb(&self) -> &str {
        match (self.kind(), self) {
            (Some(kind), _) => kind.facts().name,
            (None, Command::Unknown(verb)) => verb,
            (None, _) => "?",
        }
    }

    /// Where the command is defined, for `--explain` and for students looking it up.
    pub fn rfc_section(&self) -> &'static str {
        self.kind().map_or("RFC 959 §5.3", |kind| kind.facts().rfc)
    }

    /// Whether a client may send it before logging in (RFC 959 §5.4 and the extensions' own
    /// RFCs): USER, PASS, QUIT, FEAT, AUTH and the like.
    pub fn allowed_before_login(&self) -> bool {
        self.kind().is_some_and(|kind| kind.facts().before_login)
    }
}

/// HELP's lines: every verb on the wire with its syntax, the RFC 775 names included, in
/// alphabetical order.
///
/// ```
/// let help = localftp::server::verbs::help_lines();
/// assert!(help.iter().any(|(verb, line)| *verb == "RETR" && line.starts_with("RETR <file>")));
/// assert!(help.iter().any(|(verb, line)| *verb == "XPWD" && line.contains("old name of PWD")));
/// ```
pub fn help_lines() -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    for kind in Verb::ALL {
        let facts = kind.facts();
        let Some(help) = facts.help else { continue };
        let wire = facts.name.split(' ').next().unwrap_or(facts.name);
        lines.push((wire, help.to_string()));
        for old in facts.aliases {
            let syntax = help.split(" - ").next().unwrap_or("");
            let argument = syntax.strip_prefix(wire).unwrap_or("");
            lines.push((
                *old,
                format!("{old}{argument} - old name of {wire} (RFC 775)"),
            ));
        }
    }
    lines.sort_by_key(|(verb, _)| *verb);
    lines
}

/// FEAT's lines for the extension commands (RFC 2389 §3), from the table.
pub fn feature_lines() -> impl Iterator<Item = &'static str> {
    Verb::ALL
        .into_iter()
        .filter_map(|kind| kind.facts().feature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::command::parse;

    /// The parser spells the RFC 775 names by hand; each name the table lists must parse to the
    /// same kind as the verb it stands for, so HELP never names an alias the parser refuses.
    #[test]
    fn every_old_name_in_the_table_parses_to_its_verb() {
        let mut seen = 0;
        for kind in Verb::ALL {
            for alias in kind.facts().aliases {
                let kinds: Vec<Option<Verb>> = [alias.to_string(), format!("{alias} x")]
                    .iter()
                    .filter_map(|line| parse(line).ok())
                    .map(|command| command.kind())
                    .collect();
                assert!(
                    !kinds.is_empty() && kinds.iter().all(|k| *k == Some(kind)),
                    "{alias} parses to {kinds:?}, not {kind:?}"
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 5, "XCWD XCUP XMKD XRMD XPWD");
    }
}
