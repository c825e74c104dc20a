//! Checking a password costs the same for every name, and the memory Argon2
//! takes stays bounded however many clients log in at once.
//!
//! An Argon2 verification (the `--users` file's hashes) takes tens of milliseconds and about
//! 19 MiB on purpose. Run only for names that exist, it tells an attacker which names do; run
//! for every PASS at once, it lets 150 clients take the server to gigabytes.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use localftp::server::users::{hash_password, parse_users_file};

use crate::support::{Control, TestServer, run};

/// The median of some durations.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A wrong password for an existing (hashed) account and any password for a name that does
/// not exist take about as long: a slower 530 no longer means "this name exists". Old code ran
/// Argon2 only for existing names, so an unknown name was answered at once (~0 ms vs ~30 ms).
#[test]
fn a_wrong_password_takes_as_long_for_unknown_names_as_for_known_ones() {
    let hash = hash_password("right").unwrap();
    let server = TestServer::start_with(|c| {
        c.users = parse_users_file(&format!("ann:{hash}:elr"), &c.root).unwrap();
        c.max_login_attempts = 1000;
    });
    let mut c = server.connect();
    let mut time_pass = |name: &str| {
        c.cmd(&format!("USER {name}"), 331);
        let started = Instant::now();
        c.cmd("PASS wrong", 530);
        started.elapsed()
    };
    // One of each first, so neither side pays for a cold start.
    time_pass("ann");
    time_pass("nobody");
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved, so a burst of load on the machine slows both sides alike.
    for i in 0..15 {
        known.push(time_pass("ann"));
        unknown.push(time_pass(&format!("nobody{i}")));
    }
    let (known, unknown) = (median(known), median(unknown));
    eprintln!("median PASS time: known name {known:?}, unknown name {unknown:?}");
    assert!(
        unknown.as_secs_f64() >= 0.5 * known.as_secs_f64(),
        "an unknown name is answered much faster ({unknown:?}) than a known one ({known:?}): \
         the time tells which names exist"
    );
    // And the right password still works.
    let mut c = server.connect();
    c.cmd("USER ann", 331);
    c.cmd("PASS right", 230);
}

/// The high-water mark of a process's resident memory, in KiB (`VmHWM` in /proc).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// 80 clients send PASS for a hashed account at the same moment. Each Argon2 verification
/// holds about 19 MiB while it runs; old code ran them all at once (80 × 19 MiB ≈ 1.5 GiB at
/// the peak). Now at most a few run at a time and the rest wait their turn, so the server's
/// peak memory stays small, and every client still logs in.
#[test]
fn many_simultaneous_logins_keep_the_servers_memory_bounded() {
    const CLIENTS: usize = 80;
    const LIMIT_MIB: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let users = dir.path().join("users.txt");
    std::fs::write(
        &users,
        format!("ann:{}:elr\n", hash_password("right").unwrap()),
    )
    .unwrap();
    let server = run(
        dir.path(),
        &[
            "--port",
            "0",
            "--root",
            root.to_str().unwrap(),
            "--users",
            users.to_str().unwrap(),
            "--max-connections",
            "200",
        ],
    );
    let mut clients: Vec<Control> = (0..CLIENTS)
        .map(|_| {
            let mut c = Control::connect(server.addr);
            c.expect(220);
            c.cmd("USER ann", 331);
            c
        })
        .collect();
    let before = peak_rss_kib(server.child.id());
    // All the PASS lines leave within a millisecond or so: the server gets them together.
    let mut writers: Vec<TcpStream> = clients.iter().map(Control::stream).collect();
    for writer in &mut writers {
        writer.write_all(b"PASS right\r\n").unwrap();
    }
    for c in &mut clients {
        c.expect(230);
    }
    let peak = peak_rss_kib(server.child.id());
    eprintln!(
        "server peak RSS: {} MiB before the logins, {} MiB after {CLIENTS} at once",
        before / 1024,
        peak / 1024
    );
    assert!(
        peak < LIMIT_MIB * 1024,
        "{CLIENTS} simultaneous logins took the server's peak RSS to {} MiB (limit {LIMIT_MIB} MiB)",
        peak / 1024
    );
}
