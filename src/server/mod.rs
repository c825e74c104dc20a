//! The FTP server: configuration, start-up, and the accept loop (RFC 959 §5: the server
//! listens on its control port and serves each client on its own connection).
//!
//! The design is the simplest one that serves many clients at once: **one OS thread per
//! connection**. [`Server::run`] accepts a connection and spawns a thread for it; that thread
//! runs a blocking command loop (`session::Session::run`) until the client quits. Each thread
//! reads as if it were the only client; the operating system's scheduler interleaves them.
//!
//! ```no_run
//! use localftp::server::{Config, Server};
//! let server = Server::bind(Config::default())?; // the seed's defaults: 127.0.0.1:2122, data/
//! println!("listening on {}", server.local_addr());
//! server.run(); // forever
//! # Ok::<(), localftp::server::StartError>(())
//! ```
//!
//! What it costs: a thread per client is a stack (address space, mostly untouched) and a
//! kernel task. Thousands are fine; at tens of thousands an event loop (pyftpdlib's epoll,
//! or Rust's async runtimes) wins. LESSONS.md measures both sides.

pub mod board;
pub mod class;
pub mod clock;
pub mod command;
pub mod commands;
pub mod control;
pub mod copy;
pub mod data;
pub mod diagram;
pub mod events;
pub mod faults;
pub mod instruments;
pub mod jail;
pub mod listing;
pub mod passwords;
pub mod permissions;
pub mod progress;
pub mod registry;
pub mod session;
pub mod settings;
pub mod state;
pub mod stream;
pub mod tag;
pub mod throttle;
pub mod tls;
pub mod trace;
pub mod transcript;
pub mod transfer;
pub mod upload;
pub mod users;
pub mod verbs;

use std::fmt;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use registry::{Limits, Registry};
use users::{User, Users};

// The classroom's defaults live in `crate::seed`, shared with the client; these names stay
// here too, for programs that embed the server.
pub use crate::seed::{SAMPLE_FILE, SAMPLE_FOLDER, SEED_BANNER, SEED_PORT};

/// What `baca_saya.txt` holds when the server creates it.
const SAMPLE_TEXT: &str = "Halo! This is baca_saya.txt (\"read me\" in Indonesian), served by localftp.\n\
Download it with RETR, change it, and upload it back with STOR.\n";

/// Stack size of a session thread. A session's deepest path (a LIST of a big folder, a log
/// line, a panic message) uses a few tens of KiB; 256 KiB leaves a wide margin. Only the pages
/// a thread touches cost memory, so this bounds address space, not resident memory.
const SESSION_STACK: usize = 256 * 1024;

