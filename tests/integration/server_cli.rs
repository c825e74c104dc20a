//! The server program (`examples/server.rs`) as a user runs it: its flags, its one-line errors,
//! and a real start on port 0 that serves the seed's data.

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use predicates::prelude::*;

use crate::support::{Control, run, server_binary};

/// The longest a run of the program may take before the test fails instead of hanging (a flag
/// that should be refused but is accepted would otherwise start a server that runs forever).
const RUN_LIMIT: Duration = Duration::from_secs(20);

/// The program with a clean logging environment, run in `dir` (so a default `data/` would
/// land there, never in the repository).
pub fn server_command(dir: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(server_binary());
    command
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env("RUST_LOG_STYLE", "never")
        .env_remove("RUST_BACKTRACE")
        .timeout(RUN_LIMIT);
    command
}

/// The program failed with exactly one `error:` line containing `needle`, and did not panic.
/// After a flag error clap may add its usual hints (`Usage: ...`, `tip: ...`,
/// `For more information, try '--help'.`); nothing else may be printed.
pub fn assert_one_line_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && output.status.code().is_some(),
        "expected a non-zero exit, got {} (stderr: {stderr})",
        output.status
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "the program panicked: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "expected one error line, got: {stderr}");
    assert!(
        errors[0].contains(needle),
        "expected the error to mention {needle:?}, got: {}",
        errors[0]
    );
    for line in &lines {
        assert!(
            line.starts_with("error:")
                || line.starts_with("Usage:")
                || line.trim_start().starts_with("tip:")
                || line.starts_with("For more information"),
            "unexpected extra output: {line:?} in {stderr}"
        );
    }
}

#[test]
fn help_lists_every_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mut assert = server_command(dir.path()).arg("--help").assert().success();
    for flag in [
        "--bind",
        "--port",
        "--root",
        "--user",
        "--banner",
        "--passive-ports",
        "--masquerade",
    ] {
        assert = assert.stdout(predicate::str::contains(flag));
    }
}

#[test]
fn bad_flags_exit_non_zero_with_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let root = root.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--port", "abc", "--root", root], "--port"),
        (&["--port", "70000", "--root", root], "--port"),
        (
            &["--port", "0", "--root", root, "--user", "nopassword"],
            "nopassword",
        ),
        (&["--port", "0", "--root", root, "--user", "a:b:xyz"], "'x'"),
        (&["--port", "0", "--root", root, "--user", ":pw"], "empty"),
        (
            &["--port", "0", "--root", root, "--passive-ports", "9-1"],
            "9-1",
        ),
        (
            &["--port", "0", "--root", root, "--passive-ports", "abc"],
            "abc",
        ),
        (
            &["--port", "0", "--root", root, "--bind", "not-an-ip"],
            "not-an-ip",
        ),
        (
            &["--port", "0", "--root", root, "--masquerade", "::1"],
            "::1",
        ),
        (
            &["--port", "0", "--root", root, "--no-such-flag"],
            "--no-such-flag",
        ),
    ];
    for (args, needle) in cases {
        let output = server_command(dir.path()).args(*args).output().unwrap();
        assert_one_line_error(&output, needle);
        // Refused before anything happened: no root was created.
        assert!(!Path::new(root).exists(), "{args:?} created the root");
    }
}

#[test]
fn a_root_that_cannot_be_created_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    std::fs::write(&file, "not a folder").unwrap();
    let root = file.join("root");
    let output = server_command(dir.path())
        .args(["--port", "0", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert_one_line_error(&output, "cannot use folder");
    assert_one_line_error(&output, root.to_str().unwrap());
}

#[test]
fn a_port_in_use_is_a_one_line_error_naming_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = server_command(dir.path())
        .args(["--port", &port, "--root"])
        .arg(dir.path().join("root"))
        .output()
        .unwrap();
    assert_one_line_error(&output, &format!(":{port}"));
    assert_one_line_error(&output, "in use");
}

#[test]
fn it_serves_on_port_0_with_the_seed_data_and_keeps_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("served");
    let root_arg = root.to_str().unwrap();
    {
        let server = run(dir.path(), &["--port", "0", "--root", root_arg]);
        assert!(server.addr.ip().is_loopback() && server.addr.is_ipv4());
        assert_ne!(server.addr.port(), 0);
        let mut c = Control::connect(server.addr);
        let greeting = c.expect(220);
        assert_eq!(greeting.text(), "Selamat datang di Local FTP Server");
        c.cmd("USER user", 331);
        c.cmd("PASS 12345", 230);
        c.cmd_says("PWD", 257, "\"/\"");
        assert!(
            !std::fs::read(root.join("baca_saya.txt"))
                .unwrap()
                .is_empty()
        );
        assert!(root.join("Folder_Tes").is_dir());
        assert_eq!(
            std::fs::read_dir(root.join("Folder_Tes")).unwrap().count(),
            0
        );
        assert_eq!(
            c.nlst("NLST"),
            vec!["Folder_Tes".to_string(), "baca_saya.txt".to_string()]
        );
        c.cmd("QUIT", 221);
    }
    // Restarted on the same root after the student edited the sample file: it is kept.
    std::fs::write(root.join("baca_saya.txt"), "my edits\n").unwrap();
    let server = run(dir.path(), &["--port", "0", "--root", root_arg]);
    let mut c = Control::connect(server.addr);
    c.expect(220);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd("TYPE I", 200);
    assert_eq!(c.download("RETR baca_saya.txt"), b"my edits\n");
    assert_eq!(
        std::fs::read(root.join("baca_saya.txt")).unwrap(),
        b"my edits\n"
    );
}

