//! The teacher's board (`--board ADDR:PORT`): the class, live, in a browser.
//!
//! A small HTTP server on threads of its own, beside the FTP server: synchronous like the rest,
//! written by hand (`board::http`) so that it can be bounded. It serves one page and what the
//! page asks for:
//!
//! | path | what |
//! |------|------|
//! | `/` | the page (`board/board.html`), which asks for `/state.json` once a second |
//! | `/board.css`, `/board.js` | its style and script, embedded in the program: no internet needed |
//! | `/state.json` | each account's row: connected, last command, bytes, the seed's stages, quiz |
//! | `/session/N.svg` | session N as a sequence diagram (`?download` to save it as a file) |
//! | `/grades.csv` | the grade sheet, as `--report` writes it at shutdown |
//!
//! Everything comes from `progress::Progress`, which the sessions' trace hooks feed: the board
//! reads the conversation, it never takes part in it.
//!
//! **Who may look.** HTTP Basic authentication with an FTP account that has the letter `S`
//! (the teacher's); anyone else gets `401`. Basic sends the password with every request, base64
//! encoded but not encrypted, like FTP's PASS: the board listens on loopback unless the teacher
//! names another address. The page shows no password: commands are shown by their verb, and
//! PASS is masked in the diagrams as in the transcripts. A correct login is remembered (as a
//! SHA-256 digest of the header) so that the page's once-a-second request does not cost one
//! Argon2 check each.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

pub mod http;
use http::{Request, Response};

use super::diagram::svg;
use super::permissions::Perm;
use super::progress::{Progress, Stage};
use super::trace::json_string;
use super::users::Users;

/// The page, its style and its script: small, commented, and compiled into the program.
const PAGE: &str = include_str!("board/board.html");
const STYLE: &str = include_str!("board/board.css");
const SCRIPT: &str = include_str!("board/board.js");

/// How many correct logins are remembered.
const REMEMBERED: usize = 16;
/// How long a login check may wait for its turn among the Argon2 checks (see `passwords`).
const LOGIN_WAIT: Duration = Duration::from_secs(10);

/// The board: what it shows and who may see it.
struct Board {
    progress: Arc<Progress>,
    users: Users,
    /// The pause before each `401` for a wrong login, as before FTP's `530`: guessing a
    /// teacher's password through the board is as slow as through FTP.
    failure_delay: Duration,
    /// SHA-256 digests of `Authorization` headers that were checked and found good.
    granted: Mutex<Vec<[u8; 32]>>,
}

/// Start the board on `address`, on threads of its own; returns the address it listens on
/// (with the real port when port 0 was asked for).
pub fn start(
    address: SocketAddr,
    progress: Arc<Progress>,
    users: Users,
    failure_delay: Duration,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(address)?;
    let bound = listener.local_addr()?;
    let board = Board {
        progress,
        users,
        failure_delay,
        granted: Mutex::new(Vec::new()),
    };
    http::serve(listener, Arc::new(move |request| board.answer(request)))?;
    Ok(bound)
}

impl Board {
    /// Answer one request.
    fn answer(&self, request: &Request) -> Response {
        if !self.allowed(request) {
            return Response::new(401, "Log in with a teacher's FTP account (letter S).\n")
                .with("WWW-Authenticate", "Basic realm=\"localftp board\"");
        }
        let path = request.path.as_str();
        match path {
            "/" | "/index.html" => page(200, PAGE, "text/html; charset=utf-8"),
            "/board.css" => page(200, STYLE, "text/css; charset=utf-8"),
            "/board.js" => page(200, SCRIPT, "text/javascript; charset=utf-8"),
            "/state.json" => page(200, &self.state(), "application/json"),
            "/grades.csv" => page(200, &self.progress.csv(), "text/csv; charset=utf-8")
                .with("Content-Disposition", "attachment; filename=\"grades.csv\""),
            _ => match session_number(path).and_then(|id| self.diagram(id)) {
                Some(picture) if request.query.contains("download") => {
                    let name = path.trim_start_matches("/session/");
                    page(200, &picture, "image/svg+xml").with(
                        "Content-Disposition",
                        format!("attachment; filename=\"session-{name}\""),
                    )
                }
                Some(picture) => page(200, &picture, "image/svg+xml"),
                None => page(404, "Not found.\n", "text/plain"),
            },
        }
    }

