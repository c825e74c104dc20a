//! RETR, STOR, and REST + RETR: files moved over a data connection (RFC 959 §4.1.3; RFC 3659
//! §5 for REST), by the sequence in `transfer`.
//!
//! Downloads are written to `NAME.part` and renamed to `NAME` only after the `226`, so a
//! broken download never sits under the final name; `resume` continues a `.part` file with
//! `REST`. A download the server calls complete but that brought fewer bytes than its 150
//! announced stays `NAME.part` too. Local files are always opened in binary mode (the seed's
//! `wb` and `rb`).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::copy::Counts;
use super::error::ClientError;
use super::transfer::Direction;
use super::wire::refusal;
use super::{Client, FileType};

impl Client {
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

#[cfg(test)]
mod tests {
    use super::*;

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