/// How long each kind of wait may last before the server gives up on the client.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// A logged-in or not, idle control connection (no command) is closed with 421 after this.
    /// It is also the write timeout of the control connection: a reply that cannot be written
    /// for this long (the client sends but never reads) ends the session.
    pub idle: Duration,
    /// Waiting for the client to connect to a passive port, or for an active connect.
    pub data_connect: Duration,
    /// A data connection on which no byte moves for this long fails the transfer.
    pub data_stall: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            idle: Duration::from_secs(300),
            data_connect: Duration::from_secs(30),
            data_stall: Duration::from_secs(300),
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on (the seed: 127.0.0.1; `::1` for IPv6).
    pub bind: IpAddr,
    /// The control port (the seed: 2122; 0 lets the OS pick a free one).
    pub port: u16,
    /// The folder served (the seed: `data`), created if missing.
    pub root: PathBuf,
    /// The accounts. Empty means the seed's one user, `user` / `12345` with `elradfmw`,
    /// whose home is `root`.
    pub users: Vec<User>,
    /// `--class FILE`: a class roster, one account per student (see `class`). Its accounts
    /// come after `users`; a name on both is refused at start.
    pub class: Option<PathBuf>,
    /// `--share DIR=NAME[:LETTERS]`: folders of the teacher's seen as `/NAME` in every home.
    pub shares: Vec<Share>,
    /// `--folder-perms PATH=LETTERS`: within every home, PATH and what is under it get LETTERS
    /// in place of the user's own (pyftpdlib's `override_perm`).
    pub folder_perms: Vec<(String, permissions::Perms)>,
    /// The greeting text after `220 `.
    pub banner: String,
    /// Passive ports to choose from; `None` lets the OS pick.
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// The IPv4 address to announce in 227 replies instead of the local one (for NAT).
    pub masquerade: Option<Ipv4Addr>,
    /// Create `baca_saya.txt` and `Folder_Tes` in the root if missing.
    pub sample_content: bool,
    /// Let PORT/EPRT name an address other than the client's own, and let a passive data
    /// connection come from another address than the control connection's (pyftpdlib's
    /// `permit_foreign_addresses`). Off by default: RFC 2577 §3, bounce attacks and data theft.
    pub permit_foreign_addresses: bool,
    /// Let PORT/EPRT name a port below 1024 (pyftpdlib's `permit_privileged_ports`). Off by
    /// default: RFC 2577 §3.
    pub permit_privileged_ports: bool,
    /// The timeouts.
    pub timeouts: Timeouts,
    /// At most this many sessions at once (0: no limit). pyftpdlib's default is 512.
    pub max_connections: usize,
    /// At most this many sessions from one IP address (0: no limit, pyftpdlib's default;
    /// vsftpd uses 50).
    pub max_connections_per_ip: usize,
    /// Failed logins a session may make before it is closed.
    pub max_login_attempts: u32,
    /// The pause before each "530 Login incorrect": it makes guessing passwords slow.
    pub login_failure_delay: Duration,
    /// On shutdown, how long running transfers may go on before the server exits anyway.
    pub shutdown_grace: Duration,
    /// The anonymous account (user `anonymous` or `ftp`, any password), if enabled.
    pub anonymous: Option<User>,
    /// The certificate and key for FTPS (`AUTH TLS`, RFC 4217); `None`: plain FTP only.
    pub tls: Option<tls::TlsConfig>,
    /// Refuse USER before `AUTH TLS`, and transfers without `PROT P`.
    pub require_tls: bool,
    /// Under `PROT P`, refuse a data connection whose TLS session does not resume the control
    /// connection's (`522`), as vsftpd's `require_ssl_reuse`: otherwise another program on the
    /// client's address could connect to the passive port first and take the file. On by
    /// default; `--no-require-tls-reuse` turns it off for clients that cannot resume.
    pub require_tls_reuse: bool,
    /// `fsync` an upload before it replaces its target (on by default): the upload is on the
    /// disk, not only in the page cache, before the old file goes. Off trades that for speed.
    pub fsync: bool,
    /// At most this many bytes per second for each session's downloads (RETR, and LIST, NLST
    /// and MLSD listings), as pyftpdlib's `ThrottledDTPHandler.write_limit`; `None` (the
    /// default): no limit. Each session has its own: ten sessions may take ten times as much.
    /// `Some(0)` is taken as 1 byte per second. See `throttle` for how the rate is kept.
    pub download_rate: Option<u64>,
    /// At most this many bytes per second for each session's uploads (STOR, APPE, STOU), as
    /// pyftpdlib's `ThrottledDTPHandler.read_limit`; `None` (the default): no limit.
    pub upload_rate: Option<u64>,
    /// `--explain`: log why each reply was sent (see `trace`).
    pub explain: bool,
    /// `--transcript DIR`: write each session's conversation to DIR (see `trace`).
    pub transcript_dir: Option<PathBuf>,
    /// `--lab`: deterministic output for grading clients: sequential passive ports, fixed
    /// times in listings, numbered STOU names, transcripts without times or client ports.
    pub lab: bool,
    /// `--board ADDR:PORT`: the teacher's board, a web page of the class's progress (see
    /// `board`). Off by default.
    pub board: Option<SocketAddr>,
    /// `--report FILE`: the grade sheet (CSV) written at shutdown (see `progress`).
    pub report: Option<PathBuf>,
    /// `--fault NAME`: misbehave on purpose, for exercises (see `faults`). Never on by default.
    pub faults: faults::Faults,
}

