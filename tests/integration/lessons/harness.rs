//! Running the lessons' commands as a student would, and comparing what they print.
//!
//! [`Terminals`] plays the marked blocks of LESSONS.md one by one: a terminal 1 block (re)starts
//! the server program ([`ServerProgram`]) on a free port; a terminal 2 block runs in `bash`
//! ([`run_block`]), where a small [`PRELUDE`] points `cargo run --example client` and `pgrep` at
//! the built programs and that server; an output or log block is compared ([`compare`]) with what
//! was printed or logged.
//!
//! The comparison forgives what changes from run to run ([`normalize`]): spaces, ports, durations,
//! session numbers, timestamps, a listing's dates and sizes, and the numbers of the port
//! arithmetic, which [`check_port_arithmetic`] redoes instead.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::blocks::{Marked, Step};
use super::repo;
use crate::client_cli::client_binary;
use crate::support::server_binary;

/// What playing one marked block came to.
pub enum Played {
    /// A server was started, a block ran, or a block and its output were skipped.
    Done,
    /// An output block matched what its terminal 2 block printed.
    OutputChecked,
    /// An output or log block did not match; the message says where and how.
    Failed(String),
}

/// The student's two terminals: the server in terminal 1, and the folder terminal 2 works in.
pub struct Terminals {
    // Declared first, so it is stopped before the scratch folder is removed.
    server: Option<ServerProgram>,
    last_output: Option<String>,
    pub python: bool,
    curl: bool,
    student: PathBuf,
    checkout: TempDir,
}

impl Terminals {
    /// A scratch folder laid out like a checkout: data/ as shipped, and terminal 2's folder.
    pub fn new() -> Terminals {
        let checkout = tempfile::tempdir().unwrap();
        let student = checkout.path().join("target").join("student");
        fs::create_dir_all(&student).unwrap();
        fs::create_dir_all(checkout.path().join("data")).unwrap();
        fs::copy(
            repo().join("data").join("baca_saya.txt"),
            checkout.path().join("data").join("baca_saya.txt"),
        )
        .unwrap();
        Terminals {
            server: None,
            last_output: None,
            python: available("python3"),
            curl: available("curl"),
            student,
            checkout,
        }
    }

    /// Play one block. A block that needs python3 or curl where there is none is skipped, and so
    /// is the output after it.
    pub fn play(&mut self, block: &Marked) -> Played {
        let place = format!("LESSONS.md:{} ({})", block.line, block.lesson);
        match &block.step {
            Step::Server { env, flags } => {
                drop(self.server.take());
                self.server = Some(ServerProgram::start(self.checkout.path(), env, flags));
            }
            Step::Run(text) => {
                for (program, missing) in [("python3", !self.python), ("curl ", !self.curl)] {
                    if text.contains(program) && missing {
                        let program = program.trim();
                        eprintln!("note: {program} is missing; {place} and its output are skipped");
                        self.last_output = None;
                        return Played::Done;
                    }
                }
                let running = self
                    .server
                    .as_ref()
                    .unwrap_or_else(|| panic!("{place}: no terminal 1 block before it"));
                self.last_output = Some(run_block(text, &self.student, running));
            }
            Step::Output { text, numbers_vary } => {
                let Some(actual) = &self.last_output else {
                    return Played::Done; // its block was skipped
                };
                return match compare(text, actual, *numbers_vary)
                    .and_then(|()| check_port_arithmetic(actual))
                {
                    Ok(()) => Played::OutputChecked,
                    Err(why) => Played::Failed(format!("{place}: {why}")),
                };
            }
            Step::Log(text) => {
                let running = self.server.as_ref().expect("a server is running");
                // The server logs a session's end a moment after the client has gone.
                let deadline = Instant::now() + Duration::from_secs(5);
                let result = loop {
                    let result = compare(text, &running.log(), false);
                    if result.is_ok() || Instant::now() > deadline {
                        break result;
                    }
                    thread::sleep(Duration::from_millis(50));
                };
                if let Err(why) = result {
                    return Played::Failed(format!("{place} (server log): {why}"));
                }
            }
        }
        Played::Done
    }
}

