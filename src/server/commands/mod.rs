//! The command handlers, one module per family of RFC 959 §4.1 (plus the extensions).
//!
//! | module | family | commands |
//! |--------|--------|----------|
//! | [`access`] | access control, §4.1.1 | USER PASS ACCT CWD CDUP REIN QUIT |
//! | [`parameters`] | transfer parameters, §4.1.2; RFC 2428 | PORT EPRT PASV EPSV TYPE |
//! | [`transfers`] | service commands that move a file, §4.1.3; RFC 3659 | RETR STOR APPE STOU REST |
//! | [`files`] | service commands on files, §4.1.3; RFC 3659 | DELE RMD MKD RNFR RNTO SIZE MDTM MFMT |
//! | [`listing`] | service commands that list, §4.1.3; RFC 3659 | LIST NLST MLSD MLST, STAT with a path |
//! | [`info`] | informational, §4.1.3; RFC 2389 | PWD SYST STAT FEAT OPTS HELP SITE |
//! | [`security`] | RFC 2228 §3, RFC 4217 (FTPS) | AUTH PBSZ PROT CCC |
//!
//! Each handler is a method on [`Session`] and returns the reply it
//! causes, so the reply is written next to the reason for it.
//!
//! The rule for the return type: a handler that can refuse (any 4xx or 5xx reply) returns
//! `Result<Reply, Reply>`, or `Result<Outcome, Reply>` when its success starts a transfer or
//! TLS; the refusal is the `Err`, so `?` stops at the first one. A refusal that also closes the
//! connection (PASS's last 530) can only be an `Ok(Outcome::Close(..))`. A handler that always
//! does its work (PWD, SYST, STAT, REST, TYPE, ACCT, REIN, QUIT) returns its `Reply` or `Outcome`.

pub mod access;
pub mod files;
pub mod info;
pub mod listing;
pub mod parameters;
pub mod security;
pub mod transfers;

use super::jail::{Jail, JailError, beneath, is_reserved, resolve, windows_name_problem};
use super::session::Session;
use crate::reply::{Reply, ReplyCode};

impl Session {
    /// The virtual path for a path the client named (joined to the current folder, `..`
    /// folded), or the refusal if it names one of the server's own files. Nothing on disk is
    /// looked at here: each handler then asks its [`Jail`] for the one operation it needs, and
    /// the jail's answer is final (see `jail.rs`: there is no check that could go stale).
    pub fn locate(&self, arg: &str) -> Result<String, Reply> {
        let virtual_path = resolve(self.settings.cwd(), arg);
        if is_reserved(&virtual_path) {
            return Err(Reply::new(
                ReplyCode::FileNameNotAllowed,
                format!(
                    "{}: names starting with {} are the server's own (uploads in progress).",
                    quote(&virtual_path),
                    super::jail::UPLOAD_TEMP_PREFIX
                ),
            ));
        }
        if crate::platform::WINDOWS_NAMES {
            let problem = virtual_path.split('/').find_map(windows_name_problem);
            if let Some(problem) = problem {
                return Err(Reply::new(
                    ReplyCode::FileNameNotAllowed,
                    format!("{}: {problem}.", quote(&virtual_path)),
                ));
            }
        }
        // For --explain and transcripts: the path below the home folder, so the note says what
        // the jail did without printing the server's own layout.
        self.watch.jail(|| {
            format!(
                "{virtual_path} → (home)/{}",
                beneath(&virtual_path).display()
            )
        });
        Ok(virtual_path)
    }

    /// [`Session::locate`] for a command that may not act on the home folder itself (RMD,
    /// RNFR, SITE CHMOD): `/` is refused with "Cannot `doing` your home folder."
    pub fn locate_below_home(&self, arg: &str, doing: &str) -> Result<String, Reply> {
        let virtual_path = self.locate(arg)?;
        if virtual_path == "/" {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                format!("Cannot {doing} your home folder."),
            ));
        }
        Ok(virtual_path)
    }

    /// The logged-in user's jail.
    pub fn jail(&self) -> Result<&Jail, Reply> {
        self.account().map(|(_, jail)| jail)
    }

    /// The reply for an operation the jail did not do: `what` says which (`Cannot open`, …).
    /// A path that leads outside the home is logged, and answered in the same words as one that
    /// does not exist.
    pub fn refused(&self, what: &str, virtual_path: &str, error: JailError) -> Reply {
        self.watch.jail(|| match &error {
            JailError::Outside => format!("{virtual_path} refused: it leads outside the home"),
            JailError::NotFound => format!("{virtual_path} refused: it does not exist"),
            JailError::Io(e) => format!("{virtual_path} refused: {e}"),
        });
        match error {
            JailError::Outside => {
                log::warn!(
                    "{} jail: {virtual_path} leads outside the home; refused",
                    self.tag
                );
                not_found(virtual_path)
            }
            JailError::NotFound => not_found(virtual_path),
            JailError::Io(e) => io_refusal(what, virtual_path, &e),
        }
    }
}

/// A path in double quotes, with quotes inside doubled (RFC 959 Appendix II, for 257 replies).
///
/// ```
/// use localftp::server::commands::quote;
/// assert_eq!(quote("/a \"b\""), "\"/a \"\"b\"\"\"");
/// ```
pub fn quote(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

/// The one reply for "no such file or folder", whatever the reason behind it.
pub fn not_found(path: &str) -> Reply {
    Reply::new(
        ReplyCode::FileUnavailable,
        format!("{}: no such file or folder.", quote(path)),
    )
}

/// The reply for a file-system error on a path the client named.
pub fn io_refusal(what: &str, path: &str, error: &std::io::Error) -> Reply {
    use std::io::ErrorKind::*;
    let reason = match error.kind() {
        // Worded exactly as the jail's refusal (see `locate`), so a client cannot tell a name
        // that does not exist from one that leads outside its home.
        NotFound => return not_found(path),
        PermissionDenied => "the server's file system refused access".to_string(),
        AlreadyExists => "it already exists".to_string(),
        DirectoryNotEmpty => "the folder is not empty".to_string(),
        IsADirectory => "it is a folder".to_string(),
        NotADirectory => "it is not a folder".to_string(),
        StorageFull => {
            return Reply::new(
                ReplyCode::InsufficientStorage,
                format!("{what} {}: the server's disk is full.", quote(path)),
            );
        }
        // As an upload that reaches the quota is answered (`copy::Failure::reply`).
        QuotaExceeded => {
            return Reply::new(
                ReplyCode::ExceededStorage,
                format!("{what} {}: the disk quota is exceeded.", quote(path)),
            );
        }
        _ => error.to_string(),
    };
    Reply::new(
        ReplyCode::FileUnavailable,
        format!("{what} {}: {reason}.", quote(path)),
    )
}
