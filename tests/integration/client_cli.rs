//! The guided client (`examples/client.rs`), run as a program against a server started in the
//! test: the seed's flow from the command line, the annotated output it prints, the files it
//! leaves on disk, and every error case of the seed's section IV with its message and exit code.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::support::TestServer;

/// The client example's binary. `cargo test` builds examples before it runs tests, but
/// `cargo test --test integration` may not, and may leave an old one: so cargo is asked once
/// per test run to build it (a no-op when it is fresh).
pub fn client_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            // This test program is target/<profile>/deps/integration-<hash>.
            let exe = std::env::current_exe().expect("the test program's path");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target/<profile>");
            let binary = profile_dir
                .join("examples")
                .join(format!("client{}", std::env::consts::EXE_SUFFIX));
            let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => "dev".to_string(),
                Some(other) => other.to_string(),
            };
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let built = StdCommand::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "--example",
                    "client",
                    "--profile",
                    &profile,
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("CARGO_TARGET_DIR", profile_dir.parent().expect("target/"))
                // As in `support::server_binary`: not passed on, so ring is not rebuilt.
                .env_remove("CARGO_MANIFEST_DIR")
                .status();
            match built {
                Ok(status) if status.success() => {}
                other if binary.exists() => {
                    eprintln!("cargo build failed ({other:?}); using {binary:?}")
                }
                other => panic!("cannot build the client example: {other:?}"),
            }
            binary
        })
        .clone()
}

/// The client, pointed at `server`, run in `dir`, with a timeout so a hang fails the test.
pub fn client(server: &TestServer, dir: &Path) -> Command {
    let mut command = Command::new(client_binary());
    command
        .current_dir(dir)
        .args(["--port", &server.addr.port().to_string(), "--timeout", "10"])
        .timeout(Duration::from_secs(60));
    command
}

/// Assert that `needles` occur in `haystack` in this order; show the transcript if not.
pub fn assert_in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match haystack[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => {
                panic!("expected {needle:?} after position {from} in the transcript:\n{haystack}")
            }
        }
    }
}

/// Every `data port = p1 × 256 + p2 = A × 256 + B = N` line, checked against the 227 reply
/// before it: the six numbers are read back from the reply and the arithmetic redone here.
fn check_pasv_arithmetic(stdout: &str) -> usize {
    let mut checked = 0;
    let lines: Vec<&str> = stdout.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("S: 227 ") else {
            continue;
        };
        let inside = rest
            .split_once('(')
            .and_then(|(_, r)| r.split_once(')'))
            .unwrap()
            .0;
        let n: Vec<u32> = inside.split(',').map(|x| x.parse().unwrap()).collect();
        let port = n[4] * 256 + n[5];
        let expected = format!(
            "data port = p1 × 256 + p2 = {} × 256 + {} = {port}",
            n[4], n[5]
        );
        let shown = lines[i + 1..i + 5].iter().any(|l| l.trim() == expected);
        assert!(shown, "missing {expected:?} after {line:?}:\n{stdout}");
        let connect = format!("[data] opening a second TCP connection to 127.0.0.1:{port}");
        assert!(stdout.contains(&connect), "missing {connect:?}");
        checked += 1;
    }
    checked
}

/// The client's standard output (its annotated transcript), which is always UTF-8.
pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("the transcript is UTF-8")
}

/// Bytes of every value, with CR, LF and CRLF in them: any text-mode mangling shows.
fn binary_sample(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 7 % 256) as u8)
        .chain(*b"\r\n\n\r")
        .collect()
}

