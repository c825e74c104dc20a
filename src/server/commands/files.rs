//! File service commands (RFC 959 §4.1.3; SIZE, MDTM and REST STREAM from RFC 3659):
//! RETR, STOR, APPE, STOU, DELE, RMD, MKD, RNFR, RNTO, REST, SIZE, MDTM.
//!
//! The transfer commands check everything that can fail at once (path, file type, offset, the
//! data connection being set up) and answer 550/554/425 straight away; only then is the
//! transfer handed to a helper thread (`transfer::start`), which sends 150 and 226.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use crate::reply::{Reply, ReplyCode};
use crate::server::command::TransferType;
use crate::server::listing::timeval;
use crate::server::permissions::Perm;
use crate::server::session::{Outcome, Session};
use crate::server::transfer::{self, Direction, Job, Source, Upload};

use super::{io_refusal, quote};

impl Session {
    /// RETR: send a file, from the REST offset if one was given.
    pub fn retr(&mut self, path: &str, offset: Option<u64>) -> Outcome {
        self.retr_checked(path, offset)
            .unwrap_or_else(Outcome::Reply)
    }

    fn retr_checked(&mut self, path: &str, offset: Option<u64>) -> Result<Outcome, Reply> {
        let (virtual_path, real) = self.locate(path)?;
        let mut file =
            File::open(&real).map_err(|e| io_refusal("Cannot open", &virtual_path, &e))?;
        let meta = file
            .metadata()
            .map_err(|e| io_refusal("Cannot open", &virtual_path, &e))?;
        if !meta.is_file() {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                format!("{} is not a file.", quote(&virtual_path)),
            ));
        }
        let offset = self.check_offset(offset, meta.len())?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| io_refusal("Cannot read", &virtual_path, &e))?;
        }
        let job = Job {
            verb: "RETR",
            path: virtual_path,
            direction: Direction::Send(Source::File(file)),
            size: (self.transfer_type == TransferType::Image).then_some(meta.len() - offset),
            preliminary: None,
            context: None,
        };
        self.start_transfer(job)
    }

    /// STOR: receive a file. A fresh upload replaces the target atomically; after `REST n`
    /// (n > 0) it resumes in place, which also needs the `a` letter.
    pub fn stor(&mut self, path: &str, offset: Option<u64>) -> Outcome {
        self.stor_checked(path, offset)
            .unwrap_or_else(Outcome::Reply)
    }

    fn stor_checked(&mut self, path: &str, offset: Option<u64>) -> Result<Outcome, Reply> {
        let (virtual_path, real) = self.locate(path)?;
        refuse_folder(&real, &virtual_path)?;
        let upload = match offset {
            Some(offset) if offset > 0 => {
                // The one permission rule that depends on state (see permissions.rs).
                let (user, _) = self.account()?;
                if !user.perms.allows(Perm::Append) {
                    return Err(Reply::new(
                        ReplyCode::FileUnavailable,
                        "Permission denied: resuming an upload (REST then STOR) needs the 'a' permission.",
                    ));
                }
                let size = fs::metadata(&real).map(|m| m.len()).unwrap_or(0);
                let offset = self.check_offset(Some(offset), size)?;
                transfer::open_in_place(&real, Some(offset))
            }
            _ => transfer::create_upload(real),
        }
        .map_err(|e| io_refusal("Cannot store", &virtual_path, &e))?;
        self.start_upload("STOR", virtual_path, upload, None)
    }

    /// APPE: receive a file and add it to the end of the target (created if missing).
    pub fn appe(&mut self, path: &str) -> Outcome {
        self.appe_checked(path).unwrap_or_else(Outcome::Reply)
    }

    fn appe_checked(&mut self, path: &str) -> Result<Outcome, Reply> {
        let (virtual_path, real) = self.locate(path)?;
        refuse_folder(&real, &virtual_path)?;
        let upload = transfer::open_in_place(&real, None)
            .map_err(|e| io_refusal("Cannot append to", &virtual_path, &e))?;
        self.start_upload("APPE", virtual_path, upload, None)
    }

    /// STOU: receive a file under a new name the server picks; the 150 reply says which
    /// (`150 FILE: name`, RFC 1123 §4.1.2.9).
    pub fn stou(&mut self) -> Outcome {
        self.stou_checked().unwrap_or_else(Outcome::Reply)
    }

    fn stou_checked(&mut self) -> Result<Outcome, Reply> {
        for _ in 0..16 {
            // --lab numbers the names, so the same script gets the same names in every run.
            self.stou_count += 1;
            let name = if self.shared.config.lab {
                format!("stou-{:04}", self.stou_count)
            } else {
                format!("stou-{:08x}", crate::server::data::random_u64() as u32)
            };
            let (virtual_path, real) = self.locate(&name)?;
            if real.symlink_metadata().is_ok() {
                continue;
            }
            let upload = transfer::create_upload(real)
                .map_err(|e| io_refusal("Cannot store", &virtual_path, &e))?;
            let preliminary = format!("FILE: {name}");
            return self.start_upload("STOU", virtual_path, upload, Some(preliminary));
        }
        Err(Reply::new(
            ReplyCode::LocalError,
            "Could not pick a unique name.",
        ))
    }

    /// DELE: delete a file.
    pub fn dele(&mut self, path: &str) -> Reply {
        let (virtual_path, real) = match self.locate(path) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        if real.is_dir() && !real.is_symlink() {
            return Reply::new(
                ReplyCode::FileUnavailable,
                format!(
                    "{} is a folder; use RMD to remove it.",
                    quote(&virtual_path)
                ),
            );
        }
        match fs::remove_file(&real) {
            Ok(()) => {
                log::info!("{} deleted {virtual_path}", self.tag);
                Reply::new(
                    ReplyCode::FileActionOkay,
                    format!("Deleted {}.", quote(&virtual_path)),
                )
            }
            Err(e) => io_refusal("Cannot delete", &virtual_path, &e),
        }
    }

    /// RMD: remove an empty folder (never the home itself).
    pub fn rmd(&mut self, path: &str) -> Reply {
        let (virtual_path, real) = match self.locate(path) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        if virtual_path == "/" {
            return Reply::new(
                ReplyCode::FileUnavailable,
                "Cannot remove your home folder.",
            );
        }
        if !real.is_dir() || real.is_symlink() {
            return Reply::new(
                ReplyCode::FileUnavailable,
                format!(
                    "{} is not a folder; use DELE for files.",
                    quote(&virtual_path)
                ),
            );
        }
        match fs::remove_dir(&real) {
            Ok(()) => {
                log::info!("{} removed folder {virtual_path}", self.tag);
                Reply::new(
                    ReplyCode::FileActionOkay,
                    format!("Removed {}.", quote(&virtual_path)),
                )
            }
            Err(e) => io_refusal("Cannot remove", &virtual_path, &e),
        }
    }

    /// MKD: make a folder; 257 gives its path in quotes (RFC 959 Appendix II).
    pub fn mkd(&mut self, path: &str) -> Reply {
        let (virtual_path, real) = match self.locate(path) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        match fs::create_dir(&real) {
            Ok(()) => {
                log::info!("{} created folder {virtual_path}", self.tag);
                Reply::new(
                    ReplyCode::PathCreated,
                    format!("{} created.", quote(&virtual_path)),
                )
            }
            Err(e) => io_refusal("Cannot create", &virtual_path, &e),
        }
    }

    /// RNFR: the first half of a rename; the source must exist.
    pub fn rnfr(&mut self, path: &str) -> Reply {
        let (virtual_path, real) = match self.locate(path) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        if virtual_path == "/" {
            return Reply::new(
                ReplyCode::FileUnavailable,
                "Cannot rename your home folder.",
            );
        }
        if real.symlink_metadata().is_err() {
            return Reply::new(
                ReplyCode::FileUnavailable,
                format!("{}: no such file or folder.", quote(&virtual_path)),
            );
        }
        self.rename_from = Some((virtual_path.clone(), real));
        Reply::new(
            ReplyCode::FileActionPending,
            format!(
                "{} exists; send RNTO with the new name.",
                quote(&virtual_path)
            ),
        )
    }

    /// RNTO: the second half of a rename.
    pub fn rnto(&mut self, path: &str) -> Reply {
        let Some((from_virtual, from_real)) = self.rename_from.take() else {
            return Reply::new(ReplyCode::BadSequence, "Send RNFR first, then RNTO.");
        };
        let (virtual_path, real) = match self.locate(path) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        if virtual_path == "/" || (virtual_path + "/").starts_with(&(from_virtual.clone() + "/")) {
            return Reply::new(
                ReplyCode::FileUnavailable,
                "Cannot move a folder into itself or onto your home folder.",
            );
        }
        let to_virtual = crate::server::jail::resolve(&self.cwd, path);
        match fs::rename(&from_real, &real) {
            Ok(()) => {
                log::info!("{} renamed {from_virtual} to {to_virtual}", self.tag);
                Reply::new(
                    ReplyCode::FileActionOkay,
                    format!(
                        "Renamed {} to {}.",
                        quote(&from_virtual),
                        quote(&to_virtual)
                    ),
                )
            }
            Err(e) => io_refusal("Cannot rename to", &to_virtual, &e),
        }
    }

    /// REST: remember a byte offset for the next RETR or STOR (RFC 3659 §5).
    pub fn rest(&mut self, offset: u64) -> Reply {
        self.restart_offset = Some(offset);
        Reply::new(
            ReplyCode::FileActionPending,
            format!("Restarting at {offset}. Send RETR or STOR to start the transfer."),
        )
    }

    /// SIZE (RFC 3659 §4): the number of bytes a RETR in the current TYPE would send.
    pub fn size(&mut self, path: &str) -> Reply {
        let (virtual_path, real) = match self.locate(path) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        let meta = match fs::metadata(&real) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => {
                return Reply::new(
                    ReplyCode::FileUnavailable,
                    format!("{} is not a file.", quote(&virtual_path)),
                );
            }
            Err(e) => return io_refusal("Cannot read", &virtual_path, &e),
        };
        let size = match self.transfer_type {
            TransferType::Image => meta.len(),
            // In ASCII each LF goes as CRLF, so the wire size is larger by the number of
            // lines. Counting them reads the file; RFC 3659 §4 asks for the exact figure.
            TransferType::Ascii => match ascii_size(&real) {
                Ok(size) => size,
                Err(e) => return io_refusal("Cannot read", &virtual_path, &e),
            },
        };
        Reply::new(ReplyCode::FileStatus, size.to_string())
    }

    /// MDTM (RFC 3659 §3): a file's modification time, UTC, as YYYYMMDDHHMMSS.
    pub fn mdtm(&mut self, path: &str) -> Reply {
        let (virtual_path, real) = match self.locate(path) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        match fs::metadata(&real).and_then(|m| m.modified()) {
            Ok(time) => Reply::new(
                ReplyCode::FileStatus,
                timeval(self.fixed_time().unwrap_or(time)),
            ),
            Err(e) => io_refusal("Cannot read", &virtual_path, &e),
        }
    }

    /// MFMT (draft-somers-ftp-mfxx): set a file's modification time; the reply repeats it.
    pub fn mfmt(&mut self, time: i64, path: &str) -> Reply {
        let (virtual_path, real) = match self.locate(path) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        let when = if time >= 0 {
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(time as u64)
        } else {
            std::time::UNIX_EPOCH - std::time::Duration::from_secs(time.unsigned_abs())
        };
        let set = File::options()
            .write(true)
            .open(&real)
            .and_then(|file| file.set_modified(when));
        match set {
            Ok(()) => Reply::new(
                ReplyCode::FileStatus,
                format!("Modify={}; {virtual_path}", timeval(when)),
            ),
            Err(e) => io_refusal("Cannot set the time of", &virtual_path, &e),
        }
    }

    /// The time to show for every file in `--lab` (and `None` otherwise).
    pub fn fixed_time(&self) -> Option<std::time::SystemTime> {
        self.shared
            .config
            .lab
            .then(crate::server::listing::lab_time)
    }

    /// The REST offset for a transfer, checked: past the end is 554 (RFC 3659 §5.4), and in
    /// ASCII mode offsets are refused, since bytes on the wire and on disk differ there.
    fn check_offset(&self, offset: Option<u64>, size: u64) -> Result<u64, Reply> {
        let offset = offset.unwrap_or(0);
        if offset == 0 {
            return Ok(0);
        }
        if self.transfer_type == TransferType::Ascii {
            return Err(Reply::new(
                ReplyCode::InvalidRestParameter,
                "REST works in binary mode only; send TYPE I first.",
            ));
        }
        if offset > size {
            return Err(Reply::new(
                ReplyCode::InvalidRestParameter,
                format!("REST offset {offset} is past the end of the file ({size} bytes)."),
            ));
        }
        Ok(offset)
    }

    fn start_upload(
        &mut self,
        verb: &'static str,
        virtual_path: String,
        upload: Upload,
        preliminary: Option<String>,
    ) -> Result<Outcome, Reply> {
        let job = Job {
            verb,
            path: virtual_path,
            direction: Direction::Receive(upload),
            size: None,
            preliminary,
            context: None,
        };
        self.start_transfer(job)
    }

    /// Hand a checked job to a transfer thread, with the data connection set up before.
    pub fn start_transfer(&mut self, mut job: Job) -> Result<Outcome, Reply> {
        if self.trace.is_some() {
            job.context = Some(self.why_context(&self.current_line, &self.login.describe()));
        }
        if self.shared.config.require_tls && !self.security.private_data {
            transfer::discard(job.direction);
            return Err(Reply::new(
                ReplyCode::ProtectionLevelRefused,
                "Data connections must be encrypted here: send PBSZ 0 and PROT P first.",
            ));
        }
        let Some(plan) = self.data_plan.take() else {
            transfer::discard(job.direction);
            return Err(Reply::new(
                ReplyCode::CantOpenDataConnection,
                "Use PASV, EPSV, PORT or EPRT first, to set up the data connection.",
            ));
        };
        let timeouts = &self.shared.config.timeouts;
        let settings = transfer::Settings {
            transfer_type: self.transfer_type,
            peer: (!self.shared.config.permit_foreign_addresses).then(|| self.tag.peer.ip()),
            connect_timeout: timeouts.data_connect,
            stall_timeout: timeouts.data_stall,
            control: self.replier.socket(),
            fsync: self.shared.config.fsync,
            lab: self.shared.config.lab,
            tls: if self.security.private_data {
                self.session_tls.clone()
            } else {
                None
            },
        };
        transfer::start(job, plan, settings, self.replier.clone())
            .map(Outcome::Transfer)
            .map_err(|e| {
                log::error!("{} could not start a transfer thread: {e}", self.tag);
                Reply::new(
                    ReplyCode::LocalError,
                    "The server could not start the transfer.",
                )
            })
    }
}

fn refuse_folder(real: &Path, virtual_path: &str) -> Result<(), Reply> {
    if real.is_dir() {
        return Err(Reply::new(
            ReplyCode::FileUnavailable,
            format!("{} is a folder.", quote(virtual_path)),
        ));
    }
    Ok(())
}

/// The size of a file as TYPE A sends it: every LF becomes two bytes.
fn ascii_size(real: &Path) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(64 * 1024, File::open(real)?);
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
