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
pub mod config;
pub mod control;
pub mod copy;
pub mod data;
pub mod diagram;
pub mod events;
pub mod faults;
pub mod folders;
pub mod instruments;
pub mod jail;
pub mod listing;
pub mod passwords;
pub mod permissions;
pub mod progress;
pub mod registry;
pub mod session;
pub mod settings;
pub mod start;
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

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use folders::write_grade_sheet;
use registry::{Limits, Registry};
use users::Users;

pub use config::{Config, Share, Timeouts, folder_perms_from_spec, seed_user};
pub use folders::prepare_root;
pub use start::StartError;

// The classroom's defaults live in `crate::seed`, shared with the client; these names stay
// here too, for programs that embed the server.
pub use crate::seed::{SAMPLE_FILE, SAMPLE_FOLDER, SEED_BANNER, SEED_PORT, SEED_ROOT};

/// Stack size of a session thread. A session's deepest path (a LIST of a big folder, a log
/// line, a panic message) uses a few tens of KiB; 256 KiB leaves a wide margin. Only the pages
/// a thread touches cost memory, so this bounds address space, not resident memory.
const SESSION_STACK: usize = 256 * 1024;

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
