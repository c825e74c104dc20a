//! One client's session, from the 220 greeting to the 221 goodbye (RFC 959 §5.4, the
//! command-reply sequences).
//!
//! Read this file top to bottom: it is the whole life of a connection. What it calls on the
//! way lives beside it in `session/`: the connection's setup and AUTH TLS (`setup`), the
//! bookkeeping after each command (`bookkeeping`), the letters (`letters`), and ABOR (`abort`).
//!
//! ```text
//! greet 220
//! loop {
//!     read a line          (control.rs: bounded, Telnet-clean, UTF-8)
//!     parse it             (command.rs: pure)       unknown verb → 500, bad argument → 501
//!     gate it              (this file, in order)    not logged in → 530, missing letter → 550
//!     dispatch it          (commands/*.rs)          outside the jail → 550, … → its reply
//!     reply
//! }
//! 221, close
//! ```
//!
//! While a transfer runs on its helper thread (transfer.rs), the loop goes on reading: ABOR,
//! STAT, NOOP are answered at once; any other command waits for the transfer to end first, so
//! replies never come out of order.

use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::Shared;
use super::command::{Command, parse};
use super::control::{ControlReader, Incoming, Replier, SessionTag};
use super::instruments::SessionWatch;
use super::jail::{Jail, resolve};
use super::permissions::{self, Perm};
use super::registry::{Abort, Activity, Slot};
use super::settings::Settings;
use super::transfer::Running;
use super::users::User;
use crate::reply::{Reply, ReplyCode};

mod abort;
mod bookkeeping;
mod letters;
mod outcome;
mod setup;

pub use outcome::Outcome;

use bookkeeping::is_timeout;

/// Where the session is in the login sequence (RFC 959 §5.4, USER → PASS). Each state carries
/// the data it needs, so "logged in without a user" cannot be written down.
pub enum Login {
    /// Connected; no USER yet.
    AwaitingUser,
    /// USER was sent; PASS must come next.
    AwaitingPassword {
        /// The name given with USER.
        user: String,
    },
    /// PASS was accepted.
    LoggedIn {
        /// The account.
        user: Arc<User>,
        /// The account's home, with every way out refused.
        jail: Jail,
    },
}

/// One client's session state.
pub struct Session {
    /// The server's configuration and accounts.
    pub shared: Arc<Shared>,
    /// The session's number, client address and user, for logs (shared with the replier, the
    /// transfer thread and the trace: see `SessionTag`).
    pub tag: SessionTag,
    /// The server's address on this connection (passive ports listen on the same IP).
    pub local: SocketAddr,
    /// Where the login stands.
    pub login: Login,
    /// What this login has set: the current folder, TYPE, the next data connection, REST,
    /// RNFR, the MLST facts, PBSZ and PROT. REIN resets them all at once (see `settings`).
    pub settings: Settings,
    /// The transfer running on the helper thread, if any.
    pub transfer: Option<Running>,
    /// Failed PASS attempts so far; at `max_login_attempts` the session is closed.
    pub failed_logins: u32,
    /// This session's own TLS setup, made at AUTH TLS (`TlsConfig::for_session`): its data
    /// connections must resume the control connection's TLS session. Set once the control
    /// connection is encrypted, for the whole connection (RFC 4217 §4): see
    /// [`Session::control_tls`].
    pub session_tls: Option<super::tls::TlsConfig>,
    /// The instruments: `--explain`, `--transcript`, the board, `--lab`, `--fault` (see
    /// `instruments`). The session tells it what happens; it never asks which is on.
    pub watch: SessionWatch,
    /// What this session is doing, for SITE WHO (shared with the registry).
    pub activity: Arc<Mutex<Activity>>,
    /// Writes replies; shared with the transfer thread.
    pub replier: Replier,
    reader: ControlReader,
}

impl Session {
    /// Whether the control connection is encrypted (AUTH TLS, RFC 4217 §4): from the moment it
    /// is, for the whole connection; the session's TLS setup is made at the same moment.
    pub fn control_tls(&self) -> bool {
        self.session_tls.is_some()
    }

