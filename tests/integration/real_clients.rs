//! Issue 4's interoperability: real clients using the extended protocol, checked on disk.
//! lftp (mirror both ways, `get -c` resume, `mrm`), curl (`-C -` resume, `--ftp-port` active
//! mode), Python's ftplib (active mode, `mlsd()`, `rest=`, `abort()` mid-download) and suppaftp
//! (EPSV, MLSD parsing, `resume_transfer`, active mode).

use std::fs;
use std::path::Path;
use std::time::Duration;

use suppaftp::FtpStream;
use suppaftp::list::{File as ListedFile, ListParser};
use suppaftp::types::{FileType, Mode};

use crate::support::{TestServer, have, tool};

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// lftp's script prefix: connect to the test server, plain FTP (lftp would otherwise try
/// AUTH TLS first), with short timeouts so a failure ends the test instead of retrying.
fn lftp_open(server: &TestServer) -> String {
    format!(
        "set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 10; open -u user,12345 -p {} 127.0.0.1; ",
        server.addr.port()
    )
}

fn assert_same_tree(a: &Path, b: &Path) {
    let mut names_a: Vec<_> = fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut names_b: Vec<_> = fs::read_dir(b)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names_a.sort();
    names_b.sort();
    assert_eq!(names_a, names_b, "{} vs {}", a.display(), b.display());
    for name in names_a {
        let (pa, pb) = (a.join(&name), b.join(&name));
        if pa.is_dir() {
            assert_same_tree(&pa, &pb);
        } else {
            assert!(
                fs::read(&pa).unwrap() == fs::read(&pb).unwrap(),
                "{} differs",
                pa.display()
            );
        }
    }
}

#[test]
fn lftp_mirror_both_ways_resume_and_mrm() {
    if !have("lftp") {
        return;
    }
    let server = TestServer::start();
    let local = server.outside().join("local");
    fs::create_dir_all(local.join("sub/deeper")).unwrap();
    fs::write(local.join("a.bin"), random_bytes(100_000, 1)).unwrap();
    fs::write(local.join("sub/b with space.txt"), b"hello\n").unwrap();
    fs::write(local.join("sub/deeper/c.bin"), random_bytes(70_000, 2)).unwrap();
    fs::write(local.join("empty.txt"), b"").unwrap();

    // Up: mirror -R (reverse) copies the local tree to /up.
    let script = format!(
        "{}mirror -R {} /up; bye",
        lftp_open(&server),
        local.display()
    );
    tool("lftp", &["-c", &script]);
    assert_same_tree(&local, &server.path("up"));

    // Down: mirror /up to a second local folder.
    let back = server.outside().join("back");
    let script = format!("{}mirror /up {}; bye", lftp_open(&server), back.display());
    tool("lftp", &["-c", &script]);
    assert_same_tree(&local, &back);

    // get -c: resume a partial download (REST + RETR).
    let full = random_bytes(300_000, 3);
    fs::write(server.path("resume.bin"), &full).unwrap();
    let partial = server.outside().join("resume.bin");
    fs::write(&partial, &full[..123_456]).unwrap();
    let script = format!(
        "{}lcd {}; get -c resume.bin; bye",
        lftp_open(&server),
        server.outside().display()
    );
    tool("lftp", &["-c", &script]);
    assert!(
        fs::read(&partial).unwrap() == full,
        "resumed download differs"
    );

    // mrm: delete by wildcard. (One pattern per mrm: given two, this lftp expands only the
    // first, whatever the server.)
    let script = format!(
        "{}mrm /up/sub/*.txt; mrm /up/*.bin; bye",
        lftp_open(&server)
    );
    tool("lftp", &["-c", &script]);
    assert!(!server.path("up/a.bin").exists());
    assert!(!server.path("up/sub/b with space.txt").exists());
    assert!(server.path("up/empty.txt").exists(), "mrm deleted too much");
}

#[test]
fn curl_resume_and_active_mode() {
    if !have("curl") {
        return;
    }
    let server = TestServer::start();
    let base = format!("ftp://user:12345@127.0.0.1:{}", server.addr.port());
    let full = random_bytes(200_000, 4);
    fs::write(server.path("r.bin"), &full).unwrap();

    // -C -: continue a partial download from where the local file ends.
    let local = server.outside().join("r.bin");
    fs::write(&local, &full[..50_000]).unwrap();
    let local_arg = local.to_str().unwrap();
    tool(
        "curl",
        &["-sS", "-C", "-", "-o", local_arg, &format!("{base}/r.bin")],
    );
    assert!(
        fs::read(&local).unwrap() == full,
        "curl -C - result differs"
    );

    // --ftp-port: active mode (the server connects to curl) for a download and an upload.
    let active = server.outside().join("active.bin");
    let active_arg = active.to_str().unwrap();
    tool(
        "curl",
        &[
            "-sS",
            "--ftp-port",
            "127.0.0.1",
            "-o",
            active_arg,
            &format!("{base}/r.bin"),
        ],
    );
    assert!(fs::read(&active).unwrap() == full);
    tool(
        "curl",
        &[
            "-sS",
            "--ftp-port",
            "127.0.0.1",
            "-T",
            active_arg,
            &format!("{base}/up.bin"),
        ],
    );
    assert!(fs::read(server.path("up.bin")).unwrap() == full);

    // -C - on upload: curl asks SIZE, then APPE... or REST+STOR, for the rest of the file.
    fs::write(server.path("half.bin"), &full[..80_000]).unwrap();
    tool(
        "curl",
        &[
            "-sS",
            "-C",
            "-",
            "-T",
            active_arg,
            &format!("{base}/half.bin"),
        ],
    );
    assert!(
        fs::read(server.path("half.bin")).unwrap() == full,
        "upload resume differs"
    );
}

