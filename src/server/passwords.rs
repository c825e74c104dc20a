//! Checking a password: the same cost for every name, and a bound on the memory it takes.
//!
//! A `--users` file keeps Argon2 hashes (see `users`). Argon2 is slow and memory-hungry on
//! purpose, so that guessing passwords from a stolen file is expensive: with the default
//! parameters one verification takes tens of milliseconds and holds about 19 MiB. Two things
//! follow for a server, and this module handles both:
//!
//! - **Timing.** If only existing names paid for Argon2, a `530` that comes back at once would
//!   say "no such user" and a slow one "right name, wrong password": USER's uniform `331`
//!   (RFC 2577 §5) would be undone by a stopwatch. So when the server has any hashed account,
//!   *every* PASS costs one verification: a name that does not exist (or has a plain password)
//!   is checked against a dummy hash made at start with the same parameters, and the answer
//!   thrown away.
//! - **Memory.** Each verification in flight holds its 19 MiB. Without a bound, 150 clients
//!   sending PASS at once took the server to 2.3 GiB. A counting semaphore ([`Gate`]) lends
//!   out at most [`max_at_once`] buffers of Argon2 memory, kept and reused; a check waits for a
//!   free one, at most the session's idle timeout, and is then turned away with 421 (busy).
//!
//! A real server might go further: a per-address rate limit, or Argon2 parameters chosen for
//! its own memory budget. The bound here is the least a thread-per-connection server needs.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::password_hash::CustomizedPasswordHasher;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Version};

/// The most Argon2 verifications that run at once (and so the number of 19 MiB buffers kept): one per CPU (more would only queue for the
/// CPUs while holding their memory), at least 2 and at most 8, so the memory they hold stays
/// under 8 × 19 MiB whatever the machine.
pub fn max_at_once() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// The password checker of one server: the gate and, when any account is hashed, the dummy
/// hash that names without one are checked against.
#[derive(Debug)]
pub struct Checker {
    gate: Gate,
    /// A hash of a password no one knows, with the first hashed account's parameters.
    dummy: Option<String>,
}

impl Default for Checker {
    /// A checker for a server without hashed accounts.
    fn default() -> Checker {
        Checker::new(None)
    }
}

/// Too many password checks are waiting: the session is told to come back later.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

impl Checker {
    /// A checker for a server whose hashed accounts include `first_hash` (the PHC string of
    /// one of them), or that has none.
    pub fn new(first_hash: Option<&str>) -> Checker {
        Checker {
            gate: Gate::new(max_at_once()),
            dummy: first_hash.and_then(dummy_like),
        }
    }

    /// Whether `password` matches the Argon2 hash `phc`, waiting at most `wait` for a turn.
    pub fn verify(&self, password: &str, phc: &str, wait: Duration) -> Result<bool, Busy> {
        let mut turn = self.gate.enter(wait).ok_or(Busy)?;
        Ok(verify_in(password, phc, &mut turn.memory))
    }

    /// Spend what a verification costs, for a name that has no hash: the time and the memory
    /// are the same as for a real account, and the answer is thrown away. Nothing to spend
    /// when the server has no hashed account (a plain compare takes nanoseconds either way).
    pub fn pretend(&self, password: &str, wait: Duration) -> Result<(), Busy> {
        if let Some(dummy) = &self.dummy {
            self.verify(password, dummy, wait)?;
        }
        Ok(())
    }
}

/// A hash of a fixed text with the same algorithm, version and parameters as `phc`, so that
/// verifying against it costs what verifying against `phc` does.
fn dummy_like(phc: &str) -> Option<String> {
    let model = PasswordHash::new(phc).ok()?;
    let params = argon2::Params::try_from(&model).ok()?;
    let made = Argon2::default().hash_password_customized(
        b"localftp: the password of no account",
        b"localftp-dummy-salt",
        Some(model.algorithm.as_str()),
        model.version,
        params,
    );
    made.ok().map(|hash| hash.to_string())
}

