//! [`UsersError`]: why an account could not be made or read, or why the accounts cannot all be
//! served, each reason with the sentence the server prints at start.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why an account could not be made or read, or why the accounts cannot all be served.
#[derive(Debug)]
pub enum UsersError {
    /// A `--user` value (or a users file line) has no `:` after the name, so no password.
    NoPassword {
        /// The value as given.
        spec: String,
    },
    /// A `--user` value (or a users file line) starts with `:`: the name is empty.
    EmptyName {
        /// The value as given.
        spec: String,
    },
    /// The permission letters of a `--user` value (or a users file line) hold an unknown one.
    Letters {
        /// The user name.
        name: String,
        /// Why the letters were refused (from [`Perms`](crate::server::permissions::Perms)'s parser).
        problem: String,
    },
    /// A users file line's password field is not an Argon2 hash in PHC form (see
    /// [`User::hashed`](super::User::hashed)): most likely a password written there in clear text.
    NotAHash,
    /// Argon2 could not hash a password ([`hash_password`](super::hash_password)).
    Hash(argon2::password_hash::Error),
    /// The users file could not be read (missing, no permission, not UTF-8).
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line of a users file is wrong; `source` says how.
    Line {
        /// The line's number, from 1.
        line: usize,
        /// What is wrong with it.
        source: Box<UsersError>,
    },
    /// Something in the users file at `path` is wrong; `source` says what (and on which line).
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<UsersError>,
    },
    /// Two accounts have the same name ([`check_names`](super::check_names)).
    SameName {
        /// The name.
        name: String,
    },
    /// An account is named `anonymous` or `ftp` while the anonymous account is on
    /// ([`check_names`](super::check_names)).
    AnonymousName {
        /// The account's name.
        name: String,
    },
}

impl fmt::Display for UsersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsersError::NoPassword { spec } => {
                write!(f, "--user {spec:?}: expected NAME:PASSWORD[:PERMS[:HOME]]")
            }
            UsersError::EmptyName { spec } => write!(f, "--user {spec:?}: the user name is empty"),
            UsersError::Letters { name, problem } => write!(f, "--user {name}: {problem}"),
            UsersError::NotAHash => f.write_str(
                "the password field is not an Argon2 hash (make one with --hash-password)",
            ),
            UsersError::Hash(e) => write!(f, "cannot hash the password: {e}"),
            UsersError::ReadFile { path, source } => {
                write!(f, "cannot read users file {}: {source}", path.display())
            }
            UsersError::Line { line, source } => write!(f, "line {line}: {source}"),
            UsersError::InFile { path, source } => write!(f, "{}: {source}", path.display()),
            UsersError::SameName { name } => write!(
                f,
                "two accounts are named {name:?} (--user, --users or --class): one of them could \
                 never log in; rename one"
            ),
            UsersError::AnonymousName { name } => write!(
                f,
                "the account {name:?} cannot log in while --anonymous is on, which takes the names \
                 \"anonymous\" and \"ftp\" with any password: rename the account or drop --anonymous"
            ),
        }
    }
}

impl std::error::Error for UsersError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UsersError::Hash(e) => Some(e),
            UsersError::ReadFile { source, .. } => Some(source),
            UsersError::Line { source, .. } | UsersError::InFile { source, .. } => Some(&**source),
            UsersError::NoPassword { .. }
            | UsersError::EmptyName { .. }
            | UsersError::Letters { .. }
            | UsersError::NotAHash
            | UsersError::SameName { .. }
            | UsersError::AnonymousName { .. } => None,
        }
    }
}
