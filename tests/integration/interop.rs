//! Real FTP clients against the server: the suppaftp crate (what the guided client is built on),
//! curl, and Python's ftplib (the seed's own client library). Each runs the seed's flow and the
//! files are compared byte for byte on disk.
//!
//! curl and python3 are external programs: if one is missing, its test says so and returns
//! (`.ci/run` installs both, so in CI they always run).

use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Output};

use suppaftp::types::FileType;
use suppaftp::{FtpError, FtpStream, Mode};

use crate::support::{TestServer, binary_bytes, parse_ls_line};

/// The status code of a suppaftp error that is an FTP reply.
fn reply_code(error: &FtpError) -> Option<u32> {
    match error {
        FtpError::UnexpectedResponse(response) => Some(response.status.code()),
        _ => None,
    }
}

#[test]
fn suppaftp_runs_the_seed_flow() {
    let server = TestServer::start();
    let sample = fs::read(server.path("baca_saya.txt")).unwrap();
    let mut ftp = FtpStream::connect(server.addr).expect("suppaftp connects");
    let welcome = ftp.get_welcome_msg().unwrap_or_default().to_string();
    assert!(
        welcome.contains("Selamat datang di Local FTP Server"),
        "welcome: {welcome:?}"
    );

    let error = ftp.login("user", "wrong").unwrap_err();
    assert_eq!(reply_code(&error), Some(530), "{error:?}");
    ftp.login("user", "12345").expect("login");
    assert_eq!(ftp.pwd().unwrap(), "/");

    let lines = ftp.list(None).expect("LIST");
    let mut entries: Vec<_> = lines.iter().map(|line| parse_ls_line(line)).collect();
    entries.sort_by(|a, b| a.name().cmp(b.name()));
    assert_eq!(entries.len(), 2, "{lines:?}");
    assert_eq!(entries[0].name(), "Folder_Tes");
    assert!(entries[0].is_directory());
    assert_eq!(entries[1].name(), "baca_saya.txt");
    assert!(entries[1].is_file());
    assert_eq!(entries[1].size(), sample.len());

    ftp.transfer_type(FileType::Binary).unwrap();
    let fetched = ftp.retr_as_buffer("baca_saya.txt").expect("RETR");
    assert_eq!(fetched.into_inner(), sample);

    let upload = binary_bytes(300_000);
    let written = ftp
        .put_file("upload.bin", &mut Cursor::new(upload.clone()))
        .expect("STOR");
    assert_eq!(written as usize, upload.len());
    assert!(fs::read(server.path("upload.bin")).unwrap() == upload);
    assert_eq!(ftp.size("upload.bin").unwrap(), upload.len());
    ftp.mdtm("upload.bin").expect("MDTM parses");

    // The same download over EPSV.
    ftp.set_mode(Mode::ExtendedPassive);
    let again = ftp.retr_as_buffer("upload.bin").expect("RETR over EPSV");
    assert!(again.into_inner() == upload);
    ftp.set_mode(Mode::Passive);

    ftp.cwd("Folder_Tes").expect("CWD");
    assert_eq!(ftp.pwd().unwrap(), "/Folder_Tes");
    ftp.cdup().expect("CDUP");
    assert_eq!(ftp.pwd().unwrap(), "/");
    let error = ftp.cwd("nope").unwrap_err();
    assert_eq!(reply_code(&error), Some(550), "{error:?}");

    ftp.mkdir("new dir").expect("MKD");
    assert!(server.path("new dir").is_dir());
    ftp.rename("upload.bin", "new dir/moved.bin")
        .expect("RNFR/RNTO");
    assert!(fs::read(server.path("new dir/moved.bin")).unwrap() == upload);
    assert_eq!(ftp.nlst(Some("new dir")).unwrap(), vec!["moved.bin"]);
    ftp.rm("new dir/moved.bin").expect("DELE");
    ftp.rmdir("new dir").expect("RMD");
    assert!(!server.path("new dir").exists());
    ftp.quit().expect("QUIT");
}

/// Whether an external program can be run; if not, say why the test is skipped.
fn available(program: &str) -> bool {
    match Command::new(program).arg("--version").output() {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            eprintln!(
                "SKIPPED: `{program} --version` failed ({}); install {program} to run this test",
                output.status
            );
            false
        }
        Err(e) => {
            eprintln!("SKIPPED: {program} not found ({e}); install {program} to run this test");
            false
        }
    }
}

/// Run curl with `args`, a 30 s limit, and quiet output with errors shown.
fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(args)
        .output()
        .expect("run curl")
}

/// The lines of a text output, without their line ends.
fn lines(output: &[u8]) -> Vec<&str> {
    std::str::from_utf8(output).unwrap().lines().collect()
}

