//! Directory listings: `LIST` (RFC 959 §4.1.3), `NLST`, and MLSD/MLST's facts (RFC 3659 §7);
//! the `MDTM` time format is in `clock`.
//!
//! RFC 959 leaves LIST's format to the server ("the information ... is system dependent"), so
//! every client parses what Unix `ls -l` prints, the de facto standard:
//!
//! ```text
//! -rw-r--r--    1 ftp      ftp           123 Nov 25 14:03 baca_saya.txt
//! drwxr-xr-x    2 ftp      ftp          4096 Nov 25 14:03 Folder_Tes
//! ```
//!
//! The date has the time of day for files from the last six months and the year otherwise, as
//! `ls` does. Times are UTC (pyftpdlib's default too). The owner and group are shown as `ftp`:
//! the client has no use for the server's user names, and they would tell it about the server.
//! NLST sends names only, one a line, which is what `mget` style commands need. MLSD and MLST
//! (RFC 3659 §7) send [`Facts`] instead: a format defined once, for programs to read.

use std::io::{self, Read};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cap_std::fs::{Metadata, ReadDir};

use crate::platform::FileFacts;

use super::clock::Civil;
use super::jail::{Folder, Jail, JailError, UPLOAD_TEMP_PREFIX};

mod facts;

pub use facts::Facts;

/// How many entries a listing reads, sorts and writes at a time. A folder of up to this many
/// entries is listed in name order; a bigger one in pages of this many, each in name order. So
/// a listing holds at most one page, whatever the folder's size: a session's memory does not
/// grow with the folders it lists (vsftpd sorts whole folders; pyftpdlib reads all the names).
pub const PAGE: usize = 1024;

/// A folder's listing, produced as it is read: one page of [`PAGE`] entries at a time, each
/// entry written as a line by `write_line`. Upload temporaries and links that lead outside the
/// jail (or nowhere) are left out: the client must not learn about anything outside.
pub struct FolderLines<F> {
    folder: Folder,
    entries: Option<ReadDir>,
    /// Shared folders shown in this folder (only `/` has any), listed with the first page.
    mounts: Vec<(String, Metadata)>,
    /// The home's own entries that a share of the same name hides.
    hidden: Vec<String>,
    write_line: F,
    text: String,
    sent: usize,
}

impl<F: FnMut(&mut String, &str, &Metadata)> FolderLines<F> {
    /// The listing of `virtual_path`, which must be a folder. The folder is opened now, so a
    /// missing one is an error at once (550 before any data connection); its entries are read
    /// only as the listing is read.
    pub fn open(jail: &Jail, virtual_path: &str, write_line: F) -> Result<Self, JailError> {
        let (entries, folder) = jail.read_dir(virtual_path)?;
        let mounts = jail.mount_entries(virtual_path);
        let hidden = mounts.iter().map(|(name, _)| name.clone()).collect();
        Ok(FolderLines {
            folder,
            entries: Some(entries),
            mounts,
            hidden,
            write_line,
            text: String::new(),
            sent: 0,
        })
    }

    /// Read, sort and write the next page; false at the end of the folder.
    fn next_page(&mut self) -> io::Result<bool> {
        let Some(entries) = &mut self.entries else {
            return Ok(false);
        };
        let mut page: Vec<(String, Metadata)> = std::mem::take(&mut self.mounts);
        for dirent in entries.by_ref() {
            let dirent = dirent?;
            let name = dirent.file_name();
            let shown = name.to_string_lossy();
            if shown.starts_with(UPLOAD_TEMP_PREFIX) || self.hidden.iter().any(|h| *h == shown) {
                continue;
            }
            let meta = match dirent.file_type() {
                // Followed beneath the home: one leading outside, or nowhere, is left out.
                Ok(kind) if kind.is_symlink() => self.folder.entry_metadata(&name),
                // DirEntry::metadata does not follow links, and on Linux it is one lstat.
                _ => dirent.metadata().map_err(JailError::from),
            };
            // An entry deleted between readdir and stat is simply gone.
            if let Ok(meta) = meta {
                page.push((shown.into_owned(), meta));
            }
            if page.len() == PAGE {
                break;
            }
        }
        if page.len() < PAGE {
            self.entries = None;
        }
        page.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.text.clear();
        self.sent = 0;
        for (name, meta) in &page {
            (self.write_line)(&mut self.text, name, meta);
        }
        Ok(!page.is_empty() || self.entries.is_some())
    }
}

impl<F: FnMut(&mut String, &str, &Metadata)> Read for FolderLines<F> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.sent == self.text.len() {
            if !self.next_page()? {
                return Ok(0);
            }
        }
        let rest = &self.text.as_bytes()[self.sent..];
        let n = rest.len().min(buffer.len());
        buffer[..n].copy_from_slice(&rest[..n]);
        self.sent += n;
        Ok(n)
    }
}

/// Append one `ls -l` line (with CRLF) for `entry` to `out`. `now` decides between showing
/// the time of day (recent files) and the year (old or future files); `fixed` (`--lab`)
/// replaces both the file's time and now.
pub fn push_ls_line(
    out: &mut String,
    name: &str,
    meta: &Metadata,
    now: SystemTime,
    fixed: Option<SystemTime>,
) {
    use std::fmt::Write;
    let kind = if meta.is_dir() {
        'd'
    } else if meta.file_type().is_symlink() {
        'l'
    } else {
        '-'
    };
    let facts = FileFacts::of(meta);
    let mode = facts.mode;
    let mut bits = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let triple = (mode >> shift) & 7;
        bits.push(if triple & 4 != 0 { 'r' } else { '-' });
        bits.push(if triple & 2 != 0 { 'w' } else { '-' });
        bits.push(if triple & 1 != 0 { 'x' } else { '-' });
    }
    // --lab shows one fixed time for every file, so listings are the same in every run.
    let modified = fixed.unwrap_or_else(|| modified(meta));
    let now = fixed.unwrap_or(now);
    let _ = write!(
        out,
        "{kind}{bits} {links:>4} ftp      ftp      {size:>12} {date} {name}\r\n",
        links = facts.links,
        size = meta.len(),
        date = ls_date(modified, now),
    );
}

