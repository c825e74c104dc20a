//! The measures. Each one checks what it measured, and a failed check fails the round: no
//! figure is reported for work the server did not do right. The two references, `raw-sendfile`
//! and `disk-fsync`, which measure the machine with no FTP, are in `references.rs`.
//!
//! | measure | what one round does | its check |
//! |---|---|---|
//! | `retr` | one session: TYPE I, RETR the big file | the byte count is the file's size |
//! | `stor` | one session: TYPE I, STOR the big file into `upload/` | the stored file's size on disk (then it is deleted) |
//! | `stor-nofsync` | the same STOR, to a second localftp child run with `fsync` off | the same |
//! | `small` | one session: TYPE I, then 1,000 × (EPSV + RETR of a 4 KiB file) | every byte count is 4,096 |
//! | `sessions` | 8 threads for S seconds, each repeating connect, 220, USER, PASS, PWD, QUIT, close | every session got 230 and 221, none failed |
//! | `idle` | open N logged-in sessions (8 opener threads), hold them, NOOP each; then, still holding them, 20 fresh logins one after another (connect, USER, PASS, QUIT), each timed | all N got 230 and answered NOOP with 200; all 20 fresh logins got 230 and 221 |
//! | `list` | one session: 1 warm-up + 5 timed LIST of `bigdir/` | every listing has exactly the 10,000 names |
//!
//! Times include the EPSV and the data connection's setup, as a client sees them.

use std::fs::{self, File};
use std::net::Shutdown;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::fixtures;
use crate::ftp::{Control, Result};
use crate::references;
use crate::under_test::UnderTest;

/// Client threads in the session-rate and idle measures.
const THREADS: usize = 8;
/// Client threads run short loops over small buffers: a small stack is plenty.
pub const CLIENT_STACK: usize = 128 * 1024;
/// The session-rate measure stops early after this many failed sessions.
const MAX_SESSION_FAILURES: usize = 100;
/// Fresh logins timed while the idle sessions are held: does the accept loop still serve?
const LOGINS_WHILE_HELD: usize = 20;
/// Timed LISTs per round, after one warm-up.
const LISTS: usize = 5;
/// The receive buffer of downloads.
pub const BUFFER: usize = 256 * 1024;
const GIB: f64 = (1u64 << 30) as f64;

/// One measure. The names are those of `--measures`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Measure {
    /// RETR of the big file.
    Retr,
    /// The big file over loopback with no FTP, with plain sendfile calls: the reference for RETR.
    RawSendfile,
    /// STOR of the big file.
    Stor,
    /// STOR of the big file to a second localftp child with `fsync` off.
    StorNofsync,
    /// The big file written to STOR's disk and fsync'd, with no FTP (`dd conv=fsync`): the reference for STOR.
    DiskFsync,
    /// 1,000 small RETRs in one session.
    Small,
    /// Complete sessions per second.
    Sessions,
    /// Memory of idle logged-in sessions.
    Idle,
    /// LIST of a folder of 10,000 files.
    List,
}

/// What the measures need to know.
#[derive(Clone, Copy)]
pub struct Bench<'a> {
    /// The server being measured.
    pub server: &'a UnderTest,
    /// A second localftp child, run with `fsync` off, for `stor-nofsync`; `None` with --addr.
    pub nofsync: Option<&'a UnderTest>,
    /// The account.
    pub user: &'a str,
    /// Its password.
    pub password: &'a str,
    /// The folder the server serves, as this machine sees it.
    pub root: &'a Path,
    /// The size of the big file.
    pub big_size: u64,
    /// How long the session-rate measure runs.
    pub session_secs: f64,
    /// How many idle sessions to hold.
    pub idle_count: usize,
}

/// One row of the table: a label and a unit.
pub struct RowSpec {
    /// What is measured.
    pub label: String,
    /// Its unit, with ↑ (higher is better) or ↓.
    pub unit: &'static str,
}

fn row(label: String, unit: &'static str) -> RowSpec {
    RowSpec { label, unit }
}

