//! Who a session is, in every log line: `[#3 127.0.0.1:50412]`, then `[#3 alice@…]` once
//! someone has logged in; and what of a command line may be logged (never a password).
//!
//! A leaf module: the trace, the transcript, the control connection and the session all use it,
//! and it uses none of them.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Who a session is, for log lines: `[#3 127.0.0.1:50412]`, and once someone has logged in
/// `[#3 alice@127.0.0.1:50412]`, so a teacher can tell from the log alone who did what.
///
/// The user can change while the session runs (PASS, REIN), and copies of the tag live in
/// other places (the reply writer, the transfer thread, the trace). So the user sits in one
/// cell that every clone shares: [`SessionTag::set_user`] on any of them changes what all of
/// them print.
#[derive(Debug, Clone)]
pub struct SessionTag {
    /// The session's number, counted from 1 since the server started.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// Who is logged in, if anyone; shared by every clone of this tag.
    user: Arc<Mutex<Option<Arc<str>>>>,
}

impl SessionTag {
    /// The tag of a new session: nobody logged in yet.
    ///
    /// ```
    /// use localftp::server::trace::SessionTag;
    /// let tag = SessionTag::new(3, "127.0.0.1:5555".parse().unwrap());
    /// let copy = tag.clone();
    /// assert_eq!(tag.to_string(), "[#3 127.0.0.1:5555]");
    /// tag.set_user(Some("alice"));
    /// assert_eq!(copy.to_string(), "[#3 alice@127.0.0.1:5555]");
    /// tag.set_user(None); // REIN
    /// assert_eq!(copy.to_string(), "[#3 127.0.0.1:5555]");
    /// ```
    pub fn new(id: u64, peer: SocketAddr) -> SessionTag {
        SessionTag {
            id,
            peer,
            user: Arc::new(Mutex::new(None)),
        }
    }

    /// Who is logged in, if anyone.
    pub fn user(&self) -> Option<Arc<str>> {
        self.user.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Name the user in this tag and every clone of it (`None`: logged out).
    pub fn set_user(&self, user: Option<&str>) {
        *self.user.lock().unwrap_or_else(|p| p.into_inner()) = user.map(Arc::from);
    }
}

impl fmt::Display for SessionTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.user() {
            Some(user) => write!(f, "[#{} {user}@{}]", self.id, self.peer),
            None => write!(f, "[#{} {}]", self.id, self.peer),
        }
    }
}

/// A command line as it may be logged: the password of PASS is replaced by `****`.
///
/// ```
/// use localftp::server::trace::loggable;
/// assert_eq!(loggable("PASS 12345"), "PASS ****");
/// assert_eq!(loggable("pass"), "pass ****");
/// assert_eq!(loggable("USER user"), "USER user");
/// ```
pub fn loggable(line: &str) -> std::borrow::Cow<'_, str> {
    let verb = line.split(' ').next().unwrap_or("");
    if verb.eq_ignore_ascii_case("PASS") {
        format!("{verb} ****").into()
    } else {
        line.into()
    }
}