#[test]
fn flags_change_the_banner_users_and_passive_ports() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    // A passive range around a port that was free a moment ago. Other tests run at the same
    // time and may take a port of it, so the range is wide and the check is membership.
    let low = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .min(65_000);
    let high = low + 50;
    let range = format!("{low}-{high}");
    let server = run(
        dir.path(),
        &[
            "--port",
            "0",
            "--root",
            root.to_str().unwrap(),
            "--banner",
            "Hello class",
            "--user",
            "ann:secret:elr",
            "--passive-ports",
            &range,
            "--masquerade",
            "10.1.2.3",
        ],
    );
    let mut c = Control::connect(server.addr);
    assert_eq!(c.expect(220).text(), "Hello class");
    // --user replaces the default user.
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 530);
    c.cmd("USER ann", 331);
    c.cmd("PASS secret", 230);
    c.cmd_says("SITE PERMS", 200, "Your permissions: elr");
    c.cmd_says("STOR x.txt", 550, "'w'");
    let reply = c.cmd_says("PASV", 227, "(10,1,2,3,");
    let text = reply.text();
    let numbers: Vec<u16> = text[text.find('(').unwrap() + 1..text.find(')').unwrap()]
        .split(',')
        .map(|n| n.parse::<u16>().unwrap())
        .collect();
    let port = numbers[4] * 256 + numbers[5];
    assert!((low..=high).contains(&port), "port {port} outside {range}");
}

#[test]
fn it_serves_over_ipv6() {
    if let Err(e) = TcpListener::bind("[::1]:0") {
        eprintln!("SKIPPED: cannot bind ::1 on this machine ({e})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let server = run(
        dir.path(),
        &[
            "--bind",
            "::1",
            "--port",
            "0",
            "--root",
            root.to_str().unwrap(),
        ],
    );
    assert!(server.addr.is_ipv6(), "{}", server.addr);
    let mut c = Control::connect(server.addr);
    c.expect(220);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    // PASV cannot announce an IPv6 address; EPSV works on any family.
    c.cmd("PASV", 425);
    let data = c.epsv();
    let names = String::from_utf8(c.download_on(data, "NLST")).unwrap();
    assert_eq!(names, "Folder_Tes\r\nbaca_saya.txt\r\n");
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut server = run(
        dir.path(),
        &[
            "--port",
            "0",
            "--root",
            root.to_str().unwrap(),
            "--shutdown-grace",
            "5",
        ],
    );
    let mut idle = Control::connect(server.addr);
    idle.expect(220);
    idle.cmd("USER user", 331);
    idle.cmd("PASS 12345", 230);
    let pid = server.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    // The idle session is told, then the program ends by itself, successfully.
    let reply = idle.expect(421);
    assert!(reply.text().contains("shutting down"), "{reply:?}");
    // The log counts the session that was open when the shutdown began (it once said 0: the
    // count was taken after the idle sessions had already been told and had gone).
    server.wait_for_log("shutting down: 1 sessions open");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
    // And the port is free again.
    assert!(std::net::TcpStream::connect(server.addr).is_err());
}

#[cfg(unix)]
#[test]
fn site_chmod_needs_m_and_changes_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let server = crate::support::TestServer::start_with(|c| {
        c.users = vec![localftp::server::users::User::from_spec("m:pw:elrM", &c.root).unwrap()];
    });
    let mut c = server.login_as("m", "pw");
    c.cmd("SITE CHMOD 600 baca_saya.txt", 200);
    let mode = std::fs::metadata(server.path("baca_saya.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    c.cmd("SITE CHMOD 999 baca_saya.txt", 501);
    c.cmd("SITE CHMOD 644 nope.txt", 550);
    let help = c.cmd("SITE HELP", 214);
    assert!(help.text().contains("CHMOD"), "{help:?}");
}

/// `--anonymous` answers to the names `anonymous` and `ftp` in any case (RFC 1635), so an
/// account of either name could never log in with its own password: anyone typing the name
/// would be let in anonymously instead. The program refuses that combination at start, in one
/// line, before it creates anything; without `--anonymous` the same account is ordinary.
#[test]
fn an_account_named_ftp_or_anonymous_is_refused_alongside_anonymous() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let root = root.to_str().unwrap();
    let public = dir.path().join("pub");
    let public = public.to_str().unwrap();
    for name in ["ftp", "FTP", "anonymous"] {
        let spec = format!("{name}:secret:elradfmw");
        let output = server_command(dir.path())
            .args(["--port", "0", "--root", root, "--anonymous", public])
            .args(["--user", &spec])
            .output()
            .unwrap();
        assert_one_line_error(&output, &format!("{name:?}"));
        assert_one_line_error(&output, "--anonymous");
        assert!(!Path::new(root).exists(), "{name}: the root was created");
    }
    // Without --anonymous, an account named ftp needs its own password like any other.
    let server = run(
        dir.path(),
        &["--port", "0", "--root", root, "--user", "ftp:secret:elr"],
    );
    let mut c = Control::connect(server.addr);
    c.expect(220);
    c.cmd("USER ftp", 331);
    c.cmd("PASS me@example.com", 530);
    c.cmd("USER ftp", 331);
    c.cmd("PASS secret", 230);
}
