//! The jail, attacked from outside: every way a client might read, write, list, rename onto or
//! learn about something beyond its home folder.
//!
//! Each test plants a canary file and a canary folder *beside* the root (outside the jail),
//! and symlinks inside the root that point at them, then tries to escape. After every attempt
//! it checks that everything outside the root is exactly as planted (same entries, same bytes,
//! same modes) and that no reply shows the server's real paths.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use localftp::server::users::User;

use crate::support::{Control, Reply, TestServer, listing_names};

const CANARY: &[u8] = b"CANARY: if a client can read or change this, the jail is broken\n";
const SECRET: &[u8] = b"secret in a folder outside the root\n";

/// What lies outside the root: path → kind, mode, modification time and content (or link
/// target).
type Snapshot = BTreeMap<PathBuf, String>;

fn snapshot(scratch: &Path, root: &Path) -> Snapshot {
    fn walk(dir: &Path, scratch: &Path, root: &Path, out: &mut Snapshot) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path == root {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode();
            let relative = path.strip_prefix(scratch).unwrap().to_path_buf();
            let what = if meta.file_type().is_symlink() {
                format!(
                    "link {mode:o} -> {}",
                    fs::read_link(&path).unwrap().display()
                )
            } else if meta.is_dir() {
                walk(&path, scratch, root, out);
                format!("dir {mode:o}")
            } else {
                let bytes = fs::read(&path).unwrap();
                let modified = meta.modified().unwrap();
                format!(
                    "file {mode:o} {modified:?} {:?}",
                    String::from_utf8_lossy(&bytes)
                )
            };
            out.insert(relative, what);
        }
    }
    let mut out = Snapshot::new();
    walk(scratch, scratch, root, &mut out);
    out
}

/// A server whose root has escape hatches planted in it, and a logged-in client.
struct Jailbreak {
    server: TestServer,
    c: Control,
    canary: PathBuf,
    outside_dir: PathBuf,
    before: Snapshot,
}

impl Jailbreak {
    fn new() -> Jailbreak {
        Jailbreak::with(TestServer::start(), |server| server.login())
    }

    fn with(server: TestServer, login: impl FnOnce(&TestServer) -> Control) -> Jailbreak {
        let outside = server.outside().canonicalize().unwrap();
        let canary = outside.join("canary.txt");
        let outside_dir = outside.join("outside_dir");
        fs::write(&canary, CANARY).unwrap();
        fs::set_permissions(&canary, fs::Permissions::from_mode(0o644)).unwrap();
        fs::create_dir(&outside_dir).unwrap();
        fs::write(outside_dir.join("secret.txt"), SECRET).unwrap();

        let root = &server.root;
        // Absolute links to the canaries, a dangling link whose target would be outside, links
        // written relative (`..`), and, as a control, links that stay inside.
        symlink(&canary, root.join("link_to_canary")).unwrap();
        symlink(&outside_dir, root.join("link_to_outside_folder")).unwrap();
        symlink(outside.join("not_yet.txt"), root.join("dangling_link")).unwrap();
        symlink("..", root.join("up")).unwrap();
        symlink("../../canary.txt", root.join("Folder_Tes/relative_canary")).unwrap();
        symlink("../..", root.join("Folder_Tes/relative_up")).unwrap();
        symlink(root.join("baca_saya.txt"), root.join("link_inside")).unwrap();
        symlink("Folder_Tes", root.join("link_inside_folder")).unwrap();

        let before = snapshot(&outside, root);
        assert!(before.contains_key(Path::new("canary.txt")), "{before:?}");
        let c = login(&server);
        Jailbreak {
            server,
            c,
            canary,
            outside_dir,
            before,
        }
    }

    /// Everything outside the root is as planted, and the reply shows no real path.
    fn check(&self, what: &str, reply: Option<&Reply>) {
        let outside = self.server.outside().canonicalize().unwrap();
        let now = snapshot(&outside, &self.server.root);
        assert_eq!(
            now, self.before,
            "after {what}: something outside the root changed"
        );
        assert_eq!(fs::read(&self.canary).unwrap(), CANARY, "after {what}");
        if let Some(reply) = reply {
            for real in [
                outside.to_string_lossy(),
                self.server.root.to_string_lossy(),
            ] {
                assert!(
                    !reply.text().contains(real.as_ref()),
                    "after {what}: the reply shows the real path {real:?}: {reply:?}"
                );
            }
            for secret in [CANARY, SECRET] {
                let secret = String::from_utf8_lossy(secret);
                assert!(
                    !reply.text().contains(secret.trim()),
                    "after {what}: the reply shows outside content: {reply:?}"
                );
            }
        }
    }

