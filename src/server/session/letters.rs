//! What the logged-in account may do: its user and jail (`account`), the letters that hold for
//! a command (`letters_for`), and how `--explain` words the login state and the command.

use std::sync::Arc;

use super::{Login, Session};
use crate::reply::{Reply, ReplyCode};
use crate::server::command::Command;
use crate::server::jail::{Jail, resolve};
use crate::server::permissions::{self, Perms};
use crate::server::users::User;

impl Session {
    /// The logged-in user and jail. The gate lets only logged-in sessions reach the handlers
    /// that ask, so the 530 here is a second line of defence, not a path clients take.
    pub fn account(&self) -> Result<(&Arc<User>, &Jail), Reply> {
        match &self.login {
            Login::LoggedIn { user, jail } => Ok((user, jail)),
            _ => Err(Reply::new(
                ReplyCode::NotLoggedIn,
                "Please log in with USER and PASS first.",
            )),
        }
    }

    /// The letters that hold for `command`: the user's own, or those of the folder it names
    /// (`--share`, `--folder-perms`); and, in the second case, words naming that folder for a
    /// refusal (" in /Materi").
    pub fn letters_for(&self, user: &User, command: &Command) -> (Perms, String) {
        let Some(path) = permissions::target(command) else {
            return (user.perms, String::new());
        };
        let path = resolve(self.settings.cwd(), path);
        let letters = self.shared.letters.at(user.perms, &path);
        match letters == user.perms {
            true => (letters, String::new()),
            false => (letters, format!(" in {path}")),
        }
    }

    /// What `command` is, for `--explain`: `for RETR (RFC 959 §4.1.3); permission 'r'
    /// granted`. The state and the jail's decision are added with the reply (see
    /// `instruments::SessionWatch`).
    pub(super) fn describe(&self, command: &Command) -> String {
        let mut why = format!("for {} ({})", command.verb(), command.rfc_section());
        if let (Some(perm), Login::LoggedIn { user, .. }) =
            (permissions::required(command), &self.login)
        {
            let verdict = if self.letters_for(user, command).0.allows(perm) {
                "granted"
            } else {
                "missing"
            };
            why.push_str(&format!("; permission '{}' {verdict}", perm.letter()));
        }
        why
    }
}

impl Login {
    /// The state in a few words, for `--explain`: `awaiting-user`, `logged-in as user`.
    pub fn describe(&self) -> String {
        match self {
            Login::AwaitingUser => "awaiting-user".to_string(),
            Login::AwaitingPassword { user } => format!("awaiting-password for {user}"),
            Login::LoggedIn { user, .. } => format!("logged-in as {}", user.name),
        }
    }
}
