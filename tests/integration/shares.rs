//! Issue 17, item 3: a teacher's folder shared into every home (`--share`), and letters for
//! one folder of every home (`--folder-perms`, pyftpdlib's `override_perm`). Both enforced,
//! each refusal naming the missing letter; nothing above a share is reachable.

use std::fs;
use std::path::PathBuf;

use localftp::server::users::User;
use localftp::server::{Share, folder_perms_from_spec};

use crate::server_cli::{assert_one_line_error, server_command};
use crate::support::{TestServer, run_in};

/// A server with two students (alice, budi; password `pw`) and the given shares and
/// per-folder letters. The shared folders live in the scratch folder, outside the root.
fn class_server(shares: &[(&str, &str)], folder_perms: &[&str]) -> TestServer {
    let shares: Vec<(String, String)> = shares
        .iter()
        .map(|(dir, spec)| (dir.to_string(), spec.to_string()))
        .collect();
    let folder_perms: Vec<String> = folder_perms.iter().map(|s| s.to_string()).collect();
    TestServer::start_with(move |config| {
        let scratch = config.root.parent().unwrap().to_path_buf();
        for (dir, spec) in &shares {
            let dir = scratch.join(dir);
            fs::create_dir_all(&dir).unwrap();
            let share = format!("{}={spec}", dir.display());
            config.shares.push(Share::from_spec(&share).unwrap());
        }
        for spec in &folder_perms {
            config
                .folder_perms
                .push(folder_perms_from_spec(spec).unwrap());
        }
        config.users = ["alice:pw:elradfmw:alice", "budi:pw:elradfmw:budi"]
            .iter()
            .map(|spec| User::from_spec(spec, &config.root).unwrap())
            .collect();
    })
}

/// The scratch folder's `name`: where `class_server` put a shared folder.
fn shared(server: &TestServer, name: &str) -> PathBuf {
    server.outside().join(name)
}

#[test]
fn a_share_is_in_every_home_read_only_by_default() {
    let server = class_server(&[("materi", "Materi")], &[]);
    fs::write(shared(&server, "materi").join("soal.txt"), "soal 1\n").unwrap();
    fs::write(server.outside().join("secret.txt"), "above the share\n").unwrap();
    for name in ["alice", "budi"] {
        let mut student = server.login_as(name, "pw");
        let mut names = student.nlst("NLST");
        names.sort();
        assert_eq!(names, ["Folder_Tes", "Materi", "baca_saya.txt"], "{name}");
        student.cmd("TYPE I", 200);
        assert_eq!(student.download("RETR Materi/soal.txt"), b"soal 1\n");
        student.cmd("CWD Materi", 250);
        assert_eq!(student.pwd(), "/Materi");
        assert_eq!(student.nlst("NLST"), ["soal.txt"]);
        // `..` from the share's top is the home's `/`, never the folder above the share.
        student.cmd("CDUP", 250);
        assert_eq!(student.pwd(), "/");
        student.cmd("SIZE /Materi/../secret.txt", 550);
        student.cmd("CWD /Materi/../..", 250);
        assert_eq!(student.pwd(), "/");
        // Every change is refused with the letter named.
        student.cmd_says("STOR Materi/mine.txt", 550, "needs the 'w' permission");
        student.cmd_says(
            "DELE Materi/soal.txt",
            550,
            "you have 'elr' in /Materi/soal.txt",
        );
        student.cmd_says("MKD Materi/new", 550, "needs the 'm' permission");
        student.cmd_says("RNFR Materi/soal.txt", 550, "needs the 'f' permission");
        student.cmd("RNFR baca_saya.txt", 350);
        student.cmd_says("RNTO Materi/baca_saya.txt", 550, "needs the 'f' permission");
        student.cmd_says("RMD Materi", 550, "needs the 'd' permission");
    }
    assert_eq!(
        fs::read_dir(shared(&server, "materi")).unwrap().count(),
        1,
        "the share is unchanged"
    );
}

#[cfg(unix)]
#[test]
fn links_in_a_share_do_not_lead_above_it() {
    let server = class_server(&[("materi", "Materi")], &[]);
    let materi = shared(&server, "materi");
    fs::write(server.outside().join("secret.txt"), "above the share\n").unwrap();
    std::os::unix::fs::symlink("..", materi.join("up")).unwrap();
    std::os::unix::fs::symlink(server.outside().join("secret.txt"), materi.join("abs")).unwrap();
    // A link that stays inside the share is followed, beneath the share's handle.
    fs::write(materi.join("soal.txt"), "soal 1\n").unwrap();
    std::os::unix::fs::symlink("soal.txt", materi.join("same.txt")).unwrap();
    let mut alice = server.login_as("alice", "pw");
    for path in [
        "Materi/up/secret.txt",
        "Materi/abs",
        "/Materi/up/root/alice/baca_saya.txt",
    ] {
        alice.cmd(&format!("SIZE {path}"), 550);
        alice.cmd(&format!("RETR {path}"), 550);
    }
    alice.cmd("CWD Materi/up", 550);
    let mut listed = alice.nlst("NLST Materi");
    listed.sort();
    assert_eq!(
        listed,
        ["same.txt", "soal.txt"],
        "the links that leave are not listed"
    );
    alice.cmd("TYPE I", 200);
    assert_eq!(alice.download("RETR Materi/same.txt"), b"soal 1\n");
}

