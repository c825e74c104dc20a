//! `--transcript DIR`: the files a session's records go to, named after who logged in.
//!
//! A teacher with thirty students on one server needs to find Alice's session afterwards, so a
//! transcript's file is named after its user, the time it started and a number:
//! `alice-20261130-101502-1.txt` and `.jsonl` (the time is UTC, as FTP's own times are; `-` and
//! no `:`, so the name is valid on Windows too). With `--lab` there is no time, so two runs
//! give the same names: `alice-1.txt`.
//!
//! The user is known only after PASS, but the greeting, USER and a wrong password belong in
//! the same file. So the records wait in memory until the login, and the file is created then,
//! with everything before it. A session that never logs in is written when it ends, as
//! `unlogged-…`. REIN logs the user out and the connection starts over (RFC 959 §4.1.1): the
//! REIN and its reply end that file, and what follows goes to a new one, named after the next
//! user (or `unlogged-…`). A client that sends a lot before logging in cannot fill the memory:
//! past [`WAITING_LIMIT`] its file is created at once, as `unlogged-…`.
//!
//! A file is never overwritten, not even by a restarted server whose session numbers start at 1
//! again: each is created with `create_new`, which fails if the name exists, and the number at
//! the end goes up until a free name is found. Two sessions racing for the same name cannot
//! both get it: the operating system decides which `create_new` wins.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::clock::timeval;
use super::tag::SessionTag;

/// How many bytes of records may wait in memory for a login before the file is created anyway.
pub const WAITING_LIMIT: usize = 256 * 1024;

/// The name of a transcript nobody logged in to.
const UNLOGGED: &str = "unlogged";

/// One session's transcript: the part since the connection (or since the last REIN).
pub struct Transcript {
    dir: PathBuf,
    lab: bool,
    /// How the client's address is shown in the header (without the port in `--lab`).
    peer: String,
    /// How many parts this session has had (REIN starts a new one).
    parts: u32,
    /// When this part began: the time in its file's name.
    started: SystemTime,
    /// The number of this part's last record.
    sequence: u64,
    output: Output,
}

/// Where the records go.
enum Output {
    /// Nobody has logged in yet: the records wait, text and JSON, for the file's name.
    Waiting { text: String, json: String },
    /// The files are open.
    Open {
        text: BufWriter<File>,
        json: BufWriter<File>,
    },
    /// The files could not be created (said once in the log); records are dropped.
    Failed,
}

impl Transcript {
    /// The transcript of a new session, writing into `dir` (created if missing).
    pub fn new(dir: &Path, tag: &SessionTag, lab: bool) -> io::Result<Transcript> {
        std::fs::create_dir_all(dir)?;
        let peer = if lab {
            tag.peer.ip().to_string()
        } else {
            tag.peer.to_string()
        };
        Ok(Transcript {
            dir: dir.to_path_buf(),
            lab,
            peer,
            parts: 1,
            started: SystemTime::now(),
            sequence: 0,
            output: Output::Waiting {
                text: String::new(),
                json: String::new(),
            },
        })
    }

    /// The number for the next record (each part counts from 1).
    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Add one record: its text lines and its JSON line.
    pub fn write(&mut self, text: &str, json: &str, tag: &SessionTag) {
        match &mut self.output {
            Output::Waiting {
                text: waiting,
                json: waiting_json,
            } => {
                waiting.push_str(text);
                waiting_json.push_str(json);
                if waiting.len() + waiting_json.len() > WAITING_LIMIT {
                    self.create(None, tag);
                }
            }
            Output::Open {
                text: text_file,
                json: json_file,
            } => {
                // A transcript that cannot be written must not end the session: it is a side
                // record. Flushed at once, so a teacher can read it while the session goes on.
                let _ = text_file.write_all(text.as_bytes());
                let _ = json_file.write_all(json.as_bytes());
                let _ = text_file.flush();
                let _ = json_file.flush();
            }
            Output::Failed => {}
        }
    }

    /// `user` logged in: create the files, named after them, with the records so far. (Files
    /// already created, because too much came before the login, keep their name.)
    pub fn logged_in(&mut self, user: &str, tag: &SessionTag) {
        if matches!(self.output, Output::Waiting { .. }) {
            self.create(Some(user), tag);
        }
    }

    /// The user logged out (REIN): this part's files end here, and a new part begins, waiting
    /// for the next login.
    pub fn logged_out(&mut self, tag: &SessionTag) {
        self.finish(tag);
        self.parts += 1;
        self.started = SystemTime::now();
        self.sequence = 0;
        self.output = Output::Waiting {
            text: String::new(),
            json: String::new(),
        };
    }

    /// The session is over: records still waiting for a login are written, as `unlogged-…`.
    pub fn finish(&mut self, tag: &SessionTag) {
        if let Output::Waiting { text, .. } = &self.output
            && !text.is_empty()
        {
            self.create(None, tag);
        }
        // Dropping the writers flushes and closes the files.
        self.output = Output::Failed;
    }

