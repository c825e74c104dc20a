//! Test helpers: a server on port 0 in a temporary root, and a raw control connection that
//! reads like a transcript (`send`, `expect`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use localftp::server::{Config, Server, Timeouts};

/// How long any read may block before the test fails instead of hanging.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server with its own temporary root (removed when the test ends).
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The root folder it serves (the seed user's home).
    pub root: PathBuf,
    /// The scratch folder holding `root`; things planted *outside* the root go here.
    pub scratch: tempfile::TempDir,
}

impl TestServer {
    /// The seed's server (user/12345, elradfmw, sample content) on 127.0.0.1, port 0.
    pub fn start() -> TestServer {
        TestServer::start_with(|_| {})
    }

    /// Like `start`, after `change` has adjusted the configuration. `config.root` is already
    /// the temporary root when `change` runs.
    pub fn start_with(change: impl FnOnce(&mut Config)) -> TestServer {
        let scratch = tempfile::tempdir().expect("temp dir");
        let root = scratch.path().join("root");
        let mut config = Config {
            port: 0,
            root: root.clone(),
            timeouts: Timeouts::default(),
            // Tests send wrong passwords on purpose; the 1 s pause (a defence against password
            // guessing) would only slow them. The limits tests set it back.
            login_failure_delay: Duration::ZERO,
            ..Config::default()
        };
        change(&mut config);
        let server = Server::bind(config).expect("server binds");
        let addr = server.spawn();
        TestServer {
            addr,
            root: root.canonicalize().expect("root exists"),
            scratch,
        }
    }

    /// A new control connection, greeting read and checked.
    pub fn connect(&self) -> Control {
        let mut control = Control::connect(self.addr);
        control.expect(220);
        control
    }

    /// A control connection that is logged in as the seed's user.
    pub fn login(&self) -> Control {
        let mut control = self.connect();
        control.cmd("USER user", 331);
        control.cmd("PASS 12345", 230);
        control
    }

    /// A path inside the root.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The scratch folder that holds the root: outside the jail.
    pub fn outside(&self) -> &Path {
        self.scratch.path()
    }
}

/// One reply: its code and every line of its text, as received.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// All lines joined, for `contains` checks.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A control connection driven line by line.
pub struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Control {
    pub fn connect(addr: SocketAddr) -> Control {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Control {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// Send one command line (CRLF is added).
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// Send bytes exactly as given.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to the server");
    }

    /// Read one whole reply (all lines of a multi-line reply).
    pub fn read_reply(&mut self) -> Reply {
        let first = self.read_line();
        let code: u16 = first
            .get(..3)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not a reply line: {first:?}"));
        let mut lines = vec![first[4.min(first.len())..].to_string()];
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let line = self.read_line();
                if line.starts_with(&end) || line == code.to_string() {
                    lines.push(line[4.min(line.len())..].to_string());
                    break;
                }
                lines.push(line);
            }
        }
        Reply { code, lines }
    }

    /// Read a reply and check its code; shows the whole reply on mismatch.
    pub fn expect(&mut self, code: u16) -> Reply {
        let reply = self.read_reply();
        assert_eq!(
            reply.code, code,
            "expected {code}, got {} {:?}",
            reply.code, reply.lines
        );
        reply
    }

    /// Send a command and expect a reply code.
    pub fn cmd(&mut self, line: &str, code: u16) -> Reply {
        self.send(line);
        self.expect(code)
    }

    /// PASV, then connect to the announced port: the data connection.
    pub fn pasv(&mut self) -> TcpStream {
        let reply = self.cmd("PASV", 227);
        let text = reply.text();
        let inside = text
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(numbers, _)| numbers)
            .expect("227 reply has (h1,h2,h3,h4,p1,p2)");
        let n: Vec<u16> = inside
            .split(',')
            .map(|x| x.trim().parse::<u16>().unwrap())
            .collect();
        let addr = format!("{}.{}.{}.{}:{}", n[0], n[1], n[2], n[3], n[4] * 256 + n[5]);
        let data = TcpStream::connect(addr).expect("connect to the passive port");
        data.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        data
    }

    /// PASV, send `command`, expect 150/125, read the whole data connection, expect 226.
    pub fn download(&mut self, command: &str) -> Vec<u8> {
        let mut data = self.pasv();
        self.send(command);
        let preliminary = self.read_reply();
        assert!(
            preliminary.code == 150 || preliminary.code == 125,
            "{command}: expected 150/125, got {preliminary:?}"
        );
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)
            .expect("read the data connection");
        self.expect(226);
        bytes
    }

    /// PASV, send `command`, expect 150/125, write `bytes` and close, expect 226.
    pub fn upload(&mut self, command: &str, bytes: &[u8]) {
        let mut data = self.pasv();
        self.send(command);
        let preliminary = self.read_reply();
        assert!(
            preliminary.code == 150 || preliminary.code == 125,
            "{command}: expected 150/125, got {preliminary:?}"
        );
        data.write_all(bytes).expect("write the data connection");
        drop(data);
        self.expect(226);
    }

    /// The listing LIST gives, as text.
    pub fn list(&mut self, command: &str) -> String {
        String::from_utf8(self.download(command)).expect("listing is UTF-8")
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .expect("read a reply line (timed out?)");
        assert!(n > 0, "the server closed the control connection");
        assert!(
            line.ends_with("\r\n"),
            "reply line not ended by CRLF: {line:?}"
        );
        line.truncate(line.len() - 2);
        line
    }

    /// Whether the server closes the connection within the timeout, whatever it sends first.
    pub fn reads_to_end(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok()
    }

    /// Whether the server has closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers added for the transcript, jail, interop and server_cli tests.
