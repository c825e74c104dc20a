//! Who may log in: user name, password, permission letters and home folder.
//!
//! The seed's server calls pyftpdlib's `DummyAuthorizer.add_user("user", "12345", "data",
//! perm="elradfmw")`: users live in memory, with plain-text passwords. localftp does the same
//! for the classroom (the `--user` flag). For anything else, [`load_users_file`] reads
//! `name:hash:perms:home` lines whose passwords are Argon2 hashes ([`hash_password`]): the
//! server never stores the password itself, and it never shows in a process list.
//!
//! The anonymous account (`--anonymous DIR`) takes the names `anonymous` and `ftp` with any
//! password, as RFC 1635 describes; its letters default to `elr`, read only. An account of
//! either name could then never log in with its own password, so [`check_names`] refuses that
//! combination at start (pyftpdlib refuses a second `anonymous` the same way).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::passwords::{Busy, Checker};
use super::permissions::Perms;

mod error;

pub use error::UsersError;

/// How an account's password is kept.
#[derive(Clone, PartialEq, Eq)]
enum Password {
    /// The password itself (the classroom's `--user` flag).
    Plain(String),
    /// An Argon2 hash in PHC form (`$argon2id$v=19$...`), from a users file.
    Hash(String),
    /// Any password is accepted (the anonymous account).
    Any,
}

/// One account.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The name sent with USER.
    pub name: String,
    password: Password,
    /// The permission letters.
    pub perms: Perms,
    /// The home folder on disk: the client's `/`.
    pub home: PathBuf,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password never reaches a log, even through {:?}.
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"***")
            .field("perms", &self.perms.to_string())
            .field("home", &self.home)
            .finish()
    }
}

impl User {
    /// A user with a plain-text password.
    pub fn new(name: &str, password: &str, perms: Perms, home: impl Into<PathBuf>) -> User {
        User {
            name: name.to_string(),
            password: Password::Plain(password.to_string()),
            perms,
            home: home.into(),
        }
    }

    /// The anonymous account: any password, the given letters, at home in `home`.
    pub fn anonymous(perms: Perms, home: impl Into<PathBuf>) -> User {
        User {
            name: "anonymous".to_string(),
            password: Password::Any,
            perms,
            home: home.into(),
        }
    }

    /// The same account, its password field read as an Argon2 hash in PHC form (what
    /// [`hash_password`] makes) rather than as the password itself.
    pub fn hashed(self) -> Result<User, UsersError> {
        let Password::Plain(hash) = &self.password else {
            return Ok(self);
        };
        if argon2::password_hash::phc::PasswordHash::new(hash).is_err() {
            return Err(UsersError::NotAHash);
        }
        let password = Password::Hash(hash.clone());
        Ok(User { password, ..self })
    }

    /// The Argon2 hash this account's password is checked against, if it has one.
    pub fn password_hash(&self) -> Option<&str> {
        match &self.password {
            Password::Hash(phc) => Some(phc),
            _ => None,
        }
    }

    /// Whether the letters let this user change anything (any letter but `e`, `l`, `r`).
    pub fn can_write(&self) -> bool {
        use super::permissions::Perm;
        self.perms
            .iter()
            .any(|perm| !matches!(perm, Perm::ChangeDir | Perm::List | Perm::Retrieve))
    }