#[test]
fn seed_flow_from_the_command_line() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    fs::write(local.path().join("notes.txt"), "catatan\n").unwrap();

    let output = client(&server, local.path())
        .args(["--user", "user", "--password", "12345"])
        .args(["pwd", "ls", "get baca_saya.txt", "put notes.txt"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}",
        output.status
    );

    assert_in_order(
        &stdout,
        &[
            "== Stage 1",
            "S: 220 Selamat datang di Local FTP Server\n",
            "   (220) the greeting",
            "== Stage 2",
            "C: USER user\n",
            "S: 331 ",
            "   (331) user name received",
            "C: PASS (hidden)\n",
            "S: 230 ",
            "C: PWD\n",
            "S: 257 \"/\"",
            "C: TYPE A\n",
            "S: 200 ",
            "C: PASV\n",
            "S: 227 Entering Passive Mode (127,0,0,1,",
            "[data] open: ",
            "C: LIST\n",
            "S: 125 ",
            "   | -rw-r--r--",
            "baca_saya.txt",
            "bytes of listing received (",
            "once TYPE A's CRLF line ends became LF), shown above and not saved",
            "the server closed the data connection",
            "S: 226 ",
            "   (226) the transfer is complete: the server sent everything and closed",
            "C: TYPE I\n",
            "C: PASV\n",
            "C: RETR baca_saya.txt\n",
            "S: 226 ",
            "   (226) the transfer is complete: the server sent everything and closed",
            "saved baca_saya.txt",
            "C: PASV\n",
            "C: STOR notes.txt\n",
            "[data] 8 bytes sent; the client closed the data connection",
            "S: 226 ",
            "   (226) the transfer is complete: the client's close of the data connection",
            "C: QUIT\n",
            "S: 221 ",
        ],
    );
    assert!(!stdout.contains("12345"), "the password leaked:\n{stdout}");
    // A listing is shown, never saved to a file.
    let list_summary = stdout.lines().find(|l| l.contains("of listing")).unwrap();
    assert!(!list_summary.contains("local file"), "{list_summary}");
    // Exactly one side closes a data connection, and the 226 says which.
    assert!(!stdout.contains("server has closed"), "{stdout}");
    assert_eq!(check_pasv_arithmetic(&stdout), 3, "one PASV per transfer");
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The files on disk, byte for byte, and no partial download left behind.
    assert_eq!(
        fs::read(local.path().join("baca_saya.txt")).unwrap(),
        fs::read(server.path("baca_saya.txt")).unwrap()
    );
    assert_eq!(fs::read(server.path("notes.txt")).unwrap(), b"catatan\n");
    assert!(!local.path().join("baca_saya.txt.part").exists());
}

#[test]
fn binary_files_go_up_and_come_back_unchanged() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let bytes = binary_sample(300_000);
    fs::write(local.path().join("blob.bin"), &bytes).unwrap();

    client(&server, local.path())
        .args([
            "--password",
            "12345",
            "put blob.bin",
            "get blob.bin copy.bin",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("[data] 300004 bytes sent"))
        .stdout(predicate::str::contains("[data] 300004 bytes received;"));
    assert!(fs::read(server.path("blob.bin")).unwrap() == bytes);
    assert!(fs::read(local.path().join("copy.bin")).unwrap() == bytes);
}

#[test]
fn epsv_and_active_modes_show_their_ports() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let output = client(&server, local.path())
        .args([
            "--password",
            "12345",
            "epsv",
            "ls",
            "active",
            "get baca_saya.txt",
        ])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}");

    // EPSV: the port is the number between the |||s.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("S: 229 "))
        .expect("a 229");
    let port: u16 = line
        .split("|||")
        .nth(1)
        .unwrap()
        .split('|')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(stdout.contains(&format!("data port = {port}, the number between the |||s")));

    // PORT: the client's port, split into p1 and p2, and the server connecting back.
    let port_line = stdout
        .lines()
        .find(|l| l.starts_with("C: PORT "))
        .expect("a PORT");
    let n: Vec<u32> = port_line[8..]
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    let port = n[4] * 256 + n[5];
    assert_in_order(
        &stdout,
        &[
            &format!("[data] listening on 127.0.0.1:{port}"),
            &format!("p1 = {port} / 256 = {}, p2 = {port} % 256 = {}", n[4], n[5]),
            port_line,
            "S: 200 ",
            "C: RETR baca_saya.txt",
            "S: 150 ",
            "[data] open: the server connected from 127.0.0.1:",
            "S: 226 ",
        ],
    );
    assert_eq!(
        fs::read(local.path().join("baca_saya.txt")).unwrap(),
        fs::read(server.path("baca_saya.txt")).unwrap()
    );
}

#[test]
fn folders_renames_and_deletes_change_the_server_disk() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    fs::write(local.path().join("a.txt"), "a\n").unwrap();
    let script = "mkdir baru\ncd baru\nput a.txt\npwd\nup\nrename baru/a.txt b.txt\n\
                  rm baca_saya.txt\ncd Folder_Tes\nup\nrmdir baru\n";
    let output = client(&server, local.path())
        .arg("--password=12345")
        .write_stdin(script)
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}");
    assert_in_order(
        &stdout,
        &[
            "C: MKD baru\n",
            "S: 257 \"/baru\"",
            "C: CWD baru\n",
            "S: 250 ",
            "C: STOR a.txt\n",
            "S: 257 \"/baru\"",
            "C: CDUP\n",
            "C: RNFR baru/a.txt\n",
            "S: 350 ",
            "C: RNTO b.txt\n",
            "S: 250 ",
            "C: DELE baca_saya.txt\n",
            "C: CWD Folder_Tes\n",
            "C: RMD baru\n",
            "S: 250 ",
        ],
    );
    assert_eq!(fs::read(server.path("b.txt")).unwrap(), b"a\n");
    assert!(!server.path("baru").exists());
    assert!(!server.path("baca_saya.txt").exists());
}

