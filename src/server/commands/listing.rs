//! Listing commands: LIST (`ls -l` lines) and NLST (names only), RFC 959 §4.1.3; MLSD and
//! MLST (machine-readable facts), RFC 3659 §7; STAT with a path, RFC 959 §4.1.3.
//!
//! LIST, NLST and MLSD send on the data connection; MLST and STAT answer on the control
//! connection itself, which needs no second connection at all.
//!
//! The folder is opened before the transfer starts, so a missing folder is answered 550 at once
//! rather than after a 150; its entries are read only once the data connection is open, a page
//! at a time (`listing::FolderLines`), so a listing waiting for its client holds one open
//! folder and nothing more, and one being sent holds one page.

use std::io::{Cursor, Read};
use std::time::SystemTime;

use cap_std::fs::Metadata;

use crate::reply::{Reply, ReplyCode};
use crate::server::command::ListArgs;
use crate::server::copy::Source;
use crate::server::jail::file_name;
use crate::server::listing::{Facts, FolderLines, push_ls_line};
use crate::server::permissions::Perms;
use crate::server::session::{Outcome, Session};
use crate::server::transfer::{Direction, Job};

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
    pub fn list(&mut self, args: ListArgs) -> Result<Outcome, Reply> {
        self.listing(args, Style::Long)
    }

    /// NLST: the names in a folder, one a line.
    pub fn nlst(&mut self, args: ListArgs) -> Result<Outcome, Reply> {
        self.listing(args, Style::Names)
    }

    /// MLSD (RFC 3659 §7): fact lines for a folder's entries, on the data connection.
    pub fn mlsd(&mut self, path: Option<String>) -> Result<Outcome, Reply> {
        let args = ListArgs { path, all: true };
        self.listing(args, Style::Machine)
    }

    /// MLST (RFC 3659 §7): the fact line of one file or folder, on the control connection.
    pub fn mlst(&mut self, path: Option<&str>) -> Result<Reply, Reply> {
        let virtual_path = self.locate(path.unwrap_or("."))?;
        let (user, jail) = self.account()?;
        let letters = self.shared.letters.at(user.perms, &virtual_path);
        let meta = jail
            .metadata(&virtual_path)
            .map_err(|e| self.refused("Cannot list", &virtual_path, e))?;
        Ok(Reply::multi(
            ReplyCode::FileActionOkay,
            &format!("Listing {virtual_path}"),
            [self
                .settings
                .mlst_facts()
                .line(&virtual_path, &meta, letters, self.fixed_time())],
            "End",
        ))
    }

    /// STAT with a path: the `ls -l` listing sent on the control connection (213).
    pub fn stat_path(&mut self, path: &str) -> Result<Reply, Reply> {
        let args = ListArgs {
            path: Some(path.to_string()),
            all: true,
        };
        let (virtual_path, mut lines) = self.build_listing(&args, Style::Long)?;
        let mut text = String::new();
        lines
            .read_to_string(&mut text)
            .map_err(|e| io_refusal("Cannot list", &virtual_path, &e))?;
        Ok(Reply::multi(
            ReplyCode::FileStatus,
            &format!("Status of {virtual_path}:"),
            text.lines().map(str::to_string),
            "End of status.",
        ))
    }

    fn listing(&mut self, args: ListArgs, style: Style) -> Result<Outcome, Reply> {
        let (virtual_path, lines) = self.build_listing(&args, style)?;
        let verb = match style {
            Style::Long => "LIST",
            Style::Names => "NLST",
            Style::Machine => "MLSD",
        };
        let job = Job {
            verb,
            path: virtual_path,
            direction: Direction::Send(Source::Listing(lines)),
            size: None,
            preliminary: None,
            context: None,
        };
        self.start_transfer(job)
    }

    /// The listing for `args`, to be read as it is sent, and the virtual path it lists.
    fn build_listing(&self, args: &ListArgs, style: Style) -> Result<(String, Lines), Reply> {
        let arg = args.path.as_deref().unwrap_or(".");
        let virtual_path = self.locate(arg)?;
        let (user, jail) = self.account()?;
        let lister = Lister {
            style,
            // The letters of the folder listed (a deeper folder's own letters are not shown).
            letters: self.shared.letters.at(user.perms, &virtual_path),
            facts: self.settings.mlst_facts(),
            now: SystemTime::now(),
            fixed: self.fixed_time(),
        };
        let meta = jail
            .metadata(&virtual_path)
            .map_err(|e| self.refused("Cannot list", &virtual_path, e))?;
        if meta.is_dir() {
            let lines = FolderLines::open(
                jail,
                &virtual_path,
                move |text: &mut String, name: &str, meta: &Metadata| lister.push(text, name, meta),
            )
            .map_err(|e| self.refused("Cannot list", &virtual_path, e))?;
            return Ok((virtual_path, Box::new(lines)));
        }
        // LIST of one file gives its one line, as `ls -l file` does.
        if style == Style::Machine {
            // RFC 3659 §7.2.1: MLSD of something that is not a folder is an error.
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                format!("{virtual_path} is not a folder; use MLST for one file."),
            ));
        }
        let mut text = String::new();
        lister.push(&mut text, file_name(&virtual_path), &meta);
        Ok((virtual_path, Box::new(Cursor::new(text.into_bytes()))))
    }
}

/// A listing's lines, produced as they are read.
type Lines = Box<dyn Read + Send>;

/// How a listing writes its entries: the style, the user's letters (for the `perm` fact), the
/// facts chosen with OPTS MLST, and the clock (`fixed` in `--lab`).
#[derive(Clone, Copy)]
struct Lister {
    style: Style,
    letters: Perms,
    facts: Facts,
    now: SystemTime,
    fixed: Option<SystemTime>,
}

impl Lister {
    /// Append one entry, in the listing's style, with its CRLF.
    fn push(&self, text: &mut String, name: &str, meta: &Metadata) {
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
