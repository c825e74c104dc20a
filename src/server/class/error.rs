//! [`ClassError`]: why a class roster could not be loaded or its handout written, each reason
//! with the sentence the server prints at start.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::server::users::UsersError;

/// Why a class could not be loaded, or its handout written.
#[derive(Debug)]
pub enum ClassError {
    /// The roster file could not be read (missing, no permission, not UTF-8).
    ReadRoster {
        /// The roster.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line of the roster at `path` is wrong; `source` says which line, and how.
    Roster {
        /// The roster.
        path: PathBuf,
        /// The line and what is wrong with it.
        source: Box<ClassError>,
    },
    /// A roster line has a comma first, so no name.
    EmptyName {
        /// The line's number, from 1.
        line: usize,
    },
    /// A roster name cannot be a folder name on every system: it has a character other than
    /// letters, digits, `.`, `_` and `-`, or starts with `.`.
    NotAFolderName {
        /// The line's number, from 1.
        line: usize,
        /// The name.
        name: String,
    },
    /// A roster name is longer than 64 characters.
    LongName {
        /// The line's number, from 1.
        line: usize,
        /// The name.
        name: String,
    },
    /// A name is on the roster a second time.
    Twice {
        /// The line's number (of the second one), from 1.
        line: usize,
        /// The name.
        name: String,
    },
    /// The hashes file of an earlier start exists but could not be read.
    ReadAccounts {
        /// The hashes file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The hashes file of an earlier start is not a valid users file.
    Accounts {
        /// The hashes file.
        path: PathBuf,
        /// What is wrong with it (and on which line).
        source: UsersError,
    },
    /// The operating system's random source failed while a password was generated.
    Random,
    /// A generated password could not be hashed.
    Password(UsersError),
    /// The hashes file or the handout could not be written
    /// ([`Class::write`](super::Class::write)), once the server listens.
    WriteHandout {
        /// The file that could not be written: the hashes file or the handout.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl fmt::Display for ClassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassError::ReadRoster { path, source } => write!(
                f,
                "cannot read the class roster {}: {source}",
                path.display()
            ),
            ClassError::Roster { path, source } => {
                write!(f, "class roster {}: {source}", path.display())
            }
            ClassError::EmptyName { line } => write!(f, "line {line}: the name is empty"),
            ClassError::NotAFolderName { line, name } => write!(
                f,
                "line {line}: {name:?} cannot be a folder name: use letters, digits, '.', '_' and \
                 '-', not starting with '.' (and not a Windows device name such as CON or NUL, \
                 nor ending with '.')"
            ),
            ClassError::LongName { line, name } => {
                write!(f, "line {line}: {name:?} is longer than 64 characters")
            }
            ClassError::Twice { line, name } => {
                write!(f, "line {line}: {name:?} is on the roster twice")
            }
            ClassError::ReadAccounts { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ClassError::Accounts { path, source } => write!(f, "{}: {source}", path.display()),
            ClassError::Random => f.write_str("the system's random source failed"),
            ClassError::Password(e) => write!(f, "{e}"),
            ClassError::WriteHandout { path, source } => write!(
                f,
                "cannot write the class file {}: {source}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ClassError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClassError::ReadRoster { source, .. }
            | ClassError::ReadAccounts { source, .. }
            | ClassError::WriteHandout { source, .. } => Some(source),
            ClassError::Roster { source, .. } => Some(&**source),
            ClassError::Accounts { source, .. } | ClassError::Password(source) => Some(source),
            ClassError::EmptyName { .. }
            | ClassError::NotAFolderName { .. }
            | ClassError::LongName { .. }
            | ClassError::Twice { .. }
            | ClassError::Random => None,
        }
    }
}