    /// Serve one client until it quits or the connection fails.
    pub fn start(id: u64, stream: TcpStream, shared: Arc<Shared>, slot: &Slot) {
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            return;
        };
        let tag = SessionTag::new(id, peer);
        log::info!("{tag} connected");
        let started = Instant::now();
        match Session::new(tag.clone(), local, stream, shared, slot) {
            Ok(session) => session.run(),
            Err(e) => log::warn!("{tag} could not set up the session: {e}"),
        }
        log::info!(
            "{tag} disconnected after {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    /// The command loop.
    fn run(mut self) {
        let banner = Reply::new(ReplyCode::ServiceReady, self.shared.config.banner.clone());
        if !self.say(&banner) {
            return;
        }
        loop {
            let line = match self.reader.read() {
                Ok(Incoming::Line(line)) => line,
                // A shutdown wakes us by closing the reading side: the end of input.
                Ok(Incoming::Closed) if self.shared.registry.is_shutting_down() => {
                    self.finish_transfer();
                    let _ = self.replier.send(&Reply::new(
                        ReplyCode::ServiceNotAvailable,
                        "The server is shutting down; goodbye.",
                    ));
                    break;
                }
                Ok(Incoming::Closed) => break,
                Ok(Incoming::TooLong) => {
                    log::warn!("{} sent a command line over the limit", self.tag);
                    let reply = Reply::new(
                        ReplyCode::SyntaxError,
                        format!(
                            "Command line too long (limit {} bytes); ignored.",
                            super::control::MAX_LINE
                        ),
                    );
                    if !self.say(&reply) {
                        break;
                    }
                    continue;
                }
                Ok(Incoming::Invalid(reason)) => {
                    log::warn!("{} sent a bad command line: {reason}", self.tag);
                    let reply = Reply::new(ReplyCode::SyntaxErrorInArguments, format!("{reason}."));
                    if !self.say(&reply) {
                        break;
                    }
                    continue;
                }
                Err(e) if is_timeout(&e) => {
                    // Idle during a long transfer is normal: the client is waiting for it.
                    if self.transfer.as_ref().is_some_and(|t| !t.is_finished()) {
                        continue;
                    }
                    log::warn!("{} idle timeout: closing", self.tag);
                    let _ = self.replier.send(&Reply::new(
                        ReplyCode::ServiceNotAvailable,
                        format!(
                            "Idle timeout ({} s): closing the control connection.",
                            self.shared.config.timeouts.idle.as_secs()
                        ),
                    ));
                    break;
                }
                Err(e) => {
                    log::info!("{} control connection lost: {e}", self.tag);
                    break;
                }
            };
            self.watch
                .received(&self.tag, &line, || self.login.describe());
            let outcome = self.handle(&line);
            self.note_activity(&line);
            let (reply, close) = match outcome {
                Outcome::Reply(reply) => (reply, false),
                Outcome::Close(reply) => (reply, true),
                Outcome::Transfer(running) => {
                    let mut activity = self.activity.lock().unwrap_or_else(|p| p.into_inner());
                    let control: Arc<dyn Abort> = running.control.clone();
                    activity.transfer = Some(Arc::downgrade(&control));
                    drop(activity);
                    self.transfer = Some(running);
                    continue;
                }
                Outcome::StartTls(reply) => {
                    if !self.say(&reply) {
                        break;
                    }
                    match self.start_tls() {
                        Ok(()) => continue,
                        // A failed handshake leaves the connection in no usable state; it
                        // ends this session only.
                        Err(e) => {
                            log::warn!(
                                "{} TLS handshake on the control connection failed: {e}",
                                self.tag
                            );
                            break;
                        }
                    }
                }
            };
            let sent = self.say(&reply);
            if sent {
                self.watch.replied(&reply, || self.login.describe());
            }
            self.follow_login();
            if !sent || close {
                break;
            }
        }
        // The client is gone or said QUIT: let a transfer still running end on its own terms
        // (it has its own timeouts), so its file is finished or cleaned up.
        if let Some(transfer) = self.transfer.take() {
            transfer.wait();
        }
    }

    /// Parse, gate and dispatch one line.
    fn handle(&mut self, line: &str) -> Outcome {
        // 1. Parse. Unknown verbs are 500; known verbs with bad arguments 501 (or 504).
        let command = match parse(line) {
            Ok(Command::Unknown(verb)) => {
                self.watch.understood(|| {
                    format!("for {verb:?}: not a command this server knows (RFC 959 §5.3)")
                });
                return Reply::new(ReplyCode::SyntaxError, format!("Unknown command {verb:?}."))
                    .into();
            }
            Ok(command) => command,
            Err(error) => {
                self.watch.understood(|| {
                    format!(
                        "for {}: its argument is wrong ({}) (RFC 959 §5.3)",
                        error.verb, error.message
                    )
                });
                let code = if error.unsupported {
                    ReplyCode::NotImplementedForParameter
                } else {
                    ReplyCode::SyntaxErrorInArguments
                };
                return Reply::new(code, format!("{error}.")).into();
            }
        };

        self.watch.understood(|| self.describe(&command));
        // A fault for exercises: the fifth command after login is cut off with 421.
        let logged_in = matches!(self.login, Login::LoggedIn { .. });
        if let Some(reply) = self.watch.cut_off(&self.tag, &command, logged_in) {
            return Outcome::Close(reply);
        }

        // 2. A transfer is running: only ABOR, STAT and NOOP are answered at once.
        if self.transfer.is_some() {
            match command {
                Command::Abor => return self.abort().into(),
                Command::Stat(None) | Command::Noop => return self.dispatch(command, None),
                _ => self.finish_transfer(),
            }
        }

        // 3. REST applies to the command right after it only (RFC 3659 §5.3), and RNTO must
        //    come right after RNFR (RFC 959 §4.1.3): any other command cancels both.
        let offset = self.settings.take_restart_offset();
        if !matches!(command, Command::Rnto(_)) {
            self.settings.take_rename_from();
        }

        // 4. The gate.
        if let Err(refusal) = self.gate(&command) {
            return refusal.into();
        }

        // 5. Dispatch.
        self.dispatch(command, offset)
    }

    /// The checks every command passes before it runs, in order.
    fn gate(&self, command: &Command) -> Result<(), Reply> {
        // --require-tls: no login in clear text (RFC 4217 §4: the policy is the server's).
        if self.shared.config.require_tls
            && !self.control_tls()
            && matches!(command, Command::User(_) | Command::Pass(_))
        {
            return Err(Reply::new(
                ReplyCode::DeniedForPolicy,
                "This server requires TLS: send AUTH TLS before USER, so the password is encrypted.",
            ));
        }
        let Login::LoggedIn { user, .. } = &self.login else {
            return if command.allowed_before_login() {
                Ok(())
            } else {
                Err(Reply::new(
                    ReplyCode::NotLoggedIn,
                    "Please log in with USER and PASS first.",
                ))
            };
        };
        let Some(perm) = permissions::required(command) else {
            return Ok(());
        };
        let (letters, place) = self.letters_for(user, command);
        if !letters.allows(perm) {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                format!(
                    "Permission denied: {} needs the '{}' permission ({}); you have '{letters}'{place}.",
                    command.verb(),
                    perm.letter(),
                    perm.describe(),
                ),
            ));
        }
        // Renaming or removing a folder that holds a folder with letters of its own would
        // carry that folder out from under its letters.
        if let (Perm::Rename | Perm::Delete, Some(path)) = (perm, permissions::target(command)) {
            let path = resolve(self.settings.cwd(), path);
            if let Some(below) = self.shared.letters.rule_below(&path) {
                return Err(Reply::new(
                    ReplyCode::FileUnavailable,
                    format!(
                        "Permission denied: {} cannot move or remove {path}: {below} inside it \
                         has letters of its own.",
                        command.verb()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Send each command to its family's handler (RFC 959 §4.1's grouping).
    fn dispatch(&mut self, command: Command, offset: Option<u64>) -> Outcome {
        use Command::*;
        match command {
            // Access control: commands/access.rs
            User(name) => self.user(&name).into(),
            Pass(password) => self.pass(&password).into(),
            Acct(_) => self.acct().into(),
            Cwd(path) => self.cwd(&path).into(),
            Cdup => self.cwd("..").into(),
            Rein => self.rein().into(),
            Quit => self.quit(),
            // Transfer parameters: commands/parameters.rs
            Port(address) | Eprt(address) => self.port(address).into(),
            Pasv => self.pasv().into(),
            Epsv(arg) => self.epsv(arg).into(),
            Type(transfer_type) => self.set_type(transfer_type).into(),
            Mode => Reply::new(ReplyCode::CommandOkay, "Mode set to S (stream).").into(),
            Stru => Reply::new(ReplyCode::CommandOkay, "Structure set to F (file).").into(),
            // File service: commands/files.rs and commands/transfers.rs
            Retr(path) => self.retr(&path, offset).into(),
            Stor(path) => self.stor(&path, offset).into(),
            Appe(path) => self.appe(&path).into(),
            Stou => self.stou().into(),
            Dele(path) => self.dele(&path).into(),
            Rmd(path) => self.rmd(&path).into(),
            Mkd(path) => self.mkd(&path).into(),
            Rnfr(path) => self.rnfr(&path).into(),
            Rnto(path) => self.rnto(&path).into(),
            Rest(offset) => self.rest(offset).into(),
            Size(path) => self.size(&path).into(),
            Mdtm(path) => self.mdtm(&path).into(),
            Mfmt { time, path } => self.mfmt(time, &path).into(),
            Allo => Reply::new(ReplyCode::CommandSuperfluous, "ALLO not needed here.").into(),
            Abor => self.abort().into(),
            // Listings: commands/listing.rs
            List(args) => self.list(args).into(),
            Nlst(args) => self.nlst(args).into(),
            Mlsd(path) => self.mlsd(path).into(),
            Mlst(path) => self.mlst(path.as_deref()).into(),
            Stat(Some(path)) => self.stat_path(&path).into(),
            // Information: commands/info.rs
            Pwd => self.pwd().into(),
            Syst => self.syst().into(),
            Stat(None) => self.stat().into(),
            Feat => self.feat().into(),
            Opts(option) => self.opts(&option).into(),
            Help(verb) => self.help(verb.as_deref()).into(),
            Noop => Reply::new(ReplyCode::CommandOkay, "NOOP ok.").into(),
            Site(site) => self.site(site).into(),
            // Security: commands/security.rs
            Auth(mechanism) => self.auth(&mechanism).into(),
            Pbsz(size) => self.pbsz(&size).into(),
            Prot(level) => self.prot(&level).into(),
            Ccc => self.ccc().into(),
            Unknown(verb) => {
                Reply::new(ReplyCode::SyntaxError, format!("Unknown command {verb:?}.")).into()
            }
        }
    }
}
