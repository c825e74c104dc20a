//! The rest of the protocol (issue 4): ABOR/STAT/NOOP/QUIT during a transfer, REST, APPE, STOU,
//! REIN, active mode with its RFC 2577 guards, EPSV ALL, IPv6, MLSD/MLST, FEAT and HELP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use localftp::server::users::User;

use crate::support::{Control, READ_TIMEOUT, TestServer};

/// A file of `size` bytes of zeros, made sparse so it costs no disk.
fn big_file(server: &TestServer, name: &str, size: u64) {
    let file = std::fs::File::create(server.path(name)).unwrap();
    file.set_len(size).unwrap();
}

/// A file with bytes that differ at every position, so offsets are checked for real.
fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Send RETR on a fresh passive connection and return the data stream once 150/125 arrived.
fn start_download(c: &mut Control, command: &str) -> TcpStream {
    let data = c.pasv();
    c.send(command);
    let reply = c.read_reply();
    assert!(reply.code == 150 || reply.code == 125, "{reply:?}");
    data
}

#[test]
fn abor_stops_a_200_mib_download_promptly() {
    let server = TestServer::start();
    big_file(&server, "big.bin", 200 * 1024 * 1024);
    std::fs::write(server.path("small.txt"), b"still works").unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = start_download(&mut c, "RETR big.bin");
    let mut first = vec![0u8; 64 * 1024];
    data.read_exact(&mut first).unwrap();

    // ABOR as clients send it: Telnet IP and DM first (RFC 959 §4.1.3).
    let took = c.abort_transfer();
    assert!(took < Duration::from_secs(1), "ABOR took {took:?}");

    // The data connection was closed by the server: reading reaches its end quickly.
    data.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut sink = [0u8; 1 << 16];
    while let Ok(n) = data.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
    // The session goes on.
    assert_eq!(c.download("RETR small.txt"), b"still works");
}

#[test]
fn abor_without_a_transfer_is_225() {
    let server = TestServer::start();
    let mut c = server.login();
    let reply = c.cmd("ABOR", 225);
    assert!(reply.text().contains("No transfer"), "{reply:?}");
}

#[test]
fn stat_and_noop_are_answered_while_data_flows() {
    let server = TestServer::start();
    big_file(&server, "big.bin", 64 * 1024 * 1024);
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    // Start the download but do not read: the server blocks with full socket buffers.
    let mut data = start_download(&mut c, "RETR big.bin");
    c.cmd("NOOP", 200);
    let status = c.cmd("STAT", 211);
    assert!(
        status
            .text()
            .contains("Transfer in progress: RETR /big.bin"),
        "{status:?}"
    );
    let mut received = Vec::new();
    data.read_to_end(&mut received).unwrap();
    assert_eq!(received.len(), 64 * 1024 * 1024);
    c.expect(226);
}

#[test]
fn quit_during_a_transfer_waits_for_it() {
    let server = TestServer::start();
    big_file(&server, "big.bin", 8 * 1024 * 1024);
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = start_download(&mut c, "RETR big.bin");
    c.send("QUIT");
    let mut received = Vec::new();
    data.read_to_end(&mut received).unwrap();
    assert_eq!(received.len(), 8 * 1024 * 1024);
    c.expect(226);
    c.expect(221);
    assert!(c.is_closed());
}

#[test]
fn rest_then_retr_resumes_at_the_offset() {
    let server = TestServer::start();
    let content = patterned(10_000);
    std::fs::write(server.path("p.bin"), &content).unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    // REST goes right before RETR, after PASV, as ftplib sends it.
    let mut data = c.pasv();
    c.cmd("REST 2500", 350);
    c.send("RETR p.bin");
    let reply = c.read_reply();
    assert!(reply.code == 125 || reply.code == 150, "{reply:?}");
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    c.expect(226);
    assert_eq!(got, content[2500..]);
}