// ---------------------------------------------------------------------------------------------

impl TestServer {
    /// A control connection logged in with `name` / `password` (for servers started with
    /// `start_with` and their own users).
    pub fn login_as(&self, name: &str, password: &str) -> Control {
        let mut control = self.connect();
        control.cmd(&format!("USER {name}"), 331);
        control.cmd(&format!("PASS {password}"), 230);
        control
    }

    /// The names directly inside a folder of the root, sorted (what NLST should show).
    pub fn names_on_disk(&self, relative: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(relative))
            .unwrap_or_else(|e| panic!("read_dir {relative}: {e}"))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Control {
    /// EPSV, then connect to the announced port on the control connection's own address.
    pub fn epsv(&mut self) -> TcpStream {
        let reply = self.cmd("EPSV", 229);
        let port = epsv_port(&reply.text())
            .unwrap_or_else(|| panic!("229 reply has (|||port|): {reply:?}"));
        let ip = self.writer.peer_addr().expect("control peer").ip();
        let data = TcpStream::connect((ip, port)).expect("connect to the EPSV port");
        data.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        data
    }

    /// On a data connection already set up, send `command`, expect 150/125, read to the end,
    /// expect 226.
    pub fn download_on(&mut self, mut data: TcpStream, command: &str) -> Vec<u8> {
        self.send(command);
        self.expect_preliminary(command);
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)
            .expect("read the data connection");
        self.expect(226);
        bytes
    }

    /// Read a reply and check that it is 150 or 125 (a transfer is starting).
    pub fn expect_preliminary(&mut self, command: &str) -> Reply {
        let reply = self.read_reply();
        assert!(
            reply.code == 150 || reply.code == 125,
            "{command}: expected 150/125, got {} {:?}",
            reply.code,
            reply.lines
        );
        reply
    }

    /// Send a command, expect `code`, and check that the reply text contains `needle`.
    pub fn cmd_says(&mut self, line: &str, code: u16, needle: &str) -> Reply {
        let reply = self.cmd(line, code);
        assert!(
            reply.text().contains(needle),
            "{line}: expected a {code} reply containing {needle:?}, got {:?}",
            reply.lines
        );
        reply
    }

    /// The quoted path of a 257 reply to PWD, unquoted (`"/a ""b"""` → `/a "b"`).
    pub fn pwd(&mut self) -> String {
        let reply = self.cmd("PWD", 257);
        unquote_257(&reply.lines[0])
            .unwrap_or_else(|| panic!("PWD reply has a quoted path: {reply:?}"))
    }

    /// NLST's names, sorted.
    pub fn nlst(&mut self, command: &str) -> Vec<String> {
        let text = self.list(command);
        let mut names: Vec<String> = text
            .split("\r\n")
            .filter(|line| !line.is_empty())
            .map(String::from)
            .collect();
        names.sort();
        names
    }

    /// ABOR as clients send it, Telnet IP and DM first (RFC 959 §4.1.3), then its two replies
    /// (426 for the transfer, 226 for the ABOR); how long that took.
    pub fn abort_transfer(&mut self) -> Duration {
        let sent = Instant::now();
        self.send_raw(b"\xff\xf4\xff\xf2ABOR\r\n");
        self.expect(426);
        self.expect(226);
        sent.elapsed()
    }

