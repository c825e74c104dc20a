//! File service commands that need no data connection (RFC 959 §4.1.3; SIZE and MDTM from
//! RFC 3659, MFMT from draft-somers-ftp-mfxx): DELE, RMD, MKD, RNFR, RNTO, SIZE, MDTM, MFMT.
//! The commands that move a file's bytes are in [`super::transfers`].

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use cap_std::fs::OpenOptions;

use crate::reply::{Reply, ReplyCode};
use crate::server::clock::timeval;
use crate::server::command::TransferType;
use crate::server::jail::JailError;
use crate::server::session::Session;

use super::{io_refusal, not_found, quote};

impl Session {
    /// DELE: delete a file.
    pub fn dele(&mut self, path: &str) -> Result<Reply, Reply> {
        let virtual_path = self.locate(path)?;
        let jail = self.jail()?;
        let meta = jail
            .symlink_metadata(&virtual_path)
            .map_err(|e| self.refused("Cannot delete", &virtual_path, e))?;
        if meta.is_dir() {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                format!(
                    "{} is a folder; use RMD to remove it.",
                    quote(&virtual_path)
                ),
            ));
        }
        jail.remove_file(&virtual_path)
            .map_err(|e| self.refused("Cannot delete", &virtual_path, e))?;
        log::info!("{} deleted {virtual_path}", self.tag);
        Ok(Reply::new(
            ReplyCode::FileActionOkay,
            format!("Deleted {}.", quote(&virtual_path)),
        ))
    }

    /// RMD: remove an empty folder (never the home itself).
    pub fn rmd(&mut self, path: &str) -> Result<Reply, Reply> {
        let virtual_path = self.locate_below_home(path, "remove")?;
        let jail = self.jail()?;
        let meta = jail
            .symlink_metadata(&virtual_path)
            .map_err(|e| self.refused("Cannot remove", &virtual_path, e))?;
        if !meta.is_dir() {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                format!(
                    "{} is not a folder; use DELE for files.",
                    quote(&virtual_path)
                ),
            ));
        }
        jail.remove_dir(&virtual_path)
            .map_err(|e| self.refused("Cannot remove", &virtual_path, e))?;
        log::info!("{} removed folder {virtual_path}", self.tag);
        Ok(Reply::new(
            ReplyCode::FileActionOkay,
            format!("Removed {}.", quote(&virtual_path)),
        ))
    }

    /// MKD: make a folder; 257 gives its path in quotes (RFC 959 Appendix II).
    pub fn mkd(&mut self, path: &str) -> Result<Reply, Reply> {
        let virtual_path = self.locate(path)?;
        self.jail()?
            .create_dir(&virtual_path)
            .map_err(|e| self.refused("Cannot create", &virtual_path, e))?;
        log::info!("{} created folder {virtual_path}", self.tag);
        Ok(Reply::new(
            ReplyCode::PathCreated,
            format!("{} created.", quote(&virtual_path)),
        ))
    }

    /// RNFR: the first half of a rename; the source must exist.
    pub fn rnfr(&mut self, path: &str) -> Result<Reply, Reply> {
        let virtual_path = self.locate_below_home(path, "rename")?;
        // Only the virtual path is kept: RNTO looks the source up again, beneath the home, at
        // the moment of the rename. A real path kept from here could lead anywhere by then.
        self.jail()?
            .symlink_metadata(&virtual_path)
            .map_err(|e| self.refused("Cannot rename", &virtual_path, e))?;
        self.settings.set_rename_from(virtual_path.clone());
        Ok(Reply::new(
            ReplyCode::FileActionPending,
            format!(
                "{} exists; send RNTO with the new name.",
                quote(&virtual_path)
            ),
        ))
    }

    /// RNTO: the second half of a rename.
    pub fn rnto(&mut self, path: &str) -> Result<Reply, Reply> {
        let Some(from_virtual) = self.settings.take_rename_from() else {
            return Err(Reply::new(
                ReplyCode::BadSequence,
                "Send RNFR first, then RNTO.",
            ));
        };
        let virtual_path = self.locate(path)?;
        if virtual_path == "/"
            || format!("{virtual_path}/").starts_with(&format!("{from_virtual}/"))
        {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                "Cannot move a folder into itself or onto your home folder.",
            ));
        }
        let to_virtual = virtual_path;
        self.jail()?
            .rename(&from_virtual, &to_virtual)
            .map_err(|e| match e {
                // The source may have moved since RNFR, or a link on its way may now lead out:
                // both are found here, at the moment of the rename, and answered as a missing
                // source.
                JailError::Outside => {
                    let both = format!("{from_virtual} → {to_virtual}");
                    self.refused("Cannot rename", &both, JailError::Outside);
                    not_found(&from_virtual)
                }
                e => self.refused("Cannot rename to", &to_virtual, e),
            })?;
        log::info!("{} renamed {from_virtual} to {to_virtual}", self.tag);
        Ok(Reply::new(
            ReplyCode::FileActionOkay,
            format!(
                "Renamed {} to {}.",
                quote(&from_virtual),
                quote(&to_virtual)
            ),
        ))
    }

    /// SIZE (RFC 3659 §4): the number of bytes a RETR in the current TYPE would send.
    pub fn size(&mut self, path: &str) -> Result<Reply, Reply> {
        let virtual_path = self.locate(path)?;
        let jail = self.jail()?;
        let meta = jail
            .metadata(&virtual_path)
            .map_err(|e| self.refused("Cannot read", &virtual_path, e))?;
        if !meta.is_file() {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                format!("{} is not a file.", quote(&virtual_path)),
            ));
        }
        let size = match self.settings.transfer_type() {
            TransferType::Image => meta.len(),
            // In ASCII each LF goes as CRLF, so the wire size is larger by the number of
            // lines. Counting them reads the file; RFC 3659 §4 asks for the exact figure.
            TransferType::Ascii => {
                let file = jail
                    .open(&virtual_path, OpenOptions::new().read(true))
                    .map_err(|e| self.refused("Cannot read", &virtual_path, e))?;
                ascii_size(file).map_err(|e| io_refusal("Cannot read", &virtual_path, &e))?
            }
        };
        Ok(Reply::new(ReplyCode::FileStatus, size.to_string()))
    }

    /// MDTM (RFC 3659 §3): a file's modification time, UTC, as YYYYMMDDHHMMSS.
    pub fn mdtm(&mut self, path: &str) -> Result<Reply, Reply> {
        let virtual_path = self.locate(path)?;
        let meta = self
            .jail()?
            .metadata(&virtual_path)
            .map_err(|e| self.refused("Cannot read", &virtual_path, e))?;
        let time = meta
            .modified()
            .map_err(|e| io_refusal("Cannot read", &virtual_path, &e))?;
        Ok(Reply::new(
            ReplyCode::FileStatus,
            timeval(self.fixed_time().unwrap_or(time.into_std())),
        ))
    }

    /// MFMT (draft-somers-ftp-mfxx): set a file's modification time; the reply repeats it.
    pub fn mfmt(&mut self, time: i64, path: &str) -> Result<Reply, Reply> {
        let virtual_path = self.locate(path)?;
        let when = if time >= 0 {
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(time as u64)
        } else {
            std::time::UNIX_EPOCH - std::time::Duration::from_secs(time.unsigned_abs())
        };
        self.jail()?
            .set_modified(&virtual_path, when)
            .map_err(|e| self.refused("Cannot set the time of", &virtual_path, e))?;
        Ok(Reply::new(
            ReplyCode::FileStatus,
            format!("Modify={}; {virtual_path}", timeval(when)),
        ))
    }

    /// The time to show for every file in `--lab` (and `None` otherwise).
    pub fn fixed_time(&self) -> Option<std::time::SystemTime> {
        self.watch.fixed_time()
    }
}

/// The size of a file as TYPE A sends it: every LF becomes two bytes.
fn ascii_size(file: File) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut size = 0u64;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(size);
        }
        let newlines = chunk.iter().filter(|&&b| b == b'\n').count();
        size += (chunk.len() + newlines) as u64;
        let used = chunk.len();
        reader.consume(used);
    }
}