#[test]
fn rest_past_the_end_is_554_and_rest_is_cleared_by_other_commands() {
    let server = TestServer::start();
    std::fs::write(server.path("p.bin"), patterned(100)).unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    c.pasv();
    c.cmd("REST 101", 350);
    c.cmd("RETR p.bin", 554);
    // REST, then another command: the offset is gone, RETR sends the whole file.
    c.cmd("REST 50", 350);
    c.cmd("NOOP", 200);
    assert_eq!(c.download("RETR p.bin"), patterned(100));
    // In ASCII mode an offset is refused, since wire and disk bytes differ there.
    c.cmd("TYPE A", 200);
    c.pasv();
    c.cmd("REST 10", 350);
    c.cmd("RETR p.bin", 554);
}

#[test]
fn rest_then_stor_resumes_an_upload_and_needs_the_a_letter() {
    let server = TestServer::start();
    let content = patterned(5000);
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    c.upload("STOR part.bin", &content[..1234]);
    let mut data = c.pasv();
    c.cmd("REST 1234", 350);
    c.send("STOR part.bin");
    let reply = c.read_reply();
    assert!(reply.code == 125 || reply.code == 150, "{reply:?}");
    data.write_all(&content[1234..]).unwrap();
    drop(data);
    c.expect(226);
    assert_eq!(std::fs::read(server.path("part.bin")).unwrap(), content);

    // A user with w but without a: a fresh STOR is fine, a resumed one is refused.
    let server = TestServer::start_with(|config| {
        config.users = vec![User::from_spec("wo:pw:elrw", &config.root).unwrap()];
    });
    let mut c = server.connect();
    c.cmd("USER wo", 331);
    c.cmd("PASS pw", 230);
    c.cmd("TYPE I", 200);
    c.upload("STOR part.bin", b"12345");
    c.cmd("REST 2", 350);
    let refusal = c.cmd("STOR part.bin", 550);
    assert!(refusal.text().contains("'a'"), "{refusal:?}");
}

#[test]
fn appe_appends_and_creates() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    c.upload("APPE log.txt", b"one\n");
    c.upload("APPE log.txt", b"two\n");
    assert_eq!(
        std::fs::read(server.path("log.txt")).unwrap(),
        b"one\ntwo\n"
    );
}

#[test]
fn stou_names_the_file_in_its_150_reply() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = c.pasv();
    c.send("STOU");
    let reply = c.read_reply();
    assert!(reply.code == 150 || reply.code == 125, "{reply:?}");
    let name = reply
        .text()
        .strip_prefix("FILE: ")
        .unwrap_or_else(|| panic!("RFC 1123 form '150 FILE: name', got {reply:?}"))
        .to_string();
    data.write_all(b"unique").unwrap();
    drop(data);
    c.expect(226);
    assert_eq!(std::fs::read(server.path(&name)).unwrap(), b"unique");
}

#[test]
fn allo_acct_rein() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd("ALLO 1000", 202);
    c.cmd("ACCT x", 202);
    c.cmd("CWD Folder_Tes", 250);
    c.cmd("REIN", 220);
    c.cmd("PWD", 530);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    let pwd = c.cmd("PWD", 257);
    assert!(
        pwd.text().starts_with("\"/\""),
        "REIN resets the folder: {pwd:?}"
    );
}

