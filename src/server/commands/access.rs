//! Access control commands (RFC 959 §4.1.1): USER, PASS, ACCT, CWD, CDUP, REIN, QUIT.
//!
//! Login is two steps: `USER name` → `331`, then `PASS secret` → `230` or `530`. USER always
//! answers 331, whether the name exists or not: a different reply would tell an attacker which
//! names are worth guessing passwords for (RFC 2577 §5).

use std::sync::Arc;

use crate::reply::{Reply, ReplyCode};
use crate::server::jail::resolve;
use crate::server::passwords::Busy;
use crate::server::session::{Login, Outcome, Session};
use crate::server::settings::Settings;

use super::quote;

impl Session {
    /// USER: remember the name and ask for the password.
    pub fn user(&mut self, name: &str) -> Result<Reply, Reply> {
        if let Login::LoggedIn { user, .. } = &self.login {
            // RFC 959 lets a server refuse a change of user mid-session; REIN is the way to
            // log out first. pyftpdlib and vsftpd refuse it the same way.
            return Err(Reply::new(
                ReplyCode::NotLoggedIn,
                format!(
                    "Already logged in as {}; send REIN to log out first.",
                    user.name
                ),
            ));
        }
        self.login = Login::AwaitingPassword {
            user: name.to_string(),
        };
        Ok(Reply::new(
            ReplyCode::UserNameOkay,
            "Username ok, send password.",
        ))
    }

    /// PASS: check the password given for the name from USER. A wrong one is answered only
    /// after `login_failure_delay`, and the session is closed after `max_login_attempts`
    /// (RFC 2577 §4: make password guessing slow). Refusals that close the connection are
    /// `Ok(Outcome::Close(..))`: an `Err` is answered and the session goes on.
    pub fn pass(&mut self, password: &str) -> Result<Outcome, Reply> {
        let name = match &self.login {
            Login::AwaitingPassword { user } => user.clone(),
            Login::AwaitingUser => {
                return Err(Reply::new(ReplyCode::BadSequence, "Login with USER first."));
            }
            Login::LoggedIn { .. } => {
                return Err(Reply::new(ReplyCode::BadSequence, "Already logged in."));
            }
        };
        // The check may wait for its turn among the checks running at once (see
        // `passwords`); a session waits no longer than it would for a command.
        let wait = self.shared.config.timeouts.idle;
        let user = match self.shared.users.authenticate(&name, password, wait) {
            Ok(Some(user)) => user,
            Ok(None) => return self.login_failed(&name),
            Err(Busy) => {
                log::warn!(
                    "{} password check for {name:?} waited {} s for a turn; closing",
                    self.tag,
                    wait.as_secs()
                );
                self.login = Login::AwaitingUser;
                return Ok(Outcome::Close(Reply::new(
                    ReplyCode::ServiceNotAvailable,
                    "Too many logins are being checked at once; try again later.",
                )));
            }
        };
        let jail = match self.shared.jail_for(&user.home) {
            Ok(jail) => jail,
            Err(e) => {
                self.login = Login::AwaitingUser;
                log::error!(
                    "{} home folder {} of {name:?} is unusable: {e}",
                    self.tag,
                    user.home.display()
                );
                return Err(Reply::new(
                    ReplyCode::NotLoggedIn,
                    "Login refused: your home folder is not available on the server.",
                ));
            }
        };
        log::info!("{} user {:?} logged in", self.tag, user.name);
        self.login = Login::LoggedIn {
            user: Arc::clone(&user),
            jail,
        };
        self.settings.set_cwd("/".to_string());
        Ok(Reply::new(ReplyCode::UserLoggedIn, "Login successful.").into())
    }

    /// A wrong password: 530, or 530 and close once the attempts are used up.
    fn login_failed(&mut self, name: &str) -> Result<Outcome, Reply> {
        self.login = Login::AwaitingUser;
        self.failed_logins += 1;
        let config = &self.shared.config;
        log::warn!(
            "{} login failed for user {name:?} (attempt {} of {})",
            self.tag,
            self.failed_logins,
            config.max_login_attempts
        );
        std::thread::sleep(config.login_failure_delay);
        if self.failed_logins >= config.max_login_attempts {
            log::warn!("{} too many failed logins; closing", self.tag);
            return Ok(Outcome::Close(Reply::new(
                ReplyCode::NotLoggedIn,
                format!(
                    "Login incorrect. {} failed attempts: closing the connection.",
                    self.failed_logins
                ),
            )));
        }
        Err(Reply::new(ReplyCode::NotLoggedIn, "Login incorrect."))
    }

    /// ACCT: accounts are not used here (RFC 959 lets a server say so with 202).
    pub fn acct(&self) -> Reply {
        Reply::new(
            ReplyCode::CommandSuperfluous,
            "ACCT not needed: this server has no accounts beyond USER and PASS.",
        )
    }

    /// CWD (and CDUP, which is `CWD ..`): change the current folder.
    pub fn cwd(&mut self, path: &str) -> Result<Reply, Reply> {
        // A missing folder and one the jail refuses get the same words (see `locate`).
        let failed = |what: &str| {
            Reply::new(
                ReplyCode::FileUnavailable,
                format!("Failed to change directory: {what}."),
            )
        };
        let virtual_path = self.locate(path).map_err(|_| {
            failed(&format!(
                "{}: no such folder",
                quote(&resolve(self.settings.cwd(), path))
            ))
        })?;
        let meta = self.jail()?.metadata(&virtual_path).map_err(|e| {
            // Said in the log and to --explain; the client hears only "no such folder".
            self.refused("Failed to change directory to", &virtual_path, e);
            failed(&format!("{}: no such folder", quote(&virtual_path)))
        })?;
        if !meta.is_dir() {
            return Err(failed(&format!("{} is not a folder", quote(&virtual_path))));
        }
        self.settings.set_cwd(virtual_path);
        Ok(Reply::new(
            ReplyCode::FileActionOkay,
            format!(
                "Directory successfully changed to {}.",
                quote(self.settings.cwd())
            ),
        ))
    }

    /// REIN: log out and start over, keeping the connection (RFC 959 §4.1.1).
    pub fn rein(&mut self) -> Reply {
        self.finish_transfer();
        self.login = Login::AwaitingUser;
        // Everything this login set, at once; TLS on the control connection stays (undoing it
        // would need CCC).
        self.settings = Settings::default();
        Reply::new(ReplyCode::ServiceReady, "Logged out; ready for a new user.")
    }

    /// QUIT: say goodbye and close.
    pub fn quit(&mut self) -> Outcome {
        Outcome::Close(Reply::new(ReplyCode::ClosingControlConnection, "Goodbye."))
    }
}