    /// Parse the `--user NAME:PASSWORD[:PERMS[:HOME]]` flag. PERMS defaults to `elr` (read
    /// only); HOME defaults to `root`, and a relative HOME is taken inside `root`.
    ///
    /// ```
    /// use std::path::Path;
    /// use localftp::server::users::User;
    /// let bob = User::from_spec("bob:secret:elrw:bob", Path::new("data")).unwrap();
    /// assert_eq!(bob.name, "bob");
    /// assert_eq!(bob.perms.to_string(), "elrw");
    /// assert_eq!(bob.home, Path::new("data/bob"));
    /// assert!(User::from_spec("nopassword", Path::new("data")).is_err());
    /// ```
    pub fn from_spec(spec: &str, root: &Path) -> Result<User, UsersError> {
        let mut fields = spec.splitn(4, ':');
        let name = fields.next().unwrap_or_default();
        let password = fields.next().ok_or_else(|| UsersError::NoPassword {
            spec: spec.to_string(),
        })?;
        if name.is_empty() {
            return Err(UsersError::EmptyName {
                spec: spec.to_string(),
            });
        }
        let perms = match fields.next() {
            None | Some("") => "elr".parse(),
            Some(letters) => letters.parse(),
        }
        .map_err(|problem| UsersError::Letters {
            name: name.to_string(),
            problem,
        })?;
        let home = match fields.next() {
            None | Some("") => root.to_path_buf(),
            Some(home) => root.join(home),
        };
        Ok(User::new(name, password, perms, home))
    }

    /// Whether `password` is this user's password. A server checks through
    /// [`Users::authenticate`] instead, which also bounds how many Argon2 checks run at once
    /// and makes unknown names cost the same.
    pub fn password_matches(&self, password: &str) -> bool {
        match &self.password {
            Password::Plain(expected) => same_bytes(expected.as_bytes(), password.as_bytes()),
            Password::Hash(phc) => {
                use argon2::password_hash::PasswordVerifier;
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), phc.as_str())
                    .is_ok()
            }
            Password::Any => true,
        }
    }
}

/// Compare two byte strings, looking at every byte whatever the first difference, so the time
/// it takes does not tell an attacker how much of a guess was right.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut differ = a.len() ^ b.len();
    for (i, byte) in a.iter().enumerate() {
        differ |= usize::from(byte ^ b.get(i).copied().unwrap_or(!byte));
    }
    differ == 0
}

/// An Argon2id hash of `password` with a fresh random salt, in PHC form, for a users file.
///
/// ```
/// use localftp::server::users::{hash_password, User};
/// let hash = hash_password("12345").unwrap();
/// assert!(hash.starts_with("$argon2id$"));
/// let line = format!("ann:{hash}:elr:ann");
/// let users = localftp::server::users::parse_users_file(&line, std::path::Path::new("data")).unwrap();
/// assert!(users[0].password_matches("12345"));
/// assert!(!users[0].password_matches("1234"));
/// ```
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(UsersError::Hash)
}

