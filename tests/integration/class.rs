//! Issue 17: one server for a whole class. A roster of 30 students, each in a home that starts
//! like the seed's `data/`; half run the guided client's walkthrough and half Python's ftplib,
//! all at once; nobody reaches another's files; a second start keeps passwords and files.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::thread;
use std::time::Duration;

use assert_cmd::Command;

use crate::client_cli::client_binary;
use crate::support::{TestServer, have, run, server_binary};

/// The passwords a handout lists, by user.
fn handout_logins(handout: &Path) -> HashMap<String, String> {
    let text = fs::read_to_string(handout).expect("the handout was written");
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = cells.first()?.strip_prefix("| ")?;
            (cells.len() >= 5 && name != "user").then(|| (name.to_string(), cells[1].to_string()))
        })
        .collect()
}

/// A roster of `count` students named s01, s02, …: every third has a password on the roster.
fn roster(count: usize) -> String {
    let mut text = String::from("# a test class\n");
    for n in 1..=count {
        match n % 3 {
            0 => text.push_str(&format!("s{n:02},given-{n}\n")),
            _ => text.push_str(&format!("s{n:02}\n")),
        }
    }
    text
}

/// The seed's flow in ftplib, with every reply printed: as one student would do it.
const STUDENT_FLOW: &str = r#"
import ftplib, io, sys
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ftp = ftplib.FTP()
ftp.connect(host, port, timeout=30)
try:
    ftp.login(user, password + "-wrong")
    sys.exit("a wrong password logged in")
except ftplib.error_perm as e:
    print("wrong=" + str(e)[:3])
print("login=" + ftp.login(user, password)[:3])
print("pwd=" + ftp.pwd())
print("names=" + ",".join(sorted(ftp.nlst())))
data = io.BytesIO()
print("retr=" + ftp.retrbinary("RETR baca_saya.txt", data.write)[:3])
mine = ("work of " + user + "\n").encode()
print("stor=" + ftp.storbinary("STOR tugas.txt", io.BytesIO(mine))[:3])
print("cwd=" + ftp.cwd("Folder_Tes")[:3])
try:
    ftp.cwd("/Folder_Yang_Tidak_Ada")
    sys.exit("a missing folder was entered")
except ftplib.error_perm as e:
    print("missing=" + str(e)[:3])
ftp.quit()
"#;

