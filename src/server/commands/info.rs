//! Informational commands (RFC 959 §4.1.3; FEAT and OPTS from RFC 2389): PWD, SYST, STAT,
//! FEAT, OPTS, HELP, SITE.

use crate::reply::{Reply, ReplyCode};
use crate::server::command::{SiteCommand, TransferType};
use crate::server::data::DataPlan;
use crate::server::listing::Facts;
use crate::server::permissions::Perm;
use crate::server::session::{Login, Session};
use crate::server::verbs::help_lines;

use super::quote;

/// What FEAT announces besides the extension commands of the command table
/// (`verbs::feature_lines`): UTF-8 paths (RFC 2640) and TVFS (RFC 3659 §6). The MLST line is
/// added by `feat`, since it shows the facts this session has selected.
pub const FEATURES: &[&str] = &["TVFS", "UTF8"];

impl Session {
    /// PWD: the current folder, quoted. `/` is the user's home: the jail.
    pub fn pwd(&self) -> Reply {
        Reply::new(
            ReplyCode::PathCreated,
            format!("{} is the current directory.", quote(self.settings.cwd())),
        )
    }

    /// SYST: what clients use to guess the LIST format. "UNIX Type: L8" means `ls -l` lines
    /// and 8-bit bytes; every common client expects it.
    pub fn syst(&self) -> Reply {
        Reply::new(ReplyCode::SystemType, "UNIX Type: L8")
    }

    /// STAT without argument: the session's status, on several lines. It is answered even
    /// while a transfer runs.
    pub fn stat(&self) -> Reply {
        // --lab leaves out what changes from run to run: the client's port, the seconds.
        let mut lines = vec![format!(
            "Connected from {}.",
            self.watch.peer(&self.tag.peer)
        )];
        lines.push(match &self.login {
            Login::LoggedIn { user, .. } => {
                format!(
                    "Logged in as {} with permissions {}.",
                    user.name, user.perms
                )
            }
            Login::AwaitingPassword { .. } => "Waiting for PASS.".to_string(),
            Login::AwaitingUser => "Not logged in.".to_string(),
        });
        lines.push(format!("Current folder: {}.", quote(self.settings.cwd())));
        lines.push(match self.settings.transfer_type() {
            TransferType::Ascii => "TYPE: ASCII; MODE: stream; STRU: file.".to_string(),
            TransferType::Image => "TYPE: BINARY; MODE: stream; STRU: file.".to_string(),
        });
        lines.push(match self.settings.data_plan() {
            Some(DataPlan::Passive(_)) => "Data connection: passive port open.".to_string(),
            Some(DataPlan::Active(address)) => format!("Data connection: active, to {address}."),
            None => "Data connection: none set up.".to_string(),
        });
        lines.push(match &self.transfer {
            Some(transfer) if !transfer.is_finished() => format!(
                "Transfer in progress: {}{}.",
                transfer.what,
                self.watch.timing(|| format!(
                    " ({:.1} s{})",
                    transfer.started.elapsed().as_secs_f64(),
                    // Under a limit the throttle counts the bytes (see `TransferControl::moved`).
                    transfer.rate.map_or(String::new(), |rate| format!(
                        ", {} bytes so far, limited to {}",
                        transfer
                            .control
                            .moved
                            .load(std::sync::atomic::Ordering::Relaxed),
                        crate::server::throttle::format_rate(rate)
                    ))
                ))
            ),
            _ => "No transfer in progress.".to_string(),
        });
        Reply::multi(
            ReplyCode::SystemStatus,
            "localftp status:",
            lines,
            "End of status.",
        )
    }

    /// FEAT (RFC 2389 §3): the extensions, one per line with a leading space.
    pub fn feat(&self) -> Reply {
        let mut lines: Vec<String> = (FEATURES.iter().copied())
            .chain(crate::server::verbs::feature_lines())
            .map(String::from)
            .collect();
        lines.push(self.settings.mlst_facts().feature_line());
        if self.shared.config.tls.is_some() {
            // RFC 4217 §6: FEAT names the security commands when TLS is offered.
            lines.extend(["AUTH TLS", "PBSZ", "PROT"].map(String::from));
        }
        lines.sort();
        Reply::multi(ReplyCode::SystemStatus, "Features:", lines, "End")
    }

    /// OPTS (RFC 2389 §4). UTF-8 is always on (RFC 2640), so `OPTS UTF8 ON` just agrees;
    /// `OPTS MLST type;size;` chooses the facts of MLSD and MLST (RFC 3659 §7.9).
    pub fn opts(&mut self, option: &str) -> Result<Reply, Reply> {
        let (name, value) = option.split_once(' ').unwrap_or((option, ""));
        if name.eq_ignore_ascii_case("MLST") {
            self.settings.set_mlst_facts(Facts::parse(value.trim()));
            return Ok(Reply::new(
                ReplyCode::CommandOkay,
                format!("MLST OPTS {}", self.settings.mlst_facts().selected()),
            ));
        }
        match option.to_ascii_uppercase().as_str() {
            "UTF8 ON" | "UTF8" => Ok(Reply::new(
                ReplyCode::CommandOkay,
                "UTF8 mode is always on.",
            )),
            "UTF8 OFF" => Err(Reply::new(
                ReplyCode::NotImplementedForParameter,
                "UTF8 cannot be turned off: paths are UTF-8.",
            )),
            _ => Err(Reply::new(
                ReplyCode::SyntaxErrorInArguments,
                format!("Unknown option {option:?}."),
            )),
        }
    }

