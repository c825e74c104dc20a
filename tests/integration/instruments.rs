//! Issue 10: the server as a teaching instrument — `--explain`, `--transcript`, `--lab`,
//! `--fault`, `SITE WHO` — checked through real sockets and the server program's log.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use localftp::server::faults::{Fault, Faults};
use localftp::server::users::User;

use crate::support::{Control, TestServer, run};

/// The seed's flow, by hand: login, PWD, PASV+LIST, RETR, STOR, CWD, a denied command, a jail
/// refusal, QUIT. Used by the transcript tests, so its bytes are the same every time.
fn seed_script(c: &mut Control) {
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd("PWD", 257);
    c.list("LIST");
    c.cmd("TYPE I", 200);
    c.download("RETR baca_saya.txt");
    c.upload("STOR notes.txt", b"hello\n");
    c.cmd("CWD Folder_Tes", 250);
    c.cmd("CWD /", 250);
    c.cmd("SITE CHMOD 600 notes.txt", 550); // the seed's letters have no M
    c.cmd("RETR ../../etc/passwd", 550); // the jail keeps it inside: no such file there
    c.cmd("QUIT", 221);
}

#[test]
fn transcript_holds_every_command_reply_and_data_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let transcripts = dir.path().join("transcripts");
    let server = TestServer::start_with(|c| c.transcript_dir = Some(transcripts.clone()));
    let mut c = server.connect();
    seed_script(&mut c);
    let (path, text) = find_transcript(&transcripts, "user-", "S> 221");
    // Every command, in order, with the password masked.
    let commands: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_once(" C> ").map(|(_, c)| c))
        .collect();
    assert_eq!(
        commands,
        [
            "USER user",
            "PASS ****",
            "PWD",
            "PASV",
            "LIST",
            "TYPE I",
            "PASV",
            "RETR baca_saya.txt",
            "PASV",
            "STOR notes.txt",
            "CWD Folder_Tes",
            "CWD /",
            "SITE CHMOD 600 notes.txt",
            "RETR ../../etc/passwd",
            "QUIT"
        ]
    );
    assert!(
        !text.contains("12345"),
        "the password leaked into the transcript"
    );
    // Replies and data events interleave in time order: PASV's port, then the LIST's 1xx,
    // the connection, the bytes, the 226.
    let order = [
        "C> PASV",
        "data: passive port",
        "C> LIST",
        "S> 125",
        "data: data connection open",
        "data: ",
        "S> 226",
    ];
    let mut at = 0;
    for needle in order {
        at += text[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing after byte {at}:\n{text}"));
    }
    // The JSON Lines file has the same records, one object each.
    let json = fs::read_to_string(path.with_extension("jsonl")).unwrap();
    let records = json.lines().count();
    let text_records = text.lines().filter(|l| l.starts_with('[')).count();
    assert!(
        records >= text_records - 5,
        "{records} JSON records vs {text_records} lines"
    );
    for line in json.lines() {
        assert!(
            line.starts_with("{\"seq\":") && line.ends_with('}'),
            "{line}"
        );
        assert!(
            line.contains("\"kind\":\"") && line.contains("\"text\":\""),
            "{line}"
        );
    }
    assert!(
        json.contains(r#""kind":"command","text":"PASS ****""#),
        "{json}"
    );
    assert!(!json.contains("12345"));
}

/// Wait until a `.txt` transcript in `dir` whose name starts with `prefix` holds `needle`; its
/// path and text. (Names carry the time when not in `--lab`.)
pub fn find_transcript(dir: &Path, prefix: &str, needle: &str) -> (std::path::PathBuf, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(prefix)
                && name.ends_with(".txt")
                && let Ok(text) = fs::read_to_string(entry.path())
                && text.contains(needle)
            {
                return (entry.path(), text);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {prefix}….txt in {} held {needle:?}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait until `path` holds `needle` (the session writes as it goes).
pub fn wait_for_file(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = fs::read_to_string(path)
            && text.contains(needle)
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never held {needle:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_lab_runs_of_the_same_script_give_identical_transcripts() {
    let mut transcripts = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t");
        // A passive range of its own per run: --lab takes its first free port.
        let base = 40_000 + (std::process::id() % 2000) as u16 * 10;
        let server = TestServer::start_with(|c| {
            c.transcript_dir = Some(out.clone());
            c.lab = true;
            c.explain = true;
            c.passive_ports = Some(base..=base + 9);
        });
        let mut c = server.connect();
        seed_script(&mut c);
        c.is_closed();
        // In lab mode a name has no time: the user and a number.
        let text = wait_for_file(&out.join("user-1.txt"), "why: 221");
        let json = fs::read_to_string(out.join("user-1.jsonl")).unwrap();
        transcripts.push((text, json));
        drop(server);
        drop(dir);
    }
    assert_eq!(
        transcripts[0].0, transcripts[1].0,
        "text transcripts differ"
    );
    assert_eq!(
        transcripts[0].1, transcripts[1].1,
        "JSON transcripts differ"
    );
    let text = &transcripts[0].0;
    // Replies carry no times in lab mode, and the passive ports come from the range, in order.
    assert!(
        text.contains("S> 226 Transfer complete: 139 bytes.\n"),
        "{text}"
    );
    assert!(
        text.contains("[0001]"),
        "lab mode numbers the records: {text}"
    );
}

#[test]
fn explain_says_why_each_reply_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut server = run(
        dir.path(),
        &["--port", "0", "--root", root.to_str().unwrap(), "--explain"],
    );
    let mut c = Control::connect(server.addr);
    c.expect(220);
    seed_script(&mut c);
    let log = server.wait_for_log("why: 221");
    // At the default level, each why: line has its command and reply beside it, in order, and
    // the password stays masked.
    let order: Vec<usize> = ["<- CWD Folder_Tes", "-> 250 Directory", "why: 250 for CWD"]
        .iter()
        .map(|needle| {
            log.find(needle)
                .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"))
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "out of order: {order:?}\n{log}"
    );
    assert!(
        !log.contains("12345"),
        "the password reached the log:\n{log}"
    );
    for expected in [
        "<- USER user",
        "-> 331 ",
        "why: 331 for USER (RFC 959 §4.1.1); state awaiting-user → awaiting-password for user",
        "why: 230 for PASS (RFC 959 §4.1.1); state awaiting-password for user → logged-in as user",
        "data: passive port",
        "for LIST (RFC 959 §4.1.3); permission 'l' granted",
        "why: 226 for LIST (/): all bytes moved and the data connection is closed",
        "for RETR (RFC 959 §4.1.3); permission 'r' granted; state logged-in as user; jail: /baca_saya.txt → (home)/baca_saya.txt",
        "bytes sent; data connection closed",
        "for STOR (RFC 959 §4.1.3); permission 'w' granted",
        "bytes received; data connection closed",
        "why: 250 for CWD (RFC 959 §4.1.1); permission 'e' granted; state logged-in as user; jail: /Folder_Tes → (home)/Folder_Tes",
        "why: 550 for SITE CHMOD (RFC 959 §4.1.3); permission 'M' missing",
        "why: 550 for RETR (RFC 959 §4.1.3); permission 'r' granted; state logged-in as user; jail: /etc/passwd refused: it does not exist",
    ] {
        assert!(log.contains(expected), "missing {expected:?} in:\n{log}");
    }
    // A jail refusal of a link that leads outside is explained as such (and only server-side).
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc", root.join("door")).unwrap();
        let mut c = Control::connect(server.addr);
        c.expect(220);
        c.cmd("USER user", 331);
        c.cmd("PASS 12345", 230);
        let reply = c.cmd("CWD door", 550);
        assert!(
            !reply.text().contains("outside"),
            "the client must not learn why: {reply:?}"
        );
        let log = server.wait_for_log("jail: /door refused: it leads outside the home");
        assert!(log.contains("why: 550 for CWD"), "{log}");
    }
}

#[test]
fn without_the_flags_nothing_is_explained_or_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut server = run(
        dir.path(),
        &["--port", "0", "--root", root.to_str().unwrap()],
    );
    let mut c = Control::connect(server.addr);
    c.expect(220);
    seed_script(&mut c);
    let log = server.wait_for_log("disconnected");
    assert!(!log.contains("why:") && !log.contains("data:"), "{log}");
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the root: no transcript files");
}

#[test]
fn site_who_shows_one_thread_per_session() {
    let server = TestServer::start_with(|c| {
        c.users = vec![
            User::from_spec("teacher:pw:elrS", &c.root).unwrap(),
            User::from_spec("student:pw:elr", &c.root).unwrap(),
        ];
    });
    let mut student = server.login_as("student", "pw");
    student.cmd("PWD", 257);
    let refused = student.cmd("SITE WHO", 550);
    assert!(refused.text().contains("'S'"), "{refused:?}");
    let mut teacher = server.login_as("teacher", "pw");
    let who = teacher.cmd("SITE WHO", 200);
    assert!(who.text().contains("2 live sessions"), "{who:?}");
    assert!(
        who.lines
            .iter()
            .any(|l| l.contains("thread session-") && l.contains("student") && l.contains("SITE")),
        "{who:?}"
    );
    assert!(who.lines.iter().any(|l| l.contains("teacher")), "{who:?}");
}

fn faulty(fault: Fault) -> TestServer {
    TestServer::start_with(|c| c.faults = Faults::new(vec![fault]))
}

/// Read raw bytes from a fresh connection until `count` bytes or the timeout.
fn raw_greeting_then(server: &TestServer, send: &[u8], want: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(send).unwrap();
    let mut got = Vec::new();
    let mut buffer = [0u8; 256];
    while got.len() < want {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buffer[..n]),
        }
    }
    got
}