#[test]
fn thirty_students_run_the_seed_flow_at_once_each_in_their_own_home() {
    if !have("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let roster_file = dir.path().join("roster.txt");
    fs::write(&roster_file, roster(30)).unwrap();
    let server = TestServer::start_with(|config| config.class = Some(roster_file.clone()));
    let root = server.root.clone();
    let logins = handout_logins(&dir.path().join("roster-handout.md"));
    assert_eq!(logins.len(), 30, "{logins:?}");
    assert_eq!(logins["s03"], "given-3");
    let accounts = fs::read_to_string(dir.path().join("roster.accounts")).unwrap();
    assert!(!accounts.contains(&logins["s01"]), "only hashes are kept");
    assert_eq!(accounts.matches("$argon2id$").count(), 20, "{accounts}");

    let port = server.addr.port().to_string();
    let students: Vec<_> = (1..=30)
        .map(|n| {
            let name = format!("s{n:02}");
            let password = logins[&name].clone();
            let port = port.clone();
            let local = dir.path().join(format!("laptop-{name}"));
            fs::create_dir(&local).unwrap();
            thread::spawn(move || {
                let output = if n % 2 == 0 {
                    Command::new(client_binary())
                        .current_dir(&local)
                        .args(["--port", &port, "--timeout", "30", "--walkthrough"])
                        .args(["--user", &name, "--password", &password])
                        .timeout(Duration::from_secs(120))
                        .output()
                        .unwrap()
                } else {
                    Command::new("python3")
                        .args(["-c", STUDENT_FLOW, "127.0.0.1", &port, &name, &password])
                        .timeout(Duration::from_secs(120))
                        .output()
                        .unwrap()
                };
                (n, name, output)
            })
        })
        .collect();
    for student in students {
        let (n, name, output) = student.join().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{name}: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let home = root.join(&name);
        if n % 2 == 0 {
            assert!(
                stdout.contains("all 12 steps went as the seed describes"),
                "{name}:\n{stdout}"
            );
            assert!(home.join("copy_of_baca_saya.txt").is_file(), "{name}");
        } else {
            for expected in [
                "wrong=530",
                "login=230",
                "pwd=/",
                "names=Folder_Tes,baca_saya.txt",
                "retr=226",
                "stor=226",
                "cwd=250",
                "missing=550",
            ] {
                assert!(stdout.contains(expected), "{name}: {expected}\n{stdout}");
            }
            let work = fs::read_to_string(home.join("tugas.txt")).unwrap();
            assert_eq!(work, format!("work of {name}\n"));
        }
    }
}

#[test]
fn no_student_can_read_list_or_change_another_students_files() {
    let dir = tempfile::tempdir().unwrap();
    let roster_file = dir.path().join("roster.txt");
    fs::write(&roster_file, "alice,pw-a\nbudi,pw-b\n").unwrap();
    let server = TestServer::start_with(|config| config.class = Some(roster_file.clone()));
    let root = server.root.clone();
    fs::write(root.join("budi/secret.txt"), "budi's answers\n").unwrap();
    let mut alice = server.login_as("alice", "pw-a");
    assert_eq!(alice.pwd(), "/");
    let mut names = alice.nlst("NLST");
    names.sort();
    assert_eq!(names, ["Folder_Tes", "baca_saya.txt"]);
    for path in [
        "../budi/secret.txt",
        "/../budi/secret.txt",
        "/budi/secret.txt",
        "Folder_Tes/../../budi/secret.txt",
    ] {
        alice.cmd(&format!("SIZE {path}"), 550);
        alice.cmd(&format!("DELE {path}"), 550);
        alice.cmd(&format!("RNFR {path}"), 550);
    }
    for folder in ["../budi", "/../budi", "/budi"] {
        alice.cmd(&format!("CWD {folder}"), 550);
        alice.cmd(&format!("MKD {folder}/x"), 550);
    }
    // Listing "above" the home shows the home again: the jail's `/`.
    let mut listed = alice.nlst("NLST ..");
    listed.sort();
    assert_eq!(listed, ["Folder_Tes", "baca_saya.txt"]);
    alice.cmd("CDUP", 250);
    assert_eq!(alice.pwd(), "/");
    assert_eq!(
        fs::read_to_string(root.join("budi/secret.txt")).unwrap(),
        "budi's answers\n"
    );
    // And the other way: budi's view has no trace of alice.
    let mut budi = server.login_as("budi", "pw-b");
    let mut names = budi.nlst("NLST");
    names.sort();
    assert_eq!(names, ["Folder_Tes", "baca_saya.txt", "secret.txt"]);
}

#[test]
fn a_restart_keeps_passwords_and_files_and_a_new_line_adds_one_student() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("class");
    let roster_file = dir.path().join("roster.txt");
    fs::write(&roster_file, "alice\nbudi\n").unwrap();
    let args = [
        "--port",
        "0",
        "--root",
        root.to_str().unwrap(),
        "--class",
        roster_file.to_str().unwrap(),
    ];
    let mut first = run(dir.path(), &args);
    let log = first.wait_for_log("handout with every login");
    assert!(log.contains("2 students (2 new passwords)"), "{log}");
    let handout = dir.path().join("roster-handout.md");
    assert!(log.contains(&handout.display().to_string()), "{log}");
    let before = handout_logins(&handout);
    let mut alice = crate::support::Control::connect(first.addr);
    alice.expect(220);
    alice.cmd("USER alice", 331);
    alice.cmd(&format!("PASS {}", before["alice"]), 230);
    alice.upload("STOR tugas1.txt", b"alice's work\n");
    alice.cmd("QUIT", 221);
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    fs::write(&roster_file, "alice\nbudi\ncitra\n").unwrap();
    let mut second = run(dir.path(), &args);
    let log = second.wait_for_log("handout with every login");
    assert!(log.contains("3 students (1 new passwords)"), "{log}");
    let after = handout_logins(&handout);
    assert_eq!(after["alice"], before["alice"]);
    assert_eq!(after["budi"], before["budi"]);
    for name in ["alice", "citra"] {
        let mut student = crate::support::Control::connect(second.addr);
        student.expect(220);
        student.cmd(&format!("USER {name}"), 331);
        student.cmd(&format!("PASS {}", after[name]), 230);
        student.cmd("SIZE baca_saya.txt", 213);
        student.cmd("QUIT", 221);
    }
    assert_eq!(
        fs::read_to_string(root.join("alice/tugas1.txt")).unwrap(),
        "alice's work\n"
    );
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}