impl Default for Config {
    /// The seed's server: 127.0.0.1:2122, root `data/`, the seed's user and greeting.
    fn default() -> Config {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: SEED_PORT,
            root: PathBuf::from("data"),
            users: Vec::new(),
            class: None,
            shares: Vec::new(),
            folder_perms: Vec::new(),
            banner: SEED_BANNER.to_string(),
            passive_ports: None,
            masquerade: None,
            sample_content: true,
            permit_foreign_addresses: false,
            permit_privileged_ports: false,
            timeouts: Timeouts::default(),
            max_connections: 512,
            max_connections_per_ip: 0,
            max_login_attempts: 3,
            login_failure_delay: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            anonymous: None,
            tls: None,
            require_tls: false,
            require_tls_reuse: true,
            fsync: true,
            download_rate: None,
            upload_rate: None,
            explain: false,
            transcript_dir: None,
            lab: false,
            board: None,
            report: None,
            faults: faults::Faults::default(),
        }
    }
}

/// A shared folder (`--share DIR=NAME[:LETTERS]`).
#[derive(Debug, Clone)]
pub struct Share {
    /// The folder on disk; it must exist.
    pub dir: PathBuf,
    /// Its name in every home: `/NAME`.
    pub name: String,
    /// The letters every user has in it (default `elr`: read only).
    pub perms: permissions::Perms,
}

impl Share {
    /// Parse `DIR=NAME[:LETTERS]` (the last `=` splits, so DIR may hold one).
    ///
    /// ```
    /// use localftp::server::Share;
    /// let share = Share::from_spec("/srv/materi=Materi").unwrap();
    /// assert_eq!((share.name.as_str(), share.perms.to_string()), ("Materi", "elr".into()));
    /// assert_eq!(Share::from_spec("inbox=Kumpul:elw").unwrap().perms.to_string(), "elw");
    /// assert!(Share::from_spec("no-name").is_err());
    /// ```
    pub fn from_spec(spec: &str) -> Result<Share, String> {
        let (dir, rest) = spec
            .rsplit_once('=')
            .ok_or_else(|| format!("--share {spec:?}: expected DIR=NAME[:LETTERS]"))?;
        let (name, letters) = rest.split_once(':').unwrap_or((rest, "elr"));
        let perms = letters
            .parse()
            .map_err(|e| format!("--share {spec:?}: {e}"))?;
        Ok(Share {
            dir: PathBuf::from(dir),
            name: name.to_string(),
            perms,
        })
    }
}

/// Parse `--folder-perms PATH=LETTERS` (the last `=` splits).
///
/// ```
/// let (path, letters) = localftp::server::folder_perms_from_spec("Folder_Tes=elr").unwrap();
/// assert_eq!((path.as_str(), letters.to_string()), ("Folder_Tes", "elr".into()));
/// ```
pub fn folder_perms_from_spec(spec: &str) -> Result<(String, permissions::Perms), String> {
    let (path, letters) = spec
        .rsplit_once('=')
        .ok_or_else(|| format!("--folder-perms {spec:?}: expected PATH=LETTERS"))?;
    let letters = letters
        .parse()
        .map_err(|e| format!("--folder-perms {spec:?}: {e}"))?;
    Ok((path.to_string(), letters))
}

/// The seed's account: `user` / `12345` with the letters `elradfmw`, at home in `root`.
pub fn seed_user(root: &Path) -> User {
    let perms = crate::seed::SEED_PERMS
        .parse()
        .expect("the seed's letters are valid");
    User::new(
        crate::seed::SEED_USER,
        crate::seed::SEED_PASSWORD,
        perms,
        root,
    )
}

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
    /// Two accounts claim one name: an account named `ftp` or `anonymous` beside the
    /// anonymous account (see [`users::check_names`]).
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

