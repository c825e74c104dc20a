//! Who may log in: user name, password, permission letters and home folder.
//!
//! The seed's server calls pyftpdlib's `DummyAuthorizer.add_user("user", "12345", "data",
//! perm="elradfmw")`: users live in memory, with plain-text passwords. localftp does the same
//! for the classroom (the `--user` flag). A production server keeps only password hashes, reads
//! them from a file or a database, and never shows a password in a process list.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::permissions::Perms;

/// One account.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The name sent with USER.
    pub name: String,
    password: String,
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
            password: password.to_string(),
            perms,
            home: home.into(),
        }
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
    pub fn from_spec(spec: &str, root: &Path) -> Result<User, String> {
        let mut fields = spec.splitn(4, ':');
        let name = fields.next().unwrap_or_default();
        let password = fields
            .next()
            .ok_or_else(|| format!("--user {spec:?}: expected NAME:PASSWORD[:PERMS[:HOME]]"))?;
        if name.is_empty() {
            return Err(format!("--user {spec:?}: the user name is empty"));
        }
        let perms = match fields.next() {
            None | Some("") => "elr".parse(),
            Some(letters) => letters.parse(),
        }
        .map_err(|e| format!("--user {name}: {e}"))?;
        let home = match fields.next() {
            None | Some("") => root.to_path_buf(),
            Some(home) => root.join(home),
        };
        Ok(User::new(name, password, perms, home))
    }

    /// Whether `password` is this user's password.
    ///
    /// The comparison looks at every byte whatever the first difference, so the time it
    /// takes does not tell an attacker how much of a guess was right.
    pub fn password_matches(&self, password: &str) -> bool {
        let (a, b) = (self.password.as_bytes(), password.as_bytes());
        let mut differ = a.len() ^ b.len();
        for (i, byte) in a.iter().enumerate() {
            differ |= usize::from(byte ^ b.get(i).copied().unwrap_or(!byte));
        }
        differ == 0
    }
}

/// All accounts of a server.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: Vec<Arc<User>>,
}

impl Users {
    /// The accounts given.
    pub fn new(users: Vec<User>) -> Users {
        Users {
            users: users.into_iter().map(Arc::new).collect(),
        }
    }

    /// The user with this name and password, if there is one.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<Arc<User>> {
        self.users
            .iter()
            .find(|user| user.name == name && user.password_matches(password))
            .cloned()
    }

    /// Every account.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<User>> {
        self.users.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_compare_exactly() {
        let user = User::new("user", "12345", Perms::default(), "data");
        assert!(user.password_matches("12345"));
        assert!(!user.password_matches("1234"));
        assert!(!user.password_matches("123456"));
        assert!(!user.password_matches(""));
        assert!(!user.password_matches("12346"));
    }

    #[test]
    fn debug_hides_the_password() {
        let user = User::new("user", "12345", Perms::default(), "data");
        assert!(!format!("{user:?}").contains("12345"));
    }

    #[test]
    fn spec_defaults() {
        let user = User::from_spec("ann:pw", Path::new("/srv")).unwrap();
        assert_eq!(user.perms.to_string(), "elr");
        assert_eq!(user.home, Path::new("/srv"));
        let user = User::from_spec("ann:pw:elradfmw:/abs", Path::new("/srv")).unwrap();
        assert_eq!(user.home, Path::new("/abs"));
        assert!(User::from_spec(":pw", Path::new("/srv")).is_err());
        assert!(User::from_spec("ann:pw:xyz", Path::new("/srv")).is_err());
        // An empty password is allowed (some classroom setups use one).
        assert!(User::from_spec("ann:", Path::new("/srv")).is_ok());
    }

    #[test]
    fn authenticate_needs_both() {
        let users = Users::new(vec![User::new("user", "12345", Perms::default(), "data")]);
        assert!(users.authenticate("user", "12345").is_some());
        assert!(users.authenticate("user", "wrong").is_none());
        assert!(users.authenticate("other", "12345").is_none());
    }
}