/// Whether `program --version` runs.
fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The server program, started as terminal 1 starts it; killed when dropped.
struct ServerProgram {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl ServerProgram {
    fn start(checkout: &Path, env: &[(String, String)], flags: &[String]) -> ServerProgram {
        let mut command = Command::new(server_binary());
        command
            .args(flags)
            .args(["--port", "0"])
            .current_dir(checkout)
            .env("RUST_LOG", "info")
            .env("RUST_LOG_STYLE", "never")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the server program");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let listening = log.lock().unwrap().iter().find_map(|line| {
                let (_, address) = line.split_once("listening on ")?;
                address.trim().rsplit_once(':')?.1.parse::<u16>().ok()
            });
            if let Some(port) = listening {
                break port;
            }
            if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                panic!(
                    "the server program did not start with {flags:?}: {:?}",
                    log.lock().unwrap()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        ServerProgram { child, port, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for ServerProgram {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What terminal 2 runs before a block: `cargo run --example client|server` and `pgrep`
/// pointed at the server of this test.
const PRELUDE: &str = r#"
cargo() {
  if [ "$1 $2 $3" = "run --example client" ]; then
    shift 3; [ "$1" = "--" ] && shift
    case " $* " in *" --port "*) ;; *) set -- --port "$LESSON_PORT" "$@" ;; esac
    "$LESSON_CLIENT" --timeout 10 "$@"
  elif [ "$1 $2 $3" = "run --example server" ]; then
    shift 3; [ "$1" = "--" ] && shift
    case " $* " in *" --port "*) ;; *) set -- "$@" --port "$LESSON_PORT" ;; esac
    timeout 10 "$LESSON_SERVER" "$@"
  else
    echo "lessons.rs cannot run: cargo $*" >&2; return 127
  fi
}
pgrep() { echo "$LESSON_SERVER_PID"; }
"#;

/// Run one terminal 2 block; standard error goes where standard output goes, as in a terminal.
fn run_block(block: &str, folder: &Path, server: &ServerProgram) -> String {
    let script = format!(
        "{PRELUDE}\n{{\n{}\n}} 2>&1",
        block.replace("2122", &server.port.to_string())
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(folder)
        .env("LESSON_CLIENT", client_binary())
        .env("LESSON_SERVER", server_binary())
        .env("LESSON_PORT", server.port.to_string())
        .env("LESSON_SERVER_PID", server.child.id().to_string())
        .env("RUST_LOG_STYLE", "never")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so a block that hangs can be stopped with all it started.
        .process_group(0)
        .spawn()
        .expect("run bash");
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            return format!(
                "(the block did not finish within 120 s)\n{}",
                reader.join().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    reader.join().unwrap()
}

/// A line as compared: spaces collapsed, and what varies between runs replaced by `#`.
fn normalize(line: &str, numbers_vary: bool) -> String {
    let mut line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    // A log line's timestamp: [2025-11-25T23:47:45Z INFO  localftp::server] ...
    let bytes = line.as_bytes();
    if bytes.len() > 21
        && bytes[0] == b'['
        && bytes[5] == b'-'
        && bytes[11] == b'T'
        && let Some(space) = line.find(' ')
    {
        line = format!("[TIME{}", &line[space..]);
    }
    // A listing line, `| drwxr-xr-x 2 ftp ftp 4096 Nov 25 23:47 Folder_Tes`: its date and the
    // size of folders depend on when and where it runs; its kind and name do not.
    if let Some(entry) = line.strip_prefix("| ") {
        let kind = entry.chars().next().unwrap_or(' ');
        let name = entry.split(' ').next_back().unwrap_or_default();
        return format!("| {kind} … {name}");
    }
    let arithmetic = line.contains("p1");
    let chars: Vec<char> = line.chars().collect();
    // Each run of digits: where it starts and ends.
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    let text = |(start, end): (usize, usize)| chars[start..end].iter().collect::<String>();
    let mut varies = vec![false; runs.len()];
    for (n, &(start, end)) in runs.iter().enumerate() {
        let before = start.checked_sub(1).map(|i| chars[i]);
        let after = chars.get(end).copied();
        let after_text: String = chars[end..].iter().take(12).collect();
        varies[n] = numbers_vary
            // A port after an address (127.0.0.1:41234), or the minutes of a time.
            || before == Some(':')
            // A session number: [#3 127.0.0.1:41234].
            || before == Some('#')
            // Port arithmetic: every number but 256 and the digits of p1, p2, h1…h4.
            || (arithmetic
                && text(runs[n]) != "256"
                && !before.is_some_and(|c| c.is_ascii_alphabetic()))
            // A duration: 0.001 s (both runs of digits).
            || (after == Some('.')
                && runs.get(n + 1).is_some_and(|&(s, e)| {
                    s == end + 1 && chars[e..].iter().collect::<String>().starts_with(" s")
                }))
            || (before == Some('.') && after_text.starts_with(" s"));
        // The two port numbers of h1,h2,h3,h4,p1,p2 (PASV's reply, PORT's argument).
        if n >= 5 && (n - 5..n).all(|k| chars[runs[k].1] == ',' && runs[k + 1].0 == runs[k].1 + 1) {
            varies[n] = true;
            varies[n - 1] = true;
        }
    }
    let mut out = String::new();
    let mut last = 0;
    for (n, &(start, end)) in runs.iter().enumerate() {
        out.extend(&chars[last..start]);
        if varies[n] {
            out.push('#');
        } else {
            out.extend(&chars[start..end]);
        }
        last = end;
    }
    out.extend(&chars[last..]);
    out
}

/// Check that the stretches of `expected` (split at `...` lines) appear in `actual`, in order.
/// On failure, say which expected line was not printed, next to the line printed in its place.
fn compare(expected: &str, actual: &str, numbers_vary: bool) -> Result<(), String> {
    let keep = |text: &str| -> Vec<(String, String)> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| (normalize(l, numbers_vary), l.trim().to_string()))
            .collect()
    };
    let printed = keep(actual);
    let mut from = 0;
    let lines: Vec<&str> = expected.lines().collect();
    for stretch in lines.split(|l| l.trim() == "...") {
        let want = keep(&stretch.join("\n"));
        if want.is_empty() {
            continue;
        }
        // How many lines of the stretch match when it is laid over the output at `at`.
        let matching = |at: usize| {
            want.iter()
                .zip(&printed[at.min(printed.len())..])
                .take_while(|(w, p)| w.0 == p.0)
                .count()
        };
        if let Some(at) = (from..printed.len()).find(|&at| matching(at) == want.len()) {
            from = at + want.len();
            continue;
        }
        let best = (from..printed.len())
            .max_by_key(|&at| (matching(at), std::cmp::Reverse(at)))
            .unwrap_or(from);
        let missing = matching(best);
        let instead = printed
            .get(best + missing)
            .map_or("(the end of the output)", |p| p.1.as_str());
        return Err(format!(
            "a line the lesson shows was not printed{}:\n  lesson:  {}\n  printed: {instead}\n\n\
             --- the whole output ---\n{actual}",
            if missing > 0 {
                format!(" (after {missing} matching lines)")
            } else {
                String::new()
            },
            want[missing].1,
        ));
    }
    Ok(())
}

