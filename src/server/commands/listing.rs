//! Listing commands: LIST (`ls -l` lines) and NLST (names only), RFC 959 §4.1.3; MLSD and
//! MLST (machine-readable facts), RFC 3659 §7; STAT with a path, RFC 959 §4.1.3.
//!
//! LIST, NLST and MLSD send on the data connection; MLST and STAT answer on the control
//! connection itself, which needs no second connection at all.
//!
//! The listing is built in memory before the transfer starts, so a missing folder is answered
//! 550 at once rather than after a 150. A listing of 10,000 entries is about 700 KB.

use std::fs;
use std::time::SystemTime;

use crate::reply::{Reply, ReplyCode};
use crate::server::command::ListArgs;
use crate::server::jail::file_name;
use crate::server::listing::{Facts, push_ls_line, read_folder};
use crate::server::permissions::Perms;
use crate::server::session::{Outcome, Session};
use crate::server::transfer::{Direction, Job, Source};

use super::io_refusal;

/// Which listing: `ls -l` lines, bare names, or RFC 3659 fact lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Long,
    Names,
    Machine,
}

impl Session {
    /// LIST: `ls -l` style lines for a folder, or for one file.
    pub fn list(&mut self, args: ListArgs) -> Outcome {
        self.listing(args, Style::Long)
            .unwrap_or_else(Outcome::Reply)
    }

    /// NLST: the names in a folder, one a line.
    pub fn nlst(&mut self, args: ListArgs) -> Outcome {
        self.listing(args, Style::Names)
            .unwrap_or_else(Outcome::Reply)
    }

    /// MLSD (RFC 3659 §7): fact lines for a folder's entries, on the data connection.
    pub fn mlsd(&mut self, path: Option<String>) -> Outcome {
        let args = ListArgs { path, all: true };
        self.listing(args, Style::Machine)
            .unwrap_or_else(Outcome::Reply)
    }

    /// MLST (RFC 3659 §7): the fact line of one file or folder, on the control connection.
    pub fn mlst(&mut self, path: Option<&str>) -> Reply {
        let (virtual_path, real) = match self.locate(path.unwrap_or(".")) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        let letters = match self.account() {
            Ok((user, _)) => user.perms,
            Err(refusal) => return refusal,
        };
        match fs::metadata(&real) {
            Ok(meta) => Reply::multi(
                ReplyCode::FileActionOkay,
                &format!("Listing {virtual_path}"),
                [self
                    .mlst_facts
                    .line(&virtual_path, &meta, letters, self.fixed_time())],
                "End",
            ),
            Err(e) => io_refusal("Cannot list", &virtual_path, &e),
        }
    }

    /// STAT with a path: the `ls -l` listing sent on the control connection (213).
    pub fn stat_path(&mut self, path: &str) -> Reply {
        let args = ListArgs {
            path: Some(path.to_string()),
            all: true,
        };
        match self.build_listing(&args, Style::Long) {
            Ok((virtual_path, text)) => Reply::multi(
                ReplyCode::FileStatus,
                &format!("Status of {virtual_path}:"),
                text.lines().map(str::to_string),
                "End of status.",
            ),
            Err(refusal) => refusal,
        }
    }

    fn listing(&mut self, args: ListArgs, style: Style) -> Result<Outcome, Reply> {
        let (virtual_path, text) = self.build_listing(&args, style)?;
        let verb = match style {
            Style::Long => "LIST",
            Style::Names => "NLST",
            Style::Machine => "MLSD",
        };
        let job = Job {
            verb,
            path: virtual_path,
            direction: Direction::Send(Source::Listing(text.into_bytes())),
            size: None,
            preliminary: None,
            context: None,
        };
        self.start_transfer(job)
    }

    /// The listing text for `args`, and the virtual path it lists.
    fn build_listing(&self, args: &ListArgs, style: Style) -> Result<(String, String), Reply> {
        let arg = args.path.as_deref().unwrap_or(".");
        let (virtual_path, real) = self.locate(arg)?;
        let (user, jail) = self.account()?;
        let lister = Lister {
            style,
            letters: user.perms,
            facts: self.mlst_facts,
            now: SystemTime::now(),
            fixed: self.fixed_time(),
        };
        let meta = fs::metadata(&real).map_err(|e| io_refusal("Cannot list", &virtual_path, &e))?;
        let mut text = String::new();
        if meta.is_dir() {
            let entries = read_folder(jail, &real)
                .map_err(|e| io_refusal("Cannot list", &virtual_path, &e))?;
            text.reserve(entries.len() * 72);
            for entry in &entries {
                lister.push(&mut text, &entry.name, &entry.meta);
            }
        } else {
            // LIST of one file gives its one line, as `ls -l file` does.
            if style == Style::Machine {
                // RFC 3659 §7.2.1: MLSD of something that is not a folder is an error.
                return Err(Reply::new(
                    ReplyCode::FileUnavailable,
                    format!("{virtual_path} is not a folder; use MLST for one file."),
                ));
            }
            let name = file_name(&virtual_path);
            lister.push(&mut text, name, &meta);
        }
        Ok((virtual_path, text))
    }
}

/// How a listing writes its entries: the style, the user's letters (for the `perm` fact), the
/// facts chosen with OPTS MLST, and the clock (`fixed` in `--lab`).
struct Lister {
    style: Style,
    letters: Perms,
    facts: Facts,
    now: SystemTime,
    fixed: Option<SystemTime>,
}

impl Lister {
    /// Append one entry, in the listing's style, with its CRLF.
    fn push(&self, text: &mut String, name: &str, meta: &fs::Metadata) {
        match self.style {
            Style::Long => push_ls_line(text, name, meta, self.now, self.fixed),
            Style::Names => {
                text.push_str(name);
                text.push_str("\r\n");
            }
            Style::Machine => {
                text.push_str(&self.facts.line(name, meta, self.letters, self.fixed));
                text.push_str("\r\n");
            }
        }
    }
}
