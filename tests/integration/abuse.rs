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

// --- Clients that send and never read --------------------------------------------------------

/// Send `HELP` lines until the server stops taking them (a write of ours times out, or the
/// server closes), never reading a reply: the server's replies fill the socket buffers and,
/// without a write timeout, its session thread blocks in `write` for good. `write` sends bytes
/// through whatever layer the connection uses (plain TCP or TLS).
fn flood_help(mut write: impl FnMut(&[u8]) -> std::io::Result<()>) {
    let lines = "HELP\r\n".repeat(200);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if write(lines.as_bytes()).is_err() {
            return;
        }
    }
    panic!("the server kept reading for 30 s: the flood never filled its buffers");
}

/// A plain control connection that floods HELP and then just stays connected, never reading.
fn plain_flooder(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    flood_help(|bytes| stream.write_all(bytes));
    stream
}

/// Log in and out again, retrying while the server answers 421 (no free slot), for at most
/// `limit`. Panics if no slot frees up in that time.
fn log_in_when_a_slot_frees(addr: SocketAddr, limit: Duration) {
    let started = Instant::now();
    loop {
        let mut c = Control::connect(addr);
        match c.try_read_reply() {
            Some(reply) if reply.code == 220 => {
                c.cmd("USER user", 331);
                c.cmd("PASS 12345", 230);
                c.cmd("QUIT", 221);
                return;
            }
            Some(reply) if reply.code == 421 => {}
            other => panic!("expected 220 or 421, got {other:?}"),
        }
        assert!(
            started.elapsed() < limit,
            "a normal client was still refused (421) after {limit:?}: the clients that never \
             read their replies hold every slot"
        );
        thread::sleep(Duration::from_millis(200));
    }
}

/// The session of the client at `client` ended, and its end is logged once, with the reason.
fn assert_ended_once(server: &mut crate::support::Running, client: SocketAddr) {
    let tag = format!(" {client}]");
    let log = server.wait_for_log(&format!("{client}] disconnected after"));
    let ends = log
        .lines()
        .filter(|line| line.contains(&tag) && line.contains("disconnected after"))
        .count();
    assert_eq!(
        ends, 1,
        "{client}'s session should end once; the log:\n{log}"
    );
    assert!(
        log.lines()
            .any(|line| line.contains(&tag) && line.contains("stopped reading")),
        "{client}'s session end should say the client stopped reading; the log:\n{log}"
    );
}

/// With `--max-connections 2`, two clients that send HELP after HELP and
/// never read the replies used to hold both slots for as long as they stayed connected (the
/// session threads blocked writing replies, where the idle timeout never looks). Now a reply
/// that cannot be written within the idle timeout ends the session, and a normal client gets in.
#[test]
fn clients_that_never_read_their_replies_are_cut_off_and_free_their_slots() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut server = run(
        dir.path(),
        &[
            "--port",
            "0",
            "--root",
            root.to_str().unwrap(),
            "--max-connections",
            "2",
            "--idle-timeout",
            "1",
        ],
    );
    let addr = server.addr;
    let flooders: Vec<TcpStream> = (0..2).map(|_| plain_flooder(addr)).collect();
    log_in_when_a_slot_frees(addr, Duration::from_secs(20));
    for flooder in &flooders {
        assert_ended_once(&mut server, flooder.local_addr().unwrap());
    }
    drop(flooders);
}

/// The same over FTPS: after `AUTH TLS` the replies are TLS records written by rustls, and the
/// write timeout must hold there too.
#[test]
fn a_tls_client_that_never_reads_its_replies_is_cut_off_too() {
    use rustls::pki_types::ServerName;
    use std::io::{BufRead, BufReader};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut server = run(
        dir.path(),
        &[
            "--port",
            "0",
            "--root",
            root.to_str().unwrap(),
            "--max-connections",
            "1",
            "--idle-timeout",
            "1",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let mut socket = TcpStream::connect(server.addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket.write_all(b"AUTH TLS\r\n").unwrap();
    let mut reader = BufReader::new(socket.try_clone().unwrap());
    for expected in ["220", "234"] {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with(expected), "expected {expected}: {line:?}");
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    while tls.is_handshaking() {
        tls.complete_io(&mut socket).expect("TLS handshake");
    }
    socket
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    flood_help(|bytes| {
        tls.writer().write_all(bytes)?;
        while tls.wants_write() {
            tls.write_tls(&mut socket)?;
        }
        Ok(())
    });
    log_in_when_a_slot_frees(server.addr, Duration::from_secs(20));
    assert_ended_once(&mut server, socket.local_addr().unwrap());
    drop(socket);
}