#[test]
fn a_teacher_at_home_in_the_root_collects_every_students_work() {
    let dir = tempfile::tempdir().unwrap();
    let roster_file = dir.path().join("roster.txt");
    fs::write(&roster_file, "alice,pw-a\nbudi,pw-b\n").unwrap();
    let server = TestServer::start_with(|config| {
        config.class = Some(roster_file.clone());
        config.users = vec![
            localftp::server::users::User::from_spec("teacher:tpw:elrS:.", &config.root).unwrap(),
        ];
    });
    let root = server.root.clone();
    let mut alice = server.login_as("alice", "pw-a");
    alice.upload("STOR tugas1.txt", b"alice\n");
    let mut teacher = server.login_as("teacher", "tpw");
    teacher.cmd("TYPE I", 200);
    let mut names = teacher.nlst("NLST");
    names.sort();
    // The root is nobody's seed folder here: only the students' homes are in it.
    assert_eq!(names, ["alice", "budi"]);
    assert_eq!(teacher.download("RETR alice/tugas1.txt"), b"alice\n");
    teacher.cmd("STOR nope.txt", 550);
    // A name on both --user and the roster could never log in as one of them: refused.
    let clash = Command::new(server_binary())
        .current_dir(dir.path())
        .args(["--port", "0", "--root", root.to_str().unwrap()])
        .args([
            "--class",
            roster_file.to_str().unwrap(),
            "--user",
            "alice:x",
        ])
        .output()
        .unwrap();
    assert!(!clash.status.success());
    let stderr = String::from_utf8_lossy(&clash.stderr);
    assert!(
        stderr.contains("two accounts are named \"alice\""),
        "{stderr}"
    );
}

#[test]
fn a_created_or_empty_home_starts_like_the_seeds_data_folder() {
    let server = TestServer::start_with(|config| {
        let root = &config.root;
        fs::create_dir_all(root.join("empty")).unwrap();
        fs::create_dir_all(root.join("busy")).unwrap();
        fs::write(root.join("busy/mine.txt"), "keep\n").unwrap();
        config.users = [
            "alice:pw1:elradfmw:alice",
            "eve:pw:elr:empty",
            "bob:pw:elr:busy",
        ]
        .iter()
        .map(|spec| localftp::server::users::User::from_spec(spec, root).unwrap())
        .collect();
    });
    for name in ["alice", "eve"] {
        let mut student = server.login_as(name, if name == "alice" { "pw1" } else { "pw" });
        let text = student.download("RETR baca_saya.txt");
        assert!(String::from_utf8_lossy(&text).contains("baca_saya.txt"));
        student.cmd("CWD Folder_Tes", 250);
    }
    let mut bob = server.login_as("bob", "pw");
    assert_eq!(bob.nlst("NLST"), ["mine.txt"]);
}

#[test]
fn hash_password_hashes_every_line_of_its_input() {
    let output = Command::new(server_binary())
        .arg("--hash-password")
        .write_stdin("first\nsecond\r\n")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let hashes: Vec<&str> = stdout.lines().collect();
    assert_eq!(hashes.len(), 2, "{stdout}");
    let text = format!("a:{}\nb:{}\n", hashes[0], hashes[1]);
    let users = localftp::server::users::parse_users_file(&text, Path::new("data")).unwrap();
    assert!(users[0].password_matches("first"));
    assert!(users[1].password_matches("second"));
    assert!(!users[1].password_matches("second\r"));
}