/// curl must have succeeded; its stdout.
fn curl_ok(args: &[&str]) -> Vec<u8> {
    let output = curl(args);
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn curl_lists_downloads_uploads_and_sends_commands() {
    if !available("curl") {
        return;
    }
    let server = TestServer::start();
    let base = format!("ftp://user:12345@127.0.0.1:{}", server.addr.port());
    let local = tempfile::tempdir().unwrap();

    // LIST of the root, in `ls -l` shape (curl uses EPSV by default).
    let listing = String::from_utf8(curl_ok(&[&format!("{base}/")])).unwrap();
    let mut names: Vec<String> = listing
        .lines()
        .map(|line| parse_ls_line(line).name().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["Folder_Tes", "baca_saya.txt"], "{listing}");
    // NLST (curl reads it in TYPE A and prints the lines with LF).
    let nlst = curl_ok(&["--list-only", &format!("{base}/")]);
    assert_eq!(lines(&nlst), vec!["Folder_Tes", "baca_saya.txt"]);

    // Download, over EPSV and over PASV.
    let sample = fs::read(server.path("baca_saya.txt")).unwrap();
    let out = local.path().join("out.txt");
    let out_arg = out.to_str().unwrap();
    curl_ok(&["-o", out_arg, &format!("{base}/baca_saya.txt")]);
    assert_eq!(fs::read(&out).unwrap(), sample);
    fs::remove_file(&out).unwrap();
    curl_ok(&[
        "--disable-epsv",
        "-o",
        out_arg,
        &format!("{base}/baca_saya.txt"),
    ]);
    assert_eq!(fs::read(&out).unwrap(), sample);

    // Upload, including to a name with a space and into a sub-folder.
    let upload = binary_bytes(500_000);
    let source = local.path().join("up.bin");
    fs::write(&source, &upload).unwrap();
    let source_arg = source.to_str().unwrap();
    curl_ok(&["-T", source_arg, &format!("{base}/up.bin")]);
    assert!(fs::read(server.path("up.bin")).unwrap() == upload);
    curl_ok(&[
        "-T",
        source_arg,
        &format!("{base}/Folder_Tes/with%20space.bin"),
    ]);
    assert!(fs::read(server.path("Folder_Tes/with space.bin")).unwrap() == upload);
    // --ftp-create-dirs sends MKD and CWD for each missing folder.
    curl_ok(&[
        "--ftp-create-dirs",
        "-T",
        source_arg,
        &format!("{base}/a/b/deep.bin"),
    ]);
    assert!(fs::read(server.path("a/b/deep.bin")).unwrap() == upload);

    // Active mode: curl listens, the server connects (EPRT).
    let active = local.path().join("active.txt");
    curl_ok(&[
        "--ftp-port",
        "127.0.0.1",
        "-o",
        active.to_str().unwrap(),
        &format!("{base}/baca_saya.txt"),
    ]);
    assert_eq!(fs::read(&active).unwrap(), sample);

    // -Q: raw commands before (and, with '-', after) the transfer.
    curl_ok(&["-Q", "MKD made", "--list-only", &format!("{base}/")]);
    assert!(server.path("made").is_dir());
    // Commands before the transfer run in the login folder; after it, in the listed one.
    let during = curl_ok(&[
        "-Q",
        "RNFR up.bin",
        "-Q",
        "RNTO made/renamed.bin",
        "-Q",
        "-DELE /made/renamed.bin",
        "--list-only",
        &format!("{base}/made/"),
    ]);
    assert_eq!(
        lines(&during),
        vec!["renamed.bin"],
        "NLST between RNTO and DELE"
    );
    assert!(!server.path("up.bin").exists());
    assert!(!server.path("made/renamed.bin").exists());

    // Errors: a wrong password and a missing file fail curl with its own exit codes.
    let wrong = curl(&[&format!(
        "ftp://user:wrong@127.0.0.1:{}/",
        server.addr.port()
    )]);
    assert_eq!(wrong.status.code(), Some(67), "curl: login denied");
    let missing = curl(&["-o", out_arg, &format!("{base}/no_such_file.txt")]);
    assert_eq!(
        missing.status.code(),
        Some(78),
        "curl: remote file not found"
    );
    let refused = curl(&["-Q", "RMD no_such_folder", &format!("{base}/")]);
    assert_eq!(
        refused.status.code(),
        Some(21),
        "curl: quote command failed"
    );
}

/// The seed's flow in Python's ftplib. Each step checks its result and prints `key=value`.
const FTPLIB_FLOW: &str = r#"
import ftplib, os, sys

host, port, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def expect(what, got, want):
    if got != want:
        sys.exit(f"{what}: expected {want!r}, got {got!r}")

# A wrong password is a 530, raised as error_perm.
bad = ftplib.FTP()
bad.connect(host, port, timeout=20)
try:
    bad.login("user", "wrong")
    sys.exit("login with a wrong password succeeded")
except ftplib.error_perm as e:
    print("wrong_password=" + str(e))
bad.close()

ftp = ftplib.FTP()
print("welcome=" + ftp.connect(host, port, timeout=20))
print("login=" + ftp.login("user", "12345"))
expect("pwd", ftp.pwd(), "/")
lines = []
ftp.dir(lines.append)
for line in lines:
    print("dir=" + line)
expect("nlst", sorted(ftp.nlst()), ["Folder_Tes", "baca_saya.txt"])

with open(os.path.join(work, "downloaded.txt"), "wb") as f:
    print("retr=" + ftp.retrbinary("RETR baca_saya.txt", f.write))
with open(os.path.join(work, "to_upload.bin"), "rb") as f:
    print("stor=" + ftp.storbinary("STOR uploaded.bin", f))
expect("size", ftp.size("uploaded.bin"), os.path.getsize(os.path.join(work, "to_upload.bin")))
print("mdtm=" + ftp.sendcmd("MDTM uploaded.bin"))

# TYPE A both ways: storlines sends CRLF, retrlines reads lines back.
with open(os.path.join(work, "lines.txt"), "rb") as f:
    ftp.storlines("STOR lines.txt", f)
got = []
ftp.retrlines("RETR lines.txt", got.append)
expect("retrlines", got, ["alpha", "beta", "gamma"])

ftp.cwd("Folder_Tes")
expect("pwd after cwd", ftp.pwd(), "/Folder_Tes")
try:
    ftp.cwd("nope")
    sys.exit("cwd to a missing folder succeeded")
except ftplib.error_perm as e:
    print("cwd_missing=" + str(e))
ftp.cwd("/")
expect("mkd", ftp.mkd("py dir"), "/py dir")
ftp.rename("uploaded.bin", "py dir/moved.bin")
expect("nlst py dir", ftp.nlst("py dir"), ["moved.bin"])
ftp.delete("py dir/moved.bin")
ftp.rmd("py dir")
try:
    ftp.sendcmd("HELLO")
    sys.exit("an unknown verb succeeded")
except ftplib.error_perm as e:
    print("unknown=" + str(e))
print("quit=" + ftp.quit())
"#;

#[test]
fn python_ftplib_runs_the_seed_flow() {
    if !available("python3") {
        return;
    }
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let upload = binary_bytes(200_000);
    fs::write(local.path().join("to_upload.bin"), &upload).unwrap();
    fs::write(local.path().join("lines.txt"), "alpha\nbeta\ngamma\n").unwrap();

    let output = Command::new("python3")
        .args(["-c", FTPLIB_FLOW, "127.0.0.1"])
        .arg(server.addr.port().to_string())
        .arg(local.path())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ftplib flow failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let value = |key: &str| -> Vec<&str> {
        stdout
            .lines()
            .filter_map(|line| line.strip_prefix(&format!("{key}=")))
            .collect()
    };
    let first = |key: &str| -> &str {
        value(key)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("ftplib printed no {key}=: {stdout}"))
    };
    assert!(first("wrong_password").starts_with("530"), "{stdout}");
    assert_eq!(first("welcome"), "220 Selamat datang di Local FTP Server");
    assert!(first("login").starts_with("230"), "{stdout}");
    let dir = value("dir");
    assert_eq!(dir.len(), 2, "{stdout}");
    assert!(
        dir.iter()
            .any(|l| l.starts_with('d') && l.ends_with(" Folder_Tes"))
    );
    assert!(
        dir.iter()
            .any(|l| l.starts_with('-') && l.ends_with(" baca_saya.txt"))
    );
    assert!(first("retr").starts_with("226"), "{stdout}");
    assert!(first("stor").starts_with("226"), "{stdout}");
    assert!(first("mdtm").starts_with("213 "), "{stdout}");
    assert!(first("cwd_missing").starts_with("550"), "{stdout}");
    assert!(first("unknown").starts_with("500"), "{stdout}");
    assert!(first("quit").starts_with("221"), "{stdout}");

    // Byte for byte: what ftplib downloaded is the server's file; what it uploaded is ours.
    assert_eq!(
        fs::read(local.path().join("downloaded.txt")).unwrap(),
        fs::read(server.path("baca_saya.txt")).unwrap()
    );
    assert!(
        !server.path("uploaded.bin").exists(),
        "renamed, then deleted"
    );
    assert!(!server.path("py dir").exists());
    // storlines sent CRLF in TYPE A; the server stored LF.
    assert_eq!(
        fs::read(server.path("lines.txt")).unwrap(),
        b"alpha\nbeta\ngamma\n"
    );
    check_upload_kept(&server, &local.path().join("to_upload.bin"));
}

/// A second ftplib run that only uploads, so the stored copy can be compared (the flow above
/// moves and deletes its upload).
fn check_upload_kept(server: &TestServer, local: &Path) {
    let script = r#"
import ftplib, sys
ftp = ftplib.FTP()
ftp.connect(sys.argv[1], int(sys.argv[2]), timeout=20)
ftp.login("user", "12345")
with open(sys.argv[3], "rb") as f:
    ftp.storbinary("STOR kept.bin", f)
ftp.quit()
"#;
    let output = Command::new("python3")
        .args(["-c", script, "127.0.0.1"])
        .arg(server.addr.port().to_string())
        .arg(local)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "ftplib upload failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        fs::read(server.path("kept.bin")).unwrap() == fs::read(local).unwrap(),
        "ftplib's upload stored byte for byte"
    );
}