#[test]
fn a_writable_share_is_one_folder_for_everyone_and_renames_stay_on_their_side() {
    let server = class_server(&[("inbox", "Kumpul:elrwf")], &[]);
    let mut alice = server.login_as("alice", "pw");
    alice.upload("STOR Kumpul/alice.txt", b"alice's work\n");
    let mut budi = server.login_as("budi", "pw");
    assert_eq!(budi.nlst("NLST Kumpul"), ["alice.txt"]);
    budi.cmd_says("DELE Kumpul/alice.txt", 550, "needs the 'd' permission");
    // A rename inside the share works; one between the share and a home is refused.
    budi.cmd("RNFR Kumpul/alice.txt", 350);
    budi.cmd("RNTO Kumpul/alice-1.txt", 250);
    budi.cmd("RNFR Kumpul/alice-1.txt", 350);
    budi.cmd("RNTO mine.txt", 550);
    budi.cmd("RNFR baca_saya.txt", 350);
    budi.cmd("RNTO Kumpul/baca_saya.txt", 550);
    assert!(shared(&server, "inbox").join("alice-1.txt").is_file());
    assert!(server.path("budi/baca_saya.txt").is_file());
    assert!(!server.path("budi/mine.txt").exists());
}

#[test]
fn folder_letters_hold_in_their_folder_and_below() {
    let server = class_server(&[], &["Folder_Tes=elr", "Folder_Tes/inbox=elrw"]);
    fs::create_dir(server.path("alice/Folder_Tes/inbox")).unwrap();
    let mut alice = server.login_as("alice", "pw");
    alice.upload("STOR mine.txt", b"at home\n");
    alice.cmd_says(
        "STOR Folder_Tes/x.txt",
        550,
        "you have 'elr' in /Folder_Tes/x.txt",
    );
    alice.cmd("CWD Folder_Tes", 250);
    alice.cmd_says("STOR x.txt", 550, "needs the 'w' permission");
    alice.cmd_says("MKD sub", 550, "needs the 'm' permission");
    // The deeper rule wins below it.
    alice.upload("STOR inbox/x.txt", b"in the inbox\n");
    alice.cmd_says("DELE inbox/x.txt", 550, "needs the 'd' permission");
    alice.cmd("CWD /", 250);
    let perms = alice.cmd("SITE PERMS", 200).text();
    assert!(
        perms.contains("in /Folder_Tes/inbox and below: elrw instead"),
        "{perms}"
    );
    assert!(
        perms.contains("in /Folder_Tes and below: elr instead"),
        "{perms}"
    );
    // The folder cannot be removed or renamed away from its letters, nor can a folder above a
    // rule's folder.
    alice.cmd_says("RNFR Folder_Tes", 550, "needs the 'f' permission");
    let server2 = class_server(&[], &["a/b=elr"]);
    let mut budi = server2.login_as("budi", "pw");
    budi.cmd("MKD a", 257);
    // The rule's folder itself is made with the rule's letters: the teacher makes it.
    budi.cmd_says("MKD a/b", 550, "needs the 'm' permission");
    fs::create_dir(server2.path("budi/a/b")).unwrap();
    budi.cmd_says("RNFR a", 550, "/a/b inside it has letters of its own");
    budi.cmd_says("RMD a", 550, "/a/b inside it has letters of its own");
    budi.cmd("MKD c", 257);
    budi.cmd("RNFR c", 350);
    budi.cmd("RNTO d", 250);
    if localftp::platform::CASE_INSENSITIVE_NAMES {
        // Another case is the same folder here, and has the same letters.
        alice.cmd_says("STOR FOLDER_TES/y.txt", 550, "needs the 'w' permission");
        alice.cmd_says("STOR folder_teſ/y.txt", 550, "needs the 'w' permission");
    }
    assert!(!server.path("alice/Folder_Tes/x.txt").exists());
}

#[test]
fn bad_shares_and_folder_letters_stop_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let root_arg = root.to_str().unwrap();
    let missing = format!("{}=Materi", dir.path().join("nowhere").display());
    let bad_name = format!("{}=a/b", dir.path().display());
    for (args, says) in [
        (["--share", missing.as_str()], "cannot share"),
        (
            ["--share", bad_name.as_str()],
            "cannot be a shared folder's name",
        ),
        (
            ["--folder-perms", "/=elr"],
            "per-folder letters need a folder inside the home",
        ),
        (
            ["--folder-perms", "Folder_Tes=xyz"],
            "unknown permission letter 'x'",
        ),
    ] {
        let output = server_command(dir.path())
            .args(["--port", "0", "--root", root_arg])
            .args(args)
            .output()
            .unwrap();
        assert_one_line_error(&output, says);
    }
    // A good one starts.
    let materi = dir.path().join("materi");
    fs::create_dir(&materi).unwrap();
    let share = format!("{}=Materi", materi.display());
    let mut server = run_in(dir.path(), &["--share", &share]);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