/// Read a users file: one `name:hash:perms:home` a line (perms and home optional, as for
/// `--user`), `#` comments and blank lines ignored. The hash is what [`hash_password`] prints.
pub fn load_users_file(path: &Path, root: &Path) -> Result<Vec<User>, UsersError> {
    let text = std::fs::read_to_string(path).map_err(|source| UsersError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    parse_users_file(&text, root).map_err(|e| UsersError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// The lines of a users file, parsed (see [`load_users_file`]).
pub fn parse_users_file(text: &str, root: &Path) -> Result<Vec<User>, UsersError> {
    let mut users = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let user = User::from_spec(line, root)
            .and_then(User::hashed)
            .map_err(|e| UsersError::Line {
                line: number + 1,
                source: Box::new(e),
            })?;
        users.push(user);
    }
    Ok(users)
}

/// The names the anonymous account answers to, in any case (RFC 1635 §2).
pub const ANONYMOUS_NAMES: [&str; 2] = ["anonymous", "ftp"];

/// Whether `name` is one of [`ANONYMOUS_NAMES`], in any case.
fn is_anonymous_name(name: &str) -> bool {
    ANONYMOUS_NAMES
        .iter()
        .any(|anonymous| name.eq_ignore_ascii_case(anonymous))
}

/// Refuse accounts that the anonymous account would hide. With anonymous login on, `USER ftp`
/// is anonymous whatever password follows, so an account named `ftp` (or `anonymous`) could
/// never log in, and whoever typed its name would get the anonymous folder instead. Neither
/// quiet outcome is what the person who wrote both flags meant, so the server does not start.
/// Two accounts of the same name (from `--user`, `--users` or `--class`) are refused for the
/// same reason: the second could never log in.
///
/// ```
/// use localftp::server::users::{User, check_names};
/// let anonymous = User::anonymous("elr".parse().unwrap(), "pub");
/// let ftp = User::new("ftp", "secret", "elr".parse().unwrap(), "data");
/// assert!(check_names(&[ftp.clone()], Some(&anonymous)).is_err());
/// assert!(check_names(&[ftp], None).is_ok());
/// ```
pub fn check_names(users: &[User], anonymous: Option<&User>) -> Result<(), UsersError> {
    for (i, user) in users.iter().enumerate() {
        if users[..i].iter().any(|earlier| earlier.name == user.name) {
            return Err(UsersError::SameName {
                name: user.name.clone(),
            });
        }
    }
    if anonymous.is_none() {
        return Ok(());
    }
    match users.iter().find(|user| is_anonymous_name(&user.name)) {
        Some(user) => Err(UsersError::AnonymousName {
            name: user.name.clone(),
        }),
        None => Ok(()),
    }
}

/// All accounts of a server.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: Vec<Arc<User>>,
    anonymous: Option<Arc<User>>,
    /// Checks hashed passwords: the same cost for every name, a bound on memory.
    checker: Arc<Checker>,
}

impl Users {
    /// The accounts given, and the anonymous account if enabled.
    pub fn new(users: Vec<User>, anonymous: Option<User>) -> Users {
        let first_hash = users.iter().find_map(|user| user.password_hash());
        let checker = Arc::new(Checker::new(first_hash));
        Users {
            users: users.into_iter().map(Arc::new).collect(),
            anonymous: anonymous.map(Arc::new),
            checker,
        }
    }

    /// The user with this name and password, if there is one. The names `anonymous` and
    /// `ftp` (any case) are the anonymous account, when it is enabled.
    ///
    /// When any account has an Argon2 hash, every call costs one Argon2 verification, whether
    /// the name exists or not (see `passwords`), and waits at most `wait` for its turn among
    /// the checks running at once: `Err(Busy)` if none came.
    ///
    /// ```
    /// use std::path::Path;
    /// use std::time::Duration;
    /// use localftp::server::users::{Users, hash_password, parse_users_file};
    /// let line = format!("ann:{}:elr", hash_password("pw").unwrap());
    /// let users = Users::new(parse_users_file(&line, Path::new("data")).unwrap(), None);
    /// let wait = Duration::from_secs(10);
    /// assert!(users.authenticate("ann", "pw", wait).unwrap().is_some());
    /// assert!(users.authenticate("ann", "nope", wait).unwrap().is_none());
    /// assert!(users.authenticate("bob", "pw", wait).unwrap().is_none()); // as slow as "ann"
    /// ```
    pub fn authenticate(
        &self,
        name: &str,
        password: &str,
        wait: Duration,
    ) -> Result<Option<Arc<User>>, Busy> {
        if let (true, Some(anonymous)) = (is_anonymous_name(name), &self.anonymous) {
            return Ok(Some(Arc::clone(anonymous)));
        }
        let Some(user) = self.users.iter().find(|user| user.name == name) else {
            self.checker.pretend(password, wait)?;
            return Ok(None);
        };
        let matches = match &user.password {
            Password::Hash(phc) => self.checker.verify(password, phc, wait)?,
            // A plain password next to hashed accounts would otherwise answer fast and so
            // stand out from both; it pays the same price.
            Password::Plain(_) | Password::Any => {
                self.checker.pretend(password, wait)?;
                user.password_matches(password)
            }
        };
        Ok(matches.then(|| Arc::clone(user)))
    }

    /// Every account.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<User>> {
        self.users.iter()
    }
}

#[cfg(test)]
mod tests;
