//! Attacks that once succeeded, each replayed through real sockets: a rename across the jail
//! set up by two sessions, SITE CHMOD's setuid bits and a locked home, the server's own
//! temporary names, uploads cut short by a shutdown, and listings that held memory while
//! waiting for a client that never connected.

use std::fs;
use std::io::Write;
#[cfg(unix)]
use std::os::unix::fs::{PermissionsExt, symlink};
use std::time::{Duration, Instant};

use localftp::server::jail::UPLOAD_TEMP_PREFIX;
#[cfg(unix)]
use localftp::server::users::User;
use localftp::server::{Config, Server};

use crate::support::{Control, TestServer, run, wait_until};

/// A rename across the jail, set up by two sessions: session A names a source (RNFR) while a relative link on
/// its way is harmless; session B moves folders so that the same path now runs through the
/// link to a folder outside; A's RNTO must not move the outside file in.
#[cfg(unix)]
#[test]
fn rnfr_then_folders_moved_by_another_session_cannot_rename_across_the_jail() {
    let server = TestServer::start();
    let outside = server.outside().canonicalize().unwrap();
    fs::create_dir(outside.join("outside_dir")).unwrap();
    fs::write(outside.join("outside_dir/secret.txt"), "outside").unwrap();
    // Left by a local person: `a/s -> ../outside_dir` names the root's own decoy folder while
    // it stands in `a/`; moved up one level, the same text names the folder outside.
    fs::create_dir_all(server.path("a")).unwrap();
    fs::create_dir_all(server.path("outside_dir")).unwrap();
    symlink("../outside_dir", server.path("a/s")).unwrap();
    fs::create_dir(server.path("s")).unwrap();
    fs::write(server.path("s/secret.txt"), "decoy").unwrap();

    let mut a = server.login();
    let mut b = server.login();
    a.cmd("RNFR s/secret.txt", 350);
    b.cmd("RNFR s", 350);
    b.cmd("RNTO s_old", 250);
    b.cmd("RNFR a/s", 350);
    b.cmd("RNTO s", 250);
    a.cmd("RNTO stolen.txt", 550);

    assert_eq!(
        fs::read(outside.join("outside_dir/secret.txt")).unwrap(),
        b"outside",
        "the file outside was moved"
    );
    assert!(!server.path("stolen.txt").exists());
    // The other direction: a file from inside is not moved out through the link either.
    a.cmd("RNFR s_old/secret.txt", 350);
    a.cmd("RNTO s/planted.txt", 550);
    assert!(!outside.join("outside_dir/planted.txt").exists());
}