/// REIN starts every per-login setting over, as a new connection would have them: the folder,
/// TYPE, REST, RNFR, a PASV plan, EPSV ALL, and the MLST facts chosen with OPTS MLST.
#[test]
fn rein_resets_every_per_login_setting() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd("CWD Folder_Tes", 250);
    c.cmd("TYPE I", 200);
    c.cmd("OPTS MLST type;", 200);
    c.cmd("REST 5", 350);
    c.cmd("RNFR /baca_saya.txt", 350);
    let _data = c.pasv();
    c.cmd("EPSV ALL", 200);
    c.cmd("REIN", 220);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    assert!(c.cmd("PWD", 257).text().starts_with("\"/\""));
    // The PASV plan is gone: the data connection made before REIN is not used.
    c.cmd("NLST", 425);
    // (RNFR and REST are also cancelled by any command in between, so the wire cannot show
    // that REIN forgot them; `Settings::default` does, and this line keeps RNTO honest.)
    c.cmd("RNTO elsewhere.txt", 503);
    // After EPSV ALL only EPSV may set up a data connection; after REIN, PASV works again.
    c.cmd("PASV", 227);
    c.cmd("ABOR", 225);
    let facts = c.cmd("MLST /baca_saya.txt", 250).text();
    assert!(
        facts.contains("size=") && facts.contains("perm="),
        "OPTS MLST must be forgotten by REIN: {facts}"
    );
    // TYPE is back to A: SIZE counts CRLF line ends in ASCII, so it differs from the bytes.
    let size: u64 = c
        .cmd("SIZE /baca_saya.txt", 213)
        .text()
        .trim()
        .parse()
        .unwrap();
    let bytes = std::fs::metadata(server.path("baca_saya.txt"))
        .unwrap()
        .len();
    assert!(
        size > bytes,
        "TYPE must be A again after REIN: SIZE {size}, {bytes} bytes"
    );
}

/// Listen for an active-mode data connection on loopback; returns the listener and its port.
fn active_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn accept_with_timeout(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
                return stream;
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("the server never connected: {e}"),
        }
    }
}

#[test]
fn active_mode_with_port_and_eprt() {
    let server = TestServer::start();
    let mut c = server.login();
    for command in ["PORT", "EPRT"] {
        let (listener, port) = active_listener();
        let line = if command == "PORT" {
            format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xFF)
        } else {
            format!("EPRT |1|127.0.0.1|{port}|")
        };
        c.cmd(&line, 200);
        c.send("NLST");
        let mut data = accept_with_timeout(&listener);
        c.expect(150);
        let mut names = String::new();
        data.read_to_string(&mut names).unwrap();
        c.expect(226);
        assert!(names.contains("baca_saya.txt"), "{command}: {names}");
    }
}

#[test]
fn active_mode_refuses_bounces_unless_permitted() {
    let server = TestServer::start();
    let mut c = server.login();
    let foreign = c.cmd("PORT 10,0,0,1,200,10", 501);
    assert!(foreign.text().contains("not your address"), "{foreign:?}");
    let privileged = c.cmd("PORT 127,0,0,1,0,80", 501);
    assert!(privileged.text().contains("below 1024"), "{privileged:?}");
    c.cmd("EPRT |1|10.0.0.1|5000|", 501);

    let relaxed = TestServer::start_with(|config| {
        config.permit_foreign_addresses = true;
        config.permit_privileged_ports = true;
    });
    let mut c = relaxed.login();
    c.cmd("PORT 10,0,0,1,200,10", 200);
    c.cmd("PORT 127,0,0,1,0,80", 200);
}

#[test]
fn epsv_all_locks_out_the_other_setups() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd("EPSV 2", 522);
    c.cmd("EPSV 1", 229);
    c.cmd("EPSV ALL", 200);
    c.cmd("PASV", 503);
    c.cmd("PORT 127,0,0,1,200,10", 503);
    c.cmd("EPRT |1|127.0.0.1|5000|", 503);
    let reply = c.cmd("EPSV", 229);
    let port: u16 = reply
        .text()
        .split("|||")
        .nth(1)
        .and_then(|rest| rest.split('|').next())
        .and_then(|p| p.parse().ok())
        .expect("229 (|||port|)");
    let mut data = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.send("NLST");
    c.expect(125);
    let mut names = String::new();
    data.read_to_string(&mut names).unwrap();
    c.expect(226);
    assert!(names.contains("Folder_Tes"));
}

#[test]
fn a_connection_made_before_the_command_gets_125() {
    let server = TestServer::start();
    let mut c = server.login();
    let _data = c.pasv(); // connected now, before LIST
    c.send("LIST");
    c.expect(125);
    c.expect(226);
}

