//! Issue 18: the teacher's board. Scripted students work through parts of the seed's flow; the
//! board is loaded in headless Chromium and its rendered DOM is read: each student's stages,
//! the quiz score, a session's diagram with one arrow per command and reply; a screenshot that
//! is not blank; the 401 without a teacher's login; the grade sheet, live and at shutdown.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use localftp::server::users::User;
use localftp::server::{Config, Server, Timeouts};

use crate::client_cli::client_binary;
use crate::support::{Control, have};

/// A class server (alice, budi, citra with passwords pa, pb, pc; a teacher `teacher`/`guru`
/// with the letter S) with the board on a free port. Returns the FTP and board addresses.
fn class_with_board(dir: &Path) -> (SocketAddr, SocketAddr) {
    let roster = dir.join("roster.txt");
    fs::write(&roster, "alice,pa\nbudi,pb\ncitra,pc\n").unwrap();
    let root = dir.join("homes");
    let config = Config {
        port: 0,
        root: root.clone(),
        class: Some(roster),
        users: vec![User::from_spec("teacher:guru:elrS:.", &root).unwrap()],
        board: Some("127.0.0.1:0".parse().unwrap()),
        timeouts: Timeouts::default(),
        login_failure_delay: Duration::ZERO,
        ..Config::default()
    };
    let server = Server::bind(config).expect("server binds");
    let board = server.board_addr().expect("the board is on");
    (server.spawn(), board)
}

/// Base64 (RFC 4648) of `text`, for an Authorization header.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A plain HTTP/1.0 GET, optionally with Basic credentials: the status line's code, the
/// headers and the body.
fn get(board: SocketAddr, path: &str, login: Option<&str>) -> (u16, String, String) {
    let mut stream = TcpStream::connect(board).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let auth = login
        .map(|login| format!("Authorization: Basic {}\r\n", base64(login)))
        .unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: board\r\n{auth}\r\n").unwrap();
    let mut response = String::new();
    // A board with no room answers 503 without reading the request: the connection may then
    // be reset under the reply. That reads as no answer (code 0).
    if stream.read_to_string(&mut response).is_err() && response.is_empty() {
        return (0, String::new(), String::new());
    }
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_string(), body.to_string())
}

/// Headless Chromium as the probe of this machine kind starts it, with a fresh profile; `None`
/// (and a note) when it is not installed (`.ci/run` installs it).
fn chromium(profile: &Path) -> Option<Command> {
    if !have("chromium") {
        return None;
    }
    let mut command = Command::new("timeout");
    command.arg("90").arg("chromium").args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=5000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    Some(command)
}

/// The rendered DOM of `url` (after its script ran).
fn rendered(profile: &Path, url: &str) -> Option<String> {
    let output = chromium(profile)?
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The `<tr>` of `account` in the rendered board.
fn row<'a>(dom: &'a str, account: &str) -> &'a str {
    let start = dom
        .find(&format!("data-account=\"{account}\""))
        .unwrap_or_else(|| panic!("no row for {account}:\n{dom}"));
    let end = dom[start..]
        .find("</tr>")
        .map_or(dom.len(), |end| start + end);
    &dom[start..end]
}

/// Whether the row shows `stage` as done.
fn done(row: &str, stage: &str) -> bool {
    row.contains(&format!("class=\"stage done\" data-stage=\"{stage}\""))
}

#[test]
fn only_a_teacher_sees_the_board_and_the_grade_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let (_ftp, board) = class_with_board(dir.path());
    for login in [
        None,
        Some("alice:pa"),
        Some("teacher:wrong"),
        Some("nobody:guru"),
    ] {
        let (code, head, body) = get(board, "/", login);
        assert_eq!(code, 401, "{login:?}");
        assert!(
            head.contains("WWW-Authenticate: Basic realm=\"localftp board\""),
            "{head}"
        );
        assert!(!body.contains("<table"), "{login:?}");
    }
    let (code, _, body) = get(board, "/grades.csv", None);
    assert_eq!(code, 401);
    assert!(!body.contains("alice"));
    let (code, _, page) = get(board, "/", Some("teacher:guru"));
    assert_eq!(code, 200);
    assert!(page.contains("<table id=\"class\""), "{page}");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no outside resources"
    );
    let (code, head, csv) = get(board, "/grades.csv", Some("teacher:guru"));
    assert_eq!(code, 200);
    assert!(
        head.contains("attachment; filename=\"grades.csv\""),
        "{head}"
    );
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("account,connected,greeting,wrong_password_530,")
    );
    let names: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(names, ["alice", "budi", "citra"]);
    for field in csv.lines().skip(1).flat_map(|line| line.split(',')) {
        assert!(
            !["pa", "pb", "pc", "guru"].contains(&field),
            "a password in the sheet: {csv}"
        );
    }
    let (code, _, _) = get(board, "/session/999.svg", Some("teacher:guru"));
    assert_eq!(code, 404);
}