#[cfg(unix)]
#[test]
fn site_chmod_sets_permission_bits_only_and_never_on_the_home() {
    let server = TestServer::start_with(|c| {
        c.users = vec![User::from_spec("admin:pw:elradfmwM", &c.root).unwrap()];
    });
    let mut c = server.login_as("admin", "pw");
    fs::write(server.path("tool"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(server.path("tool"), fs::Permissions::from_mode(0o644)).unwrap();
    for mode in ["6755", "4755", "2755", "1777"] {
        let reply = c.cmd(&format!("SITE CHMOD {mode} tool"), 501);
        assert!(reply.text().contains("permission bits"), "{reply:?}");
    }
    let mode = fs::metadata(server.path("tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o644, "the mode changed: {mode:o}");
    for line in [
        "SITE CHMOD 0 /",
        "SITE CHMOD 000 .",
        "SITE CHMOD 700 Folder_Tes/..",
    ] {
        c.cmd(line, 550);
    }
    let home = fs::metadata(&server.root).unwrap().permissions().mode();
    assert_ne!(home & 0o700, 0, "the home was locked: {home:o}");
    // The control: permission bits on a file are still set.
    c.cmd("SITE CHMOD 755 tool", 200);
    let mode = fs::metadata(server.path("tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
}

/// A client may not name the server's own temporary files: not to create one (it would be
/// hidden from every listing yet served), nor to read, rename or delete one.
#[test]
fn names_with_the_upload_prefix_are_refused_553() {
    let server = TestServer::start();
    let hidden = format!("{UPLOAD_TEMP_PREFIX}planted");
    fs::write(server.path(&hidden), "in progress").unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let _data = c.pasv();
    c.cmd(&format!("STOR {UPLOAD_TEMP_PREFIX}anything"), 553);
    let _data = c.pasv();
    c.cmd(&format!("RETR {hidden}"), 553);
    let _data = c.pasv();
    c.cmd(&format!("APPE Folder_Tes/{UPLOAD_TEMP_PREFIX}x"), 553);
    for line in [
        format!("DELE {hidden}"),
        format!("RNFR {hidden}"),
        format!("SIZE {hidden}"),
        format!("MKD {UPLOAD_TEMP_PREFIX}dir"),
        format!("CWD {UPLOAD_TEMP_PREFIX}dir"),
    ] {
        let reply = c.read_after(&line);
        assert!(matches!(reply, 553 | 550), "{line}: {reply}");
    }
    c.cmd("RNFR baca_saya.txt", 350);
    c.cmd(&format!("RNTO {UPLOAD_TEMP_PREFIX}renamed"), 553);
    assert!(
        !server
            .path(&format!("{UPLOAD_TEMP_PREFIX}anything"))
            .exists()
    );
    assert!(server.path("baca_saya.txt").exists());
    assert_eq!(fs::read(server.path(&hidden)).unwrap(), b"in progress");
}

impl Control {
    /// Send a line and return the reply's code, whatever it is.
    fn read_after(&mut self, line: &str) -> u16 {
        self.send(line);
        self.read_reply().code
    }
}

/// A server running in this process, with a handle to shut it down.
fn shutting_server(
    grace: Duration,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::net::SocketAddr,
    localftp::server::ShutdownHandle,
    std::thread::JoinHandle<()>,
) {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("root");
    let config = Config {
        port: 0,
        root: root.clone(),
        shutdown_grace: grace,
        ..Config::default()
    };
    let server = Server::bind(config).unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let runner = std::thread::spawn(move || server.run());
    (scratch, root, addr, handle, runner)
}

fn login(addr: std::net::SocketAddr) -> Control {
    let mut c = Control::connect(addr);
    c.expect(220);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c
}

fn temporaries(root: &std::path::Path) -> Vec<String> {
    fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(UPLOAD_TEMP_PREFIX))
        .collect()
}

/// An upload that ends inside the shutdown grace is kept and answered 226, whether it makes a
/// new file or replaces one: the server's own closing of the control connection's reading side
/// is not a client hanging up.
#[test]
fn uploads_finished_inside_the_shutdown_grace_are_kept() {
    let (_scratch, root, addr, handle, runner) = shutting_server(Duration::from_secs(10));
    let mut new = login(addr);
    let mut replacing = login(addr);
    let mut streams = Vec::new();
    for (c, name) in [(&mut new, "new.txt"), (&mut replacing, "baca_saya.txt")] {
        c.cmd("TYPE I", 200);
        let mut data = c.pasv();
        c.send(&format!("STOR {name}"));
        c.expect(125);
        data.write_all(b"first half, ").unwrap();
        streams.push(data);
    }
    handle.shutdown();
    std::thread::sleep(Duration::from_millis(100));
    for (c, mut data) in [&mut new, &mut replacing].into_iter().zip(streams) {
        data.write_all(b"second half").unwrap();
        drop(data);
        let reply = c.read_reply();
        assert_eq!(reply.code, 226, "{reply:?}");
        c.expect(421);
    }
    for name in ["new.txt", "baca_saya.txt"] {
        assert_eq!(
            fs::read(root.join(name)).unwrap(),
            b"first half, second half",
            "{name}"
        );
    }
    assert_eq!(temporaries(&root), Vec::<String>::new());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !runner.is_finished() {
        assert!(Instant::now() < deadline, "run() did not return");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An upload still running when the grace runs out is aborted, and its temporary file removed:
/// nothing is left behind, and the old file is whole.
#[test]
fn an_upload_cut_off_by_the_end_of_the_grace_leaves_no_temporary_file() {
    let (_scratch, root, addr, handle, runner) = shutting_server(Duration::from_millis(300));
    let before = fs::read(root.join("baca_saya.txt")).unwrap();
    let mut c = login(addr);
    c.cmd("TYPE I", 200);
    let mut data = c.pasv();
    c.send("STOR baca_saya.txt");
    c.expect(125);
    data.write_all(b"never finished").unwrap();
    wait_until(Duration::from_secs(5), "the temporary file", || {
        temporaries(&root).len() == 1
    });
    handle.shutdown();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !runner.is_finished() {
        assert!(Instant::now() < deadline, "run() did not return");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(temporaries(&root), Vec::<String>::new());
    assert_eq!(fs::read(root.join("baca_saya.txt")).unwrap(), before);
    drop(data);
}

/// The temporary files of a run that was killed are removed at the next start, at any depth,
/// and the log says how many.
#[test]
fn leftover_temporary_files_are_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    fs::create_dir_all(root.join("Folder_Tes/deeper")).unwrap();
    fs::write(root.join(format!("{UPLOAD_TEMP_PREFIX}1")), "x").unwrap();
    fs::write(
        root.join(format!("Folder_Tes/deeper/{UPLOAD_TEMP_PREFIX}2")),
        "x",
    )
    .unwrap();
    fs::write(root.join("keep.txt"), "x").unwrap();
    let mut server = run(dir.path(), &["--port", "0"]);
    let log = server.wait_for_log("listening on");
    assert!(log.contains("removed 2 unfinished uploads"), "{log}");
    assert!(!root.join(format!("{UPLOAD_TEMP_PREFIX}1")).exists());
    assert!(
        !root
            .join(format!("Folder_Tes/deeper/{UPLOAD_TEMP_PREFIX}2"))
            .exists()
    );
    assert!(root.join("keep.txt").exists());
}

/// The resident memory of a process, in KiB.
#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Sessions that ask for a listing of a big folder and never open the data connection hold
/// no listing: the folder is read only once the client connects, a page at a time.
#[cfg(target_os = "linux")]
#[test]
fn pending_listings_of_a_big_folder_hold_no_memory() {
    use std::io::Read;
    const ENTRIES: usize = 30_000;
    const SESSIONS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    fs::create_dir_all(root.join("big")).unwrap();
    for i in 0..ENTRIES {
        fs::write(
            root.join(format!("big/file-with-a-longish-name-{i:06}.txt")),
            "",
        )
        .unwrap();
    }
    let server = run(dir.path(), &["--port", "0", "--max-connections", "64"]);
    let pid = server.child.id();
    let mut warm = login(server.addr);
    let _ = warm.list("LIST /");
    let before = rss_kib(pid);
    let mut waiting = Vec::new();
    for _ in 0..SESSIONS {
        let mut c = login(server.addr);
        let reply = c.cmd("PASV", 227);
        c.send("LIST big");
        waiting.push((c, reply));
    }
    // Each LIST has been read and answered (or is waiting for its data connection) by now;
    // a NOOP behind it would wait for the transfer, so give the threads a moment instead.
    std::thread::sleep(Duration::from_millis(800));
    let grown = rss_kib(pid).saturating_sub(before);
    // A listing built in memory was about 100 bytes an entry: 10 × 3 MB here.
    assert!(
        grown < 8 * 1024,
        "{SESSIONS} pending listings of {ENTRIES} entries grew the server by {grown} KiB"
    );
    // And a listing does arrive whole when the client connects.
    let mut c = login(server.addr);
    let mut data = c.pasv();
    c.send("NLST big");
    let opening = c.read_reply();
    assert!(matches!(opening.code, 125 | 150), "{opening:?}");
    let mut text = String::new();
    data.read_to_string(&mut text).unwrap();
    c.expect(226);
    assert_eq!(text.lines().count(), ENTRIES);
}