#[test]
fn each_fault_does_what_it_says() {
    // multiline: a one-line reply comes as several lines.
    let server = faulty(Fault::Multiline);
    let mut c = Control::connect(server.addr);
    let greeting = c.expect(220);
    assert_eq!(greeting.lines.len(), 2, "{greeting:?}");
    assert_eq!(greeting.lines[1], "Selamat datang di Local FTP Server");

    // bare-lf: lines end in LF alone.
    let server = faulty(Fault::BareLf);
    let bytes = raw_greeting_then(&server, b"", 20);
    assert!(
        bytes.starts_with(b"220 ") && bytes.contains(&b'\n') && !bytes.contains(&b'\r'),
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );

    // split: the greeting arrives in several reads (pieces of 3 bytes with pauses).
    let server = faulty(Fault::Split);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reads = 0;
    let mut got = Vec::new();
    let mut buffer = [0u8; 256];
    while !got.ends_with(b"\r\n") {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buffer[..n]);
        reads += 1;
    }
    assert!(reads > 3, "the greeting came in {reads} reads");

    // wrong-227: the NAT mistake.
    let server = faulty(Fault::WrongPasvAddress);
    let mut c = server.login();
    let reply = c.cmd("PASV", 227);
    assert!(reply.text().contains("(10,255,255,1,"), "{reply:?}");

    // always-125: 125 before the client has connected.
    let server = TestServer::start_with(|c| {
        c.faults = Faults::new(vec![Fault::Always125]);
        c.timeouts.data_connect = Duration::from_millis(500);
    });
    let mut c = server.login();
    let reply = c.cmd("PASV", 227);
    c.send("NLST");
    c.expect(125);
    let _ = reply; // the client never connects; the transfer ends with 425 after the wait
    c.expect(425);

    // early-close: half the bytes, yet 226.
    let server = faulty(Fault::EarlyClose);
    fs::write(server.path("ten.bin"), vec![7u8; 10_000]).unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let got = c.download("RETR ten.bin");
    assert_eq!(got.len(), 5_000);

    // slow: a pause before the 1xx and before the 226.
    let server = faulty(Fault::Slow);
    let mut c = server.login();
    let started = Instant::now();
    c.list("NLST");
    assert!(
        started.elapsed() >= Duration::from_millis(2_900),
        "{:?}",
        started.elapsed()
    );

    // 421-at-fifth-command: the fifth command after login is cut off.
    let server = faulty(Fault::FifthCommand421);
    let mut c = server.login();
    for _ in 0..4 {
        c.cmd("NOOP", 200);
    }
    let reply = c.cmd("NOOP", 421);
    assert!(reply.text().contains("421-at-fifth-command"), "{reply:?}");
    assert!(c.is_closed());
}

#[test]
fn faults_are_logged_when_they_fire_and_named_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut server = run(
        dir.path(),
        &[
            "--port",
            "0",
            "--root",
            root.to_str().unwrap(),
            "--fault",
            "wrong-227",
        ],
    );
    let log = server.wait_for_log("listening on");
    assert!(log.contains("fault wrong-227 is on"), "{log}");
    let mut c = Control::connect(server.addr);
    c.expect(220);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd("PASV", 227);
    let log = server.wait_for_log("fault wrong-227: 227 announces 10.255.255.1");
    assert!(log.contains("WARN"), "{log}");
}

/// A fault's log line is written for a person: `RETR stops after 69 bytes`, never Rust's debug
/// form (`Some(69)`).
#[test]
fn a_fault_log_line_reads_as_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let args = [
        "--port",
        "0",
        "--root",
        root.to_str().unwrap(),
        "--fault",
        "early-close",
    ];
    let mut server = run(dir.path(), &args);
    let mut c = Control::connect(server.addr);
    c.expect(220);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd("TYPE I", 200);
    let _ = c.download("RETR baca_saya.txt");
    let log = server.wait_for_log("fault early-close: RETR stops after 69 bytes");
    assert!(!log.contains("Some("), "{log}");
}
