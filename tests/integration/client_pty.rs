//! The guided client at a real terminal: tmux gives it a pseudo-terminal, the test types a
//! password into the hidden prompt and picks menu entries with the arrow keys and Enter, and
//! reads the screen to see the annotated output.
//!
//! Each test uses its own tmux server (`tmux -L <unique socket>`) and kills it at the end, even
//! when an assertion fails. Without tmux the tests say so and return.

use std::path::Path;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::client_cli::client_binary;
use crate::support::TestServer;

/// How long the screen may take to show what the test waits for.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(20);

/// One tmux server with one session running the client; killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Start `program args…` in a detached 160×50 session, in `dir`, or `None` without tmux.
    fn start(dir: &Path, program: &Path, args: &[&str]) -> Option<Tmux> {
        Tmux::start_sized(dir, program, args, 160)
    }

    /// The same, `columns` wide.
    fn start_sized(dir: &Path, program: &Path, args: &[&str], columns: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed, so no pseudo-terminal can be driven");
            return None;
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let tmux = Tmux {
            socket: format!("localftp-pty-{}-{nanos}", std::process::id()),
        };
        let columns = columns.to_string();
        let mut command = vec![
            "new-session",
            "-d",
            "-s",
            "client",
            "-x",
            &columns,
            "-y",
            "50",
        ];
        let dir = dir.to_str().unwrap();
        // A shell runs the client and prints its exit code on the screen: tmux does not always
        // collect the exit status of a pane's process in time to be asked for it. Ctrl-C at the
        // hidden password prompt (not in raw mode) signals the whole foreground group, so the
        // shell catches SIGINT (a caught signal is reset for the client, an ignored one not)
        // and lives on to print the code.
        let report = r#"trap true INT; "$0" "$@"; echo "[exit code $?]"; sleep 600"#;
        command.extend([
            "-c",
            dir,
            "--",
            "sh",
            "-c",
            report,
            program.to_str().unwrap(),
        ]);
        command.extend(args);
        tmux.run(&command);
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Press keys (tmux key names: "Enter", "Down", "Up", "C-c", or literal text).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "client"];
        args.extend(keys);
        self.run(&args);
    }

    /// Type text literally (no key-name lookup), e.g. a password.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "client", "-l", text]);
    }

    /// Everything the pane has shown, scrollback included, without colour codes.
    fn screen(&self) -> String {
        let output = self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", "client"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Wait until the screen contains `text` `times` times; fail with the screen if it never does.
    fn wait_for(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {text:?} ({times}×):\n{screen}");
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The client's exit code once it has ended, as the shell around it printed it, and the
    /// whole screen at that moment. Assertions read this screen, not one captured while the
    /// client was still writing its last line.
    fn finished(&self) -> (i32, String) {
        let screen = self.wait_for("[exit code ", 1);
        let (_, rest) = screen.rsplit_once("[exit code ").unwrap();
        let code = rest.split(']').next().unwrap();
        let code = code
            .parse()
            .unwrap_or_else(|_| panic!("not an exit code: {code:?}\n{screen}"));
        (code, screen)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[test]
fn the_menu_is_driven_with_the_keyboard() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let port = server.addr.port().to_string();
    let binary = client_binary();
    let Some(tmux) = Tmux::start(local.path(), &binary, &["--port", &port, "--user", "user"])
    else {
        return;
    };

    // No --host: the client asks, offering the seed's 127.0.0.1; Enter accepts it. Then the
    // password prompt, which hides what is typed.
    tmux.wait_for("Host (127.0.0.1)", 1);
    tmux.keys(&["Enter"]);
    tmux.wait_for("Password (Enter: 12345, the seed's)", 1);
    tmux.type_text("12345");
    tmux.keys(&["Enter"]);
    tmux.wait_for("What next?", 1);

    // The first entry, PWD, is selected: Enter.
    tmux.keys(&["Enter"]);
    tmux.wait_for("S: 257 \"/\"", 1);

    // One down is LIST; Enter twice (the folder question defaults to this folder).
    tmux.wait_for("What next?", 2);
    tmux.keys(&["Down", "Enter"]);
    tmux.wait_for("Folder to list", 1);
    tmux.keys(&["Enter"]);
    tmux.wait_for("S: 226 ", 1);

    // Two down is RETR; its question offers baca_saya.txt.
    tmux.wait_for("What next?", 3);
    tmux.keys(&["Down", "Down", "Enter"]);
    tmux.wait_for("File on the server", 1);
    tmux.keys(&["Enter"]);
    tmux.wait_for("saved baca_saya.txt", 1);

    // Up from the first entry wraps round to the last one, QUIT.
    tmux.wait_for("What next?", 4);
    tmux.keys(&["Up", "Enter"]);
    tmux.wait_for("S: 221 ", 1);
    let (code, screen) = tmux.finished();
    assert_eq!(code, 0, "{screen}");

    for expected in [
        "S: 220 Selamat datang di Local FTP Server",
        "C: USER user",
        "C: PASS (hidden)",
        "S: 230 ",
        "C: PWD",
        "C: PASV",
        "S: 227 Entering Passive Mode (127,0,0,1,",
        "data port = p1 × 256 + p2 = ",
        "C: LIST",
        "baca_saya.txt",
        "C: RETR baca_saya.txt",
        "C: QUIT",
    ] {
        assert!(
            screen.contains(expected),
            "{expected:?} is not on the screen:\n{screen}"
        );
    }
    // Progress bars and spinners are cleared when their transfer ends: none is left frozen
    // on the screen (a listing's lines printed under a live spinner used to strand it).
    let frozen: Vec<&str> = screen
        .lines()
        .filter(|line| line.contains("[data]") && line.contains("B/s"))
        .collect();
    assert!(
        frozen.is_empty(),
        "a progress line stayed: {frozen:?}\n{screen}"
    );
    assert!(screen.contains("bytes of listing received"), "{screen}");
    // The prompt names the seed's password; what was typed is not echoed anywhere.
    assert_eq!(
        screen.matches("12345").count(),
        screen.matches("(Enter: 12345, the seed's)").count(),
        "the password was echoed:\n{screen}"
    );
    assert!(screen.contains("Password · typed, hidden"), "{screen}");
    assert_eq!(
        std::fs::read(local.path().join("baca_saya.txt")).unwrap(),
        std::fs::read(server.path("baca_saya.txt")).unwrap()
    );
}

#[test]
fn ctrl_c_at_the_menu_exits_cleanly() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let port = server.addr.port().to_string();
    let binary = client_binary();
    let args = [
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        "user",
        "--password",
        "12345",
    ];
    let Some(tmux) = Tmux::start(local.path(), &binary, &args) else {
        return;
    };
    tmux.wait_for("What next?", 1);
    tmux.keys(&["C-c"]);
    tmux.wait_for("interrupted (Ctrl-C)", 1);
    let (code, screen) = tmux.finished();
    assert_eq!(code, 130, "{screen}");
    assert!(!screen.contains("panicked"), "{screen}");
    assert!(
        screen.contains("the server sees the control connection close, with no QUIT"),
        "{screen}"
    );
}

/// Enter at every prompt takes the seed's answer, the password's too (the prompt says so),
/// and the masked `PASS` line does not pretend to a length.
#[test]
fn enter_at_every_prompt_takes_the_seeds_login() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let port = server.addr.port().to_string();
    let binary = client_binary();
    let Some(tmux) = Tmux::start(local.path(), &binary, &["--port", &port]) else {
        return;
    };
    tmux.wait_for("Host (127.0.0.1)", 1);
    tmux.keys(&["Enter"]);
    tmux.wait_for("User (user)", 1);
    tmux.keys(&["Enter"]);
    tmux.wait_for("Password (Enter: 12345, the seed's)", 1);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("What next?", 1);
    for expected in [
        "Password · the seed's, by Enter",
        "C: USER user",
        "C: PASS (hidden)",
        "S: 230 ",
    ] {
        assert!(screen.contains(expected), "{expected:?}:\n{screen}");
    }
    assert!(!screen.contains("Port"), "--port was given:\n{screen}");
    assert!(
        !screen.contains("S: 530"),
        "no login was refused:\n{screen}"
    );
    tmux.keys(&["Up", "Enter"]);
    tmux.wait_for("S: 221 ", 1);
    let (code, screen) = tmux.finished();
    assert_eq!(code, 0, "{screen}");
}