/// What every session shares: the configuration and the accounts (read-only), and the registry
/// of live sessions.
pub struct Shared {
    /// The configuration the server started with.
    pub config: Config,
    /// The accounts.
    pub users: Users,
    /// Each home folder's jail, made once at start. Making one resolves the home's real path
    /// (`realpath`, which keeps a few KiB of scratch space on the stack); doing it at every
    /// login would cost each idle session one more page of stack for as long as it lives.
    pub jails: std::collections::HashMap<PathBuf, jail::Jail>,
    /// The live sessions.
    pub registry: Arc<Registry>,
    /// The shared folders, seen as `/NAME` in every home.
    pub mounts: Vec<jail::Mount>,
    /// The letters of the shares and of `--folder-perms`, by folder.
    pub letters: permissions::FolderLetters,
    /// Each account's progress through the seed's stages, when the board or the grade sheet is
    /// on (`--board`, `--report`).
    pub progress: Option<Arc<progress::Progress>>,
}

impl Shared {
    /// The jail for a home, with the shares in it: the one made at start, or (for a home that
    /// was not there at start) a new one.
    pub fn jail_for(&self, home: &Path) -> io::Result<jail::Jail> {
        match self.jails.get(home) {
            Some(jail) => Ok(jail.clone()),
            None => Ok(jail::Jail::new(home)?.with_mounts(&self.mounts)),
        }
    }
}

/// A server that is listening and ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    /// Where the teacher's board listens, when it is on.
    board: Option<SocketAddr>,
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
            log::info!("removed {leftovers} unfinished uploads left by an earlier run");
        }
        let address = SocketAddr::new(config.bind, config.port);
        let listener = listen(address).map_err(|e| StartError::Bind(address, e))?;
        if let Some(class) = &class {
            let host = handout_host(&config, &listener);
            let port = listener.local_addr().map_or(config.port, |a| a.port());
            class.write(&host, port).map_err(|source| {
                StartError::Class(class::ClassError::WriteHandout {
                    path: class.handout_file.clone(),
                    source,
                })
            })?;
            log::info!(
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

    /// The address the server listens on, with the real port when port 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where the teacher's board listens (`--board`), with the real port when port 0 was
    /// asked for; `None` when it is off.
    pub fn board_addr(&self) -> Option<SocketAddr> {
        self.board
    }

    /// A handle that stops this server (from a signal handler, or another thread).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            registry: Arc::clone(&self.shared.registry),
            address: self.local_addr(),
        }
    }

    /// Accept connections, one thread per session, until a shutdown; then give running
    /// transfers up to `shutdown_grace` to finish, and return.
    pub fn run(self) {
        log::info!("listening on {}", self.local_addr());
        let Server {
            listener, shared, ..
        } = self;
        let config = &shared.config;
        if config.download_rate.is_some() || config.upload_rate.is_some() {
            let show = |rate: Option<u64>| rate.map_or("no limit".into(), throttle::format_rate);
            log::info!(
                "each session limited to downloads {}, uploads {}",
                show(config.download_rate),
                show(config.upload_rate)
            );
        }
        let limits = Limits {
            max_connections: config.max_connections,
            max_per_ip: config.max_connections_per_ip,
        };
        let registry = &shared.registry;
        let mut next_id: u64 = 1;
        for connection in listener.incoming() {
            if registry.is_shutting_down() {
                break;
            }
            let stream = match connection {
                Ok(stream) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely. Accepting again at once would
                    // spin; a short pause lets sessions end and free some.
                    log::warn!("accept failed: {e}");
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let id = next_id;
            next_id += 1;
            let Ok(peer) = stream.peer_addr() else {
                continue; // the client left between connect and accept
            };
            match Registry::admit(registry, id, peer, limits) {
                Ok(slot) => spawn_session(id, stream, slot, Arc::clone(&shared)),
                Err(reason) => refuse(id, peer, stream, &reason.to_string()),
            }
        }
        // Closing the listener makes new clients' connects fail at once.
        drop(listener);
        wait_for_sessions(&shared);
    }

    /// Run the server on a background thread and return its address: for tests and for
    /// programs that embed a server.
    pub fn spawn(self) -> SocketAddr {
        let address = self.local_addr();
        thread::Builder::new()
            .name("accept".into())
            .spawn(move || self.run())
            .expect("spawn the accept thread");
        address
    }
}