impl Measure {
    /// The name `--measures` takes: `retr`, `raw-sendfile`, …
    pub fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }

    /// The rows this measure fills, in the order [`Measure::run`] returns their values. CPU
    /// and memory rows exist only when the server's process is known.
    pub fn rows(self, bench: &Bench) -> Vec<RowSpec> {
        let known = bench.server.pid.is_some();
        let size = size_label(bench.big_size);
        let idle = crate::report::number(bench.idle_count as f64);
        let mut rows = match self {
            Measure::Retr => vec![row(format!("RETR {size}"), "MB/s ↑")],
            Measure::RawSendfile => vec![row(format!("raw sendfile {size}, loopback"), "MB/s ↑")],
            Measure::Stor => vec![row(format!("STOR {size}"), "MB/s ↑")],
            Measure::StorNofsync => vec![row(format!("STOR {size}, --no-fsync"), "MB/s ↑")],
            Measure::DiskFsync => vec![row(
                format!("disk write {size}, 1 MiB blocks + fsync"),
                "MB/s ↑",
            )],
            Measure::Small => vec![row("1,000 × 4 KiB RETR, 1 session".into(), "files/s ↑")],
            Measure::Sessions => vec![row("sessions, 8 at a time".into(), "sessions/s ↑")],
            Measure::Idle if known => vec![
                row(format!("{idle} idle sessions: RSS"), "KiB/session ↓"),
                row(format!("{idle} idle sessions: PSS"), "KiB/session ↓"),
                row(format!("{idle} idle sessions: server RSS"), "MiB ↓"),
                row(format!("{idle} idle sessions: server threads"), "threads"),
                row(format!("{idle} idle sessions: server fds"), "fds"),
            ],
            Measure::Idle => vec![row(format!("{idle} idle sessions served"), "sessions")],
            Measure::List => vec![row("LIST of 10,000 files".into(), "ms ↓")],
        };
        if known {
            match self {
                Measure::Retr => rows.push(row(format!("RETR {size}: server CPU"), "s/GiB ↓")),
                Measure::Stor => rows.push(row(format!("STOR {size}: server CPU"), "s/GiB ↓")),
                Measure::Small => rows.push(row("small files: server CPU".into(), "ms/file ↓")),
                Measure::Sessions => {
                    rows.push(row("sessions: server CPU".into(), "ms/session ↓"));
                }
                // Its CPU is the second child's, below; the references have no server.
                Measure::StorNofsync
                | Measure::RawSendfile
                | Measure::DiskFsync
                | Measure::Idle
                | Measure::List => {}
            }
        }
        if self == Measure::StorNofsync && bench.nofsync.and_then(|child| child.pid).is_some() {
            rows.push(row(
                format!("STOR {size}, --no-fsync: server CPU"),
                "s/GiB ↓",
            ));
        }
        if self == Measure::Idle {
            let logins = LOGINS_WHILE_HELD;
            rows.push(row(format!("opening the {idle} sessions"), "s ↓"));
            rows.push(row(
                format!("{logins} new logins while {idle} held: median"),
                "ms ↓",
            ));
            rows.push(row(
                format!("{logins} new logins while {idle} held: worst"),
                "ms ↓",
            ));
        }
        rows
    }

    /// Run one round; the values match [`Measure::rows`].
    pub fn run(self, bench: &Bench, round: usize) -> Result<Vec<f64>> {
        match self {
            Measure::Retr => retr(bench),
            Measure::RawSendfile => references::raw_sendfile(bench),
            Measure::Stor => stor(bench, round),
            Measure::StorNofsync => match bench.nofsync {
                Some(server) => stor(&Bench { server, ..*bench }, round),
                None => Err("no --no-fsync server to measure (a bug: it should be skipped)".into()),
            },
            Measure::DiskFsync => references::disk_fsync(bench, round),
            Measure::Small => small(bench),
            Measure::Sessions => sessions(bench),
            Measure::Idle => idle(bench),
            Measure::List => list(bench),
        }
    }
}

/// `1 GiB`, `256 MiB`, or a byte count.
pub fn size_label(size: u64) -> String {
    match size {
        s if s >= 1 << 30 && s % (1 << 30) == 0 => format!("{} GiB", s >> 30),
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s => format!("{s} bytes"),
    }
}

/// The server's CPU seconds used between two readings, if its process is known.
fn cpu_between(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    Some(after? - before?)
}

/// Push a CPU figure when there is one (the rows say whether there is).
fn with_cpu(mut values: Vec<f64>, cpu: Option<f64>) -> Vec<f64> {
    values.extend(cpu);
    values
}

fn login(bench: &Bench) -> Result<Control> {
    Control::login(bench.server.address, bench.user, bench.password)
}

fn retr(bench: &Bench) -> Result<Vec<f64>> {
    let size = bench.big_size;
    let mut control = login(bench)?;
    control.expect("TYPE I", &[200])?;
    let mut buffer = vec![0u8; BUFFER];
    let cpu = bench.server.cpu_seconds();
    let started = Instant::now();
    let got = control.download(&format!("RETR {}", fixtures::big(size)), &mut buffer, None)?;
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_between(cpu, bench.server.cpu_seconds());
    control.quit()?;
    if got != size {
        return Err(format!("RETR: {got} bytes arrived, the file has {size}"));
    }
    Ok(with_cpu(
        vec![size as f64 / secs / 1e6],
        cpu.map(|c| c / (size as f64 / GIB)),
    ))
}