/// Run a Python ftplib script against the server; `PORT` in the script is the server's port.
fn python(server: &TestServer, script: &str) -> String {
    let script = script.replace("PORT", &server.addr.port().to_string());
    let out = tool("python3", &["-c", &script]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ftplib_active_mode_mlsd_rest_and_abort() {
    if !have("python3") {
        return;
    }
    let server = TestServer::start();
    let full = random_bytes(150_000, 5);
    fs::write(server.path("f.bin"), &full).unwrap();
    // A sparse 100 MiB file to abort.
    fs::File::create(server.path("big.bin"))
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let out_dir = server.outside().display().to_string();
    let output = python(
        &server,
        &format!(
            r#"
import ftplib, io, os
ftp = ftplib.FTP(timeout=10)
ftp.connect("127.0.0.1", PORT)
ftp.login("user", "12345")

# Active mode: the server connects back to ftplib's listening socket.
ftp.set_pasv(False)
buf = io.BytesIO()
ftp.retrbinary("RETR f.bin", buf.write)
open(os.path.join("{out_dir}", "active.bin"), "wb").write(buf.getvalue())
ftp.storbinary("STOR active_up.bin", io.BytesIO(buf.getvalue()))
ftp.set_pasv(True)

# mlsd(): machine listing parsed by ftplib.
facts = dict(ftp.mlsd())
assert facts["f.bin"]["type"] == "file", facts
assert facts["f.bin"]["size"] == "150000", facts
assert facts["Folder_Tes"]["type"] == "dir", facts

# rest=: resume from an offset.
tail = io.BytesIO()
ftp.retrbinary("RETR f.bin", tail.write, rest=100000)
open(os.path.join("{out_dir}", "tail.bin"), "wb").write(tail.getvalue())

# abort() mid-download: 426 for the transfer, then 226 for the ABOR.
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("RETR big.bin")
conn.recv(65536)
first = ftp.abort()
assert first.startswith("426"), first
second = ftp.getresp()
assert second.startswith("226"), second
conn.close()
print("after abort:", ftp.pwd())
ftp.quit()
"#
        ),
    );
    assert!(output.contains("after abort: /"), "{output}");
    assert!(fs::read(server.outside().join("active.bin")).unwrap() == full);
    assert!(fs::read(server.path("active_up.bin")).unwrap() == full);
    assert!(fs::read(server.outside().join("tail.bin")).unwrap() == full[100_000..]);
}

#[test]
fn suppaftp_epsv_mlsd_resume_and_active_mode() {
    let server = TestServer::start();
    let full = random_bytes(120_000, 6);
    fs::write(server.path("s.bin"), &full).unwrap();

    let mut ftp = FtpStream::connect(server.addr).unwrap();
    ftp.login("user", "12345").unwrap();
    ftp.transfer_type(FileType::Binary).unwrap();

    // EPSV.
    ftp.set_mode(Mode::ExtendedPassive);
    let data = ftp.retr_as_buffer("s.bin").unwrap().into_inner();
    assert!(data == full);

    // MLSD, parsed by suppaftp's own parser.
    let lines = ftp.mlsd(None).unwrap();
    let files: Vec<ListedFile> = lines
        .iter()
        .map(|line| ListParser::parse_mlsd(line).unwrap_or_else(|e| panic!("{line}: {e:?}")))
        .collect();
    let s = files
        .iter()
        .find(|f| f.name() == "s.bin")
        .expect("s.bin listed");
    assert_eq!(s.size(), full.len());
    assert!(
        files
            .iter()
            .any(|f| f.name() == "Folder_Tes" && f.is_directory())
    );

    // resume_transfer: REST before the next RETR.
    ftp.resume_transfer(100_000).unwrap();
    let tail = ftp.retr_as_buffer("s.bin").unwrap().into_inner();
    assert!(tail == full[100_000..]);

    // Active mode: suppaftp listens, the server connects.
    let mut ftp = ftp.active_mode(Duration::from_secs(10));
    ftp.set_mode(Mode::Active);
    let data = ftp.retr_as_buffer("s.bin").unwrap().into_inner();
    assert!(data == full);
    ftp.put_file("active.bin", &mut &full[..]).unwrap();
    assert!(fs::read(server.path("active.bin")).unwrap() == full);
    let names = ftp.nlst(None).unwrap();
    assert!(names.iter().any(|n| n == "active.bin"), "{names:?}");
    ftp.quit().unwrap();
}