#[test]
fn ipv6_control_with_epsv_and_eprt() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: this machine has no IPv6 loopback (::1)");
        return;
    }
    let server = TestServer::start_with(|config| config.bind = "::1".parse().unwrap());
    let mut c = server.login();
    c.cmd("PASV", 425);
    c.cmd("EPSV 1", 522);
    let reply = c.cmd("EPSV", 229);
    let port: u16 = reply
        .text()
        .split("|||")
        .nth(1)
        .and_then(|rest| rest.split('|').next())
        .and_then(|p| p.parse().ok())
        .unwrap();
    let mut data = TcpStream::connect(("::1", port)).unwrap();
    c.send("RETR baca_saya.txt");
    c.expect(125);
    let mut text = Vec::new();
    data.read_to_end(&mut text).unwrap();
    c.expect(226);
    assert!(String::from_utf8_lossy(&text).contains("baca_saya"));

    let listener = TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    c.cmd(&format!("EPRT |2|::1|{port}|"), 200);
    c.send("NLST");
    let mut data = accept_with_timeout(&listener);
    c.expect(150);
    let mut names = String::new();
    data.read_to_string(&mut names).unwrap();
    c.expect(226);
    assert!(names.contains("baca_saya.txt"));
}

#[test]
fn mlsd_mlst_and_their_facts() {
    let server = TestServer::start();
    let mut c = server.login();
    let listing = c.list("MLSD");
    let line = listing
        .lines()
        .find(|l| l.ends_with(" baca_saya.txt"))
        .unwrap_or_else(|| panic!("no baca_saya.txt in MLSD: {listing}"));
    let size = std::fs::metadata(server.path("baca_saya.txt"))
        .unwrap()
        .len();
    assert!(
        line.starts_with(&format!("type=file;size={size};modify=")),
        "{line}"
    );
    assert!(line.contains(";perm=rwadf;"), "perm from elradfmw: {line}");
    assert!(listing.contains("type=dir;"), "{listing}");

    let mlst = c.cmd("MLST Folder_Tes", 250);
    assert!(mlst.lines[1].contains("type=dir;") && mlst.lines[1].ends_with(" /Folder_Tes"));
    c.cmd("OPTS MLST size;type;", 200);
    let mlst = c.cmd("MLST baca_saya.txt", 250);
    assert_eq!(
        mlst.lines[1],
        format!(" type=file;size={size}; /baca_saya.txt")
    );
    let feat = c.cmd("FEAT", 211);
    assert!(
        feat.text()
            .contains("MLST type*;size*;modify;perm;unique;unix.mode;")
    );
    c.cmd("MLSD baca_saya.txt", 550);
    c.cmd("MLST nope", 550);

    // A read-only user sees only what it may do.
    let server = TestServer::start_with(|config| {
        config.users = vec![User::from_spec("ro:pw:elr", &config.root).unwrap()];
    });
    let mut c = server.connect();
    c.cmd("USER ro", 331);
    c.cmd("PASS pw", 230);
    let mlst = c.cmd("MLST baca_saya.txt", 250);
    assert!(mlst.lines[1].contains(";perm=r;"), "{mlst:?}");
}

#[test]
fn stat_with_a_path_lists_on_the_control_connection() {
    let server = TestServer::start();
    let mut c = server.login();
    let stat = c.cmd("STAT /", 213);
    assert!(stat.text().contains(" baca_saya.txt"), "{stat:?}");
    assert!(
        stat.lines[1].starts_with(" d") || stat.lines[1].starts_with(" -"),
        "{stat:?}"
    );
    c.cmd("STAT /nope", 550);
}

