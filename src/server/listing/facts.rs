//! [`Facts`]: the facts of an MLSD or MLST line (RFC 3659 §7), the set `OPTS MLST` narrows,
//! and the `perm` fact computed from the user's letters.

use std::time::SystemTime;

use cap_std::fs::Metadata;

use super::modified;
use crate::platform::FileFacts;
use crate::server::clock::timeval;
use crate::server::permissions::{Perm, Perms};

/// The facts of an RFC 3659 §7 machine listing (MLSD, MLST), as a set a client can narrow
/// with `OPTS MLST`. Machine listings exist because `ls -l` lines differ between servers and
/// clients must guess; a fact line says exactly what it means:
///
/// ```text
/// type=file;size=139;modify=20261125232557;perm=radfw;unique=803g1a2b;unix.mode=0644; baca_saya.txt
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts(u8);

impl Facts {
    /// Every fact localftp knows, in the order FEAT and the listings give them.
    pub const NAMES: [&'static str; 6] = ["type", "size", "modify", "perm", "unique", "unix.mode"];

    /// All facts on (the default).
    pub const ALL: Facts = Facts(0b11_1111);

    /// Whether the fact `NAMES[index]` is on.
    fn has(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }

    /// The facts named in `OPTS MLST type;size;` (unknown names are ignored, RFC 3659 §7.9).
    ///
    /// ```
    /// use localftp::server::listing::Facts;
    /// let facts = Facts::parse("size;TYPE;nonsense;");
    /// assert_eq!(facts.selected(), "type;size;");
    /// assert_eq!(Facts::parse("").selected(), "");
    /// ```
    pub fn parse(list: &str) -> Facts {
        let mut bits = 0;
        for name in list.split(';') {
            if let Some(index) = Facts::NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name))
            {
                bits |= 1 << index;
            }
        }
        Facts(bits)
    }

    /// The selected facts as `OPTS MLST` confirms them: `type;size;`.
    pub fn selected(self) -> String {
        let mut out = String::new();
        for (index, name) in Facts::NAMES.iter().enumerate() {
            if self.has(index) {
                out.push_str(name);
                out.push(';');
            }
        }
        out
    }

    /// The FEAT line: every fact, with `*` after those selected (RFC 3659 §7.8).
    pub fn feature_line(self) -> String {
        let mut out = String::from("MLST ");
        for (index, name) in Facts::NAMES.iter().enumerate() {
            out.push_str(name);
            if self.has(index) {
                out.push('*');
            }
            out.push(';');
        }
        out
    }

    /// One fact line for `name` (no line end): the selected facts, a space, the name.
    /// `perm` is computed from the user's letters: it says what *this user* may do with the
    /// entry, not what the disk's mode bits allow.
    pub fn line(
        self,
        name: &str,
        meta: &Metadata,
        letters: Perms,
        fixed: Option<SystemTime>,
    ) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(96 + name.len());
        for (index, fact) in Facts::NAMES.iter().enumerate() {
            if !self.has(index) {
                continue;
            }
            let _ = match *fact {
                "type" => write!(out, "type={};", if meta.is_dir() { "dir" } else { "file" }),
                "size" => write!(out, "size={};", meta.len()),
                "modify" => write!(
                    out,
                    "modify={};",
                    timeval(fixed.unwrap_or_else(|| modified(meta)))
                ),
                "perm" => write!(out, "perm={};", perm_fact(meta.is_dir(), letters)),
                "unique" => match FileFacts::of(meta).unique {
                    Some((device, inode)) => write!(out, "unique={device:x}g{inode:x};"),
                    None => Ok(()),
                },
                _ => write!(out, "unix.mode=0{:o};", FileFacts::of(meta).mode),
            };
        }
        out.push(' ');
        out.push_str(name);
        out
    }
}

/// The `perm` fact (RFC 3659 §7.5.5) from pyftpdlib's letters.
///
/// For a file: `r` read (RETR), `w` write (STOR), `a` append (APPE), `d` delete, `f` rename.
/// For a folder: `e` enter (CWD), `l` list, `c` create files (STOR inside), `m` make folders,
/// `d` delete, `f` rename, `p` purge (delete what is inside).
fn perm_fact(is_dir: bool, letters: Perms) -> String {
    let rows: &[(Perm, char)] = if is_dir {
        &[
            (Perm::ChangeDir, 'e'),
            (Perm::List, 'l'),
            (Perm::Store, 'c'),
            (Perm::MakeDir, 'm'),
            (Perm::Delete, 'd'),
            (Perm::Rename, 'f'),
            (Perm::Delete, 'p'),
        ]
    } else {
        &[
            (Perm::Retrieve, 'r'),
            (Perm::Store, 'w'),
            (Perm::Append, 'a'),
            (Perm::Delete, 'd'),
            (Perm::Rename, 'f'),
        ]
    };
    rows.iter()
        .filter(|(perm, _)| letters.allows(*perm))
        .map(|(_, fact)| *fact)
        .collect()
}
