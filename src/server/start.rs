//! Starting the server: `Server::bind` reads the roster, prepares every home and its jail,
//! and opens the listening socket; `StartError` says why a start failed. It logs as the
//! server (`localftp::server`), as the accept loop does.

use std::fmt;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use super::folders::{keep_grade_sheet, prepare_home, prepare_root};
use super::registry::Registry;
use super::users::{self, Users};
use super::{Config, Server, Shared, board, class, jail, listen, permissions, progress, seed_user};

/// Why the server could not start. `main` prints it on one line and exits non-zero.
#[derive(Debug)]
pub enum StartError {
    /// The root (or a user's home) could not be created or read.
    Root(PathBuf, io::Error),
    /// The listening socket could not be opened (port in use, address not local, …).
    Bind(SocketAddr, io::Error),
    /// A `--share` or `--folder-perms` cannot be used (a missing folder, a bad name).
    Shares(String),
    /// The class roster could not be read, or its handout written (see `class`).
    Class(class::ClassError),
    /// Two accounts claim one name: two accounts of the same name (from `--user`, `--users`
    /// or `--class`), or one named `ftp` or `anonymous` beside the anonymous account (see
    /// [`users::check_names`]).
    Accounts(users::UsersError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Root(path, e) => {
                write!(f, "cannot use folder {}: {e}", path.display())
            }
            StartError::Bind(address, e) if e.kind() == io::ErrorKind::AddrInUse => write!(
                f,
                "cannot listen on {address}: the port is in use (is another server running? try --port)"
            ),
            StartError::Bind(address, e) => write!(f, "cannot listen on {address}: {e}"),
            StartError::Shares(why) => f.write_str(why),
            StartError::Class(e) => write!(f, "{e}"),
            StartError::Accounts(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {
    /// The error underneath: the folder's or the socket's, the roster's, the accounts'.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Root(_, e) | StartError::Bind(_, e) => Some(e),
            StartError::Class(e) => Some(e),
            StartError::Accounts(e) => Some(e),
            // Only a sentence: what `jail::Mount::new` and `FolderLetters::new` return.
            StartError::Shares(_) => None,
        }
    }
}

impl Server {
    /// Prepare the root (and its sample content), then open the listening socket.
    pub fn bind(mut config: Config) -> Result<Server, StartError> {
        // The roster is read (and missing passwords generated) in memory; its files are written
        // once the server listens, when the handout can name the port.
        let class = match &config.class {
            Some(roster) => {
                let class = class::Class::load(roster, &config.root).map_err(StartError::Class)?;
                config.users.extend(class.users.iter().cloned());
                Some(class)
            }
            None => None,
        };
        // Checked first, so a refused start leaves nothing behind (no root created).
        users::check_names(&config.users, config.anonymous.as_ref())
            .map_err(StartError::Accounts)?;
        fs::create_dir_all(&config.root).map_err(|e| StartError::Root(config.root.clone(), e))?;
        if config.users.is_empty() {
            config.users.push(seed_user(&config.root));
        }
        // A class's root holds the students' homes, so it is not empty: a teacher at home in
        // the root finds the class there, not the seed's files.
        for user in class.iter().flat_map(|class| &class.users) {
            fs::create_dir_all(&user.home).map_err(|e| StartError::Root(user.home.clone(), e))?;
        }
        let mut mounts = Vec::new();
        let mut rules = config.folder_perms.clone();
        for share in &config.shares {
            mounts.push(jail::Mount::new(&share.dir, &share.name).map_err(StartError::Shares)?);
            rules.push((format!("/{}", share.name), share.perms));
        }
        let letters = permissions::FolderLetters::new(rules).map_err(StartError::Shares)?;
        let mut jails = std::collections::HashMap::new();
        for user in config.users.iter().chain(&config.anonymous) {
            // The root, when it is a home, is the seed's `data/`: it always gets the sample
            // content it lacks (unless it holds a class). Any other home gets it when new or
            // empty.
            let root_is_home =
                user.home.components().eq(config.root.components()) && class.is_none();
            match root_is_home {
                true => prepare_root(&user.home, config.sample_content),
                false => prepare_home(&user.home, config.sample_content),
            }
            .map_err(|e| StartError::Root(user.home.clone(), e))?;
            let jail =
                jail::Jail::new(&user.home).map_err(|e| StartError::Root(user.home.clone(), e))?;
            jails.insert(user.home.clone(), jail.with_mounts(&mounts));
        }
        // Uploads a previous run did not finish (it was killed, or the machine stopped) left
        // their hidden temporary files; nobody can finish them now.
        let leftovers: usize = jails
            .values()
            .chain(mounts.iter().map(jail::Mount::jail))
            .map(jail::Jail::remove_leftovers)
            .sum();
        if leftovers > 0 {
            log::info!(
                target: "localftp::server",
                "removed {leftovers} unfinished uploads left by an earlier run"
            );
        }
        let address = SocketAddr::new(config.bind, config.port);
        let listener = listen(address).map_err(|e| StartError::Bind(address, e))?;
        if let Some(class) = &class {
            let host = handout_host(&config, &listener);
            let port = listener.local_addr().map_or(config.port, |a| a.port());
            class.write(&host, port).map_err(StartError::Class)?;
            log::info!(
                target: "localftp::server",
                "class: {} students ({} new passwords); handout with every login: {} \
                 (keep it private); password hashes: {}",
                class.users.len(),
                class.generated,
                class.handout_file.display(),
                class.accounts_file.display()
            );
        }
        let users = Users::new(config.users.clone(), config.anonymous.clone());
        // The board and the grade sheet list the class's students from the start (or every
        // account, without a class), so one who never connects shows too.
        let progress = (config.board.is_some() || config.report.is_some()).then(|| {
            let listed = match &class {
                Some(class) => class.users.iter().map(|u| u.name.as_str()).collect(),
                None => config
                    .users
                    .iter()
                    .map(|u| u.name.as_str())
                    .collect::<Vec<_>>(),
            };
            Arc::new(progress::Progress::new(listed))
        });
        if let (Some(path), Some(progress)) = (&config.report, &progress) {
            keep_grade_sheet(path.clone(), Arc::clone(progress));
        }
        let mut board = None;
        if let (Some(address), Some(progress)) = (config.board, &progress) {
            let delay = config.login_failure_delay;
            let bound = board::start(address, Arc::clone(progress), users.clone(), delay)
                .map_err(|e| StartError::Bind(address, e))?;
            log::info!(
                target: "localftp::server",
                "the teacher's board: http://{bound}/ (log in with an account that has the letter S)"
            );
            board = Some(bound);
        }
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                config,
                users,
                jails,
                mounts,
                letters,
                progress,
                registry: Arc::new(Registry::with_thread_budget(
                    crate::platform::thread_budget(),
                )),
            }),
            board,
        })
    }
}

/// The address a class handout tells students to connect to: the `--masquerade` address if
/// given; for a wildcard bind (`0.0.0.0`), the address of the interface that leads to other
/// machines (a UDP socket "connected" to a documentation address picks the route and sends
/// nothing); otherwise the address listened on.
fn handout_host(config: &Config, listener: &TcpListener) -> String {
    if let Some(public) = config.masquerade {
        return public.to_string();
    }
    let bound = listener.local_addr().map_or(config.bind, |a| a.ip());
    if !bound.is_unspecified() {
        return bound.to_string();
    }
    std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| {
            socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
            socket.local_addr()
        })
        .map_or_else(|_| "(the teacher's address)".into(), |a| a.ip().to_string())
}
