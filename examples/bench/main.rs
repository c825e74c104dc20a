//! localftp's benchmark: the figures of issue 7, measured and checked, printed as a table.
//!
//! ```text
//! cargo run --release --example bench                       # localftp in a child process, 3 rounds
//! cargo run --release --example bench -- --help             # all options
//! cargo run --release --example bench -- --rounds 1 --big-size 268435456 \
//!     --idle-count 300 --session-secs 2                     # a quick run
//! cargo run --release --example bench -- --measures retr,raw-sendfile,stor,disk-fsync
//! cargo run --release --example bench -- --addr 127.0.0.1:2121 --user U --password P \
//!     --root /srv/ftp [--pid PID]                           # any FTP server already running
//! ```
//!
//! By default the bench starts localftp as a separate process (this program again, with a
//! hidden `--serve` flag), so the CPU and memory it reads from `/proc` are the server's alone.
//! Fixtures go in `localftp-bench/` of the served root (a temporary folder by default). Every
//! measure checks what it measured; a failed check prints FAIL and the exit status is 1.
//! BENCHMARKS.md says how to compare localftp with vsftpd and pyftpdlib side by side.
//! This program is not part of `cargo test` (which only compiles it).
//!
//! Next to RETR and STOR, two references measure the machine with no FTP at all (the file sent
//! over loopback with `sendfile`, and written to the disk with `fsync`), and a second child
//! with `fsync` off measures STOR without it. They run in the same rounds, so the ratios under
//! the table (RETR ÷ raw sendfile, STOR ÷ disk fsync) compare figures taken seconds apart.

mod fixtures;
mod ftp;
mod measures;
mod references;
mod report;
mod under_test;

use std::fs;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::Parser;

use measures::{Bench, Measure};
use report::Report;
use under_test::UnderTest;

/// Measure an FTP server (localftp by default): RETR/STOR throughput and CPU next to what the
/// loopback and the disk do with no FTP (and STOR with fsync off), small files, session rate,
/// idle-session memory, and a big LIST. Prints a markdown table.
#[derive(Parser, Debug)]
#[command(about)]
struct Flags {
    /// Measure the FTP server already running at HOST:PORT instead of starting localftp.
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,

    /// The account to log in with.
    #[arg(long, default_value = "bench")]
    user: String,

    /// Its password.
    #[arg(long, default_value = "bench")]
    password: String,

    /// The folder the server serves (the user's login folder); fixtures are created in its
    /// `localftp-bench/`. Required with --addr; by default a temporary folder.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,

    /// With --addr: the server's process, to read its CPU and memory from /proc.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,

    /// Rounds of every measure; the table shows the median and the range.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=100))]
    rounds: u16,

    /// The measures to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "retr,raw-sendfile,stor,stor-nofsync,disk-fsync,small,sessions,idle,list"
    )]
    measures: Vec<Measure>,

    /// Size of the file for RETR, STOR and the two references, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30,
          value_parser = clap::value_parser!(u64).range(1..=(1 << 40)))]
    big_size: u64,

    /// Idle logged-in sessions to hold at once.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    idle_count: u32,

    /// Seconds the session-rate measure runs.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    session_secs: f64,

    /// Run the server under test (used by the bench itself, on its child process).
    #[arg(long, hide = true)]
    serve: bool,

    /// With --serve: the server's connection limit.
    #[arg(long, hide = true, default_value_t = 4096)]
    max_connections: usize,

    /// With --serve: do not fsync uploads (`Config::fsync` false), for `stor-nofsync`.
    #[arg(long, hide = true)]
    no_fsync: bool,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    if flags.serve {
        let Some(root) = &flags.root else {
            eprintln!("bench --serve needs --root");
            return ExitCode::from(2);
        };
        return under_test::serve(
            root,
            &flags.user,
            &flags.password,
            flags.max_connections,
            !flags.no_fsync,
        );
    }
    match run(&flags) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Prepare, measure, print. `Ok(false)` when a check failed.
