//! LIST, RETR, STOR, and REST + RETR: the commands that need a data connection (RFC 959
//! §4.1.3, §5.4; RFC 3659 §5 for REST).
//!
//! They all follow one sequence, written once in [`Client::transfer`]:
//!
//! ```text
//! C: PASV                      set up the data connection (or EPSV, or PORT)
//! S: 227 Entering Passive Mode (127,0,0,1,195,80).
//!    [data] open               the client connects to port 195 × 256 + 80 = 50000
//! C: RETR baca_saya.txt        the command itself
//! S: 150 (or 125) …            1yz: started; a second reply will follow
//!    [data] 97 bytes, closed   the bytes, then the close that marks their end
//! S: 226 Transfer complete.    2yz: done
//! ```
//!
//! Downloads are written to `NAME.part` and renamed to `NAME` only after the `226`, so a
//! broken download never sits under the final name; `resume` continues a `.part` file with
//! `REST`. Local files are always opened in binary mode (the seed's `wb` and `rb`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use suppaftp::list::ListParser;

use super::copy::{self, CopyError, Counts};
use super::data;
use super::error::ClientError;
use super::tls;
use super::wire::refusal;
use super::{Client, FileType};

/// Which way the bytes go, and between what.
enum Direction<'a> {
    /// Server → client: a listing, kept in memory and shown line by line.
    Listing(&'a mut Vec<u8>),
    /// Server → client, into the file at `path`.
    Receive {
        into: &'a mut dyn Write,
        path: &'a Path,
        ascii: bool,
    },
    /// Client → server, from the file at `path`, `size` bytes long.
    Send {
        from: &'a mut dyn Read,
        path: &'a Path,
        ascii: bool,
        size: u64,
    },
}