    /// Send `line`, expect `code`, check nothing outside changed.
    fn attempt(&mut self, line: &str, code: u16) -> Reply {
        let reply = self.c.cmd(line, code);
        self.check(line, Some(&reply));
        reply
    }

    /// A data-connection command refused: the data connection is ready, yet the reply is 550.
    fn attempt_transfer(&mut self, line: &str) -> Reply {
        let _data = self.c.pasv();
        self.attempt(line, 550)
    }

    /// A listing that succeeds: its names, after the outside is checked.
    fn names(&mut self, line: &str) -> Vec<String> {
        let text = self.c.list(line);
        self.check(line, None);
        for secret in ["canary", "outside_dir", "secret", "not_yet"] {
            assert!(
                !text.contains(secret),
                "{line}: the listing shows {secret:?}: {text:?}"
            );
        }
        if line.starts_with("NLST") {
            let mut names: Vec<String> = text.lines().map(String::from).collect();
            names.sort();
            names
        } else {
            listing_names(&text)
        }
    }

    /// The 550 reply to `verb name`, with the name replaced by `NAME`, to compare two refusals
    /// word for word.
    fn named_reply(&mut self, verb: &str, name: &str) -> String {
        let line = format!("{verb} {name}");
        let reply = self.attempt(&line, 550);
        reply.text().replace(name, "NAME")
    }
}