    /// Drop the connection with a TCP reset, as a client that crashed or lost its network.
    pub fn vanish(self) {
        reset(self.writer);
    }
}

/// The port in a 229 reply: `Entering Extended Passive Mode (|||50000|)`.
pub fn epsv_port(text: &str) -> Option<u16> {
    let (_, rest) = text.split_once("(|||")?;
    let (port, _) = rest.split_once("|)")?;
    port.parse().ok()
}

/// The path inside the first pair of quotes of a 257 reply, with `""` read as `"`.
pub fn unquote_257(text: &str) -> Option<String> {
    let rest = text.strip_prefix('"')?;
    let mut path = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                path.push('"');
            } else {
                return Some(path);
            }
        } else {
            path.push(c);
        }
    }
    None
}

/// Close a socket with a TCP reset (SO_LINGER 0) rather than an orderly FIN: the peer's next
/// read or write fails, as when a client crashes.
pub fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("set SO_LINGER");
    drop(stream);
}

/// One line of a LIST reply, parsed by a real client's parser (suppaftp's POSIX `ls -l`
/// parser): the test fails if a line is not in the shape clients expect.
pub fn parse_ls_line(line: &str) -> suppaftp::list::File {
    let name = check_ls_shape(line);
    let file = suppaftp::list::ListParser::parse_posix(line)
        .unwrap_or_else(|e| panic!("not an `ls -l` line ({e:?}): {line:?}"));
    assert_eq!(
        file.name(),
        name,
        "suppaftp reads another name from {line:?}"
    );
    file
}

/// The nine columns of `ls -l`, checked one by one (suppaftp's parser alone is lenient):
/// `-rw-r--r--    1 ftp      ftp           123 Nov 25 14:03 name with spaces`. Returns the
/// name: everything after the one space that follows the time column.
pub fn check_ls_shape(line: &str) -> &str {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let fail = |what: &str| -> ! { panic!("`ls -l` line: {what}: {line:?}") };
    if fields.len() < 9 {
        fail("fewer than nine columns");
    }
    let mode = fields[0].as_bytes();
    if mode.len() != 10
        || !b"-dl".contains(&mode[0])
        || !mode[1..]
            .iter()
            .enumerate()
            .all(|(i, &c)| c == b'-' || c == b"rwx"[i % 3] || (i % 3 == 2 && b"sStT".contains(&c)))
    {
        fail("the mode column is not like drwxr-xr-x");
    }
    let number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !number(fields[1]) {
        fail("the link count is not a number");
    }
    if !number(fields[4]) {
        fail("the size is not a number");
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if !MONTHS.contains(&fields[5]) || !number(fields[6]) {
        fail("the date is not like `Nov 25`");
    }
    let time_or_year = fields[7];
    let is_time = time_or_year.len() == 5
        && time_or_year.as_bytes()[2] == b':'
        && number(&time_or_year[..2])
        && number(&time_or_year[3..]);
    let is_year = time_or_year.len() == 4 && number(time_or_year);
    if !(is_time || is_year) {
        fail("the time column is neither HH:MM nor a year");
    }
    let mut rest = line;
    for _ in 0..8 {
        rest = rest.trim_start_matches(' ');
        rest = &rest[rest.find(' ').unwrap_or(rest.len())..];
    }
    match rest.strip_prefix(' ') {
        Some(name) if !name.is_empty() && !name.starts_with(' ') => name,
        _ => fail("the name must follow the time after exactly one space"),
    }
}

/// Every line of a LIST reply parsed (lines must end in CRLF), sorted by name.
pub fn parse_listing(listing: &str) -> Vec<suppaftp::list::File> {
    assert!(
        listing.is_empty() || listing.ends_with("\r\n"),
        "listing lines end in CRLF: {listing:?}"
    );
    let mut files: Vec<_> = listing
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(parse_ls_line)
        .collect();
    files.sort_by(|a, b| a.name().cmp(b.name()));
    files
}

/// The names in a LIST reply, sorted.
pub fn listing_names(listing: &str) -> Vec<String> {
    parse_listing(listing)
        .iter()
        .map(|file| file.name().to_string())
        .collect()
}

/// Wait until `done` holds, checking every few milliseconds, for at most `limit`. Only for
/// effects no read can wait for (a server thread cleaning up after a client that vanished).
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "still not true after {limit:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Bytes that exercise a binary transfer: every byte value, CR/LF pairs, and a long
/// pseudo-random tail (a fixed-seed xorshift, so a failure is reproducible).
pub fn binary_bytes(len: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend_from_slice(b"\r\n\n\r\r\n\x00\xff\xff\x00");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

impl Control {
    /// A control connection over an already connected stream (greeting not read).
    pub fn from_stream(stream: TcpStream) -> Control {
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Control {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// Another handle on the connection's socket (to write from elsewhere, e.g. many clients'
    /// commands in one quick loop).
    pub fn stream(&self) -> TcpStream {
        self.writer.try_clone().expect("clone the control socket")
    }

    /// One reply line if the server sends one; `None` if it closes or resets the connection.
    pub fn try_read_reply(&mut self) -> Option<Reply> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 && line.len() >= 3 => Some(Reply {
                code: line[..3].parse().ok()?,
                lines: vec![line[4.min(line.len())..].trim_end().to_string()],
            }),
            _ => None,
        }
    }
}

// --- The server program (examples/server.rs), run as a separate process -------------------

/// The example binary. `cargo test` builds it; a run of only this test binary
/// (`cargo test --test integration`) does not, so it is built here once, which is a no-op
/// when it is up to date.
pub fn server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let built = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--example", "server", "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            // Cargo sets this for the test process; passed on, it would make ring's build
            // script (which watches it) rerun, and the next `cargo test` rebuild it again.
            .env_remove("CARGO_MANIFEST_DIR")
            .status();
        // The test executable is target/<profile>/deps/integration-<hash>; the example is
        // target/<profile>/examples/server (server.exe on Windows).
        let exe = std::env::current_exe().expect("the test executable's path");
        let name = format!("server{}", std::env::consts::EXE_SUFFIX);
        exe.ancestors()
            .skip(1)
            .map(|dir| dir.join("examples").join(&name))
            .find(|candidate| candidate.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "examples/server not found above {} (cargo build: {built:?})",
                    exe.display()
                )
            })
    })
}

