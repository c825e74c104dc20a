//! LIST and MLSD: what is in a folder (RFC 959 §4.1.3; RFC 3659 §7 for MLSD, RFC 2389 for
//! FEAT).
//!
//! LIST's lines are meant for people: RFC 959 fixes no format, and servers copy `ls -l` (Unix)
//! or `dir` (DOS). A client can only try the layouts it knows, so the lines it cannot read get
//! a protocol note. MLSD, added by RFC 3659, sends facts a program can read
//! (`type=file;size=97;modify=20240101120000; baca_saya.txt`); a server that has it lists
//! `MLST` in its FEAT reply. `mlsd` asks FEAT first and falls back to LIST, with a note, on a
//! server without it (vsftpd, for one).

use suppaftp::list::ListParser;

use super::error::ClientError;
use super::notes::Note;
use super::transfer::Direction;
use super::{Client, FileType};

impl Client {
    /// LIST: the folder's contents, as text, over a data connection.
    pub fn list(&mut self, path: Option<&str>) -> Result<(), ClientError> {
        self.narrator()
            .stage("LIST: what is in this folder? (RFC 959 §4.1.3)");
        let listing = self.fetch_listing("LIST", path)?;
        let text = String::from_utf8_lossy(&listing);
        let mut entries = Vec::new();
        let mut unreadable = Vec::new();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            // No standard format: suppaftp knows the usual Unix and DOS layouts.
            match ListParser::parse_posix(line).or_else(|_| ListParser::parse_dos(line)) {
                Ok(file) if file.is_directory() => {
                    entries.push(format!("{}/ (folder)", file.name()))
                }
                Ok(file) => entries.push(format!("{} ({} bytes)", file.name(), file.size())),
                // `ls -l` starts with a "total" line, which is not an entry.
                Err(_) if line.starts_with("total ") => {}
                Err(_) => unreadable.push(line.to_string()),
            }
        }
        self.narrator().note(&format!(
            "{} entries, read by suppaftp's LIST parser: {}",
            entries.len(),
            if entries.is_empty() {
                "(none)".to_string()
            } else {
                entries.join(", ")
            }
        ));
        if let Some(first) = unreadable.first() {
            self.wire.note(Note::ListUnparsable {
                count: unreadable.len(),
                first: first.clone(),
            });
        }
        if !listing.is_empty() && !listing.ends_with(b"\n") {
            self.wire.note(Note::ListCut);
        }
        Ok(())
    }

    /// FEAT, then MLSD if the server lists MLST: the listing in a standard, machine-readable
    /// form. Without it, a note and LIST.
    pub fn mlsd(&mut self, path: Option<&str>) -> Result<(), ClientError> {
        self.narrator()
            .stage("MLSD: a listing made for programs (RFC 3659 §7)");
        let has_mlst = match self.mlst {
            Some(known) => Ok(known),
            None => self.ask_features()?,
        };
        let why = match has_mlst {
            Ok(true) => match self.fetch_listing("MLSD", path) {
                Ok(listing) => {
                    self.show_facts(&listing);
                    return Ok(());
                }
                Err(ClientError::Refused { code, .. }) if code >= 500 => {
                    format!("FEAT lists MLST, yet MLSD was answered {code}")
                }
                Err(other) => return Err(other),
            },
            Ok(false) => "FEAT does not list MLST".to_string(),
            Err(code) => format!("FEAT was answered {code}, so no extension can be relied on"),
        };
        self.wire.note(Note::NoMlsd { why });
        self.list(path)
    }

    /// FEAT (RFC 2389 §3): whether the server lists MLST; `Err(code)` when it has no FEAT.
    fn ask_features(&mut self) -> Result<Result<bool, u16>, ClientError> {
        self.narrator()
            .note("FEAT first: a server that has MLSD lists MLST among its features");
        let reply = self.wire.command("FEAT")?;
        if reply.code != 211 {
            self.mlst = Some(false);
            return Ok(Err(reply.code));
        }
        // The features are the middle lines, one per line, each after a space.
        let has = reply.lines.iter().any(|line| {
            line.trim_start()
                .get(..4)
                .is_some_and(|word| word.eq_ignore_ascii_case("MLST"))
        });
        self.mlst = Some(has);
        Ok(Ok(has))
    }

    /// A listing's bytes, over a data connection, as text (TYPE A, as ftplib's retrlines).
    fn fetch_listing(&mut self, verb: &str, path: Option<&str>) -> Result<Vec<u8>, ClientError> {
        self.narrator()
            .note("a listing is text, so it travels as TYPE A, as ftplib's retrlines does");
        self.ensure_type(FileType::Ascii)?;
        let command = match path {
            Some(path) => format!("{verb} {path}"),
            None => verb.to_string(),
        };
        let mut listing = Vec::new();
        self.transfer(&command, None, Direction::Listing(&mut listing))?;
        Ok(listing)
    }

    /// What the MLSD facts say, entry by entry.
    fn show_facts(&self, listing: &[u8]) {
        let text = String::from_utf8_lossy(listing);
        let entries: Vec<String> = text
            .lines()
            .filter_map(facts)
            .filter(|(kind, _, _)| kind != "cdir" && kind != "pdir")
            .map(|(kind, size, name)| match (kind.as_str(), size) {
                ("dir", _) => format!("{name}/ (folder)"),
                (_, Some(size)) => format!("{name} ({size} bytes)"),
                (kind, None) => format!("{name} ({kind})"),
            })
            .collect();
        self.narrator().note(&format!(
            "{} entries, each `fact=value;…; name` (type, size, modify time as \
             YYYYMMDDHHMMSS in UTC): {}",
            entries.len(),
            if entries.is_empty() {
                "(none)".to_string()
            } else {
                entries.join(", ")
            }
        ));
    }
}

/// The type, size and name of one MLSD line: `type=file;size=97;…; name` (RFC 3659 §7.2).
fn facts(line: &str) -> Option<(String, Option<u64>, String)> {
    let (facts, name) = line.split_once(' ')?;
    let mut kind = String::new();
    let mut size = None;
    for fact in facts.split(';') {
        match fact.split_once('=') {
            Some((key, value)) if key.eq_ignore_ascii_case("type") => {
                kind = value.to_ascii_lowercase();
            }
            Some((key, value)) if key.eq_ignore_ascii_case("size") => size = value.parse().ok(),
            _ => {}
        }
    }
    Some((kind, size, name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlsd_facts_give_type_size_and_name() {
        assert_eq!(
            facts("type=file;size=97;modify=20240101120000; baca saya.txt"),
            Some(("file".into(), Some(97), "baca saya.txt".into()))
        );
        assert_eq!(
            facts("Type=DIR;modify=20240101120000; Folder_Tes"),
            Some(("dir".into(), None, "Folder_Tes".into()))
        );
        assert_eq!(facts("nonsense"), None);
    }
}