/// Argon2's working memory, lent out: at most `max` buffers ever exist, and a check waits for
/// a free one. A counting semaphore whose permits are the buffers themselves, made of a mutex
/// and a condition variable (std has no semaphore).
///
/// Why keep the buffers instead of letting each check allocate its own: glibc's `malloc`
/// raises its "use mmap" threshold after the first big block is freed, and from then on keeps
/// freed 19 MiB blocks in its per-thread arenas instead of returning them. Measured here: with
/// two checks at a time but a fresh buffer each, 80 logins still left the server at 1.4 GiB.
/// Lent buffers are allocated once, reused, and bound the memory at `max` × 19 MiB for the
/// server's whole life.
#[derive(Debug)]
pub struct Gate {
    spare: Mutex<Spare>,
    returned: Condvar,
    max: usize,
}

/// The buffers not lent out, and how many were ever made.
#[derive(Debug, Default)]
struct Spare {
    buffers: Vec<Vec<Block>>,
    made: usize,
}

/// A buffer lent by a [`Gate`], given back when dropped (however the check ends).
pub struct Turn<'a> {
    gate: &'a Gate,
    /// The memory for one Argon2 computation (resized to what each hash's parameters need).
    pub memory: Vec<Block>,
}

impl Gate {
    /// A gate that lends at most `max` buffers at once.
    pub fn new(max: usize) -> Gate {
        Gate {
            spare: Mutex::new(Spare::default()),
            returned: Condvar::new(),
            max,
        }
    }

    fn spare(&self) -> MutexGuard<'_, Spare> {
        self.spare.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for a buffer, at most `wait`; `None` if none came free in time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use localftp::server::passwords::Gate;
    /// let gate = Gate::new(1);
    /// let first = gate.enter(Duration::ZERO).unwrap();
    /// assert!(gate.enter(Duration::from_millis(10)).is_none());
    /// drop(first);
    /// assert!(gate.enter(Duration::ZERO).is_some());
    /// ```
    pub fn enter(&self, wait: Duration) -> Option<Turn<'_>> {
        let deadline = Instant::now() + wait;
        let mut spare = self.spare();
        loop {
            if let Some(memory) = spare.buffers.pop() {
                return Some(Turn { gate: self, memory });
            }
            if spare.made < self.max {
                spare.made += 1;
                return Some(Turn {
                    gate: self,
                    memory: Vec::new(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            spare = self
                .returned
                .wait_timeout(spare, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        self.gate.spare().buffers.push(memory);
        self.gate.returned.notify_one();
    }
}

/// Whether `password` matches the Argon2 hash `phc`, computed in `memory` (grown to the size
/// the hash's parameters ask for). What `argon2`'s own `verify_password` does, except that it
/// allocates its memory afresh each time.
fn verify_in(password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        argon2::Params::try_from(&hash),
        Algorithm::try_from(hash.algorithm.as_str()),
    ) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
        None => Version::default(),
    };
    memory.resize(params.block_count(), Block::default());
    let mut computed = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, &mut memory[..])
        .is_err()
    {
        return false;
    }
    // `Output`'s own comparison takes the same time wherever the first difference is.
    Output::new(&computed).is_ok_and(|computed| computed == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_gate_never_lets_more_than_max_in() {
        let gate = Arc::new(Gate::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    let _turn = gate.enter(Duration::from_secs(10)).unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_dummy_has_the_models_parameters_and_matches_nothing_given() {
        let model = crate::server::users::hash_password("x").unwrap();
        let dummy = dummy_like(&model).unwrap();
        let params = |phc: &str| PasswordHash::new(phc).unwrap().params.to_string();
        assert_eq!(params(&dummy), params(&model));
        let checker = Checker::new(Some(&model));
        assert_eq!(checker.verify("x", &model, Duration::ZERO), Ok(true));
        assert_eq!(checker.verify("x", &dummy, Duration::ZERO), Ok(false));
        assert_eq!(checker.pretend("x", Duration::ZERO), Ok(()));
    }
}