    /// HELP: the verbs this server knows, or one verb's syntax.
    pub fn help(&self, verb: Option<&str>) -> Result<Reply, Reply> {
        let Some(verb) = verb else {
            let verbs: Vec<&str> = help_lines().iter().map(|(verb, _)| *verb).collect();
            let rows: Vec<String> = verbs.chunks(8).map(|row| row.join(" ")).collect();
            return Ok(Reply::multi(
                ReplyCode::HelpMessage,
                "The following commands are recognized:",
                rows,
                "Use HELP <command> for one command's syntax.",
            ));
        };
        match help_lines()
            .into_iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(verb))
        {
            Some((_, syntax)) => Ok(Reply::new(
                ReplyCode::HelpMessage,
                format!("Syntax: {syntax}"),
            )),
            None => Err(Reply::new(
                ReplyCode::SyntaxErrorInArguments,
                format!("Unknown command {verb:?}; HELP lists the known ones."),
            )),
        }
    }

    /// SITE QUIZ: the guided client reports its quiz score. It is the logged-in user's own
    /// score (the command names no one else), logged, and shown on the teacher's board.
    fn site_quiz(&self, right: u32, asked: u32) -> Result<Reply, Reply> {
        let user = self.account()?.0.name.clone();
        log::info!("{} quiz score: {right} of {asked} right", self.tag);
        if let Some(progress) = &self.shared.progress {
            progress.quiz(&user, right, asked);
        }
        Ok(Reply::new(
            ReplyCode::CommandOkay,
            format!("Quiz score {right} of {asked} recorded for {user}."),
        ))
    }

    /// SITE WHO: every live session, each served by its own thread `session-N`: one thread per
    /// connection, made visible.
    fn site_who(&self) -> Reply {
        let sessions = self.shared.registry.who();
        let lines = sessions.iter().map(|who| {
            let user = who.activity.user.as_deref().unwrap_or("-");
            let peer = self.watch.peer(&who.peer);
            let idle = self
                .watch
                .timing(|| format!(", idle {:.1} s", who.activity.since.elapsed().as_secs_f64()));
            format!(
                "thread session-{}: {user} from {peer}, last command {}{idle}",
                who.id, who.activity.command
            )
        });
        Reply::multi(
            ReplyCode::CommandOkay,
            &format!("{} live sessions, one thread each:", sessions.len()),
            lines,
            "End",
        )
    }

    /// SITE: this server's own commands.
    pub fn site(&mut self, site: SiteCommand) -> Result<Reply, Reply> {
        match site {
            SiteCommand::Help => Ok(Reply::multi(
                ReplyCode::HelpMessage,
                "SITE commands:",
                [
                    "SITE HELP - this list",
                    "SITE PERMS - your permission letters and what they allow",
                    "SITE WHO - the live sessions, one thread each (needs 'S')",
                    "SITE CHMOD <octal mode> <file> - change a file's mode (needs 'M')",
                    "SITE QUIZ <right> <asked> - report your quiz score to the teacher",
                ],
                "End",
            )),
            SiteCommand::Perms => self.site_perms(),
            SiteCommand::Chmod { mode, path } => self.site_chmod(mode, &path),
            SiteCommand::Who => Ok(self.site_who()),
            SiteCommand::Quiz { right, asked } => self.site_quiz(right, asked),
            SiteCommand::Other(name) => Err(Reply::new(
                ReplyCode::SyntaxErrorInArguments,
                format!("Unknown SITE command {name:?}; try SITE HELP."),
            )),
        }
    }

    /// SITE PERMS: the user's letters, each with what it allows, and the folders whose own
    /// letters hold instead.
    fn site_perms(&self) -> Result<Reply, Reply> {
        let (user, _) = self.account()?;
        let lines = Perm::ALL.iter().map(|perm| {
            let mark = if user.perms.allows(*perm) {
                "yes"
            } else {
                "no "
            };
            format!("{} {mark} {}", perm.letter(), perm.describe())
        });
        // Folders whose own letters hold in place of these (--share, --folder-perms).
        let folders = self
            .shared
            .letters
            .rules()
            .map(|(folder, letters)| format!("in {folder} and below: {letters} instead"));
        let lines = lines.chain(folders);
        Ok(Reply::multi(
            ReplyCode::CommandOkay,
            &format!("Your permissions: {}", user.perms),
            lines,
            "End",
        ))
    }
}

impl Session {
    /// SITE CHMOD: set a file's permission bits. Only the bits `rwxrwxrwx` (0o777): setuid,
    /// setgid and sticky bits are the server administrator's business, not a client's (on a
    /// server running as root, a setuid file would be a way to root). The home folder itself
    /// is refused too: `SITE CHMOD 0 /` would lock the user out of their own files.
    fn site_chmod(&self, mode: u32, path: &str) -> Result<Reply, Reply> {
        if mode & !0o777 != 0 {
            return Err(Reply::new(
                ReplyCode::SyntaxErrorInArguments,
                format!(
                    "SITE CHMOD takes permission bits only (at most 777); {mode:o} sets setuid, setgid or sticky bits."
                ),
            ));
        }
        let virtual_path = self.locate_below_home(path, "change the mode of")?;
        let jail = self.jail()?;
        let Some(permissions) = crate::platform::permissions_from_mode(mode) else {
            return Err(Reply::new(
                ReplyCode::CommandNotImplemented,
                "SITE CHMOD is not available here: this server's files have no Unix mode bits (Windows).",
            ));
        };
        jail.set_permissions(&virtual_path, permissions)
            .map_err(|e| self.refused("Cannot chmod", &virtual_path, e))?;
        Ok(Reply::new(
            ReplyCode::CommandOkay,
            format!("Mode of {} set to {mode:o}.", quote(&virtual_path)),
        ))
    }
}