fn stor(bench: &Bench, round: usize) -> Result<Vec<f64>> {
    let size = bench.big_size;
    let source = bench.root.join(fixtures::big(size));
    let file = File::open(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let target = fixtures::upload(round);
    let on_disk = bench.root.join(&target);
    let mut control = login(bench)?;
    control.expect("TYPE I", &[200])?;
    let cpu = bench.server.cpu_seconds();
    let started = Instant::now();
    let sent = control.upload(&format!("STOR {target}"), &file, size);
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_between(cpu, bench.server.cpu_seconds());
    let stored = fs::metadata(&on_disk).map(|meta| meta.len());
    let _ = fs::remove_file(&on_disk);
    sent?;
    control.quit()?;
    match stored {
        Ok(stored) if stored == size => {}
        Ok(stored) => return Err(format!("STOR: {stored} bytes on disk, {size} sent")),
        Err(e) => {
            return Err(format!(
                "STOR: {}: {e} (is --root the folder the server serves?)",
                on_disk.display()
            ));
        }
    }
    Ok(with_cpu(
        vec![size as f64 / secs / 1e6],
        cpu.map(|c| c / (size as f64 / GIB)),
    ))
}

fn small(bench: &Bench) -> Result<Vec<f64>> {
    let mut control = login(bench)?;
    control.expect("TYPE I", &[200])?;
    let mut buffer = vec![0u8; BUFFER];
    let cpu = bench.server.cpu_seconds();
    let started = Instant::now();
    for i in 0..fixtures::SMALL_COUNT {
        let path = fixtures::small(i);
        let got = control.download(&format!("RETR {path}"), &mut buffer, None)?;
        if got != fixtures::SMALL_SIZE {
            return Err(format!("RETR {path}: {got} bytes, not 4096"));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_between(cpu, bench.server.cpu_seconds());
    control.quit()?;
    let files = fixtures::SMALL_COUNT as f64;
    Ok(with_cpu(vec![files / secs], cpu.map(|c| c * 1e3 / files)))
}

/// One whole session, as the session-rate measure repeats it.
fn one_session(bench: &Bench) -> Result<()> {
    let mut control = login(bench)?;
    control.expect("PWD", &[257])?;
    control.quit()
}

fn sessions(bench: &Bench) -> Result<Vec<f64>> {
    let failures = AtomicUsize::new(0);
    let first_failure = std::sync::Mutex::new(None::<String>);
    let cpu = bench.server.cpu_seconds();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(bench.session_secs);
    let done: usize = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                thread::Builder::new()
                    .stack_size(CLIENT_STACK)
                    .spawn_scoped(scope, || {
                        let mut done = 0usize;
                        while Instant::now() < deadline
                            && failures.load(Ordering::Relaxed) < MAX_SESSION_FAILURES
                        {
                            match one_session(bench) {
                                Ok(()) => done += 1,
                                Err(e) => {
                                    failures.fetch_add(1, Ordering::Relaxed);
                                    let mut first = first_failure.lock().unwrap();
                                    first.get_or_insert(e);
                                }
                            }
                        }
                        done
                    })
                    .expect("start a client thread")
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_between(cpu, bench.server.cpu_seconds());
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 || done == 0 {
        let first = first_failure.into_inner().unwrap().unwrap_or_default();
        return Err(format!(
            "{failed} of {} sessions failed; the first: {first}",
            failed + done
        ));
    }
    Ok(with_cpu(
        vec![done as f64 / secs],
        cpu.map(|c| c * 1e3 / done as f64),
    ))
}

fn idle(bench: &Bench) -> Result<Vec<f64>> {
    let count = bench.idle_count;
    let before = bench.server.memory();
    let first_failure = std::sync::Mutex::new(None::<String>);
    let opening = Instant::now();
    // THREADS openers, each logging in its share of the sessions and holding them.
    let mut held: Vec<Control> = thread::scope(|scope| {
        let openers: Vec<_> = (0..THREADS)
            .map(|k| {
                let share = count / THREADS + usize::from(k < count % THREADS);
                let first_failure = &first_failure;
                thread::Builder::new()
                    .stack_size(CLIENT_STACK)
                    .spawn_scoped(scope, move || {
                        let mut mine = Vec::with_capacity(share);
                        for _ in 0..share {
                            match login(bench) {
                                Ok(control) => mine.push(control),
                                Err(e) => {
                                    first_failure.lock().unwrap().get_or_insert(e);
                                }
                            }
                        }
                        mine
                    })
                    .expect("start a client thread")
            })
            .collect();
        openers
            .into_iter()
            .flat_map(|o| o.join().unwrap_or_default())
            .collect()
    });
    let logged_in = held.len();
    let opening = opening.elapsed().as_secs_f64();
    // Let the server settle, then ask every session whether it is still there.
    thread::sleep(Duration::from_millis(300));
    let mut alive = 0usize;
    for control in &mut held {
        match control.expect("NOOP", &[200]) {
            Ok(_) => alive += 1,
            Err(e) => {
                first_failure.lock().unwrap().get_or_insert(e);
            }
        }
    }
    let after = bench.server.memory();
    let tasks = bench.server.threads_and_fds();
    // While all of them are held, the accept loop must still serve new clients: time whole
    // logins, one after another. Every one must succeed; the times are figures, not checks.
    let mut login_ms = Vec::with_capacity(LOGINS_WHILE_HELD);
    if logged_in == count && alive == count {
        for k in 1..=LOGINS_WHILE_HELD {
            let started = Instant::now();
            match login(bench).and_then(Control::quit) {
                Ok(()) => login_ms.push(started.elapsed().as_secs_f64() * 1e3),
                Err(e) => {
                    let why = format!("new login {k} of {LOGINS_WHILE_HELD} while held: {e}");
                    first_failure.lock().unwrap().get_or_insert(why);
                    break;
                }
            }
        }
    }
    for control in held {
        let _ = control.socket().shutdown(Shutdown::Both);
    }
    // Give the server a moment to see the closes before the next measure.
    thread::sleep(Duration::from_millis(500));
    if logged_in != count || alive != count || login_ms.len() != LOGINS_WHILE_HELD {
        let first = first_failure.into_inner().unwrap().unwrap_or_default();
        return Err(format!(
            "{logged_in} of {count} logged in, {alive} answered NOOP, {} of {LOGINS_WHILE_HELD} \
             new logins while held; the first failure: {first}",
            login_ms.len()
        ));
    }
    let mut values = match (before, after, tasks) {
        (Some(before), Some(after), Some((threads, fds))) => {
            let per = |a: u64, b: u64| (a as f64 - b as f64) / count as f64;
            let (Some(pss_after), Some(pss_before)) = (after.pss_kib, before.pss_kib) else {
                return Err("the server's PSS could not be read from smaps_rollup".into());
            };
            vec![
                per(after.rss_kib, before.rss_kib),
                per(pss_after, pss_before),
                after.rss_kib as f64 / 1024.0,
                threads as f64,
                fds as f64,
            ]
        }
        (None, None, None) if bench.server.pid.is_none() => vec![alive as f64],
        _ => {
            return Err(
                "the server's memory, threads or descriptors could not be read from /proc".into(),
            );
        }
    };
    let (median, _, worst) = crate::report::summary(&login_ms).unwrap_or_default();
    values.extend([opening, median, worst]);
    Ok(values)
}

fn list(bench: &Bench) -> Result<Vec<f64>> {
    let mut control = login(bench)?;
    let mut buffer = vec![0u8; BUFFER];
    let mut listing = Vec::with_capacity(1 << 20);
    let command = format!("LIST {}", fixtures::list_dir());
    let mut total = 0.0;
    for i in 0..=LISTS {
        listing.clear();
        let started = Instant::now();
        control.download(&command, &mut buffer, Some(&mut listing))?;
        let secs = started.elapsed().as_secs_f64();
        check_listing(&listing)?;
        if i > 0 {
            total += secs;
        }
    }
    control.quit()?;
    Ok(vec![total * 1e3 / LISTS as f64])
}

/// A listing must name `f00000.dat` … `f09999.dat`, each once, and nothing else. The name is
/// the last field of an `ls -l` line; a `total N` line is allowed.
fn check_listing(listing: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(listing);
    let mut seen = vec![false; fixtures::LIST_COUNT];
    let mut entries = 0usize;
    for line in text.lines() {
        if line.is_empty() || line.starts_with("total ") {
            continue;
        }
        entries += 1;
        let name = line.split_whitespace().last().unwrap_or("");
        let index = name
            .strip_prefix('f')
            .and_then(|rest| rest.strip_suffix(".dat"))
            .filter(|digits| digits.len() == 5)
            .and_then(|digits| digits.parse::<usize>().ok())
            .filter(|&i| i < fixtures::LIST_COUNT);
        match index {
            Some(i) if !seen[i] => seen[i] = true,
            Some(_) => return Err(format!("LIST names {name} twice")),
            None => return Err(format!("LIST has an unexpected line: {line:?}")),
        }
    }
    if entries != fixtures::LIST_COUNT {
        return Err(format!(
            "LIST has {entries} entries, not {}",
            fixtures::LIST_COUNT
        ));
    }
    Ok(())
}
