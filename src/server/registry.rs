//! Who is connected: the live sessions, counted for the connection limits and reachable for a
//! graceful shutdown.
//!
//! With one thread per connection, every connection costs a thread, so the number of
//! connections must be bounded: a client that opens thousands would otherwise exhaust the
//! server's memory or thread limit and lock out everyone else. pyftpdlib's `max_cons` (512) and
//! `max_cons_per_ip`, and vsftpd's `max_clients` / `max_per_ip`, are the models. A refused
//! client gets `421` (RFC 959: "service not available, closing control connection") and its
//! connection is closed by the accept loop itself: no thread is ever started for it.

use std::collections::HashMap;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

/// Something running that a shutdown can stop (a transfer; see `transfer::TransferControl`).
/// The registry knows transfers only through this, so it does not depend on `transfer`.
pub trait Abort: Send + Sync {
    /// Stop it now, as ABOR would.
    fn abort(&self);
}

/// The limits on connections; 0 means no limit.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// At most this many sessions at once.
    pub max_connections: usize,
    /// At most this many sessions from one IP address at once.
    pub max_per_ip: usize,
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("user", &self.user)
            .field("command", &self.command)
            .field("since", &self.since)
            .field("transferring", &self.transfer.is_some())
            .finish()
    }
}

/// Why a new connection was turned away: its `Display` is the text of the `421` it gets
/// (capitalised, as a reply's text is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The server is shutting down (Ctrl-C, [`Registry::begin_shutdown`]): no new sessions.
    ShuttingDown,
    /// As many sessions as `--max-connections` allows are live already.
    TooMany {
        /// The limit.
        limit: usize,
    },
    /// As many sessions from this client's address as `--max-connections-per-ip` allows are
    /// live already.
    TooManyFromAddress {
        /// The client's address.
        ip: IpAddr,
        /// The limit.
        limit: usize,
    },
    /// The session's thread would pass the machine's thread budget
    /// (`platform::thread_budget`), counting transfer threads too.
    NoThread {
        /// The budget.
        budget: usize,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::ShuttingDown => f.write_str("The server is shutting down."),
            Refusal::TooMany { limit } => write!(
                f,
                "Too many connections ({limit} at once is the limit); try again later."
            ),
            Refusal::TooManyFromAddress { ip, limit } => write!(
                f,
                "Too many connections from your address {ip} ({limit} is the limit)."
            ),
            Refusal::NoThread { budget } => write!(
                f,
                "The server is running as many threads as this machine allows ({budget}); try \
                 again later."
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// The live sessions of a server.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
    /// Set when the server is shutting down: sessions finish their transfer and close.
    shutting_down: AtomicBool,
    /// Session and transfer threads running now, against the budget below.
    threads: AtomicUsize,
    /// The most threads the machine allows (`platform::thread_budget`); 0 means no limit.
    thread_budget: usize,
}

#[derive(Default)]
struct Inner {
    per_ip: HashMap<IpAddr, usize>,
    /// Each live session.
    sessions: HashMap<u64, Entry>,
    /// Sessions served since the start.
    served: u64,
}

/// What the registry keeps about one live session.
struct Entry {
    peer: SocketAddr,
    /// A handle on its control socket once the session has attached it, so a shutdown can
    /// wake a session that is blocked waiting for a command.
    socket: Option<Arc<TcpStream>>,
    /// What it is doing, for SITE WHO.
    activity: Arc<Mutex<Activity>>,
}

/// What a session last did: SITE WHO shows it.
#[derive(Clone)]
pub struct Activity {
    /// The logged-in user, if any.
    pub user: Option<String>,
    /// The verb of the last command.
    pub command: String,
    /// When the last command came.
    pub since: Instant,
    /// The transfer running now, if any: when the shutdown grace runs out, it is aborted, so
    /// that an unfinished upload removes its temporary file before the server exits.
    pub transfer: Option<Weak<dyn Abort>>,
}

/// One line of SITE WHO.
#[derive(Debug, Clone)]
pub struct Who {
    /// The session number (its thread is `session-N`).
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// What it last did.
    pub activity: Activity,
}

/// A session's place in the registry; dropping it (when the session ends) frees the place.
pub struct Slot {
    registry: Arc<Registry>,
    id: u64,
    ip: IpAddr,
    /// The session's thread, counted against the machine's budget.
    _thread: ThreadTicket,
}

/// A place for one thread within the machine's thread budget; dropping it gives the place back.
pub struct ThreadTicket(Arc<Registry>);

impl Drop for ThreadTicket {
    fn drop(&mut self) {
        self.0.threads.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Registry {
    /// A registry that refuses to start more than `budget` session and transfer threads
    /// (`None`: no limit). See `platform::thread_budget` for why there must be one.
    pub fn with_thread_budget(budget: Option<usize>) -> Registry {
        Registry {
            thread_budget: budget.unwrap_or(0),
            ..Registry::default()
        }
    }

    /// A place for one more thread, if the budget has one.
    pub fn take_thread(registry: &Arc<Registry>) -> Option<ThreadTicket> {
        let taken = registry.threads.fetch_add(1, Ordering::SeqCst);
        let ticket = ThreadTicket(Arc::clone(registry));
        if registry.thread_budget > 0 && taken >= registry.thread_budget {
            return None; // the ticket is dropped: the count goes back
        }
        Some(ticket)
    }

    /// Take a place for a new connection, or say why not (its `Display` is the 421's text).
    pub fn admit(
        registry: &Arc<Registry>,
        id: u64,
        peer: SocketAddr,
        limits: Limits,
    ) -> Result<Slot, Refusal> {
        let ip = peer.ip().to_canonical();
        let mut inner = registry.lock();
        if registry.is_shutting_down() {
            return Err(Refusal::ShuttingDown);
        }
        let total = inner.sessions.len();
        if limits.max_connections > 0 && total >= limits.max_connections {
            return Err(Refusal::TooMany {
                limit: limits.max_connections,
            });
        }
        let from_ip = inner.per_ip.get(&ip).copied().unwrap_or(0);
        if limits.max_per_ip > 0 && from_ip >= limits.max_per_ip {
            return Err(Refusal::TooManyFromAddress {
                ip,
                limit: limits.max_per_ip,
            });
        }
        let Some(thread) = Registry::take_thread(registry) else {
            return Err(Refusal::NoThread {
                budget: registry.thread_budget,
            });
        };
        let activity = Activity {
            user: None,
            command: "(connected)".to_string(),
            since: Instant::now(),
            transfer: None,
        };
        let entry = Entry {
            peer,
            socket: None,
            activity: Arc::new(Mutex::new(activity)),
        };
        inner.sessions.insert(id, entry);
        *inner.per_ip.entry(ip).or_insert(0) += 1;
        inner.served += 1;
        Ok(Slot {
            registry: Arc::clone(registry),
            id,
            ip,
            _thread: thread,
        })
    }

    /// How many sessions are live now.
    pub fn live(&self) -> usize {
        self.lock().sessions.len()
    }

    /// How many sessions were admitted since the start.
    pub fn served(&self) -> u64 {
        self.lock().served
    }

    /// Whether a shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Begin a shutdown: refuse new sessions, and wake every session waiting for a command by
    /// shutting down the reading side of its control connection. A session with a transfer
    /// running lets it finish (see `session.rs`), then says 421 and closes.
    /// Returns how many sessions were open at that moment; `None` if a shutdown had already
    /// begun.
    pub fn begin_shutdown(&self) -> Option<usize> {
        let first = !self.shutting_down.swap(true, Ordering::SeqCst);
        let inner = self.lock();
        for entry in inner.sessions.values() {
            if let Some(socket) = &entry.socket {
                let _ = socket.shutdown(Shutdown::Read);
            }
        }
        first.then_some(inner.sessions.len())
    }

    /// Abort every transfer still running (at the end of the shutdown grace). Each ends as
    /// an ABOR would end it: an upload's temporary file is removed, the old file kept.
    pub fn abort_transfers(&self) -> usize {
        let mut aborted = 0;
        for entry in self.lock().sessions.values() {
            let activity = entry.activity.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(transfer) = activity.transfer.as_ref().and_then(Weak::upgrade) {
                transfer.abort();
                aborted += 1;
            }
        }
        aborted
    }

    /// The live sessions, by number: the thread-per-connection design made visible.
    pub fn who(&self) -> Vec<Who> {
        let mut sessions: Vec<Who> = self
            .lock()
            .sessions
            .iter()
            .map(|(id, entry)| Who {
                id: *id,
                peer: entry.peer,
                activity: entry
                    .activity
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone(),
            })
            .collect();
        sessions.sort_by_key(|who| who.id);
        sessions
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The data behind the lock stays consistent even if a holder panicked (every update
        // is a single insert or decrement), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Slot {
    /// Give the registry a handle on the session's control socket: shutting down its reading
    /// side is the only way another thread can wake a thread blocked in `read()`. If the
    /// shutdown began before the handle arrived, the session is woken at once.
    pub fn attach(&self, control: Arc<TcpStream>) {
        let mut inner = self.registry.lock();
        if self.registry.is_shutting_down() {
            let _ = control.shutdown(Shutdown::Read);
        }
        if let Some(entry) = inner.sessions.get_mut(&self.id) {
            entry.socket = Some(control);
        }
    }

    /// The session's activity record, for it to update (one uncontended lock per command).
    pub fn activity(&self) -> Arc<Mutex<Activity>> {
        let inner = self.registry.lock();
        match inner.sessions.get(&self.id) {
            Some(entry) => Arc::clone(&entry.activity),
            None => Arc::new(Mutex::new(Activity {
                user: None,
                command: String::new(),
                since: Instant::now(),
                transfer: None,
            })),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        inner.sessions.remove(&self.id);
        if let Some(count) = inner.per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                // Forget the address, so the map does not grow with every client ever seen.
                inner.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:40000".parse().unwrap()
    }

    #[test]
    fn limits_count_and_free_places() {
        let registry = Arc::new(Registry::default());
        let limits = Limits {
            max_connections: 2,
            max_per_ip: 0,
        };
        let peer = peer();
        let first = Registry::admit(&registry, 1, peer, limits).unwrap();
        let _second = Registry::admit(&registry, 2, peer, limits).unwrap();
        let refused = Registry::admit(&registry, 3, peer, limits).err().unwrap();
        assert_eq!(refused, Refusal::TooMany { limit: 2 });
        assert!(
            refused.to_string().contains("Too many connections"),
            "{refused}"
        );
        drop(first);
        assert_eq!(registry.live(), 1);
        assert!(Registry::admit(&registry, 4, peer, limits).is_ok());
        assert_eq!(registry.served(), 3);
    }

    /// Past the machine's thread budget a new thread could abort the whole process (see
    /// `platform::thread_budget`); sessions and transfers are refused before that, and their
    /// places come back when they end.
    #[test]
    fn sessions_and_transfers_stay_within_the_thread_budget() {
        let registry = Arc::new(Registry::with_thread_budget(Some(3)));
        let limits = Limits {
            max_connections: 0,
            max_per_ip: 0,
        };
        let first = Registry::admit(&registry, 1, peer(), limits).unwrap();
        let _second = Registry::admit(&registry, 2, peer(), limits).unwrap();
        let transfer = Registry::take_thread(&registry).unwrap();
        let refused = Registry::admit(&registry, 3, peer(), limits).err().unwrap();
        assert_eq!(refused, Refusal::NoThread { budget: 3 });
        assert!(refused.to_string().contains("as many threads"), "{refused}");
        assert!(Registry::take_thread(&registry).is_none());
        drop(transfer);
        assert!(Registry::take_thread(&registry).is_some());
        drop(first);
        let _fourth = Registry::admit(&registry, 4, peer(), limits).unwrap();
        assert_eq!(registry.threads.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn per_ip_limit() {
        let registry = Arc::new(Registry::default());
        let limits = Limits {
            max_connections: 0,
            max_per_ip: 1,
        };
        let peer = peer();
        let slot = Registry::admit(&registry, 1, peer, limits).unwrap();
        let refused = Registry::admit(&registry, 2, peer, limits).err().unwrap();
        assert!(matches!(
            refused,
            Refusal::TooManyFromAddress { limit: 1, .. }
        ));
        assert!(
            refused.to_string().contains("from your address"),
            "{refused}"
        );
        drop(slot);
        assert!(registry.lock().per_ip.is_empty(), "addresses are forgotten");
    }
}