/// `--password` with no actions goes straight to the menu: the seed's host, port and user are
/// taken without asking, so keys meant for the menu reach it.
#[test]
fn a_given_password_skips_every_prompt() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let port = server.addr.port().to_string();
    let binary = client_binary();
    let args = ["--port", &port, "--password", "12345"];
    let Some(tmux) = Tmux::start(local.path(), &binary, &args) else {
        return;
    };
    tmux.wait_for("What next?", 1);
    tmux.keys(&["Enter"]);
    tmux.wait_for("S: 257 \"/\"", 1);
    tmux.wait_for("What next?", 2);
    tmux.keys(&["Up", "Enter"]);
    tmux.wait_for("S: 221 ", 1);
    let (code, screen) = tmux.finished();
    assert_eq!(code, 0, "{screen}");
    for prompt in ["Host", "User (", "Password", "invalid digit"] {
        assert!(!screen.contains(prompt), "{prompt:?} was asked:\n{screen}");
    }
    assert!(screen.contains("C: USER user"), "{screen}");
}

/// A wrong key at the port prompt gets a hint and the prompt again.
#[test]
fn a_wrong_port_gets_a_hint() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let port = server.addr.port().to_string();
    let binary = client_binary();
    let args = ["--host", "127.0.0.1", "--user", "user"];
    let Some(tmux) = Tmux::start(local.path(), &binary, &args) else {
        return;
    };
    tmux.wait_for("Port (2122)", 1);
    tmux.type_text("q");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("a port is a number from 1 to 65535; Enter takes 2122", 1);
    assert!(!screen.contains("invalid digit"), "{screen}");
    tmux.type_text(&port);
    tmux.keys(&["Enter"]);
    tmux.wait_for("Password (Enter", 1);
    tmux.keys(&["Enter"]);
    tmux.wait_for("What next?", 1);
    tmux.keys(&["Up", "Enter"]);
    tmux.wait_for("S: 221 ", 1);
    let (code, screen) = tmux.finished();
    assert_eq!(code, 0, "{screen}");
}