#[test]
fn the_board_in_a_browser_fills_in_each_students_checklist() {
    let dir = tempfile::tempdir().unwrap();
    let (ftp, board) = class_with_board(dir.path());
    let port = ftp.port().to_string();
    // alice: the whole walkthrough, with a quiz whose score her client reports.
    let laptop = dir.path().join("alice-laptop");
    fs::create_dir(&laptop).unwrap();
    let output = Command::new(client_binary())
        .current_dir(&laptop)
        .args(["--port", &port, "--timeout", "20", "--walkthrough"])
        .args([
            "--user",
            "alice",
            "--password",
            "pa",
            "--quiz-answers",
            "2,3,2,2,2,2",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("C: SITE QUIZ "), "{stdout}");
    // budi: log in, PWD and QUIT on a raw control connection: 4 commands, 5 replies.
    let mut budi = Control::connect(ftp);
    budi.expect(220);
    budi.cmd("USER budi", 331);
    budi.cmd("PASS pb", 230);
    budi.cmd("PWD", 257);
    budi.cmd("QUIT", 221);
    // citra never comes.

    let (_, _, state) = get(board, "/state.json", Some("teacher:guru"));
    let budi_session = state
        .split("\"account\":\"budi\"")
        .nth(1)
        .and_then(|rest| rest.split("\"sessions\":[{\"id\":").nth(1))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no session for budi: {state}"))
        .to_string();

    let profile = dir.path().join("chromium-profile");
    let url = format!("http://teacher:guru@{board}/#session={budi_session}");
    let Some(dom) = rendered(&profile, &url) else {
        return;
    };
    let alice = row(&dom, "alice");
    for stage in [
        "greeting",
        "wrong_password_530",
        "login_230",
        "pwd",
        "list",
        "retr",
        "stor",
        "cwd_folder",
        "cwd_missing_550",
    ] {
        assert!(done(alice, stage), "alice {stage}:\n{alice}");
    }
    assert!(alice.contains("class=\"quiz\">"), "{alice}");
    assert!(
        alice.contains(" / ") && !alice.contains("class=\"quiz\"></td>"),
        "{alice}"
    );
    let budi_row = row(&dom, "budi");
    for stage in ["greeting", "login_230", "pwd"] {
        assert!(done(budi_row, stage), "budi {stage}:\n{budi_row}");
    }
    for stage in ["wrong_password_530", "list", "retr", "stor", "cwd_folder"] {
        assert!(!done(budi_row, stage), "budi {stage}:\n{budi_row}");
    }
    let citra = row(&dom, "citra");
    assert!(!citra.contains("stage done"), "{citra}");
    // budi's session, drawn inline: one arrow per command and reply.
    let picture = &dom[dom.find("<svg").expect("the diagram is on the page")..];
    assert_eq!(
        picture.matches("class=\"arrow command\"").count(),
        4,
        "{picture}"
    );
    assert_eq!(
        picture.matches("class=\"arrow reply").count(),
        5,
        "{picture}"
    );
    assert!(!dom.contains("pb"), "budi's password is not on the page");

    // A screenshot is not blank: a page with the table compresses far worse than an empty one.
    let shot = dir.path().join("board.png");
    let blank = dir.path().join("blank.png");
    for (target, out) in [
        (format!("http://teacher:guru@{board}/"), &shot),
        ("about:blank".to_string(), &blank),
    ] {
        let output = chromium(&profile)
            .unwrap()
            .arg("--window-size=1300,500")
            .arg(format!("--screenshot={}", out.display()))
            .arg(target)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    let (shot, blank) = (fs::read(&shot).unwrap(), fs::read(&blank).unwrap());
    assert_eq!(&shot[1..4], b"PNG");
    assert!(
        shot.len() > 4 * blank.len(),
        "the screenshot looks blank: {} bytes, an empty page {} bytes",
        shot.len(),
        blank.len()
    );
}

#[cfg(unix)]
#[test]
fn the_grade_sheet_is_written_at_shutdown_and_a_transcript_becomes_a_diagram() {
    use crate::support::{run_in, server_binary};
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("grades.csv");
    let transcripts = dir.path().join("transcripts");
    let mut server = run_in(
        dir.path(),
        &[
            "--report",
            report.to_str().unwrap(),
            "--transcript",
            transcripts.to_str().unwrap(),
        ],
    );
    let mut student = Control::connect(server.addr);
    student.expect(220);
    student.cmd("USER user", 331);
    student.cmd("PASS 12345", 230);
    student.cmd("CWD Folder_Tes", 250);
    student.cmd("CWD nope", 550);
    student.cmd("QUIT", 221);
    server.wait_for_log("disconnected");
    // The sheet is kept up to date while the server runs (every 10 s), not only at shutdown:
    // a killed server, or a console window closed on Windows, loses only the last seconds.
    crate::support::wait_until(
        Duration::from_secs(20),
        "the grade sheet while running",
        || fs::read_to_string(&report).is_ok_and(|csv| csv.contains("\nuser,0,1,0,1,")),
    );
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    server.wait_for_log("grade sheet written");
    server.child.wait().unwrap();
    let csv = fs::read_to_string(&report).unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(row.starts_with("user,0,1,0,1,0,0,0,0,1,1,,,0,"), "{csv}");

    let jsonl = fs::read_dir(&transcripts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a transcript");
    let output = Command::new(server_binary())
        .arg("--diagram")
        .arg(&jsonl)
        .output()
        .unwrap();
    assert!(output.status.success());
    let svg = String::from_utf8_lossy(&output.stdout);
    assert!(svg.starts_with("<svg"), "{svg}");
    assert_eq!(svg.matches("class=\"arrow command\"").count(), 5, "{svg}");
    assert_eq!(svg.matches("class=\"arrow reply").count(), 6, "{svg}");
    assert_eq!(
        svg.matches("class=\"arrow reply refusal\"").count(),
        1,
        "{svg}"
    );
    assert!(
        svg.contains("C: PASS ****") && !svg.contains("12345"),
        "{svg}"
    );
}

/// Connections that never send a request cannot make the board grow without bound: each
/// would otherwise hold a thread, and a process that cannot make one more thread aborts, FTP
/// sessions and all. Held open, 200 of them leave the server within a few threads of where it
/// started, a teacher still gets the page, and the FTP side still answers.
#[cfg(target_os = "linux")]
#[test]
fn idle_connections_to_the_board_hold_a_bounded_number_of_threads() {
    use crate::support::run_in;
    let dir = tempfile::tempdir().unwrap();
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let board_port = probe.local_addr().unwrap().port().to_string();
    drop(probe);
    let board_addr = format!("127.0.0.1:{board_port}");
    let server = run_in(
        dir.path(),
        &["--user", "teacher:guru:elrS", "--board", &board_addr],
    );
    let threads = || {
        let status = fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap()
    };
    let before = threads();
    let board: SocketAddr = board_addr.parse().unwrap();
    let idle: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(board).ok())
        .collect();
    assert_eq!(idle.len(), 200, "not every idle connection was made");
    std::thread::sleep(Duration::from_millis(500));
    let during = threads();
    assert!(
        during <= before + 40,
        "{} idle board connections took the server from {before} to {during} threads",
        idle.len()
    );
    // The FTP side never noticed; and once the idle connections go, the teacher is served.
    let mut ftp = Control::connect(server.addr);
    ftp.expect(220);
    drop(idle);
    crate::support::wait_until(Duration::from_secs(10), "the board serving again", || {
        get(board, "/state.json", Some("teacher:guru")).0 == 200
    });
}
