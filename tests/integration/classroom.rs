//! One server for the whole class: log lines and transcripts say which user did what, transcripts
//! survive restarts, and `--tls-self-signed` keeps its certificate so students can use `--ca`.

use std::fs;
use std::path::Path;
use std::time::Duration;

use localftp::server::users::User;

use crate::client_cli::client_binary;
use crate::instruments::{find_transcript, wait_for_file};
use crate::server_cli::{assert_one_line_error, server_command};
use crate::support::{Control, TestServer, run, run_in};

/// The first log line that contains `needle`.
fn line_with<'a>(log: &'a str, needle: &str) -> &'a str {
    log.lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no log line with {needle:?} in:\n{log}"))
}

#[test]
fn log_lines_after_login_name_the_user_until_rein() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = run_in(
        dir.path(),
        &[
            "--user",
            "alice:pw:elr",
            "--user",
            "bob:pw:elr",
            "--explain",
        ],
    );
    let mut c = Control::connect(server.addr);
    c.expect(220);
    let me = c.stream().local_addr().unwrap();
    c.cmd("USER alice", 331);
    c.cmd("PASS pw", 230);
    c.cmd("PWD", 257);
    c.list("LIST");
    c.send_raw(b"RETR a\0b\r\n"); // a bad line: a warning
    c.expect(501);
    c.cmd("REIN", 220);
    c.cmd("USER bob", 331);
    c.cmd("PASS pw", 230);
    c.cmd("NOOP", 200);
    c.cmd("QUIT", 221);
    let log = server.wait_for_log("disconnected");

    let (anonymous, alice, bob) = (
        format!("[#1 {me}]"),
        format!("[#1 alice@{me}]"),
        format!("[#1 bob@{me}]"),
    );
    // Before the login: the number and the address, as before.
    assert!(line_with(&log, "connected").contains(&anonymous), "{log}");
    assert!(
        line_with(&log, "<- USER alice").contains(&anonymous),
        "{log}"
    );
    // After it: the user too, on explain lines, transfer lines and warnings alike.
    for needle in [
        "<- PWD",
        "why: 257",
        "completed:",
        "sent a bad command line",
        "<- REIN",
    ] {
        assert!(line_with(&log, needle).contains(&alice), "{needle}: {log}");
    }
    // REIN logs alice out: bob's USER has no name; after his login, his.
    assert!(line_with(&log, "<- USER bob").contains(&anonymous), "{log}");
    for needle in ["<- NOOP", "<- QUIT", "disconnected"] {
        assert!(line_with(&log, needle).contains(&bob), "{needle}: {log}");
    }
}

/// A `--lab` server writing transcripts to `out`, with the accounts alice and bob (`pw`).
fn lab_server_for_alice_and_bob(out: &std::path::Path) -> TestServer {
    TestServer::start_with(|c| {
        c.transcript_dir = Some(out.to_path_buf());
        c.lab = true;
        c.users = vec![
            User::from_spec("alice:pw:elr", &c.root).unwrap(),
            User::from_spec("bob:pw:elr", &c.root).unwrap(),
        ];
    })
}

