//! The server under test: a localftp server in a child process (the default), or any FTP
//! server already running at an address; and what `/proc` says about its CPU and memory.
//!
//! Why a child process and not a thread of the bench: the client's own threads, buffers and
//! CPU would otherwise be counted as the server's. The child is this same program run again
//! with the hidden `--serve` flag; it prints its address on stdout and stops when its stdin
//! closes, so it also stops if the bench is killed.
//!
//! The bench may start a second child with `fsync` off (`--no-fsync`), for `stor-nofsync`: a
//! separate process, so that its CPU is counted apart and the first child's settings, and its
//! restart before the idle measure, stay as they are.

use std::env;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use localftp::server::users::User;
use localftp::server::{Config, Server};

/// How long the child may take to print its address, and to stop.
const START_LIMIT: Duration = Duration::from_secs(15);
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// The hidden `--serve` mode: run a localftp server on 127.0.0.1, port 0, serving `root` to one
/// user with every letter; print the address on stdout; stop when stdin closes. `fsync` is
/// `Config::fsync`: whether an upload is forced onto the disk before it replaces its target.
pub fn serve(
    root: &Path,
    user: &str,
    password: &str,
    max_connections: usize,
    fsync: bool,
) -> ExitCode {
    // Per-command logging would slow the server down; warnings still show on stderr.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let perms = "elradfmw".parse().expect("valid permission letters");
    let config = Config {
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        root: root.to_path_buf(),
        users: vec![User::new(user, password, perms, root)],
        sample_content: false,
        max_connections,
        max_connections_per_ip: 0,
        shutdown_grace: Duration::from_secs(2),
        fsync,
        ..Config::default()
    };
    let server = match Server::bind(config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("bench --serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let handle = server.shutdown_handle();
    println!("{}", server.local_addr());
    if io::stdout().flush().is_err() {
        return ExitCode::FAILURE;
    }
    let watcher = thread::Builder::new()
        .name("stdin-watch".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut sink = [0u8; 64];
            while matches!(io::stdin().read(&mut sink), Ok(n) if n > 0) {}
            handle.shutdown();
        });
    if watcher.is_err() {
        return ExitCode::FAILURE;
    }
    server.run();
    ExitCode::SUCCESS
}

/// A server being measured.
pub struct UnderTest {
    /// Its control address.
    pub address: SocketAddr,
    /// Its process, if known: CPU and memory are read only then.
    pub pid: Option<u32>,
    /// The child process, when the bench started the server.
    child: Option<Child>,
    /// Clock ticks per second, the unit of `/proc/PID/stat`'s CPU times.
    ticks: f64,
}

impl UnderTest {
    /// Start a localftp server in a child process (this program with `--serve`, and
    /// `--no-fsync` when `fsync` is false).
    pub fn start(
        root: &Path,
        user: &str,
        password: &str,
        max_connections: usize,
        fsync: bool,
    ) -> Result<UnderTest, String> {
        let exe = env::current_exe().map_err(|e| format!("finding this program: {e}"))?;
        let mut command = Command::new(exe);
        if !fsync {
            command.arg("--no-fsync");
        }
        let mut child = command
            .arg("--serve")
            .arg("--root")
            .arg(root)
            .args(["--user", user, "--password", password])
            .arg("--max-connections")
            .arg(max_connections.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        // Read the address on a helper thread, so that a child that never prints is a bounded
        // wait rather than a hang.
        let (sender, receiver) = mpsc::channel();
        let reader = thread::Builder::new().stack_size(64 * 1024).spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = match reader {
            Ok(_) => receiver.recv_timeout(START_LIMIT).unwrap_or_default(),
            Err(_) => String::new(),
        };
        let Ok(address) = line.trim().parse::<SocketAddr>() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the server did not start (it printed {line:?}; its stderr is above)"
            ));
        };
        Ok(UnderTest {
            address,
            pid: Some(child.id()),
            child: Some(child),
            ticks: clock_ticks(),
        })
    }

    /// A server that is already running at `address`; `pid` if its process is known.
    pub fn attach(address: SocketAddr, pid: Option<u32>) -> UnderTest {
        UnderTest {
            address,
            pid,
            child: None,
            ticks: clock_ticks(),
        }
    }

    /// Whether the bench started this server (and may restart it).
    pub fn is_child(&self) -> bool {
        self.child.is_some()
    }

    /// Stop a child server: close its stdin (a graceful shutdown), wait, and kill it if it has
    /// not stopped in time. An attached server is left running.
    pub fn stop(mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        drop(child.stdin.take());
        let started = Instant::now();
        while started.elapsed() < STOP_LIMIT {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("the server exited with {status}")),
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for the server: {e}")),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "the server did not stop within {} s; killed",
            STOP_LIMIT.as_secs()
        ))
    }

    /// CPU seconds (user + system) the server's process has used so far, its threads and
    /// reaped children included; `None` without a pid.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid?)).ok()?;
        // The command name, in parentheses, may hold spaces: count fields after the last ')'.
        // There, index 11..=14 are fields 14..=17 of proc(5): utime, stime, cutime, cstime.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 = (11..=14)
            .map(|i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
            .sum::<Option<u64>>()?;
        Some(ticks as f64 / self.ticks)
    }

    /// The server's resident memory, in KiB; `None` without a pid.
    pub fn memory(&self) -> Option<Memory> {
        let pid = self.pid?;
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        Some(Memory {
            rss_kib: kib_field(&status, "VmRSS:")?,
            pss_kib: kib_field(&rollup, "Pss:"),
        })
    }

    /// The server's threads (`Threads:` in `/proc/PID/status`) and open file descriptors (the
    /// entries of `/proc/PID/fd`); `None` without a pid.
    pub fn threads_and_fds(&self) -> Option<(u64, u64)> {
        let pid = self.pid?;
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let threads = status
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))?
            .trim()
            .parse()
            .ok()?;
        let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
        Some((threads, fds))
    }
}

impl Drop for UnderTest {
    /// A child still running here means the bench is failing: do not leave it behind.
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Resident memory of one process.
#[derive(Clone, Copy)]
pub struct Memory {
    /// VmRSS from `/proc/PID/status`.
    pub rss_kib: u64,
    /// Pss from `/proc/PID/smaps_rollup` (shared pages divided among their sharers).
    pub pss_kib: Option<u64>,
}

/// The number in a `Name:   1234 kB` line.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// Clock ticks per second (`getconf CLK_TCK`); 100 if it cannot be asked, as on every Linux
/// system in practice.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// This process's soft limit on open files (from `/proc/self/limits`). A child inherits it.
pub fn open_files_limit() -> Option<u64> {
    let text = fs::read_to_string("/proc/self/limits").ok()?;
    let line = text
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    match line.split_whitespace().nth(3)? {
        "unlimited" => Some(u64::MAX),
        soft => soft.parse().ok(),
    }
}