impl Client {
    /// LIST: the folder's contents, as text, over a data connection.
    pub fn list(&mut self, path: Option<&str>) -> Result<(), ClientError> {
        self.narrator()
            .stage("LIST: what is in this folder? (RFC 959 §4.1.3)");
        self.narrator()
            .note("a listing is text, so it travels as TYPE A, as ftplib's retrlines does");
        self.ensure_type(FileType::Ascii)?;
        let command = match path {
            Some(path) => format!("LIST {path}"),
            None => "LIST".to_string(),
        };
        let mut listing = Vec::new();
        self.transfer(&command, None, Direction::Listing(&mut listing))?;
        let text = String::from_utf8_lossy(&listing);
        let mut entries = Vec::new();
        for line in text.lines() {
            // LIST has no standard format; suppaftp knows the usual Unix and DOS layouts.
            if let Ok(file) = ListParser::parse_posix(line).or_else(|_| ListParser::parse_dos(line))
            {
                entries.push(if file.is_directory() {
                    format!("{}/ (folder)", file.name())
                } else {
                    format!("{} ({} bytes)", file.name(), file.size())
                });
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
        Ok(())
    }

    /// RETR: download `remote` to `local` (default: the same name here).
    pub fn get(&mut self, remote: &str, local: Option<&str>) -> Result<(), ClientError> {
        self.narrator()
            .stage(&format!("RETR: download {remote} (RFC 959 §4.1.3)"));
        let local = local_name(remote, local);
        let part = part_path(&local);
        self.ensure_type(self.file_type)?;
        let mut file = File::create(&part).map_err(|source| ClientError::LocalWrite {
            path: part.clone(),
            source,
        })?;
        self.narrator().note(&format!(
            "writing to {} in binary mode (the seed's \"wb\"); it becomes {} only when the 226 \
             arrives, so a broken download never sits under the final name",
            part.display(),
            local.display()
        ));
        let result = self.download(&format!("RETR {remote}"), None, &mut file, &part);
        drop(file);
        let counts = self.finish_download(result, remote, &part, &local)?;
        self.narrator().note(&format!(
            "saved {} ({} bytes)",
            local.display(),
            counts.local
        ));
        Ok(())
    }

    /// REST + RETR: continue a download that broke, from the bytes already here (RFC 3659 §5).
    pub fn resume(&mut self, remote: &str, local: Option<&str>) -> Result<(), ClientError> {
        self.narrator().stage(&format!(
            "REST + RETR: resume the download of {remote} (RFC 3659 §5)"
        ));
        let local = local_name(remote, local);
        let part = part_path(&local);
        if !part.exists() && local.exists() {
            rename(&local, &part)?;
            self.narrator().note(&format!(
                "{} is treated as the unfinished part: renamed to {} until the download ends",
                local.display(),
                part.display()
            ));
        }
        let offset = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        self.narrator().note(&format!(
            "{offset} bytes are already in {}; REST asks the server to skip them. Offsets count \
             bytes, so resuming needs TYPE I (binary)",
            part.display()
        ));
        self.ensure_type(FileType::Binary)?;
        let reply = self.wire.command(&format!("SIZE {remote}"))?;
        if reply.code == 213 {
            let size: Option<u64> = reply.text().trim().parse().ok();
            if size == Some(offset) {
                rename(&part, &local)?;
                self.narrator().note(&format!(
                    "the file is already complete: saved {} ({offset} bytes)",
                    local.display()
                ));
                return Ok(());
            }
            if size.is_some_and(|size| size < offset) {
                return Err(ClientError::Usage(format!(
                    "{} is larger than {remote} on the server, so it is not a part of it; \
                     delete it and download again",
                    part.display()
                )));
            }
        } else if reply.code == 550 {
            return Err(refusal(&format!("SIZE {remote}"), &reply));
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&part)
            .map_err(|source| ClientError::LocalWrite {
                path: part.clone(),
                source,
            })?;
        let rest = (offset > 0).then_some(offset);
        let result = self.download(&format!("RETR {remote}"), rest, &mut file, &part);
        drop(file);
        let counts = self.finish_download(result, remote, &part, &local)?;
        self.narrator().note(&format!(
            "saved {}: {offset} bytes were already here and {} more arrived",
            local.display(),
            counts.local
        ));
        Ok(())
    }

    /// STOR: upload `local` as `remote` (default: the same name there).
    pub fn put(&mut self, local: &str, remote: Option<&str>) -> Result<(), ClientError> {
        self.narrator()
            .stage(&format!("STOR: upload {local} (RFC 959 §4.1.3)"));
        let path = PathBuf::from(local);
        let remote = remote.map(str::to_string).unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| local.to_string())
        });
        // Local problems are found before the server is asked for anything.
        let unreadable = |source| ClientError::LocalUnreadable {
            path: path.clone(),
            source,
        };
        let meta = match fs::metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ClientError::LocalMissing { path });
            }
            other => other.map_err(unreadable)?,
        };
        if meta.is_dir() {
            return Err(unreadable(io::Error::other("it is a folder, not a file")));
        }
        let mut file = File::open(&path).map_err(unreadable)?;
        self.narrator().note(&format!(
            "opened {local} for reading in binary mode (the seed's \"rb\"): {} bytes",
            meta.len()
        ));
        self.ensure_type(self.file_type)?;
        let direction = Direction::Send {
            from: &mut file,
            path: &path,
            ascii: self.file_type == FileType::Ascii,
            size: meta.len(),
        };
        let counts = self.transfer(&format!("STOR {remote}"), None, direction)?;
        self.narrator().note(&format!(
            "uploaded: the server stored {remote} ({} bytes sent)",
            counts.wire
        ));
        Ok(())
    }

    fn download(
        &mut self,
        command: &str,
        rest: Option<u64>,
        file: &mut File,
        part: &Path,
    ) -> Result<Counts, ClientError> {
        let direction = Direction::Receive {
            into: file,
            path: part,
            ascii: self.file_type == FileType::Ascii && rest.is_none(),
        };
        self.transfer(command, rest, direction)
    }

    /// After a download: rename the part on success; on failure keep what can be resumed.
    fn finish_download(
        &mut self,
        result: Result<Counts, ClientError>,
        remote: &str,
        part: &Path,
        local: &Path,
    ) -> Result<Counts, ClientError> {
        match result {
            Ok(counts) => {
                rename(part, local)?;
                Ok(counts)
            }
            Err(error) => {
                let kept = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
                if kept > 0 && !matches!(error, ClientError::LocalWrite { .. }) {
                    self.narrator().note(&format!(
                        "the {kept} bytes received so far stay in {}; `resume {remote}` \
                         continues from there",
                        part.display()
                    ));
                } else {
                    let _ = fs::remove_file(part);
                }
                Err(error)
            }
        }
    }

    /// The sequence every transfer shares: data connection, (REST,) command, 1yz, bytes,
    /// close, 2yz. Returns how many bytes moved.
    fn transfer(
        &mut self,
        command: &str,
        rest: Option<u64>,
        direction: Direction<'_>,
    ) -> Result<Counts, ClientError> {
        let pending = data::prepare(&mut self.wire, self.mode)?;
        if let Some(offset) = rest {
            self.wire
                .require(&format!("REST {offset}"), |code| code == 350)?;
        }
        let reply = self.wire.command(command)?;
        if !reply.is_preliminary() {
            if matches!(pending, data::Pending::Connected(_)) {
                self.narrator().data("closing the unused data connection");
            }
            return Err(refusal(command, &reply));
        }
        self.narrator().note(match (reply.code, self.mode) {
            (125, data::DataMode::Active) => {
                "125: the server had connected to our port already (pyftpdlib does so as soon \
                 as PORT arrives)"
            }
            (125, _) => {
                "125, not 150: we connected right after the 227/229, before sending the \
                 command (pyftpdlib does the same; vsftpd says 150 even then)"
            }
            (_, data::DataMode::Active) => "150: the server connects to the client's port now",
            _ => {
                "150: the transfer starts now (vsftpd and pyftpdlib send 150 even when the \
                 client is already connected; servers that notice say 125)"
            }
        });
        let mut stream = match pending.open(&self.wire) {
            Ok(stream) => stream,
            Err(error) => {
                // The server still sends its verdict (425) for the command: read it.
                let _ = self
                    .wire
                    .read_reply("the reply after the failed data connection");
                return Err(error);
            }
        };
        let downloading = !matches!(direction, Direction::Send { .. });
        let local_path = match &direction {
            Direction::Listing(_) => PathBuf::from("(the listing in memory)"),
            Direction::Receive { path, .. } | Direction::Send { path, .. } => path.to_path_buf(),
        };
        let total = match &direction {
            Direction::Send { size, .. } => Some(*size),
            // Many servers put the size in the 150 text ("(97 bytes)"); it is only a hint.
            _ => announced_size(reply.text()),
        };
        let bar = self.narrator().progress_bar(total);
        let copied = match direction {
            Direction::Listing(listing) => {
                let copied = copy::receive(&mut stream, listing, true, bar.as_ref());
                // What came over the data connection, shown before the reply that follows it.
                for line in String::from_utf8_lossy(listing).lines() {
                    self.narrator().content(line);
                }
                copied
            }
            Direction::Receive { into, ascii, .. } => {
                copy::receive(&mut stream, into, ascii, bar.as_ref())
            }
            Direction::Send { from, ascii, .. } => {
                copy::send(from, &mut stream, ascii, bar.as_ref())
            }
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let outcome = match copied {
            Ok(counts) => {
                copy::report(self.narrator(), counts, downloading);
                Ok(counts)
            }
            Err(CopyError::Network(source, counts)) => {
                self.narrator().data(&format!(
                    "the data connection broke after {} bytes",
                    counts.wire
                ));
                Err(ClientError::Data {
                    during: format!("{command} was moving bytes"),
                    source,
                })
            }
            Err(CopyError::Local(source, counts)) => {
                self.narrator().data(&format!(
                    "closed early after {} bytes: the local file failed",
                    counts.wire
                ));
                Err(local_error(local_path, source, downloading))
            }
        };
        if stream.is_tls() && outcome.is_ok() {
            tls::narrate_end(self.narrator(), downloading);
        }
        // Closing is the end-of-file marker in stream mode: the server replies after it.
        stream.close(outcome.is_ok());
        let last = self.wire.read_reply("the reply that ends the transfer")?;
        match outcome {
            Ok(counts) if last.is_success() => Ok(counts),
            Ok(_) => Err(refusal(command, &last)),
            // The server's code says more than "the socket broke" when it has one.
            Err(ClientError::Data { .. }) if last.code >= 400 => Err(refusal(command, &last)),
            Err(error) => Err(error),
        }
    }
}