/// The port arithmetic the client shows, redone: every 227 reply's p1 and p2 give the port it
/// connects to, and every PORT command's p1 and p2 are its listening port divided by 256.
fn check_port_arithmetic(output: &str) -> Result<(), String> {
    let numbers = |text: &str| -> Vec<u32> {
        text.split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    let lines: Vec<&str> = output.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(reply) = line.strip_prefix("S: 227 ") {
            let n = numbers(reply);
            let port = n[4] * 256 + n[5];
            let shown = format!(
                "data port = p1 × 256 + p2 = {} × 256 + {} = {port}",
                n[4], n[5]
            );
            let connect = format!("opening a second TCP connection to 127.0.0.1:{port}");
            let after = &lines[i + 1..(i + 7).min(lines.len())];
            if !after.contains(&shown.as_str()) || !after.iter().any(|l| l.contains(&connect)) {
                return Err(format!(
                    "after {line:?}, expected {shown:?} and {connect:?}"
                ));
            }
        }
        if let Some(rest) = line.strip_prefix("port ") {
            if !rest.contains("p1 × 256 + p2") {
                continue;
            }
            // port N = p1 × 256 + p2 with p1 = N / 256 = A, p2 = N % 256 = B
            let after = |marker: &str| {
                rest.split_once(marker)
                    .map(|(_, tail)| numbers(tail))
                    .and_then(|n| n.first().copied())
                    .unwrap_or(u32::MAX)
            };
            let port = numbers(rest)[0];
            let (p1, p2) = (after("/ 256 = "), after("% 256 = "));
            let command = lines[i + 1..]
                .iter()
                .find(|l| l.starts_with("C: PORT "))
                .map(|l| numbers(l))
                .unwrap_or_default();
            if port / 256 != p1 || port % 256 != p2 || command[4..] != [p1, p2] {
                return Err(format!("wrong active-mode arithmetic in {line:?}"));
            }
        }
    }
    Ok(())
}