/// Two sessions at once, in `--lab`: each user gets a file of their own, named after them, with
/// what came before the login (the greeting, a wrong password) in it.
#[test]
fn each_user_gets_their_own_transcript_from_the_greeting_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t");
    let server = lab_server_for_alice_and_bob(&out);
    let mut alice = server.connect();
    let mut bob = server.connect();
    alice.cmd("USER alice", 331);
    alice.cmd("PASS wrong", 530);
    bob.cmd("USER bob", 331);
    bob.cmd("PASS pw", 230);
    alice.cmd("USER alice", 331);
    alice.cmd("PASS pw", 230);
    alice.cmd("PWD", 257);
    bob.cmd("QUIT", 221);
    alice.cmd("QUIT", 221);
    // The transcript has each reply's explanation (`why:`) with or without --explain.
    let text = wait_for_file(&out.join("alice-1.txt"), "why: 221");
    assert_eq!(
        text,
        "localftp transcript of session 1, user alice, from 127.0.0.1\n\
         [0001] S> 220 Selamat datang di Local FTP Server\n\
         [0002] C> USER alice\n\
         [0003] S> 331 Username ok, send password.\n\
         [0004]   why: 331 for USER (RFC 959 §4.1.1); state awaiting-user → awaiting-password for alice\n\
         [0005] C> PASS ****\n\
         [0006] S> 530 Login incorrect.\n\
         [0007]   why: 530 for PASS (RFC 959 §4.1.1); state awaiting-password for alice → awaiting-user\n\
         [0008] C> USER alice\n\
         [0009] S> 331 Username ok, send password.\n\
         [0010]   why: 331 for USER (RFC 959 §4.1.1); state awaiting-user → awaiting-password for alice\n\
         [0011] C> PASS ****\n\
         [0012] S> 230 Login successful.\n\
         [0013]   why: 230 for PASS (RFC 959 §4.1.1); state awaiting-password for alice → logged-in as alice\n\
         [0014] C> PWD\n\
         [0015] S> 257 \"/\" is the current directory.\n\
         [0016]   why: 257 for PWD (RFC 959 §4.1.3); state logged-in as alice\n\
         [0017] C> QUIT\n\
         [0018] S> 221 Goodbye.\n\
         [0019]   why: 221 for QUIT (RFC 959 §4.1.1); state logged-in as alice\n"
    );
    let bob = wait_for_file(&out.join("bob-1.txt"), "why: 221");
    assert!(
        bob.starts_with("localftp transcript of session 2, user bob, from 127.0.0.1\n"),
        "{bob}"
    );
    assert!(!bob.contains("alice"), "{bob}");
    let json = fs::read_to_string(out.join("alice-1.jsonl")).unwrap();
    assert!(
        json.starts_with("{\"seq\":1,\"kind\":\"reply\",\"text\":\"220 "),
        "{json}"
    );
    assert!(json.contains(r#""text":"PASS ****""#) && !json.contains("wrong"));
}

/// REIN ends a transcript; the next login starts its own file. A session without a login is
/// `unlogged`.
#[test]
fn rein_starts_a_new_transcript_and_no_login_is_unlogged() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t");
    let server = lab_server_for_alice_and_bob(&out);
    let mut c = server.connect();
    c.cmd("USER alice", 331);
    c.cmd("PASS pw", 230);
    c.cmd("REIN", 220);
    c.cmd("USER bob", 331);
    c.cmd("PASS pw", 230);
    c.cmd("QUIT", 221);
    let alice = wait_for_file(&out.join("alice-1.txt"), "why: 220 for REIN");
    assert!(
        alice.ends_with("[0008] C> REIN\n[0009] S> 220 Logged out; ready for a new user.\n[0010]   why: 220 for REIN (RFC 959 §4.1.1); state logged-in as alice → awaiting-user\n"),
        "{alice}"
    );
    assert!(!alice.contains("bob"), "{alice}");
    let bob = wait_for_file(&out.join("bob-1.txt"), "why: 221");
    assert!(
        bob.starts_with(
            "localftp transcript of session 1 (after REIN), user bob, from 127.0.0.1\n\
             [0001] C> USER bob\n"
        ),
        "{bob}"
    );

    let mut c = server.connect();
    c.cmd("USER mallory", 331);
    c.cmd("QUIT", 221);
    // Written when the session ends, a moment after the client has its 221.
    let nobody = wait_for_file(&out.join("unlogged-1.txt"), "why: 221");
    assert!(
        nobody.starts_with("localftp transcript of session 2, no login, from 127.0.0.1\n"),
        "{nobody}"
    );
}

/// Session numbers start at 1 again after a restart; the files of the run before stay.
#[test]
fn a_restarted_server_never_overwrites_a_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t");
    let mut earlier = Vec::new();
    for run in 1..=2 {
        let server = TestServer::start_with(|c| {
            c.transcript_dir = Some(out.clone());
            c.lab = run == 1; // one run named without a time, one with
        });
        let mut c = server.login();
        c.cmd(&format!("NOOP run {run}"), 200);
        c.cmd("QUIT", 221);
        if run == 1 {
            let text = wait_for_file(&out.join("user-1.txt"), "why: 221");
            earlier.push(("user-1.txt", text));
            let json = fs::read_to_string(out.join("user-1.jsonl")).unwrap();
            earlier.push(("user-1.jsonl", json));
        } else {
            let (path, text) = find_transcript(&out, "user-2", "NOOP run 2");
            // user-YYYYMMDD-HHMMSS-1.txt: no `:`, so the name is valid on Windows too.
            let name = path.file_name().unwrap().to_str().unwrap();
            let parts: Vec<&str> = name.trim_end_matches(".txt").split('-').collect();
            assert_eq!(parts.len(), 4, "{name}");
            assert!(parts[1].len() == 8 && parts[2].len() == 6, "{name}");
            assert!(
                parts[1..]
                    .iter()
                    .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
            );
            assert!(text.contains("session 1, user user, from 127.0.0.1:"));
        }
    }
    // The same name in lab mode, again: the number goes up.
    let server = TestServer::start_with(|c| {
        c.transcript_dir = Some(out.clone());
        c.lab = true;
    });
    let mut c = server.login();
    c.cmd("NOOP run 3", 200);
    c.cmd("QUIT", 221);
    wait_for_file(&out.join("user-2.txt"), "NOOP run 3");
    assert!(fs::read_to_string(out.join("user-2.jsonl")).is_ok());
    for (name, text) in earlier {
        assert_eq!(fs::read_to_string(out.join(name)).unwrap(), text, "{name}");
    }
}

