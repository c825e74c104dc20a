//! The session loop's bookkeeping around each command: sending a reply (`say`), following a
//! login into the logs and the transcript, and noting the command for SITE WHO. It logs as the
//! session (`localftp::server::session`).

use std::io;

use super::{Login, Session};
use crate::reply::Reply;

impl Session {
    /// After each reply: if the command changed who is logged in (PASS accepted, REIN), the
    /// log lines and the transcript follow. Done here, after the reply, so that the PASS and
    /// its 230 go into the transcript that the login names, and a REIN and its reply end the
    /// logged-out user's transcript rather than start the next one.
    pub(super) fn follow_login(&self) {
        let now = match &self.login {
            Login::LoggedIn { user, .. } => Some(user.name.as_str()),
            _ => None,
        };
        let before = self.tag.user();
        if before.as_deref() == now {
            return;
        }
        self.tag.set_user(now);
        self.watch.login_changed(before.as_deref(), now);
    }

    /// Send a reply from the session loop. `false` means the control connection is no good
    /// any more; the reason is logged here, once, and the loop then ends the session.
    pub(super) fn say(&self, reply: &Reply) -> bool {
        match self.replier.send(reply) {
            Ok(()) => true,
            Err(e) if is_timeout(&e) => {
                log::warn!(
                    target: "localftp::server::session",
                    "{} stopped reading replies: none could be written for {} s; closing",
                    self.tag,
                    self.shared.config.timeouts.idle.as_secs()
                );
                false
            }
            Err(e) => {
                log::info!(
                    target: "localftp::server::session",
                    "{} control connection lost while replying: {e}",
                    self.tag
                );
                false
            }
        }
    }

    /// Record the command for SITE WHO: its verb (never its argument: a password), and who is
    /// logged in.
    pub(super) fn note_activity(&self, line: &str) {
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let user = match &self.login {
            Login::LoggedIn { user, .. } => Some(user.name.clone()),
            _ => None,
        };
        let mut activity = self.activity.lock().unwrap_or_else(|p| p.into_inner());
        activity.command = verb;
        activity.user = user;
        activity.since = std::time::Instant::now();
    }
}

/// Whether a read or a write gave up waiting (the idle timeout).
pub(super) fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
