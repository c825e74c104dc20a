//! The transfer commands (RFC 959 §4.1.3; REST STREAM from RFC 3659 §5, STOU's `150 FILE:`
//! from RFC 1123 §4.1.2.9): RETR, STOR, APPE, STOU, REST.
//!
//! They check everything that can fail at once (path, file type, offset, the data connection
//! being set up) and answer 550/554/425 straight away; only then is the transfer handed to a
//! helper thread (`transfer::start`), which sends 150 and 226.

use std::io::{Seek, SeekFrom};

use cap_std::fs::OpenOptions;

use crate::reply::{Reply, ReplyCode};
use crate::server::command::TransferType;
use crate::server::copy::Source;
use crate::server::permissions::Perm;
use crate::server::session::{Outcome, Session};
use crate::server::transfer::{self, Direction, Job};
use crate::server::upload::{self, Upload};

use super::{io_refusal, quote};

impl Session {
    /// RETR: send a file, from the REST offset if one was given.
    pub fn retr(&mut self, path: &str, offset: Option<u64>) -> Result<Outcome, Reply> {
        let virtual_path = self.locate(path)?;
        let mut file = self
            .jail()?
            .open(&virtual_path, OpenOptions::new().read(true))
            .map_err(|e| self.refused("Cannot open", &virtual_path, e))?;
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
            size: (self.settings.transfer_type() == TransferType::Image)
                .then_some(meta.len() - offset),
            preliminary: None,
            context: None,
        };
        self.start_transfer(job)
    }

    /// STOR: receive a file. A fresh upload replaces the target atomically; after `REST n`
    /// (n > 0) it resumes in place, which also needs the `a` letter.
    pub fn stor(&mut self, path: &str, offset: Option<u64>) -> Result<Outcome, Reply> {
        let virtual_path = self.locate(path)?;
        self.refuse_folder(&virtual_path)?;
        let jail = self.jail()?.clone();
        let upload = match offset {
            Some(offset) if offset > 0 => {
                // The one permission rule that depends on state (see permissions.rs).
                let (user, _) = self.account()?;
                if !self.shared.letters.at(user.perms, &virtual_path).allows(Perm::Append) {
                    return Err(Reply::new(
                        ReplyCode::FileUnavailable,
                        "Permission denied: resuming an upload (REST then STOR) needs the 'a' permission.",
                    ));
                }
                let size = jail.metadata(&virtual_path).map(|m| m.len()).unwrap_or(0);
                let offset = self.check_offset(Some(offset), size)?;
                upload::open_in_place(&jail, &virtual_path, Some(offset))
            }
            _ => upload::create_upload(jail, &virtual_path),
        }
        .map_err(|e| self.refused("Cannot store", &virtual_path, e))?;
        self.start_upload("STOR", virtual_path, upload, None)
    }

    /// APPE: receive a file and add it to the end of the target (created if missing).
    pub fn appe(&mut self, path: &str) -> Result<Outcome, Reply> {
        let virtual_path = self.locate(path)?;
        self.refuse_folder(&virtual_path)?;
        let upload = upload::open_in_place(self.jail()?, &virtual_path, None)
            .map_err(|e| self.refused("Cannot append to", &virtual_path, e))?;
        self.start_upload("APPE", virtual_path, upload, None)
    }

    /// STOU: receive a file under a new name the server picks; the 150 reply says which
    /// (`150 FILE: name`, RFC 1123 §4.1.2.9).
    pub fn stou(&mut self) -> Result<Outcome, Reply> {
        for _ in 0..16 {
            let name = self.watch.stou_name();
            let virtual_path = self.locate(&name)?;
            let jail = self.jail()?.clone();
            if jail.symlink_metadata(&virtual_path).is_ok() {
                continue;
            }
            let upload = upload::create_upload(jail, &virtual_path)
                .map_err(|e| self.refused("Cannot store", &virtual_path, e))?;
            let preliminary = format!("FILE: {name}");
            return self.start_upload("STOU", virtual_path, upload, Some(preliminary));
        }
        Err(Reply::new(
            ReplyCode::LocalError,
            "Could not pick a unique name.",
        ))
    }

    /// REST: remember a byte offset for the next RETR or STOR (RFC 3659 §5).
    pub fn rest(&mut self, offset: u64) -> Reply {
        self.settings.set_restart_offset(offset);
        Reply::new(
            ReplyCode::FileActionPending,
            format!("Restarting at {offset}. Send RETR or STOR to start the transfer."),
        )
    }

    /// The REST offset for a transfer, checked: past the end is 554 (RFC 3659 §5.4), and in
    /// ASCII mode offsets are refused, since bytes on the wire and on disk differ there.
    fn check_offset(&self, offset: Option<u64>, size: u64) -> Result<u64, Reply> {
        let offset = offset.unwrap_or(0);
        if offset == 0 {
            return Ok(0);
        }
        if self.settings.transfer_type() == TransferType::Ascii {
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
        job.context = self.watch.transfer_context(|| self.login.describe());
        if self.shared.config.require_tls && !self.settings.private_data() {
            // Dropping the job drops an upload's temporary file with it (see `TempUpload`).
            return Err(Reply::new(
                ReplyCode::ProtectionLevelRefused,
                "Data connections must be encrypted here: send PBSZ 0 and PROT P first.",
            ));
        }
        let Some(plan) = self.settings.take_data_plan() else {
            // Dropping the job drops an upload's temporary file with it (see `TempUpload`).
            return Err(Reply::new(
                ReplyCode::CantOpenDataConnection,
                "Use PASV, EPSV, PORT or EPRT first, to set up the data connection.",
            ));
        };
        let timeouts = &self.shared.config.timeouts;
        let settings = transfer::Settings {
            transfer_type: self.settings.transfer_type(),
            peer: (!self.shared.config.permit_foreign_addresses).then(|| self.tag.peer.ip()),
            connect_timeout: timeouts.data_connect,
            stall_timeout: timeouts.data_stall,
            control: self.replier.socket(),
            registry: std::sync::Arc::clone(&self.shared.registry),
            fsync: self.shared.config.fsync,
            rate: match job.direction {
                Direction::Send(_) => self.shared.config.download_rate,
                Direction::Receive(_) => self.shared.config.upload_rate,
            },
            lab: self.watch.lab(),
            tls: if self.settings.private_data() {
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

impl Session {
    /// STOR and APPE onto a folder: refused before any data connection is made.
    fn refuse_folder(&self, virtual_path: &str) -> Result<(), Reply> {
        if self
            .jail()?
            .metadata(virtual_path)
            .is_ok_and(|m| m.is_dir())
        {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                format!("{} is a folder.", quote(virtual_path)),
            ));
        }
        Ok(())
    }
}