#[test]
fn ascii_mode_converts_line_endings_on_the_wire_only() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    fs::write(server.path("lines.txt"), "one\ntwo\nthree\n").unwrap();
    fs::write(local.path().join("up.txt"), "a\nb\n").unwrap();
    let output = client(&server, local.path())
        .args([
            "--password",
            "12345",
            "ascii",
            "get lines.txt",
            "put up.txt",
        ])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}");
    assert_in_order(
        &stdout,
        &[
            "C: TYPE A\n",
            "S: 200 ",
            "C: RETR lines.txt",
            // 14 bytes on disk, 17 on the wire: three LFs became CRLFs.
            "[data] 17 bytes received (14 bytes in the local file: TYPE A changed",
            "C: STOR up.txt",
            "[data] 6 bytes sent (4 bytes in the local file",
        ],
    );
    assert_eq!(
        fs::read(local.path().join("lines.txt")).unwrap(),
        b"one\ntwo\nthree\n"
    );
    assert_eq!(fs::read(server.path("up.txt")).unwrap(), b"a\nb\n");
}

#[test]
fn resume_continues_a_partial_download_with_rest() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let bytes = binary_sample(100_000);
    fs::write(server.path("big.bin"), &bytes).unwrap();
    fs::write(local.path().join("big.bin.part"), &bytes[..40_000]).unwrap();
    let output = client(&server, local.path())
        .args(["--password", "12345", "resume big.bin"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}");
    assert_in_order(
        &stdout,
        &[
            "40000 bytes are already in big.bin.part",
            "C: TYPE I\n",
            "C: SIZE big.bin\n",
            "S: 213 100004",
            "C: PASV\n",
            "C: REST 40000\n",
            "S: 350 ",
            "C: RETR big.bin\n",
            "[data] 60004 bytes received",
            "S: 226 ",
            "40000 bytes were already here and 60004 more arrived",
        ],
    );
    assert!(fs::read(local.path().join("big.bin")).unwrap() == bytes);
    assert!(!local.path().join("big.bin.part").exists());
}

#[test]
fn a_wrong_password_is_530_and_exit_code_1() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    client(&server, local.path())
        .args(["--user", "user", "--password", "wrong", "pwd"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("C: PASS (hidden)\nS: 530 "))
        .stdout(predicate::str::contains("C: PWD").not())
        .stdout(predicate::str::contains("wrong").not())
        .stderr(predicate::str::starts_with(
            "error: logging in as user failed with 530 (not logged in",
        ));
}