fn local_error(path: PathBuf, source: io::Error, downloading: bool) -> ClientError {
    if downloading {
        ClientError::LocalWrite { path, source }
    } else {
        ClientError::LocalUnreadable { path, source }
    }
}

/// The local name for a download: the one given, or the remote file's last path segment.
fn local_name(remote: &str, local: Option<&str>) -> PathBuf {
    match local {
        Some(local) => PathBuf::from(local),
        None => PathBuf::from(remote.rsplit('/').next().unwrap_or(remote)),
    }
}

/// Where a download is written until it is complete: `NAME.part`.
fn part_path(local: &Path) -> PathBuf {
    let mut name = local.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

fn rename(from: &Path, to: &Path) -> Result<(), ClientError> {
    fs::rename(from, to).map_err(|source| ClientError::LocalWrite {
        path: to.to_path_buf(),
        source,
    })
}

/// The size a 150 reply announces, as in `150 Opening … (97 bytes).`
fn announced_size(text: &str) -> Option<u64> {
    let (before, _) = text.rsplit_once(" bytes")?;
    let digits = before.rsplit(['(', ' ']).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_150_size_hint_is_read_when_present() {
        assert_eq!(
            announced_size("Opening data connection in BINARY mode for /a (97 bytes)."),
            Some(97)
        );
        assert_eq!(
            announced_size("Opening BINARY mode data connection for a (1234 bytes)."),
            Some(1234)
        );
        assert_eq!(announced_size("File status okay."), None);
    }

    #[test]
    fn downloads_land_next_to_their_final_name() {
        assert_eq!(local_name("/docs/a.txt", None), PathBuf::from("a.txt"));
        assert_eq!(local_name("a.txt", Some("b.txt")), PathBuf::from("b.txt"));
        assert_eq!(
            part_path(Path::new("dir/a.txt")),
            PathBuf::from("dir/a.txt.part")
        );
    }
}