/// Ctrl-C before connecting: at the host prompt and at the password prompt, nothing was sent,
/// and the line says so; the terminal's echo comes back after the hidden prompt.
#[test]
fn ctrl_c_before_connecting_says_nothing_was_sent() {
    let local = tempfile::tempdir().unwrap();
    let binary = client_binary();
    // The port of a server that does not exist: the client must never get that far.
    for (stop_at, args) in [
        ("Host (127.0.0.1)", vec!["--port", "1"]),
        ("Port (2122)", vec!["--host", "127.0.0.1"]),
        ("User (user)", vec!["--host", "127.0.0.1", "--port", "1"]),
        (
            "Password (Enter",
            vec!["--host", "127.0.0.1", "--port", "1", "--user", "u"],
        ),
    ] {
        let Some(tmux) = Tmux::start(local.path(), &binary, &args) else {
            return;
        };
        tmux.wait_for(stop_at, 1);
        tmux.keys(&["C-c"]);
        tmux.wait_for("interrupted (Ctrl-C)", 1);
        let (code, screen) = tmux.finished();
        assert_eq!(code, 130, "{screen}");
        assert!(
            screen.contains("no connection had been opened yet, so nothing was sent"),
            "{stop_at}:\n{screen}"
        );
        assert!(!screen.contains("connection close"), "{screen}");
    }
}

/// Ctrl-C at the second password prompt, after a 530: connected, not logged in.
#[test]
fn ctrl_c_after_a_refused_login_says_the_connection_closes_unlogged() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let port = server.addr.port().to_string();
    let binary = client_binary();
    let args = ["--host", "127.0.0.1", "--port", &port, "--user", "user"];
    let Some(tmux) = Tmux::start(local.path(), &binary, &args) else {
        return;
    };
    tmux.wait_for("Password (Enter", 1);
    tmux.type_text("wrong");
    tmux.keys(&["Enter"]);
    tmux.wait_for("S: 530 ", 1);
    tmux.wait_for("User (user)", 1);
    tmux.keys(&["Enter"]);
    // The first password prompt was cleared: the one on screen now is the second.
    tmux.wait_for("✔ User · user", 1);
    tmux.wait_for("Password (Enter", 1);
    tmux.keys(&["C-c"]);
    tmux.wait_for("interrupted (Ctrl-C)", 1);
    let (code, screen) = tmux.finished();
    assert_eq!(code, 130, "{screen}");
    assert!(
        screen.contains("the control connection was open but not logged in"),
        "{screen}"
    );
}

/// At 80 columns the explanations are wrapped by the client, each continuation line indented
/// under the text after its marker: no line is longer than the terminal (`capture-pane -J`
/// would join the terminal's own wraps into one long line).
#[test]
fn explanations_wrap_to_an_80_column_terminal_with_their_indent() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let port = server.addr.port().to_string();
    let binary = client_binary();
    let args = ["--port", &port, "--password", "12345", "pwd", "ls"];
    let Some(tmux) = Tmux::start_sized(local.path(), &binary, &args, 80) else {
        return;
    };
    let screen = tmux.wait_for("[exit code 0]", 1);
    let long: Vec<&str> = screen
        .lines()
        .filter(|line| !line.starts_with("   | ") && line.chars().count() > 80)
        .collect();
    assert!(long.is_empty(), "lines wider than 80: {long:?}\n{screen}");
    // The 331's meaning and the first `note` or `[data]` remark run onto a second line, lined
    // up after "   (331) " and the like.
    let lines: Vec<&str> = screen.lines().collect();
    let continued = lines.windows(2).any(|w| {
        w[0].starts_with("   (") && w[1].starts_with("         ") && !w[1].starts_with("          ")
    });
    assert!(continued, "no wrapped (ddd) explanation:\n{screen}");
}
