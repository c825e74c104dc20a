//! Issue 5's abuse test: hostile and broken clients all at once against the server program,
//! then a normal client, and the server's threads and file descriptors back where they were.
//!
//! The server runs as its own process so that its threads and descriptors can be counted in
//! /proc without the test's own threads in the way.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Control, run};

/// How many threads and open descriptors a process has now.
fn resources(pid: u32) -> (usize, usize) {
    let count = |dir: &str| {
        std::fs::read_dir(format!("/proc/{pid}/{dir}"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    (count("task"), count("fd"))
}

/// This process's soft limit on open files (the 2,000 connections need that many).
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        })
        .unwrap_or(1024)
}

/// A full, ordinary session: login, upload, download, compare.
fn normal_session(addr: SocketAddr) {
    let mut c = Control::connect(addr);
    c.expect(220);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd("TYPE I", 200);
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    c.upload("STOR normal.bin", &payload);
    assert_eq!(c.download("RETR normal.bin"), payload);
    c.cmd("QUIT", 221);
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Connect, send `bytes` (best effort: the server may close first), read whatever comes back.
fn hit(addr: SocketAddr, bytes: &[u8]) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink);
}

#[test]
fn hostile_clients_leave_the_server_as_they_found_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let root_arg = root.to_str().unwrap();
    // Short timeouts so the idle and slow connections are cut quickly; the connection limit
    // stays at its default (512).
    let server = run(
        dir.path(),
        &[
            "--port",
            "0",
            "--root",
            root_arg,
            "--idle-timeout",
            "2",
            "--data-connect-timeout",
            "2",
            "--data-stall-timeout",
            "2",
        ],
    );
    let addr = server.addr;
    let pid = server.child.id();
    normal_session(addr);
    let baseline = resources(pid);

    let mut attackers = Vec::new();
    // Random bytes, with and without line ends.
    for seed in 0..20 {
        attackers.push(thread::spawn(move || {
            hit(addr, &pseudo_random(8192, seed + 1))
        }));
    }
    // One-megabyte lines.
    for _ in 0..5 {
        attackers.push(thread::spawn(move || {
            let mut line = vec![b'A'; 1 << 20];
            line.extend_from_slice(b"\r\n");
            hit(addr, &line);
        }));
    }
    // Half-open: connect, never send, never read.
    for _ in 0..50 {
        attackers.push(thread::spawn(move || {
            if let Ok(stream) = TcpStream::connect(addr) {
                thread::sleep(Duration::from_secs(4));
                drop(stream);
            }
        }));
    }
    // Slowloris: one byte every 300 ms, a line that never ends.
    for _ in 0..5 {
        attackers.push(thread::spawn(move || {
            let Ok(mut stream) = TcpStream::connect(addr) else {
                return;
            };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(5) {
                if stream.write_all(b"N").is_err() {
                    return; // cut off by the server: what should happen
                }
                thread::sleep(Duration::from_millis(300));
            }
            panic!("a slowloris connection was still open after 5 s (idle timeout is 2 s)");
        }));
    }
    // A burst: as many connections at once as this process may open (2,000 when the limit
    // allows), all held open together, then closed.
    let burst = 2000.min(open_file_limit().saturating_sub(400));
    if burst < 2000 {
        eprintln!("note: the open-file limit allows a burst of {burst} connections, not 2,000");
    }
    let mut held = Vec::with_capacity(burst);
    for _ in 0..burst {
        if let Ok(stream) = TcpStream::connect(addr) {
            held.push(stream);
        }
    }
    assert!(
        held.len() > burst / 2,
        "only {} of {burst} connected",
        held.len()
    );
    // Past the default limit of 512, the server answers 421 and closes.
    let mut refused = 0;
    for stream in held.iter_mut() {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut greeting = [0u8; 3];
        if stream.read_exact(&mut greeting).is_ok() && &greeting == b"421" {
            refused += 1;
        }
    }
    if burst >= 600 {
        assert!(
            refused > 0,
            "no connection of the burst was refused with 421"
        );
    }
    drop(held);

    for attacker in attackers {
        attacker.join().expect("an attacker thread failed");
    }

    // A normal client is served as before.
    normal_session(addr);

    // Threads and descriptors return to the baseline (sessions end as their clients go).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = resources(pid);
        if now.0 <= baseline.0 && now.1 <= baseline.1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "threads/fds did not return to baseline {baseline:?}: now {now:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
    // The server is still the same process: nothing above brought it down.
    assert!(Path::new(&format!("/proc/{pid}")).exists());
}