/// A file's modification time (the epoch where the platform does not say).
pub fn modified(meta: &Metadata) -> SystemTime {
    meta.modified().map_or(UNIX_EPOCH, |time| time.into_std())
}

/// The date column of `ls -l`: `Nov 25 14:03` within six months of now, `Nov 25  2024` otherwise.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use localftp::server::listing::ls_date;
/// let now = UNIX_EPOCH + Duration::from_secs(1_764_000_000); // 2025-11-24
/// let recent = UNIX_EPOCH + Duration::from_secs(1_763_990_000);
/// assert_eq!(ls_date(recent, now), "Nov 24 13:13");
/// let old = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
/// assert_eq!(ls_date(old, now), "Sep 09  2001");
/// ```
pub fn ls_date(time: SystemTime, now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const HALF_YEAR: Duration = Duration::from_secs(182 * 24 * 3600);
    let civil = Civil::from_system_time(time);
    let month = MONTHS[usize::from(civil.month - 1)];
    let recent = now.duration_since(time).is_ok_and(|age| age < HALF_YEAR)
        // A file a little in the future (clock skew) still shows its time, as ls does.
        || time.duration_since(now).is_ok_and(|ahead| ahead < Duration::from_secs(3600));
    if recent {
        format!(
            "{month} {:02} {:02}:{:02}",
            civil.day, civil.hour, civil.minute
        )
    } else {
        format!("{month} {:02}  {}", civil.day, civil.year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn metadata(path: &std::path::Path) -> Metadata {
        Metadata::from_just_metadata(fs::metadata(path).unwrap())
    }

    #[test]
    fn fact_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        fs::write(&file, "12345").unwrap();
        let meta = metadata(&file);
        let line = Facts::ALL.line("f.txt", &meta, "elradfmw".parse().unwrap(), None);
        assert!(line.starts_with("type=file;size=5;modify="), "{line}");
        assert!(line.contains(";perm=rwadf;"), "{line}");
        // `unique` (device + inode) only where the platform has one (not Windows: FileFacts).
        let unique = FileFacts::of(&meta).unique.is_some();
        assert_eq!(line.contains(";perm=rwadf;unique="), unique, "{line}");
        assert!(line.ends_with("; f.txt"), "{line}");
        let dir_meta = metadata(dir.path());
        let line = Facts::parse("type;perm").line("d", &dir_meta, "elr".parse().unwrap(), None);
        assert_eq!(line, "type=dir;perm=el; d");
        assert_eq!(
            Facts::parse("size").feature_line(),
            "MLST type;size*;modify;perm;unique;unix.mode;"
        );
    }

    #[test]
    fn ls_line_shape() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a b.txt");
        fs::write(&file, "12345").unwrap();
        let meta = metadata(&file);
        let mut out = String::new();
        push_ls_line(&mut out, "a b.txt", &meta, SystemTime::now(), None);
        let fields: Vec<&str> = out.split_whitespace().collect();
        assert!(fields[0].starts_with('-') && fields[0].len() == 10, "{out}");
        assert_eq!(fields[4], "5");
        assert!(out.ends_with(" a b.txt\r\n"), "{out:?}");
        assert_eq!(fields.len(), 10, "{out}");
    }

    #[cfg(unix)]
    #[test]
    fn temporaries_and_escaping_links_are_not_listed() {
        let scratch = tempfile::tempdir().unwrap();
        let home = scratch.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::write(scratch.path().join("secret"), "x").unwrap();
        fs::write(home.join("b"), "").unwrap();
        fs::write(home.join("a"), "").unwrap();
        fs::write(home.join(format!("{UPLOAD_TEMP_PREFIX}1")), "").unwrap();
        std::os::unix::fs::symlink(scratch.path().join("secret"), home.join("out")).unwrap();
        std::os::unix::fs::symlink(home.join("a"), home.join("in")).unwrap();
        let jail = Jail::new(&home).unwrap();
        let mut text = String::new();
        FolderLines::open(&jail, "/", |out: &mut String, name: &str, _: &Metadata| {
            out.push_str(name);
            out.push('\n');
        })
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
        assert_eq!(text, "a\nb\nin\n");
    }

    #[test]
    fn big_folders_are_listed_a_page_at_a_time() {
        let home = tempfile::tempdir().unwrap();
        for i in 0..PAGE * 2 + 7 {
            fs::write(home.path().join(format!("f{i:05}")), "").unwrap();
        }
        let jail = Jail::new(home.path()).unwrap();
        let mut largest_page = 0;
        let mut lines =
            FolderLines::open(&jail, "/", |out: &mut String, name: &str, _: &Metadata| {
                out.push_str(name);
                out.push('\n');
            })
            .unwrap();
        let mut names = Vec::new();
        while lines.next_page().unwrap() {
            largest_page = largest_page.max(lines.text.lines().count());
            names.extend(lines.text.lines().map(str::to_string));
        }
        assert_eq!(names.len(), PAGE * 2 + 7);
        assert_eq!(largest_page, PAGE);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PAGE * 2 + 7, "every entry exactly once");
    }
}