#[test]
fn a_missing_remote_file_is_550_and_the_next_step_still_runs() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let output = client(&server, local.path())
        .args(["--password", "12345", "get nope.txt", "pwd"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = stdout_of(&output);
    assert_in_order(
        &stdout,
        &[
            "C: RETR nope.txt\n",
            "S: 550 ",
            "C: PWD\n",
            "S: 257 ",
            "S: 221 ",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: RETR nope.txt failed with 550 (refused: the file or folder does not exist"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    // Neither the final name nor a partial file is left behind.
    assert_eq!(fs::read_dir(local.path()).unwrap().count(), 0);
}

#[test]
fn a_missing_local_file_is_reported_before_anything_is_sent() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    client(&server, local.path())
        .args(["--password", "12345", "put missing.txt", "pwd"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("C: STOR").not())
        .stdout(predicate::str::contains("C: PASV").not())
        .stdout(predicate::str::contains("C: PWD"))
        .stderr(
            "error: the local file missing.txt does not exist, so there is nothing to upload\n",
        );
    assert!(!server.path("missing.txt").exists());
}

#[test]
fn a_server_that_is_not_running_is_connection_refused() {
    // A port that was free a moment ago and has nobody listening now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let local = tempfile::tempdir().unwrap();
    Command::new(client_binary())
        .current_dir(local.path())
        .args(["--port", &port.to_string(), "--password", "12345", "pwd"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("C: ").not())
        .stderr(format!(
            "error: could not connect to 127.0.0.1:{port}: the connection was refused \
             (is the server running, and on that port?)\n"
        ));
}

#[test]
fn a_silent_server_times_out() {
    // Accepts the connection and never greets: the client must give up, not hang.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).collect();
        thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let local = tempfile::tempdir().unwrap();
    Command::new(client_binary())
        .current_dir(local.path())
        .args(["--port", &port.to_string(), "--timeout", "1", "--password", "x", "pwd"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "error: timed out: the server sent nothing for 1 s while the client waited for the 220 greeting",
        ));
}

#[test]
fn scripts_never_wait_for_a_prompt() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    // No --password and no terminal: an error at once, not a prompt that waits.
    client(&server, local.path())
        .arg("pwd")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no password: give --password"));
    // A typo in the script is found before connecting.
    client(&server, local.path())
        .args(["--password", "12345", "pwd", "fly away"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("`fly away` is not an action"));
}

#[test]
fn a_raw_command_shows_a_multi_line_reply_line_by_line() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let output = client(&server, local.path())
        .args(["--password", "12345", "raw FEAT", "raw NOSUCH", "raw LIST"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "the 500 counts as a failed step"
    );
    let stdout = stdout_of(&output);
    assert_in_order(
        &stdout,
        &[
            "C: FEAT\n",
            "S: 211-",
            "S:  EPSV\n",
            "S: 211 ",
            "C: NOSUCH\n",
            "S: 500 ",
        ],
    );
}

/// The progress bar and colours are for terminals: a pipe gets plain text only.
#[test]
fn piped_output_has_no_escape_codes() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let output = client(&server, local.path())
        .args(["--password", "12345", "get baca_saya.txt"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        !output.stdout.contains(&0x1b),
        "an escape code in piped output"
    );
}

/// A server that answers like vsftpd: a multi-line greeting, and 150 (not 125) before a
/// download. It speaks from a script, so the test knows every byte the client should show.
fn vsftpd_like_server() -> (u16, thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (control, _) = listener.accept().unwrap();
        control
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut out = control.try_clone().unwrap();
        let mut reader = BufReader::new(control);
        let mut heard = Vec::new();
        out.write_all(b"220-Welcome to a test server.\r\n220-  Second line, indented.\r\n220 (vsFTPd 3.0.3)\r\n")
            .unwrap();
        let mut data = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let line = line.trim_end().to_string();
            heard.push(line.clone());
            let reply = match line.split(' ').next().unwrap() {
                "USER" => "331 Please specify the password.".to_string(),
                "PASS" => "230 Login successful.".to_string(),
                "TYPE" => "200 Switching to Binary mode.".to_string(),
                "PASV" => {
                    let passive = TcpListener::bind("127.0.0.1:0").unwrap();
                    let p = passive.local_addr().unwrap().port();
                    data = Some(passive);
                    format!(
                        "227 Entering Passive Mode (127,0,0,1,{},{}).",
                        p / 256,
                        p % 256
                    )
                }
                "RETR" => {
                    let (mut stream, _) = data.take().unwrap().accept().unwrap();
                    out.write_all(
                        b"150 Opening BINARY mode data connection for f.txt (5 bytes).\r\n",
                    )
                    .unwrap();
                    stream.write_all(b"hello").unwrap();
                    drop(stream);
                    "226 Transfer complete.".to_string()
                }
                "QUIT" => {
                    out.write_all(b"221 Goodbye.\r\n").unwrap();
                    break;
                }
                _ => "500 Unknown command.".to_string(),
            };
            out.write_all(format!("{reply}\r\n").as_bytes()).unwrap();
        }
        heard
    });
    (port, server)
}

#[test]
fn other_servers_multi_line_greetings_and_150_replies() {
    let (port, server) = vsftpd_like_server();
    let local = tempfile::tempdir().unwrap();
    let output = Command::new(client_binary())
        .current_dir(local.path())
        .args([
            "--port",
            &port.to_string(),
            "--user",
            "ftp",
            "--password",
            "pw",
        ])
        .args(["--timeout", "10", "get f.txt"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}");
    assert_in_order(
        &stdout,
        &[
            "S: 220-Welcome to a test server.\nS: 220-  Second line, indented.\nS: 220 (vsFTPd 3.0.3)\n",
            "   (220) the greeting",
            "C: RETR f.txt\n",
            "S: 150 Opening BINARY mode data connection for f.txt (5 bytes).\n",
            "   (150) the server accepted the command",
            "or always says 150 (vsftpd does)",
            "[data] 5 bytes received",
            "S: 226 Transfer complete.\n",
            "S: 221 Goodbye.\n",
        ],
    );
    assert_eq!(fs::read(local.path().join("f.txt")).unwrap(), b"hello");
    let heard = server.join().unwrap();
    assert_eq!(
        heard,
        [
            "USER ftp",
            "PASS pw",
            "TYPE I",
            "PASV",
            "RETR f.txt",
            "QUIT"
        ],
        "exactly these commands, in this order"
    );
}