/// What a client sees in `/` when nothing leads outside.
fn visible_root() -> Vec<String> {
    [
        "Folder_Tes",
        "baca_saya.txt",
        "link_inside",
        "link_inside_folder",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn dot_dot_and_absolute_paths_do_not_reach_the_canary() {
    let mut j = Jailbreak::new();
    j.c.cmd("TYPE I", 200);
    for line in [
        "RETR ../canary.txt",
        "RETR /../../canary.txt",
        "RETR ../../../../../../canary.txt",
        "RETR Folder_Tes/../../canary.txt",
        "RETR //..//..//canary.txt",
        "RETR ../outside_dir/secret.txt",
        "RETR ../root/baca_saya.txt/../../canary.txt",
    ] {
        j.attempt_transfer(line);
    }
    for line in [
        "SIZE ../canary.txt",
        "MDTM ../canary.txt",
        "MLST ../canary.txt",
        "STAT ../canary.txt",
        "SIZE /../outside_dir/secret.txt",
    ] {
        j.attempt(line, 550);
    }
    // `..` was folded away before the disk was asked: the reply names the path inside.
    let refused = j.c.cmd("RETR ../canary.txt", 550);
    assert!(refused.text().contains("\"/canary.txt\""), "{refused:?}");
    assert_eq!(refused.lines, j.c.cmd("RETR /canary.txt", 550).lines);
}

#[test]
fn cwd_above_the_top_stays_at_the_top() {
    let mut j = Jailbreak::new();
    for line in [
        "CWD ..",
        "CDUP",
        "XCUP",
        "CWD //..//..",
        "CWD ../..",
        "CWD /../../..",
        "CWD Folder_Tes/../../..",
    ] {
        j.attempt(line, 250);
        assert_eq!(j.c.pwd(), "/", "after {line}");
        assert_eq!(j.names("NLST"), visible_root(), "after {line}");
    }
    j.attempt("CWD /../Folder_Tes", 250);
    assert_eq!(j.c.pwd(), "/Folder_Tes");
    j.attempt("CWD ../../../Folder_Tes/../..", 250);
    assert_eq!(j.c.pwd(), "/");
    j.attempt("CWD ../outside_dir", 550);
    assert_eq!(j.c.pwd(), "/");
}

#[test]
fn listing_above_the_top_lists_the_top() {
    let mut j = Jailbreak::new();
    let top = j.names("LIST");
    assert_eq!(top, visible_root());
    for line in ["LIST ..", "LIST -la ../", "LIST -a /..", "LIST ../../.."] {
        assert_eq!(j.names(line), top, "{line}");
    }
    for line in ["NLST /..", "NLST ..", "NLST -la ../.."] {
        assert_eq!(j.names(line), top, "{line}");
    }
    j.c.cmd("CWD Folder_Tes", 250);
    assert_eq!(j.names("LIST ../.."), top);
    for line in ["LIST ../outside_dir", "NLST ../../outside_dir", "MLSD .."] {
        if line.starts_with("MLSD") {
            // MLSD of ".." from /Folder_Tes is the top, and shows no outside name either.
            let text = j.c.list(line);
            j.check(line, None);
            assert!(
                !text.contains("canary") && !text.contains("outside"),
                "{text}"
            );
        } else {
            j.attempt_transfer(line);
        }
    }
    let stat = j.attempt("STAT ..", 213);
    assert!(!stat.text().contains("canary"), "{stat:?}");
}

#[test]
fn stor_above_the_top_lands_inside() {
    let mut j = Jailbreak::new();
    j.c.cmd("TYPE I", 200);
    j.c.upload("STOR ../canary.txt", b"intruder");
    j.check("STOR ../canary.txt", None);
    assert_eq!(fs::read(j.server.path("canary.txt")).unwrap(), b"intruder");
    j.c.upload("STOR /../../../x.txt", b"x");
    j.check("STOR /../../../x.txt", None);
    assert_eq!(fs::read(j.server.path("x.txt")).unwrap(), b"x");
    j.c.upload("APPE ../canary.txt", b"+more");
    j.check("APPE ../canary.txt", None);
    assert_eq!(
        fs::read(j.server.path("canary.txt")).unwrap(),
        b"intruder+more"
    );
    j.attempt_transfer("STOR ../outside_dir/new.txt");
    assert!(!j.outside_dir.join("new.txt").exists());
    j.attempt_transfer("STOR ../not_yet.txt/..");
}

#[test]
fn dele_and_rmd_above_the_top_touch_nothing_outside() {
    let mut j = Jailbreak::new();
    for line in [
        "DELE ../canary.txt",
        "DELE /../canary.txt",
        "DELE ../outside_dir/secret.txt",
        "RMD ../outside_dir",
        "RMD ..",
        "RMD /..",
        "DELE ..",
        "XRMD ../../outside_dir",
    ] {
        j.attempt(line, 550);
    }
    assert!(j.server.root.is_dir(), "the root itself is still there");
}

#[test]
fn rename_never_reaches_outside() {
    let mut j = Jailbreak::new();
    j.attempt("RNFR ../canary.txt", 550);
    j.attempt("RNFR ../outside_dir", 550);
    j.attempt("RNFR link_to_canary", 550);
    j.attempt("RNFR link_to_outside_folder", 550);
    j.attempt("RNFR link_to_outside_folder/secret.txt", 550);
    j.attempt("RNFR Folder_Tes/relative_canary", 550);
    for target in [
        "link_to_canary",
        "link_to_outside_folder",
        "link_to_outside_folder/moved.txt",
        "dangling_link",
        "up/moved.txt",
        "Folder_Tes/relative_up/moved.txt",
        "../outside_dir/moved.txt",
    ] {
        j.attempt("RNFR baca_saya.txt", 350);
        j.attempt(&format!("RNTO {target}"), 550);
        assert!(j.server.path("baca_saya.txt").exists(), "RNTO {target}");
    }
    // RNTO onto "../canary.txt" names a file inside the root: that rename happens, inside.
    j.attempt("RNFR baca_saya.txt", 350);
    j.attempt("RNTO ../canary.txt", 250);
    assert!(j.server.path("canary.txt").is_file());
    assert!(!j.server.path("baca_saya.txt").exists());
}

#[test]
fn mkd_above_the_top_lands_inside() {
    let mut j = Jailbreak::new();
    let reply = j.attempt("MKD ../x", 257);
    assert!(reply.lines[0].starts_with("\"/x\""), "{reply:?}");
    assert!(j.server.path("x").is_dir());
    for line in [
        "MKD link_to_outside_folder/new",
        "MKD up/new",
        "MKD Folder_Tes/relative_up/new",
        "MKD dangling_link",
        "XMKD ../outside_dir/new",
    ] {
        j.attempt(line, 550);
    }
}

#[test]
fn a_link_to_a_file_outside_is_as_if_missing() {
    let mut j = Jailbreak::new();
    j.c.cmd("TYPE I", 200);
    for line in [
        "RETR link_to_canary",
        "RETR Folder_Tes/relative_canary",
        "RETR up/canary.txt",
        "RETR Folder_Tes/relative_up/canary.txt",
        "STOR link_to_canary",
        "APPE link_to_canary",
        "STOR Folder_Tes/relative_canary",
        "LIST link_to_canary",
        "NLST link_to_canary",
        "MLSD link_to_canary",
    ] {
        j.attempt_transfer(line);
    }
    for line in [
        "SIZE link_to_canary",
        "MDTM link_to_canary",
        "MLST link_to_canary",
        "STAT link_to_canary",
        "DELE link_to_canary",
        "SIZE Folder_Tes/relative_canary",
        "MDTM up/canary.txt",
    ] {
        j.attempt(line, 550);
    }
    // A link to a file that exists outside reads exactly like a link to nothing, and like a
    // name that does not exist at all: the client cannot learn whether anything is there, nor
    // that a hidden link is.
    for verb in [
        "RETR", "SIZE", "MDTM", "MLST", "STAT", "DELE", "CWD", "RNFR",
    ] {
        let to_canary = j.named_reply(verb, "link_to_canary");
        let to_nothing = j.named_reply(verb, "dangling_link");
        let missing = j.named_reply(verb, "no_such_name");
        assert_eq!(to_canary, to_nothing, "{verb}");
        assert_eq!(to_canary, missing, "{verb}");
    }
    let to_folder = j.named_reply("CWD", "link_to_outside_folder");
    assert_eq!(to_folder, j.named_reply("CWD", "no_such_name"));
    // The control: a link that stays inside works.
    assert_eq!(
        j.c.download("RETR link_inside"),
        fs::read(j.server.path("baca_saya.txt")).unwrap()
    );
}

#[test]
fn a_link_to_a_folder_outside_is_as_if_missing() {
    let mut j = Jailbreak::new();
    for line in [
        "CWD link_to_outside_folder",
        "CWD up",
        "CWD Folder_Tes/relative_up",
        "XCWD link_to_outside_folder/",
    ] {
        j.attempt(line, 550);
        assert_eq!(j.c.pwd(), "/", "after {line}");
    }
    for line in [
        "LIST link_to_outside_folder",
        "LIST -la link_to_outside_folder/",
        "NLST link_to_outside_folder",
        "MLSD link_to_outside_folder",
        "LIST up",
        "NLST Folder_Tes/relative_up",
        "RETR link_to_outside_folder/secret.txt",
        "STOR link_to_outside_folder/new.txt",
        "STOR up/new.txt",
        "APPE link_to_outside_folder/secret.txt",
    ] {
        j.attempt_transfer(line);
    }
    for line in [
        "SIZE link_to_outside_folder/secret.txt",
        "MDTM link_to_outside_folder",
        "MLST link_to_outside_folder",
        "STAT link_to_outside_folder",
        "DELE link_to_outside_folder/secret.txt",
        "RMD link_to_outside_folder",
        "DELE link_to_outside_folder",
    ] {
        j.attempt(line, 550);
    }
    assert!(!j.outside_dir.join("new.txt").exists());
    // A link to a folder that exists outside reads like a link to nothing.
    for verb in ["CWD", "SIZE", "MDTM", "MLST", "STAT", "RMD"] {
        let to_folder = j.named_reply(verb, "link_to_outside_folder");
        let to_nothing = j.named_reply(verb, "dangling_link");
        assert_eq!(to_folder, to_nothing, "{verb}");
    }
    // The control: a link to a folder inside works.
    j.attempt("CWD link_inside_folder", 250);
    assert_eq!(j.c.pwd(), "/link_inside_folder");
}

#[test]
fn a_dangling_link_cannot_be_written_through() {
    let mut j = Jailbreak::new();
    let target = j.server.outside().join("not_yet.txt");
    for line in [
        "STOR dangling_link",
        "APPE dangling_link",
        "RETR dangling_link",
    ] {
        j.attempt_transfer(line);
        assert!(!target.exists(), "{line} created the link's target outside");
    }
    for line in [
        "SIZE dangling_link",
        "MDTM dangling_link",
        "MKD dangling_link",
        "CWD dangling_link",
    ] {
        j.attempt(line, 550);
    }
    j.attempt("REST 0", 350);
    j.attempt_transfer("STOR dangling_link");
    assert!(!target.exists());
}

#[test]
fn listings_hide_links_that_lead_outside() {
    let mut j = Jailbreak::new();
    for line in ["LIST", "LIST -la", "LIST /", "NLST", "NLST /", "NLST -a"] {
        assert_eq!(j.names(line), visible_root(), "{line}");
    }
    assert_eq!(j.names("NLST Folder_Tes"), Vec::<String>::new());
    assert_eq!(j.names("LIST -la /Folder_Tes"), Vec::<String>::new());
    let stat = j.attempt("STAT /", 213);
    for hidden in [
        "link_to_canary",
        "link_to_outside_folder",
        "dangling_link",
        "up",
    ] {
        assert!(
            !stat
                .lines
                .iter()
                .any(|l| l.ends_with(&format!(" {hidden}"))),
            "STAT / shows {hidden}: {stat:?}"
        );
    }
    let text = j.c.list("MLSD /");
    j.check("MLSD /", None);
    for hidden in [
        "link_to_canary",
        "link_to_outside_folder",
        "dangling_link",
        "up\r",
    ] {
        assert!(!text.contains(hidden), "MLSD shows {hidden}: {text}");
    }
    assert!(
        text.contains("link_inside"),
        "MLSD shows the inside link: {text}"
    );
}

#[test]
fn a_link_moved_by_rename_is_checked_again_where_it_lands() {
    let mut j = Jailbreak::new();
    // `Folder_Tes/moving -> ../canary.txt` names the root's own canary.txt (a decoy inside).
    // Renamed into the root, the same relative target names the real canary outside.
    fs::write(j.server.path("canary.txt"), "decoy inside").unwrap();
    symlink("../canary.txt", j.server.path("Folder_Tes/moving")).unwrap();
    j.c.cmd("TYPE I", 200);
    assert_eq!(j.c.download("RETR Folder_Tes/moving"), b"decoy inside");
    j.attempt("RNFR Folder_Tes/moving", 350);
    j.attempt("RNTO /moving", 250);
    for line in ["RETR moving", "APPE moving", "STOR moving"] {
        j.attempt_transfer(line);
    }
    for line in ["SIZE moving", "MDTM moving", "CWD moving"] {
        j.attempt(line, 550);
    }
    // (The decoy is named canary.txt, so this listing is checked by name, not with `names`.)
    let listed = j.c.nlst("NLST");
    assert!(!listed.contains(&"moving".to_string()), "{listed:?}");
}

#[test]
fn chmod_through_a_link_is_refused() {
    let server = TestServer::start_with(|c| {
        c.users = vec![User::from_spec("admin:pw:elradfmwMT", &c.root).unwrap()];
    });
    let mut j = Jailbreak::with(server, |server| server.login_as("admin", "pw"));
    for line in [
        "SITE CHMOD 777 link_to_canary",
        "SITE CHMOD 777 ../canary.txt",
        "SITE CHMOD 700 link_to_outside_folder",
        "SITE CHMOD 777 Folder_Tes/relative_canary",
        "MFMT 20000101000000 link_to_canary",
        "MFMT 20000101000000 link_to_outside_folder/secret.txt",
    ] {
        j.attempt(line, 550);
    }
    // The control: the same commands on a file inside work (so the 550s above are the jail).
    j.attempt("SITE CHMOD 600 baca_saya.txt", 200);
    let mode = fs::metadata(j.server.path("baca_saya.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn replies_never_show_the_real_root() {
    let mut j = Jailbreak::new();
    for (line, code) in [
        ("PWD", 257),
        ("CWD ..", 250),
        ("MKD made", 257),
        ("CWD made", 250),
        ("XPWD", 257),
        ("STAT", 211),
        ("CWD ../nope", 550),
        ("RETR ../../nope", 550),
        ("RNFR nope", 550),
        ("DELE /nope", 550),
        ("SIZE nope", 550),
        ("MLST /", 250),
        ("MLST ..", 250),
    ] {
        j.attempt(line, code);
    }
}