fn run(flags: &Flags) -> Result<bool, String> {
    if !(0.1..=600.0).contains(&flags.session_secs) {
        return Err("--session-secs must be between 0.1 and 600".into());
    }
    let mut measures: Vec<Measure> = Vec::new();
    for &measure in &flags.measures {
        if !measures.contains(&measure) {
            measures.push(measure);
        }
    }
    let idle_count = flags.idle_count as usize;
    let load_at_start = load_average();

    // The root: given, or a temporary folder removed at the end (after the server stops:
    // `_temp` is declared first, so it is dropped last).
    let _temp;
    let root = match (&flags.addr, &flags.root) {
        (Some(_), None) => {
            return Err("--addr needs --root, the folder that server serves".into());
        }
        (_, Some(root)) => root.clone(),
        (None, None) => {
            let temp = tempfile::Builder::new()
                .prefix("localftp-bench-")
                .tempdir()
                .map_err(|e| format!("a temporary folder: {e}"))?;
            let path = temp.path().to_path_buf();
            _temp = temp;
            path
        }
    };
    let root = fs::canonicalize(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let max_connections = 4096.max(idle_count + 64);
    let start =
        |fsync: bool| UnderTest::start(&root, &flags.user, &flags.password, max_connections, fsync);
    let uses = |m: Measure| measures.contains(&m);
    let mut server = match &flags.addr {
        Some(addr) => UnderTest::attach(resolve(addr)?, flags.pid),
        None => start(true)?,
    };
    // The second child, with fsync off, for stor-nofsync: started here with the first, and
    // never restarted (the idle measure restarts the first alone).
    let nofsync = if uses(Measure::StorNofsync) && server.is_child() {
        Some(start(false)?)
    } else {
        None
    };
    // One login first, so a wrong address or password is one clear error, not six FAILs.
    for each in std::iter::once(&server).chain(&nofsync) {
        ftp::Control::login(each.address, &flags.user, &flags.password)
            .and_then(ftp::Control::quit)
            .map_err(|e| format!("a first session to {}: {e}", each.address))?;
    }

    let big_file = [
        Measure::Retr,
        Measure::RawSendfile,
        Measure::Stor,
        Measure::StorNofsync,
        Measure::DiskFsync,
    ];
    let needs = fixtures::Needs {
        big: big_file.into_iter().any(uses).then_some(flags.big_size),
        small: uses(Measure::Small),
        list: uses(Measure::List),
        upload: uses(Measure::Stor) || uses(Measure::StorNofsync) || uses(Measure::DiskFsync),
    };
    fixtures::prepare(&root, &needs).map_err(|e| format!("creating the fixtures: {e}"))?;

    let mut report = Report::default();
    let mut groups = Vec::new();
    for &measure in &measures {
        let bench = bench(flags, &server, nofsync.as_ref(), &root);
        let group = report.add(measure, measure.rows(&bench));
        if measure == Measure::Idle
            && let Some(why) = too_few_files(idle_count)
        {
            report.skip(group, why);
        }
        if measure == Measure::StorNofsync && nofsync.is_none() {
            report.skip(
                group,
                "it needs a localftp child that the bench starts with fsync off; with --addr, \
                 measure stor against that server run with and without its own fsync setting"
                    .into(),
            );
        }
        groups.push((measure, group));
    }

    let rounds = usize::from(flags.rounds);
    for round in 1..=rounds {
        for &(measure, group) in &groups {
            if report.is_skipped(group) {
                continue;
            }
            if measure == Measure::Idle && server.is_child() {
                // A fresh server, so the memory of earlier measures is not counted.
                let stopped = server.stop();
                server = start(true)?;
                if let Err(e) = stopped {
                    eprintln!("bench: restarting the server: {e}");
                }
            }
            eprintln!("round {round}/{rounds}: {} …", measure.name());
            let outcome = measure.run(&bench(flags, &server, nofsync.as_ref(), &root), round);
            match &outcome {
                Ok(values) => eprintln!("    {}", report.describe(group, values)),
                Err(why) => eprintln!("    FAIL: {why}"),
            }
            report.record(group, round, outcome);
            thread::sleep(Duration::from_millis(200));
        }
    }
    let mut description = match (server.is_child(), server.pid) {
        (true, Some(pid)) => format!("localftp in a child process (pid {pid})"),
        (_, Some(pid)) => format!("the server at --addr, pid {pid}"),
        (_, None) => "the server at --addr (no --pid: no CPU or memory figures)".to_string(),
    };
    let address = server.address;
    description = format!("{description} at {address}");
    if let Some(child) = &nofsync {
        let pid = child
            .pid
            .map_or_else(String::new, |pid| format!("pid {pid}, "));
        description = format!(
            "{description}; for stor-nofsync, a second child with fsync off ({pid}at {})",
            child.address
        );
    }
    if let Err(e) = server.stop() {
        eprintln!("bench: stopping the server: {e}");
    }
    if let Some(Err(e)) = nofsync.map(UnderTest::stop) {
        eprintln!("bench: stopping the --no-fsync server: {e}");
    }

    println!("## FTP server benchmark\n");
    println!(
        "- machine: {} cores, {}; load average {load_at_start} at the start, {} at the end",
        thread::available_parallelism().map_or(0, |n| n.get()),
        kernel(),
        load_average()
    );
    println!("- server: {description}; root {}", root.display());
    println!("- command: `{}`", command_line());
    println!(
        "- {rounds} round(s): median and min – max over rounds; client and server share the machine\n"
    );
    report.print();
    Ok(!report.failed())
}

fn bench<'a>(
    flags: &'a Flags,
    server: &'a UnderTest,
    nofsync: Option<&'a UnderTest>,
    root: &'a std::path::Path,
) -> Bench<'a> {
    Bench {
        server,
        nofsync,
        user: &flags.user,
        password: &flags.password,
        root,
        big_size: flags.big_size,
        session_secs: flags.session_secs,
        idle_count: flags.idle_count as usize,
    }
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|e| format!("--addr {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("--addr {addr}: no address"))
}

/// Why the idle measure cannot run under this process's open-file limit, if it cannot.
/// Raising the limit from inside needs `setrlimit`, which is unsafe code; the shell can.
fn too_few_files(idle_count: usize) -> Option<String> {
    // The client holds one socket per session. A localftp child inherits this limit and also
    // holds one descriptor per session (since commit b5c8aff; three before); with --addr the
    // other server's limit is its own business. The margin covers the listener, the pipes and
    // the fresh logins that the measure times while the sessions are held.
    let needed = (idle_count + 64) as u64;
    let limit = under_test::open_files_limit()?;
    (limit < needed).then(|| {
        format!(
            "the open-file limit is {limit} and {idle_count} idle sessions need about {needed} \
             (1 per session); run `ulimit -n {needed}` in this shell (at most `ulimit -Hn`) \
             and try again"
        )
    })
}

/// `Linux version 6.1.0-…`: the first three words of /proc/version.
fn kernel() -> String {
    let version = fs::read_to_string("/proc/version").unwrap_or_default();
    let words: Vec<&str> = version.split_whitespace().take(3).collect();
    if words.is_empty() {
        "kernel unknown".into()
    } else {
        words.join(" ")
    }
}

/// The 1-minute load average, from /proc/loadavg.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// This program's command line, quoted so that it can be pasted into a shell.
fn command_line() -> String {
    std::env::args()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@".contains(c));
            if plain {
                arg
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