/// How many connections may wait for accept() at once. std's `TcpListener::bind` asks for
/// 128; a burst of clients beyond that loses SYNs, and each lost one costs its client a
/// one-second retransmit. The kernel caps the number at `net.core.somaxconn` (4096 here).
const LISTEN_BACKLOG: i32 = 1024;

/// The listening socket: what `TcpListener::bind` does, with a deeper backlog.
fn listen(address: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
    crate::platform::reusable_port(&socket)?;
    socket.bind(&address.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// After the accept loop: wait for the sessions to end, at most `shutdown_grace`.
fn wait_for_sessions(shared: &Shared) {
    let registry = &shared.registry;
    let grace = shared.config.shutdown_grace;
    let started = std::time::Instant::now();
    log::info!(
        "waiting up to {} s for {} sessions to finish their transfers",
        grace.as_secs(),
        registry.live()
    );
    while registry.live() > 0 && started.elapsed() < grace {
        thread::sleep(Duration::from_millis(20));
    }
    // Transfers still running are cut off as ABOR would cut them, and given a moment to
    // clean up: an unfinished upload removes its temporary file, so none is left behind.
    let aborted = registry.abort_transfers();
    if aborted > 0 {
        log::warn!("shutdown grace over: {aborted} transfers aborted");
        let cleanup = std::time::Instant::now();
        while registry.live() > 0 && cleanup.elapsed() < Duration::from_secs(2) {
            thread::sleep(Duration::from_millis(20));
        }
    }
    log::info!(
        "stopped: {} sessions served, {} still open were cut off",
        registry.served(),
        registry.live()
    );
    if let (Some(path), Some(progress)) = (&shared.config.report, &shared.progress) {
        match write_grade_sheet(path, progress) {
            Ok(()) => log::info!("grade sheet written to {}", path.display()),
            Err(e) => log::error!("cannot write the grade sheet {}: {e}", path.display()),
        }
    }
}

/// How often `--report`'s grade sheet is written while the server runs, when anything changed.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Write the grade sheet every [`REPORT_EVERY`] while the class works, not only at shutdown: a
/// server that is killed, or whose console window is closed on Windows (which ends the process
/// without a shutdown), loses at most the last few seconds. Each write replaces the file whole.
fn keep_grade_sheet(path: PathBuf, progress: Arc<progress::Progress>) {
    let spawned = thread::Builder::new().name("report".into()).spawn(move || {
        let mut written = u64::MAX;
        loop {
            thread::sleep(REPORT_EVERY);
            let version = progress.version();
            if version != written && write_grade_sheet(&path, &progress).is_ok() {
                written = version;
            }
        }
    });
    if let Err(e) = spawned {
        log::warn!("the grade sheet will be written at shutdown only: {e}");
    }
}

/// The grade sheet, written to a temporary file beside `path` and renamed over it.
fn write_grade_sheet(path: &Path, progress: &progress::Progress) -> io::Result<()> {
    let temporary = path.with_extension("csv.localftp-new");
    fs::write(&temporary, progress.csv())?;
    fs::rename(&temporary, path)
}

/// Stops a running server: no new sessions; waiting sessions are closed with 421; running
/// transfers get the grace period.
#[derive(Clone)]
pub struct ShutdownHandle {
    registry: Arc<Registry>,
    address: SocketAddr,
}

impl ShutdownHandle {
    /// Begin the shutdown. Safe to call more than once.
    pub fn shutdown(&self) {
        // Counted now: the idle sessions are told 421 and gone a moment later.
        if let Some(open) = self.registry.begin_shutdown() {
            log::info!("shutting down: {open} sessions open");
        }
        // The accept loop is blocked in accept(); a connection of our own wakes it, and it
        // then sees the flag. A wildcard address is reached through loopback.
        let mut wake = self.address;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
    }
}

/// Turn a connection away with 421 and the reason, from the accept loop: no thread is started.
fn refuse(id: u64, peer: SocketAddr, mut stream: TcpStream, reason: &str) {
    log::warn!("[#{id} {peer}] refused: {reason}");
    let reply = crate::reply::Reply::new(crate::reply::ReplyCode::ServiceNotAvailable, reason);
    // A new socket's send buffer is empty, so this write does not block; the timeout is a
    // guard all the same, since the accept loop must never stall on one client.
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = io::Write::write_all(&mut stream, reply.to_wire().as_bytes());
}

/// Start one session on its own thread. `slot` holds its place in the registry and frees it
/// when the thread ends, however it ends.
fn spawn_session(id: u64, stream: TcpStream, slot: registry::Slot, shared: Arc<Shared>) {
    let peer = stream.peer_addr().ok();
    let spawned = thread::Builder::new()
        .name(format!("session-{id}"))
        .stack_size(SESSION_STACK)
        .spawn(move || {
            let tag = match peer {
                Some(peer) => format!("[#{id} {peer}]"),
                None => format!("[#{id}]"),
            };
            // The slot lives as long as this thread: a panicking session frees it too.
            let slot = slot;
            isolate_panics(&tag, || session::Session::start(id, stream, shared, &slot));
        });
    if let Err(e) = spawned {
        // The stream and slot moved into the closure are dropped with it: the client sees
        // the close and the place is freed.
        log::warn!("[#{id}] could not start a session thread: {e}");
    }
}

/// Run `work`, catching a panic inside it: the panic is logged and ends only this piece of
/// work (one session); the other sessions and the accept loop never see it. Returns whether
/// `work` finished normally.
///
/// ```
/// use localftp::server::isolate_panics;
/// assert!(isolate_panics("[test]", || {}));
/// assert!(!isolate_panics("[test]", || panic!("a bug in one session")));
/// ```
pub fn isolate_panics(tag: &str, work: impl FnOnce()) -> bool {
    match panic::catch_unwind(AssertUnwindSafe(work)) {
        Ok(()) => true,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            log::error!("{tag} session thread panicked ({message}); only this session ended");
            false
        }
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

/// Create a user's home if missing. A home that is new, or empty, gets the seed's sample file
/// and folder, so every student starts where the seed's `data/` starts; a home with files in
/// it is left as it is.
fn prepare_home(home: &Path, sample_content: bool) -> io::Result<()> {
    let empty = match fs::read_dir(home) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => return Err(e),
    };
    fs::create_dir_all(home)?;
    prepare_root(home, sample_content && empty)
}

/// Create the root if missing, with the seed's sample file and folder. Existing files are never
/// overwritten: a student's edited `baca_saya.txt` survives a restart.
pub fn prepare_root(root: &Path, sample_content: bool) -> io::Result<()> {
    fs::create_dir_all(root)?;
    if !sample_content {
        return Ok(());
    }
    let sample = root.join(SAMPLE_FILE);
    match fs::File::options()
        .write(true)
        .create_new(true)
        .open(&sample)
    {
        Ok(mut file) => io::Write::write_all(&mut file, SAMPLE_TEXT.as_bytes())?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    match fs::create_dir(root.join(SAMPLE_FOLDER)) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    Ok(())
}