/// A server program running in the background; killed when dropped.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Receiver<String>,
    /// Every stderr line received so far (the `listening on` line and those before it too).
    log: Vec<String>,
}

impl Running {
    /// Wait (at most `READ_TIMEOUT`) until a log line contains `needle`; return the whole log
    /// so far, one line each.
    pub fn wait_for_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        while !self.log.iter().any(|line| line.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(_) => panic!(
                    "no log line with {needle:?}; the log:\n{}",
                    self.log.join("\n")
                ),
            }
        }
        self.log.join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start the program on a free port serving `dir/root`, with `extra` flags: [`run`] for the
/// usual case.
pub fn run_in(dir: &Path, extra: &[&str]) -> Running {
    let root = dir.join("root");
    let root = root.to_str().expect("a UTF-8 temporary path");
    let mut args = vec!["--port", "0", "--root", root];
    args.extend(extra);
    run(dir, &args)
}

/// Start the program with `args` and wait (at most `READ_TIMEOUT`) for its
/// `listening on ADDR` log line.
pub fn run(dir: &Path, args: &[&str]) -> Running {
    let mut child = Command::new(server_binary())
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env("RUST_LOG_STYLE", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server program");
    // A thread forwards stderr line by line, and keeps draining it so the server never
    // blocks on a full pipe.
    let stderr = child.stderr.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                // Nobody listens any more; keep reading so the pipe never fills.
                continue;
            }
        }
    });
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut seen = Vec::new();
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some((_, address)) = line.split_once("listening on ") {
                    let address = address
                        .trim()
                        .parse::<SocketAddr>()
                        .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"));
                    seen.push(line);
                    break address;
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "no `listening on` line within {READ_TIMEOUT:?} ({status:?}); stderr: {seen:?}"
                );
            }
        }
    };
    Running {
        child,
        addr,
        stderr: lines,
        log: seen,
    }
}

// --- Real client programs (curl, lftp, python3) ---------------------------------------------

/// Whether `program` can be run; if not, the calling test should return early (it prints why:
/// `.ci/run` installs every program the tests use, so this happens only on a bare machine).
pub fn have(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: {program} is not installed (.ci/run installs it)");
    }
    found
}

/// Run a real client program with a 60-second limit, failing the test (with its output) on a
/// bad exit.
pub fn tool(program: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new("timeout")
        .arg("60")
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
