//! Soak run (issue 6): minutes of mixed load on one server, then a report of what went wrong
//! (nothing should) and what the process holds at the end compared with the start.
//!
//! ```text
//! cargo run --release --example soak                            # 10 minutes, 16 clients, 80 sessions/s
//! cargo run --release --example soak -- --minutes 2 --sessions 32
//! cargo run --release --example soak -- --addr 127.0.0.1:2122   # an already running server
//! ```
//!
//! Without `--addr` the server runs in this process, on port 0 in a temporary root, so its
//! threads, descriptors and memory (from /proc/self) are measured at the start and the end.
//! Each client thread runs sessions one after another: log in (now and then with a wrong
//! password first), PASV or EPSV, STOR and RETR of random sizes checked with SHA-256, LIST,
//! NLST or MLSD, DELE, and now and then an ABOR in the middle of a STOR. Every 30 s a line
//! shows the counts and the process's threads, descriptors and memory; the clients' buffers
//! (up to 5 MiB) live in the same process, so memory should level off, not stay flat. Exit
//! code 1 if any error was seen.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use localftp::server::{Config, Server};
use sha2::{Digest, Sha256};

/// Mixed FTP load for a while, then a report.
#[derive(Parser, Debug)]
#[command(about)]
struct Flags {
    /// How long to run.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Client threads, each running one session after another.
    #[arg(long, default_value_t = 16)]
    sessions: u64,
    /// Sessions a second, all threads together (0: as fast as they go). Each session opens a
    /// handful of TCP connections, and every closed one holds its port in TIME_WAIT for 60 s:
    /// one loopback address has about 28,000 ephemeral ports, so much above 80 sessions/s for
    /// minutes the machine, not the server, runs out of ports.
    #[arg(long, default_value_t = 80.0)]
    rate: f64,
    /// Load this server instead of one started in this process.
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// The account to log in with.
    #[arg(long, default_value = "user")]
    user: String,
    /// Its password.
    #[arg(long, default_value = "12345")]
    password: String,
}

/// PASV/EPSV answered 425 and retried (see `Client::passive`).
static TRANSIENT_425: AtomicU64 = AtomicU64::new(0);

/// What the clients did, counted by all of them.
#[derive(Default)]
struct Tally {
    sessions: AtomicU64,
    uploads: AtomicU64,
    downloads: AtomicU64,
    listings: AtomicU64,
    aborts: AtomicU64,
    wrong_passwords: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    /// The first few errors, for the report.
    first_errors: Mutex<Vec<String>>,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    let root = tempfile::tempdir().expect("a temporary root");
    let (addr, in_process) = match flags.addr {
        Some(addr) => (addr, false),
        None => {
            let config = Config {
                port: 0,
                root: root.path().join("root"),
                ..Config::default()
            };
            let server = Server::bind(config).expect("the server starts");
            (server.spawn(), true)
        }
    };
    let start = Usage::now();
    println!(
        "soak: {} client threads for {} min against {addr}{}",
        flags.sessions,
        flags.minutes,
        if in_process { " (in this process)" } else { "" }
    );

    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs_f64(flags.minutes * 60.0);
    let account = Arc::new((flags.user.clone(), flags.password.clone()));
    let clients: Vec<_> = (0..flags.sessions)
        .map(|id| {
            let (tally, account) = (Arc::clone(&tally), Arc::clone(&account));
            // Each thread starts a session at most every `pace`, so all together keep `rate`.
            let pace = if flags.rate > 0.0 {
                Duration::from_secs_f64(flags.sessions as f64 / flags.rate)
            } else {
                Duration::ZERO
            };
            thread::spawn(move || client(id, addr, &account, deadline, pace, &tally))
        })
        .collect();
    // A line every 30 s: the counts, and whether the process is growing.
    let started = Instant::now();
    let mut next_line = Duration::from_secs(30);
    while clients.iter().any(|c| !c.is_finished()) {
        thread::sleep(Duration::from_millis(200));
        if started.elapsed() >= next_line {
            next_line += Duration::from_secs(30);
            let now = Usage::now();
            println!(
                "  {:>3} s: {} sessions, {} errors; {} threads, {} fds, RSS {} KiB",
                started.elapsed().as_secs(),
                count(&tally.sessions),
                count(&tally.errors),
                now.threads,
                now.fds,
                now.rss_kib
            );
        }
    }
    for client in clients {
        client.join().expect("a client thread panicked");
    }
    // The server's session threads end a moment after their clients' QUIT.
    let settle = Instant::now();
    while in_process && Usage::now().threads > start.threads && settle.elapsed().as_secs() < 5 {
        thread::sleep(Duration::from_millis(50));
    }
    let end = Usage::now();