    /// Create this part's files for `user` (`None`: nobody logged in) and write the header
    /// and the waiting records into them.
    fn create(&mut self, user: Option<&str>, tag: &SessionTag) {
        let Output::Waiting { text, json } = std::mem::replace(&mut self.output, Output::Failed)
        else {
            return;
        };
        let who = user.map_or_else(|| UNLOGGED.to_string(), file_safe);
        let time = (!self.lab).then(|| timeval(self.started));
        let (path, mut text_file, mut json_file) =
            match create_new_pair(&self.dir, |n| file_stem(&who, time.as_deref(), n)) {
                Ok(created) => created,
                Err(e) => {
                    log::warn!(
                        "{tag} cannot create a transcript in {}: {e}",
                        self.dir.display()
                    );
                    return;
                }
            };
        let after_rein = if self.parts > 1 { " (after REIN)" } else { "" };
        let login = match user {
            Some(user) => format!("user {user}"),
            None => "no login".to_string(),
        };
        let header = format!(
            "localftp transcript of session {}{after_rein}, {login}, from {}\n",
            tag.id, self.peer
        );
        let written = text_file
            .write_all(header.as_bytes())
            .and_then(|()| text_file.write_all(text.as_bytes()))
            .and_then(|()| text_file.flush())
            .and_then(|()| json_file.write_all(json.as_bytes()))
            .and_then(|()| json_file.flush());
        if let Err(e) = written {
            log::warn!("{tag} cannot write the transcript {}: {e}", path.display());
        }
        log::info!("{tag} transcript: {}", path.display());
        self.output = Output::Open {
            text: text_file,
            json: json_file,
        };
    }
}

/// `who-YYYYMMDD-HHMMSS-n`, or `who-n` without a time (`--lab`).
///
/// ```
/// use localftp::server::transcript::file_stem;
/// assert_eq!(file_stem("alice", Some("20261130101502"), 1), "alice-20261130-101502-1");
/// assert_eq!(file_stem("alice", None, 2), "alice-2");
/// ```
pub fn file_stem(who: &str, time: Option<&str>, n: u32) -> String {
    match time {
        Some(time) if time.len() == 14 => format!("{who}-{}-{}-{n}", &time[..8], &time[8..]),
        Some(time) => format!("{who}-{time}-{n}"),
        None => format!("{who}-{n}"),
    }
}

/// A user name as a part of a file name, on every system: letters, digits, `.`, `_` and `-`
/// stay; anything else (`/`, `\`, `:`, spaces, …) becomes `_`. The name is the account's, from
/// the teacher's flags, but the folder must be safe whatever it is.
///
/// ```
/// use localftp::server::transcript::file_safe;
/// assert_eq!(file_safe("alice"), "alice");
/// assert_eq!(file_safe("../x:y z"), ".._x_y_z");
/// assert_eq!(file_safe(""), "_");
/// ```
pub fn file_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // `..` alone is not a path step here (the stem always goes on with `-n`), but an empty
    // name would make `-1.txt`.
    if safe.is_empty() { "_".into() } else { safe }
}

/// Create `DIR/STEM.txt` and `DIR/STEM.jsonl` for the first `n` (from 1) whose two names are
/// both free; the `.txt` path and both files.
fn create_new_pair(
    dir: &Path,
    stem: impl Fn(u32) -> String,
) -> io::Result<(PathBuf, BufWriter<File>, BufWriter<File>)> {
    let create_new = |path: &Path| File::options().write(true).create_new(true).open(path);
    for n in 1..=u32::MAX {
        // Joined as text, not with `with_extension`: a name like `a.b` has a dot of its own.
        let stem = stem(n);
        let text_path = dir.join(format!("{stem}.txt"));
        let text = match create_new(&text_path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        match create_new(&dir.join(format!("{stem}.jsonl"))) {
            Ok(json) => return Ok((text_path, BufWriter::new(text), BufWriter::new(json))),
            Err(e) => {
                // The pair must share its name: give back the empty `.txt` just made.
                drop(text);
                let _ = std::fs::remove_file(&text_path);
                if e.kind() != io::ErrorKind::AlreadyExists {
                    return Err(e);
                }
            }
        }
    }
    Err(io::Error::other("no free transcript name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag() -> SessionTag {
        SessionTag::new(1, "127.0.0.1:5555".parse().unwrap())
    }

    #[test]
    fn too_much_before_a_login_is_written_at_once_as_unlogged() {
        let dir = tempfile::tempdir().unwrap();
        let mut transcript = Transcript::new(dir.path(), &tag(), true).unwrap();
        let line = format!("[0001] C> NOOP {}\n", "x".repeat(1000));
        for _ in 0..WAITING_LIMIT / 1000 {
            transcript.write(&line, "{}\n", &tag());
        }
        let text = std::fs::read_to_string(dir.path().join("unlogged-1.txt")).unwrap();
        assert!(text.starts_with("localftp transcript of session 1, no login, from 127.0.0.1\n"));
        // A later login keeps that file (its name cannot change now) and goes on in it.
        transcript.logged_in("alice", &tag());
        transcript.write("[0300] C> PWD\n", "{}\n", &tag());
        let text = std::fs::read_to_string(dir.path().join("unlogged-1.txt")).unwrap();
        assert!(text.ends_with("C> PWD\n"));
        assert!(!dir.path().join("alice-1.txt").exists());
    }

    #[test]
    fn a_name_taken_by_either_file_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.b-1.jsonl"), "an orphan").unwrap();
        std::fs::write(dir.path().join("a.b-2.txt"), "another").unwrap();
        let (path, ..) = create_new_pair(dir.path(), |n| format!("a.b-{n}")).unwrap();
        assert_eq!(path, dir.path().join("a.b-3.txt"));
        assert!(
            !dir.path().join("a.b-1.txt").exists(),
            "the half made is removed"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.b-1.jsonl")).unwrap(),
            "an orphan"
        );
    }
}