    /// Whether the request carries the name and password of an account with the letter `S`.
    fn allowed(&self, request: &Request) -> bool {
        let Some(value) = request.authorization.as_deref() else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        let mut granted = self.granted.lock().unwrap_or_else(|p| p.into_inner());
        if granted.contains(&digest) {
            return true;
        }
        drop(granted);
        let Some((name, password)) = basic_credentials(value) else {
            return false;
        };
        let teacher = match self.users.authenticate(&name, &password, LOGIN_WAIT) {
            Ok(Some(user)) => user.perms.allows(Perm::Sessions),
            _ => false,
        };
        if !teacher {
            thread::sleep(self.failure_delay);
        }
        if teacher {
            granted = self.granted.lock().unwrap_or_else(|p| p.into_inner());
            if granted.len() == REMEMBERED {
                granted.remove(0);
            }
            granted.push(digest);
        }
        teacher
    }

    /// `/state.json`: the stages' names, and a row per account.
    fn state(&self) -> String {
        let now = SystemTime::now();
        let ago = |t: SystemTime| now.duration_since(t).map_or(0, |d| d.as_secs());
        let stages: Vec<String> = Stage::ALL.iter().map(|s| json_string(s.name())).collect();
        let mut rows = Vec::new();
        for row in self.progress.rows() {
            let done: Vec<&str> = Stage::ALL
                .iter()
                .map(|s| if row.done(*s) { "true" } else { "false" })
                .collect();
            let (last, last_ago) = match &row.last_command {
                Some((verb, when)) => (json_string(verb), ago(*when).to_string()),
                None => ("null".into(), "null".into()),
            };
            let quiz = match row.quiz {
                Some((right, asked)) => format!("[{right},{asked}]"),
                None => "null".into(),
            };
            let sessions: Vec<String> = row
                .sessions
                .iter()
                .filter_map(|id| {
                    let live = self.progress.session(*id)?.live;
                    Some(format!("{{\"id\":{id},\"live\":{live}}}"))
                })
                .collect();
            rows.push(format!(
                "{{\"account\":{},\"connected\":{},\"last_command\":{last},\"last_ago\":{last_ago},\
                 \"bytes\":{},\"stages\":[{}],\"quiz\":{quiz},\"sessions\":[{}]}}",
                json_string(&row.account),
                row.connected,
                row.bytes,
                done.join(","),
                sessions.join(",")
            ));
        }
        format!(
            "{{\"stages\":[{}],\"rows\":[{}]}}",
            stages.join(","),
            rows.join(",")
        )
    }

    /// Session `id` as a sequence diagram, if it is still kept.
    fn diagram(&self, id: u64) -> Option<String> {
        let session = self.progress.session(id)?;
        let who = session.user.as_deref().unwrap_or("(not logged in)");
        let state = if session.live { "live" } else { "ended" };
        let mut title = format!("session {id}: {who} from {}, {state}", session.peer);
        if session.dropped > 0 {
            title.push_str(&format!(" (first {} steps)", session.steps.len()));
        }
        Some(svg(&title, &session.steps))
    }
}

/// A response with `body`, its type, and headers that keep it out of caches and frames.
fn page(status: u16, body: &str, kind: &str) -> Response {
    Response::new(status, body)
        .with("Content-Type", kind)
        .with("Cache-Control", "no-store")
        .with("X-Content-Type-Options", "nosniff")
        .with(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self'",
        )
        .with("X-Frame-Options", "DENY")
}

/// `/session/12.svg` → 12.
fn session_number(path: &str) -> Option<u64> {
    path.strip_prefix("/session/")?
        .strip_suffix(".svg")?
        .parse()
        .ok()
}

/// The name and password of an `Authorization: Basic …` header (RFC 7617): base64 of
/// `name:password`, split at the first colon.
///
/// ```
/// use localftp::server::board::basic_credentials;
/// let (name, password) = basic_credentials("Basic dGVhY2hlcjpndXJ1OjE=").unwrap();
/// assert_eq!((name.as_str(), password.as_str()), ("teacher", "guru:1"));
/// assert!(basic_credentials("Bearer abc").is_none());
/// assert!(basic_credentials("Basic !!!").is_none());
/// ```
pub fn basic_credentials(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ")?.trim();
    let text = String::from_utf8(base64_decode(encoded)?).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_string(), password.to_string()))
}

/// Standard base64 (RFC 4648 §4), padding optional; `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    // Four characters carry three bytes: 6 bits each, gathered in `bits`.
    let (mut bits, mut count) = (0u32, 0);
    for c in text.bytes() {
        bits = (bits << 6) | value(c)?;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_every_length() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode("dXNlcjoxMjM0NQ").unwrap(), b"user:12345");
        assert!(base64_decode("a b").is_none());
    }

    #[test]
    fn session_paths() {
        assert_eq!(session_number("/session/12.svg"), Some(12));
        assert_eq!(session_number("/session/x.svg"), None);
        assert_eq!(session_number("/session/12"), None);
    }
}
