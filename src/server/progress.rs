//! How far each student got: the seed's stages, read off the conversation as it happens.
//!
//! The teacher's board and the grade sheet (`--report`) are two views of one [`Progress`]. It is
//! fed by the same hooks that write `--explain` and `--transcript` (`trace::Trace`): every
//! command, reply and data event of every session, as a [`Step`]. From those it keeps, for
//! each account, the seed's checklist ([`Stage`]): the greeting, a wrong password (530), the
//! login (230), PWD, LIST, RETR, STOR, CWD into a folder, CWD into a missing one (550). It
//! interprets replies, and never runs a command: the protocol logic stays in the session.
//!
//! It also keeps each session's steps (up to [`MAX_STEPS`]), so the board can draw any session,
//! live or finished, as a sequence diagram.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::SystemTime;

use super::diagram::Step;
use super::events::DataEvent;

mod sheet;

/// The seed's stages, in the order the seed's document walks through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The `220` greeting arrived (Stage 1).
    Greeting,
    /// A wrong password was refused with `530` (the seed's first error case).
    WrongPassword,
    /// The login succeeded: `230` (Stage 2).
    Login,
    /// `PWD` answered `257` (Stage 3A).
    Pwd,
    /// A listing completed: `226` after LIST, NLST or MLSD (Stage 3B).
    List,
    /// A download completed: `226` after RETR (Stage 3C).
    Retr,
    /// An upload completed: `226` after STOR, STOU or APPE (Stage 3D).
    Stor,
    /// `CWD` into a folder: `250` (Stage 3E).
    CwdFolder,
    /// `CWD` into a missing folder: `550` (the seed's second error case).
    CwdMissing,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 9] = [
        Stage::Greeting,
        Stage::WrongPassword,
        Stage::Login,
        Stage::Pwd,
        Stage::List,
        Stage::Retr,
        Stage::Stor,
        Stage::CwdFolder,
        Stage::CwdMissing,
    ];

    /// A short name, for the grade sheet's columns and the page.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Greeting => "greeting",
            Stage::WrongPassword => "wrong_password_530",
            Stage::Login => "login_230",
            Stage::Pwd => "pwd",
            Stage::List => "list",
            Stage::Retr => "retr",
            Stage::Stor => "stor",
            Stage::CwdFolder => "cwd_folder",
            Stage::CwdMissing => "cwd_missing_550",
        }
    }

    /// The stage a reply `code` to the command `verb` completes, if any (after login).
    fn completed_by(verb: &str, code: u16) -> Option<Stage> {
        match (verb, code) {
            ("PWD" | "XPWD", 257) => Some(Stage::Pwd),
            ("LIST" | "NLST" | "MLSD", 226) => Some(Stage::List),
            ("RETR", 226) => Some(Stage::Retr),
            ("STOR" | "STOU" | "APPE", 226) => Some(Stage::Stor),
            ("CWD" | "XCWD" | "CDUP" | "XCUP", 250) => Some(Stage::CwdFolder),
            ("CWD" | "XCWD", 550) => Some(Stage::CwdMissing),
            _ => None,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// One account's row: what the board shows and the grade sheet writes.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The account's name.
    pub account: String,
    /// How many of its sessions are logged in now.
    pub connected: usize,
    /// The stages done (a bit per [`Stage`]).
    stages: u16,
    /// The last command (its verb only: an argument may be private) and when.
    pub last_command: Option<(String, SystemTime)>,
    /// Bytes moved on its data connections, both ways.
    pub bytes: u64,
    /// The quiz score its client reported: right answers, questions.
    pub quiz: Option<(u32, u32)>,
    /// The first and the last thing it did.
    pub first: Option<SystemTime>,
    /// See `first`.
    pub last: Option<SystemTime>,
    /// Its sessions' numbers, oldest first.
    pub sessions: Vec<u64>,
}

impl Row {
    /// Whether the account has done `stage`.
    pub fn done(&self, stage: Stage) -> bool {
        self.stages & stage.bit() != 0
    }

    fn mark(&mut self, stage: Stage, now: SystemTime) {
        self.stages |= stage.bit();
        self.touch(now);
    }

    fn touch(&mut self, now: SystemTime) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }
}

/// One session as the board knows it.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The session's number (as in the log's `[#N ...]`).
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The account logged in, or the last one that was.
    pub user: Option<String>,
    /// Whether the session is still open.
    pub live: bool,
    /// Its steps, for the diagram (at most [`MAX_STEPS`]; the rest are counted, not kept).
    pub steps: Vec<Step>,
    /// Steps left out once [`MAX_STEPS`] were kept.
    pub dropped: usize,
    /// The USER name sent, before the login.
    pending_user: Option<String>,
    /// The verb of the command being answered.
    verb: String,
    /// Whether the greeting came.
    greeted: bool,
    /// Whether the session is logged in now.
    logged_in: bool,
}

/// How many steps of one session are kept for its diagram.
pub const MAX_STEPS: usize = 1000;
/// How many finished sessions are kept for their diagrams (the oldest go first). With
/// [`MAX_STEPS`], this bounds the board's memory at a few tens of MiB however long it runs.
pub const MAX_FINISHED: usize = 300;

/// The whole class's progress.
#[derive(Debug, Default)]
pub struct Progress {
    state: Mutex<State>,
    /// Counts changes, so a writer of the grade sheet can tell whether there is anything new.
    version: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    rows: BTreeMap<String, Row>,
    sessions: HashMap<u64, SessionView>,
    finished: std::collections::VecDeque<u64>,
}