#[test]
fn mfmt_needs_t_and_sets_the_time() {
    let server = TestServer::start();
    let mut c = server.login();
    let refused = c.cmd("MFMT 20200102030405 baca_saya.txt", 550);
    assert!(refused.text().contains("'T'"), "{refused:?}");

    let server = TestServer::start_with(|config| {
        config.users = vec![User::from_spec("t:pw:elrT", &config.root).unwrap()];
    });
    let mut c = server.connect();
    c.cmd("USER t", 331);
    c.cmd("PASS pw", 230);
    let set = c.cmd("MFMT 20200102030405 baca_saya.txt", 213);
    assert_eq!(set.text(), "Modify=20200102030405; /baca_saya.txt");
    let mdtm = c.cmd("MDTM baca_saya.txt", 213);
    assert_eq!(mdtm.text(), "20200102030405");
    c.cmd("MFMT 2020 baca_saya.txt", 501);
}

#[test]
fn every_verb_help_lists_is_implemented() {
    let server = TestServer::start();
    let mut c = server.login();
    let help = c.cmd("HELP", 214);
    let verbs: Vec<String> = help.lines[1..help.lines.len() - 1]
        .iter()
        .flat_map(|row| row.split_whitespace().map(str::to_string))
        .collect();
    assert!(verbs.len() > 40, "{verbs:?}");
    for verb in &verbs {
        // HELP <verb> knows each one.
        c.cmd(&format!("HELP {verb}"), 214);
    }
    // Sent bare, no listed verb is unknown (500) or unimplemented (502): at worst a 501 for
    // its missing argument, or a sequence/data error.
    for verb in verbs {
        if matches!(
            verb.as_str(),
            "QUIT" | "REIN" | "ABOR" | "STOU" | "LIST" | "NLST" | "MLSD"
        ) {
            continue; // they end the session, or need a data connection (tested elsewhere)
        }
        c.send(&verb);
        let reply = c.read_reply();
        assert!(
            reply.code != 500 && reply.code != 502,
            "{verb} answered {reply:?}"
        );
    }
}

#[test]
fn feat_announces_only_what_works() {
    let server = TestServer::start();
    let mut c = server.login();
    let feat = c.cmd("FEAT", 211);
    let features: Vec<&str> = feat.lines[1..feat.lines.len() - 1]
        .iter()
        .map(|l| l.trim())
        .collect();
    for expected in [
        "EPRT",
        "EPSV",
        "MDTM",
        "MFMT",
        "PASV",
        "REST STREAM",
        "SIZE",
        "TVFS",
        "UTF8",
    ] {
        assert!(
            features.contains(&expected),
            "{expected} missing: {features:?}"
        );
    }
    // Each announced command answers (not 500/502).
    for command in [
        "EPSV",
        "MDTM baca_saya.txt",
        "SIZE baca_saya.txt",
        "OPTS UTF8 ON",
        "MLST",
    ] {
        c.send(command);
        let reply = c.read_reply();
        assert!(reply.code / 100 == 2, "{command}: {reply:?}");
    }
    // Not implemented yet, and so not announced: AUTH (FTPS).
    assert!(!features.iter().any(|f| f.starts_with("AUTH")));
}

#[test]
fn abor_mid_upload_keeps_the_old_file_and_leaves_no_temporary() {
    let server = TestServer::start();
    std::fs::write(server.path("keep.txt"), b"old content").unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = c.pasv();
    c.send("STOR keep.txt");
    let reply = c.read_reply();
    assert!(reply.code == 125 || reply.code == 150, "{reply:?}");
    data.write_all(&vec![b'x'; 1 << 20]).unwrap();
    c.send("ABOR");
    c.expect(426);
    c.expect(226);
    drop(data);
    assert_eq!(
        std::fs::read(server.path("keep.txt")).unwrap(),
        b"old content"
    );
    let leftovers: Vec<String> = std::fs::read_dir(&server.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // And the session goes on.
    c.upload("STOR keep.txt", b"new content");
    assert_eq!(
        std::fs::read(server.path("keep.txt")).unwrap(),
        b"new content"
    );
}