/// The `FTPS ready: certificate SHA-256 fingerprint …` value of a server program's log.
fn logged_fingerprint(log: &str) -> String {
    line_with(log, "fingerprint")
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_self_signed_certificate_lasts_and_the_client_trusts_it_with_ca() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let args = [
        "--port",
        "0",
        "--root",
        root.to_str().unwrap(),
        "--tls-self-signed",
    ];
    // By default the state folder is next to the root.
    let state = dir.path().join("localftp-state");
    let first = {
        let mut server = run(dir.path(), &args);
        let log = server.wait_for_log("listening on");
        assert!(
            line_with(&log, "tls-cert.pem").contains("made now"),
            "{log}"
        );
        assert!(line_with(&log, "tls-cert.pem").contains("--ca"), "{log}");
        logged_fingerprint(&log)
    };
    assert!(state.join("tls-cert.pem").is_file() && state.join("tls-key.pem").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(state.join("tls-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key is its owner's alone");
    }
    let mut server = run(dir.path(), &args);
    let log = server.wait_for_log("listening on");
    assert!(line_with(&log, "tls-cert.pem").contains("loaded"), "{log}");
    assert_eq!(logged_fingerprint(&log), first, "the same certificate");

    // The guided client trusts exactly this certificate: --ca, no --insecure.
    let local = tempfile::tempdir().unwrap();
    let output = assert_cmd::Command::new(client_binary())
        .current_dir(local.path())
        .args(["--port", &server.addr.port().to_string(), "--timeout", "10"])
        .args(["--tls", "--ca"])
        .arg(state.join("tls-cert.pem"))
        .args(["--password", "12345", "pwd", "get baca_saya.txt"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("verified: the --ca file vouches for this certificate"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&first),
        "the client shows the same fingerprint"
    );
    assert!(local.path().join("baca_saya.txt").is_file());
}

#[test]
fn a_state_folder_users_could_reach_or_a_broken_pair_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let start = |state: &Path| {
        server_command(dir.path())
            .args(["--port", "0", "--root"])
            .arg(&root)
            .args(["--tls-self-signed", "--state-dir"])
            .arg(state)
            .output()
            .unwrap()
    };
    // Inside the root, or inside a home elsewhere (the anonymous one here).
    let output = start(&root.join("keys"));
    assert_one_line_error(&output, "is inside");
    assert!(!root.join("keys").exists(), "nothing made inside the root");
    let public = dir.path().join("public");
    let output = server_command(dir.path())
        .args(["--port", "0", "--root"])
        .arg(&root)
        .arg("--anonymous")
        .arg(&public)
        .args(["--tls-self-signed", "--state-dir"])
        .arg(public.join("state"))
        .output()
        .unwrap();
    assert_one_line_error(&output, "is inside");
    // Inside a shared folder: every user could download the key from /Materi.
    let materi = dir.path().join("materi");
    fs::create_dir_all(&materi).unwrap();
    let output = server_command(dir.path())
        .args(["--port", "0", "--root"])
        .arg(&root)
        .arg("--share")
        .arg(format!("{}=Materi", materi.display()))
        .args(["--tls-self-signed", "--state-dir"])
        .arg(materi.join("state"))
        .output()
        .unwrap();
    assert_one_line_error(&output, "is inside");
    assert!(
        !materi.join("state").exists(),
        "nothing made inside the share"
    );

    // One file of the pair missing: the error names it.
    let state = dir.path().join("state");
    fs::create_dir_all(&state).unwrap();
    fs::write(state.join("tls-key.pem"), "").unwrap();
    assert_one_line_error(&start(&state), "tls-cert.pem is missing");
    // Both there, but not a pair (another certificate's key).
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let mine = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    fs::write(state.join("tls-cert.pem"), mine.cert.pem()).unwrap();
    fs::write(state.join("tls-key.pem"), other.signing_key.serialize_pem()).unwrap();
    assert_one_line_error(&start(&state), "delete both");
    // Not PEM at all.
    fs::write(state.join("tls-cert.pem"), "not a certificate").unwrap();
    assert_one_line_error(&start(&state), "tls-cert.pem");
}