    let t = &tally;
    println!("sessions     {}", count(&t.sessions));
    println!(
        "transfers    {} (STOR {}, RETR {}), {} listings, {} ABORs, {} wrong passwords",
        count(&t.uploads) + count(&t.downloads),
        count(&t.uploads),
        count(&t.downloads),
        count(&t.listings),
        count(&t.aborts),
        count(&t.wrong_passwords)
    );
    println!(
        "bytes        {} ({:.1} MiB)",
        count(&t.bytes),
        count(&t.bytes) as f64 / 1048576.0
    );
    println!("errors       {}", count(&t.errors));
    println!(
        "retried      {} transient 425s (no free port for a moment), each then served",
        count(&TRANSIENT_425)
    );
    for error in t.first_errors.lock().unwrap().iter() {
        println!("  {error}");
    }
    let whose = if in_process {
        "server + clients, one process"
    } else {
        "this client process"
    };
    println!("resources    ({whose})   start → end");
    println!("  threads    {:>6} → {}", start.threads, end.threads);
    println!("  fds        {:>6} → {}", start.fds, end.fds);
    println!("  RSS KiB    {:>6} → {}", start.rss_kib, end.rss_kib);
    if count(&t.errors) == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn count(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// One client thread: sessions one after another until the deadline.
fn client(
    id: u64,
    addr: SocketAddr,
    account: &(String, String),
    deadline: Instant,
    pace: Duration,
    t: &Tally,
) {
    let mut random = Random(id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut n = 0;
    while Instant::now() < deadline {
        let next = Instant::now() + pace;
        n += 1;
        let name = format!("soak-{id}-{n}");
        match session(addr, account, &name, &mut random, t) {
            Ok(()) => {
                t.sessions.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                t.errors.fetch_add(1, Ordering::Relaxed);
                let mut first = t.first_errors.lock().unwrap();
                if first.len() < 10 {
                    first.push(format!("{name}: {error}"));
                }
            }
        }
        thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// One session of mixed work; any unexpected reply or wrong byte is an error.
fn session(
    addr: SocketAddr,
    (user, password): &(String, String),
    name: &str,
    random: &mut Random,
    t: &Tally,
) -> Result<(), String> {
    let mut c = Control::connect(addr)?;
    c.expect(220)?;
    if random.below(50) == 0 {
        c.cmd(&format!("USER {user}"), 331)?;
        c.cmd("PASS not-the-password", 530)?;
        t.wrong_passwords.fetch_add(1, Ordering::Relaxed);
    }
    c.cmd(&format!("USER {user}"), 331)?;
    c.cmd(&format!("PASS {password}"), 230)?;
    c.cmd("TYPE I", 200)?;

    let mut files: Vec<(String, String)> = Vec::new();
    for step in 0..2 + random.below(6) {
        let file = format!("{name}-{step}.bin");
        match random.below(10) {
            0..=3 => {
                let size = random.size();
                let bytes = random.bytes(size);
                c.store(&file, &bytes, random)?;
                t.uploads.fetch_add(1, Ordering::Relaxed);
                t.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                files.push((file, sha256(&bytes)));
            }
            4..=6 if !files.is_empty() => {
                let (file, hash) = &files[random.below(files.len() as u64) as usize];
                let bytes = c.download(&format!("RETR {file}"), random)?;
                if sha256(&bytes) != *hash {
                    return Err(format!(
                        "RETR {file}: {} bytes with another SHA-256",
                        bytes.len()
                    ));
                }
                t.downloads.fetch_add(1, Ordering::Relaxed);
                t.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            7 => {
                let verb = ["LIST", "NLST", "MLSD"][random.below(3) as usize];
                let listing = String::from_utf8_lossy(&c.download(verb, random)?).into_owned();
                if let Some((missing, _)) = files.iter().find(|(f, _)| !listing.contains(f)) {
                    return Err(format!("{verb} lacks {missing}"));
                }
                if listing.contains(".localftp-upload-") {
                    return Err(format!("{verb} shows an upload temporary"));
                }
                t.listings.fetch_add(1, Ordering::Relaxed);
            }
            8 => {
                c.abort_store(&file, random)?;
                t.aborts.fetch_add(1, Ordering::Relaxed);
                // An aborted STOR leaves nothing behind.
                c.cmd(&format!("SIZE {file}"), 550)?;
            }
            _ => {
                if let Some((file, _)) = files.pop() {
                    c.cmd(&format!("DELE {file}"), 250)?;
                }
            }
        }
    }
    for (file, _) in files {
        c.cmd(&format!("DELE {file}"), 250)?;
    }
    c.cmd("QUIT", 221)?;
    Ok(())
}

/// A control connection, driven line by line.
struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Control {
    fn connect(addr: SocketAddr) -> Result<Control, String> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        Ok(Control {
            writer: stream.try_clone().map_err(|e| e.to_string())?,
            reader: BufReader::new(stream),
        })
    }

    /// Read one reply (the last line of a multi-line one): its code and text.
    fn reply(&mut self) -> Result<(u16, String), String> {
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Err("the server closed the control connection".into()),
                Err(e) => return Err(format!("reading a reply: {e}")),
                Ok(_) => {}
            }
            let code = line.get(..3).and_then(|c| c.parse().ok());
            if let (Some(code), Some(b' ')) = (code, line.as_bytes().get(3)) {
                return Ok((code, line.trim_end().to_string()));
            }
        }
    }

    fn expect(&mut self, code: u16) -> Result<String, String> {
        match self.reply()? {
            (got, text) if got == code => Ok(text),
            (_, text) => Err(format!("expected {code}, got {text:?}")),
        }
    }

    fn cmd(&mut self, line: &str, code: u16) -> Result<String, String> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| format!("sending {line}: {e}"))?;
        self.expect(code).map_err(|e| format!("{line}: {e}"))
    }

    /// PASV or EPSV, retried on a transient 425: 4yz means "try again" (RFC 959 §4.2.1), and
    /// under this load the machine's ephemeral ports (shared by every client connection and the
    /// server's passive ports) can run out for a moment, TIME_WAIT holding them.
    fn passive(&mut self, line: &str, code: u16) -> Result<String, String> {
        for attempt in 0.. {
            match self.cmd(line, code) {
                Err(error) if error.contains("got \"425 ") && attempt < 20 => {
                    TRANSIENT_425.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => return other,
            }
        }
        unreachable!("the loop returns")
    }

    /// PASV or EPSV (at random), connected.
    fn data(&mut self, random: &mut Random) -> Result<TcpStream, String> {
        let ip = self.writer.peer_addr().map_err(|e| e.to_string())?.ip();
        let port = if random.below(2) == 0 {
            let text = self.passive("PASV", 227)?;
            let inside = text.split_once('(').and_then(|(_, r)| r.split_once(')'));
            let n: Vec<u16> = inside
                .map(|(numbers, _)| {
                    numbers
                        .split(',')
                        .filter_map(|x| x.parse::<u16>().ok())
                        .collect()
                })
                .unwrap_or_default();
            match n[..] {
                [_, _, _, _, p1, p2] => p1 * 256 + p2,
                _ => return Err(format!("PASV: no address in {text:?}")),
            }
        } else {
            let text = self.passive("EPSV", 229)?;
            let port = text
                .split_once("(|||")
                .and_then(|(_, r)| r.split_once("|)"));
            port.and_then(|(p, _)| p.parse().ok())
                .ok_or(format!("EPSV: no port in {text:?}"))?
        };
        let data = TcpStream::connect((ip, port)).map_err(|e| format!("data connect: {e}"))?;
        data.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        Ok(data)
    }

    fn start(&mut self, command: &str) -> Result<(), String> {
        self.writer
            .write_all(format!("{command}\r\n").as_bytes())
            .map_err(|e| format!("sending {command}: {e}"))?;
        match self.reply()? {
            (125 | 150, _) => Ok(()),
            (_, text) => Err(format!("{command}: expected 150, got {text:?}")),
        }
    }

    fn store(&mut self, file: &str, bytes: &[u8], random: &mut Random) -> Result<(), String> {
        let mut data = self.data(random)?;
        self.start(&format!("STOR {file}"))?;
        data.write_all(bytes)
            .map_err(|e| format!("STOR {file}: {e}"))?;
        drop(data);
        self.expect(226)
            .map(drop)
            .map_err(|e| format!("STOR {file}: {e}"))
    }

    fn download(&mut self, command: &str, random: &mut Random) -> Result<Vec<u8>, String> {
        let mut data = self.data(random)?;
        self.start(command)?;
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)
            .map_err(|e| format!("{command}: {e}"))?;
        self.expect(226).map_err(|e| format!("{command}: {e}"))?;
        Ok(bytes)
    }

    /// Start a STOR, send part of it, ABOR: 426 for the transfer, then 226 for the ABOR.
    fn abort_store(&mut self, file: &str, random: &mut Random) -> Result<(), String> {
        let mut data = self.data(random)?;
        self.start(&format!("STOR {file}"))?;
        let _ = data.write_all(&random.bytes(64 * 1024));
        self.writer
            .write_all(b"ABOR\r\n")
            .map_err(|e| format!("ABOR: {e}"))?;
        self.expect(426).map_err(|e| format!("ABOR: {e}"))?;
        self.expect(226).map(drop).map_err(|e| format!("ABOR: {e}"))
    }
}

/// A small, fast pseudo-random generator (xorshift64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Mostly small files, some empty, now and then a few MiB.
    fn size(&mut self) -> usize {
        match self.below(20) {
            0 => 0,
            1 => (1 << 20) + self.below(4 << 20) as usize,
            _ => self.below(64 * 1024) as usize,
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(len + 8);
        while bytes.len() < len {
            bytes.extend_from_slice(&self.next().to_le_bytes());
        }
        bytes.truncate(len);
        bytes
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What this process holds, from /proc/self.
struct Usage {
    threads: usize,
    fds: usize,
    rss_kib: u64,
}

impl Usage {
    fn now() -> Usage {
        let count = |dir| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Usage {
            threads: count("/proc/self/task"),
            // read_dir itself holds one descriptor while it counts.
            fds: count("/proc/self/fd").saturating_sub(1),
            rss_kib,
        }
    }
}