impl Progress {
    /// Progress for these accounts (each gets a row at once, so the board lists students who
    /// have not connected yet). Other accounts get a row when they log in.
    pub fn new<'a>(accounts: impl IntoIterator<Item = &'a str>) -> Progress {
        let rows = accounts
            .into_iter()
            .map(|name| {
                let row = Row {
                    account: name.to_string(),
                    ..Row::default()
                };
                (name.to_string(), row)
            })
            .collect();
        Progress {
            state: Mutex::new(State {
                rows,
                ..State::default()
            }),
            version: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state, to change it.
    fn change(&self) -> std::sync::MutexGuard<'_, State> {
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock()
    }

    /// How many changes there have been: the same number means the same grade sheet.
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A session has connected.
    pub fn opened(&self, id: u64, peer: SocketAddr) {
        let view = SessionView {
            id,
            peer,
            user: None,
            live: true,
            steps: Vec::new(),
            dropped: 0,
            pending_user: None,
            verb: String::new(),
            greeted: false,
            logged_in: false,
        };
        self.change().sessions.insert(id, view);
    }

    /// Something happened in session `id`.
    pub fn step(&self, id: u64, step: Step) {
        let now = SystemTime::now();
        let mut state = self.change();
        let State { rows, sessions, .. } = &mut *state;
        let Some(session) = sessions.get_mut(&id) else {
            return;
        };
        match &step {
            Step::Command(line) => {
                let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
                session.verb = verb.to_ascii_uppercase();
                if session.verb == "USER" {
                    session.pending_user = Some(arg.to_string());
                }
                if let (true, Some(user)) = (session.logged_in, &session.user)
                    && let Some(row) = rows.get_mut(user)
                {
                    row.last_command = Some((session.verb.clone(), now));
                    row.touch(now);
                }
            }
            Step::Reply(code, _) => reply(rows, session, *code, now),
            Step::Data(DataEvent::Done { bytes, .. }) => {
                if let Some(row) = session.user.as_ref().and_then(|u| rows.get_mut(u)) {
                    row.bytes += bytes;
                    row.touch(now);
                }
            }
            Step::Data(_) => {}
        }
        if session.steps.len() < MAX_STEPS {
            session.steps.push(step);
        } else {
            session.dropped += 1;
        }
    }

    /// Session `id` has ended.
    pub fn closed(&self, id: u64) {
        let mut state = self.change();
        let State {
            rows,
            sessions,
            finished,
        } = &mut *state;
        let Some(session) = sessions.get_mut(&id) else {
            return;
        };
        session.live = false;
        if session.logged_in {
            logout(rows, session);
        }
        finished.push_back(id);
        while finished.len() > MAX_FINISHED {
            if let Some(old) = finished.pop_front() {
                sessions.remove(&old);
            }
        }
    }

    /// The quiz score `user`'s client reported (`SITE QUIZ`).
    pub fn quiz(&self, user: &str, right: u32, asked: u32) {
        let now = SystemTime::now();
        let mut state = self.change();
        let row = state.rows.entry(user.to_string()).or_insert_with(|| Row {
            account: user.to_string(),
            ..Row::default()
        });
        row.quiz = Some((right, asked));
        row.touch(now);
    }

    /// Every account's row, by name.
    pub fn rows(&self) -> Vec<Row> {
        self.lock().rows.values().cloned().collect()
    }

    /// One session, if it is still kept.
    pub fn session(&self, id: u64) -> Option<SessionView> {
        self.lock().sessions.get(&id).cloned()
    }
}

/// What a reply means for the checklist.
fn reply(rows: &mut BTreeMap<String, Row>, session: &mut SessionView, code: u16, now: SystemTime) {
    // A preliminary reply (1xx) is not the answer yet: the 226 after a 150 answers the same
    // command.
    if code < 200 {
        return;
    }
    let verb = std::mem::take(&mut session.verb);
    match (verb.as_str(), code) {
        ("", 220) => session.greeted = true,
        ("PASS", 530) => {
            if let Some(row) = session.pending_user.as_ref().and_then(|u| rows.get_mut(u)) {
                row.mark(Stage::WrongPassword, now);
            }
        }
        ("PASS", 230) => {
            let Some(user) = session.pending_user.take() else {
                return;
            };
            let row = rows.entry(user.clone()).or_insert_with(|| Row {
                account: user.clone(),
                ..Row::default()
            });
            if session.greeted {
                row.mark(Stage::Greeting, now);
            }
            row.mark(Stage::Login, now);
            row.connected += 1;
            row.sessions.push(session.id);
            session.user = Some(user);
            session.logged_in = true;
        }
        ("REIN", 220) if session.logged_in => logout(rows, session),
        (verb, code) if session.logged_in => {
            let row = session.user.as_ref().and_then(|user| rows.get_mut(user));
            if let (Some(row), Some(stage)) = (row, Stage::completed_by(verb, code)) {
                row.mark(stage, now);
            }
        }
        _ => {}
    }
}

/// The session's account is no longer logged in through it.
fn logout(rows: &mut BTreeMap<String, Row>, session: &mut SessionView) {
    session.logged_in = false;
    if let Some(row) = session.user.as_ref().and_then(|user| rows.get_mut(user)) {
        row.connected = row.connected.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests;
