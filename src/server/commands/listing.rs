//! Listing commands (RFC 959 §4.1.3): LIST (`ls -l` lines) and NLST (names only), both sent on
//! the data connection.
//!
//! The listing is built in memory before the transfer starts, so a missing folder is answered
//! 550 at once rather than after a 150. A listing of 10,000 entries is about 700 KB.

use std::fs;
use std::time::SystemTime;

use crate::reply::{Reply, ReplyCode};
use crate::server::command::ListArgs;
use crate::server::jail::file_name;
use crate::server::listing::{push_ls_line, read_folder};
use crate::server::session::{Outcome, Session};
use crate::server::transfer::{Direction, Job, Source};

use super::io_refusal;

/// Which listing: `ls -l` lines or bare names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Long,
    Names,
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

    fn listing(&mut self, args: ListArgs, style: Style) -> Result<Outcome, Reply> {
        if self.data_plan.is_none() {
            return Err(Reply::new(
                ReplyCode::CantOpenDataConnection,
                "Use PASV, EPSV, PORT or EPRT first, to set up the data connection.",
            ));
        }
        let arg = args.path.as_deref().unwrap_or(".");
        let (virtual_path, real) = self.locate(arg)?;
        let (_, jail) = self.account()?;
        let meta = fs::metadata(&real).map_err(|e| io_refusal("Cannot list", &virtual_path, &e))?;
        let now = SystemTime::now();
        let mut text = String::new();
        if meta.is_dir() {
            let entries = read_folder(jail, &real)
                .map_err(|e| io_refusal("Cannot list", &virtual_path, &e))?;
            text.reserve(entries.len() * 72);
            for entry in &entries {
                match style {
                    Style::Long => push_ls_line(&mut text, &entry.name, &entry.meta, now),
                    Style::Names => {
                        text.push_str(&entry.name);
                        text.push_str("\r\n");
                    }
                }
            }
        } else {
            // LIST of one file gives its one line, as `ls -l file` does.
            let name = file_name(&virtual_path);
            match style {
                Style::Long => push_ls_line(&mut text, name, &meta, now),
                Style::Names => {
                    text.push_str(name);
                    text.push_str("\r\n");
                }
            }
        }
        let verb = match style {
            Style::Long => "LIST",
            Style::Names => "NLST",
        };
        let job = Job {
            verb,
            path: virtual_path,
            direction: Direction::Send(Source::Listing(text.into_bytes())),
            size: None,
            preliminary: None,
        };
        self.start_transfer(job)
    }
}
