//! The seed's flow and every command of issue 2 as raw-socket transcripts: each test reads as
//! the conversation a client has with the server, error replies included.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use localftp::server::jail::UPLOAD_TEMP_PREFIX;
use localftp::server::users::User;
use localftp::server::{Config, SEED_BANNER, Server};

use crate::support::{
    Control, READ_TIMEOUT, TestServer, binary_bytes, listing_names, parse_listing, reset,
    wait_until,
};

#[test]
fn seed_flow() {
    let server = TestServer::start();
    let mut c = server.connect();
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    let pwd = c.cmd("PWD", 257);
    assert!(pwd.text().starts_with("\"/\""), "{pwd:?}");
    let listing = c.list("LIST");
    assert!(listing.contains("baca_saya.txt"), "{listing}");
    assert!(listing.contains("Folder_Tes"), "{listing}");
    c.cmd("TYPE I", 200);
    let text = c.download("RETR baca_saya.txt");
    assert_eq!(text, std::fs::read(server.path("baca_saya.txt")).unwrap());
    c.upload("STOR notes.txt", b"abc\n");
    assert_eq!(std::fs::read(server.path("notes.txt")).unwrap(), b"abc\n");
    c.cmd("CWD Folder_Tes", 250);
    c.cmd("CWD nope", 550);
    c.cmd("QUIT", 221);
}

// --- The seed's defaults ----------------------------------------------------------------------

#[test]
fn seed_defaults() {
    let config = Config::default();
    assert_eq!(config.bind.to_string(), "127.0.0.1");
    assert_eq!(config.port, 2122);
    assert_eq!(config.root, std::path::Path::new("data"));
    assert_eq!(config.banner, "Selamat datang di Local FTP Server");
    assert!(
        config.users.is_empty(),
        "no --user: the seed's user is used"
    );
    assert!(config.sample_content);

    let server = TestServer::start();
    // The root was created with the sample file (not empty) and the empty sample folder.
    let sample = fs::read(server.path("baca_saya.txt")).expect("baca_saya.txt created");
    assert!(!sample.is_empty(), "baca_saya.txt has content");
    assert!(server.path("Folder_Tes").is_dir(), "Folder_Tes created");
    assert_eq!(server.names_on_disk("Folder_Tes"), Vec::<String>::new());

    let mut c = Control::connect(server.addr);
    let greeting = c.expect(220);
    assert_eq!(greeting.lines, vec![SEED_BANNER.to_string()]);
    assert_eq!(
        format!("220 {}", greeting.text()),
        "220 Selamat datang di Local FTP Server"
    );
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    let pwd = c.cmd("PWD", 257);
    assert!(
        pwd.lines[0].starts_with("\"/\""),
        "PWD after login: expected \"/\", got {:?}",
        pwd.lines
    );
    c.cmd_says("SITE PERMS", 200, "Your permissions: elradfmw");
    c.cmd("QUIT", 221);
}

#[test]
fn existing_files_in_the_root_are_never_overwritten() {
    let server = TestServer::start_with(|c| {
        fs::create_dir_all(c.root.join("Folder_Tes")).unwrap();
        fs::write(c.root.join("baca_saya.txt"), "my own notes\n").unwrap();
        fs::write(c.root.join("Folder_Tes/kept.txt"), "kept").unwrap();
    });
    assert_eq!(
        fs::read_to_string(server.path("baca_saya.txt")).unwrap(),
        "my own notes\n"
    );
    assert_eq!(server.names_on_disk("Folder_Tes"), vec!["kept.txt"]);

    // A student edits the file over FTP; a restart of the server on the same root keeps it.
    let mut c = server.login();
    c.upload("STOR baca_saya.txt", b"edited\n");
    let restarted = Server::bind(Config {
        port: 0,
        root: server.root.clone(),
        ..Config::default()
    })
    .expect("a second server on the same root binds");
    drop(restarted);
    assert_eq!(fs::read(server.path("baca_saya.txt")).unwrap(), b"edited\n");
}

// --- Command lines: case, line ends, limits, encoding -----------------------------------------

#[test]
fn verbs_are_case_insensitive() {
    let server = TestServer::start();
    let mut c = server.connect();
    c.cmd("user user", 331);
    c.cmd("PaSs 12345", 230);
    c.cmd_says("pwd", 257, "\"/\"");
    c.cmd("cwd Folder_Tes", 250);
    c.cmd_says("xpwd", 257, "\"/Folder_Tes\"");
    c.cmd("cdup", 250);
    c.cmd("type i", 200);
    c.cmd("Noop", 200);
    c.cmd_says("syst", 215, "UNIX");
    let data = c.download("retr baca_saya.txt");
    assert_eq!(data, fs::read(server.path("baca_saya.txt")).unwrap());
}

#[test]
fn a_bare_lf_ends_a_line_too() {
    let server = TestServer::start();
    let mut c = server.connect();
    c.send_raw(b"USER user\n");
    c.expect(331);
    c.send_raw(b"PASS 12345\n");
    c.expect(230);
    c.send_raw(b"CWD Folder_Tes\n");
    c.expect(250);
    c.send_raw(b"PWD\n");
    let pwd = c.expect(257);
    assert!(pwd.text().starts_with("\"/Folder_Tes\""), "{pwd:?}");
    // Two commands in one write, one ended by LF and one by CRLF.
    c.send_raw(b"NOOP\nCDUP\r\n");
    c.expect(200);
    c.expect(250);
    c.cmd_says("PWD", 257, "\"/\"");
}

#[test]
fn an_overlong_line_is_500_and_the_session_goes_on() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd("CWD Folder_Tes", 250);
    let long = format!("NOOP {}", "x".repeat(2100));
    c.cmd_says(&long, 500, "too long");
    // Far over the limit: still one 500, and the rest of the line is not read as commands.
    let huge = format!("CWD {}", "y".repeat(200_000));
    c.cmd_says(&huge, 500, "too long");
    c.cmd("NOOP", 200);
    // Still logged in, still in the same folder.
    c.cmd_says("PWD", 257, "\"/Folder_Tes\"");
}

#[test]
fn the_line_limit_is_2048_bytes_line_end_included() {
    let server = TestServer::start();
    let mut c = server.login();
    // NOOP ignores its argument, so the padding only makes the line long.
    let line = |total: usize, end: &str| {
        let padding = "x".repeat(total - "NOOP ".len() - end.len());
        format!("NOOP {padding}{end}").into_bytes()
    };
    c.send_raw(&line(2048, "\r\n"));
    c.expect(200);
    c.send_raw(&line(2049, "\r\n"));
    c.expect(500);
    c.send_raw(&line(2048, "\n"));
    c.expect(200);
    c.send_raw(&line(2049, "\n"));
    c.expect(500);
    c.cmd("NOOP", 200);
}

#[test]
fn invalid_utf8_or_nul_is_501() {
    let server = TestServer::start();
    let mut c = server.login();
    c.send_raw(b"CWD \xc3\x28\r\n");
    let reply = c.expect(501);
    assert!(reply.text().contains("UTF-8"), "{reply:?}");
    c.send_raw(b"RETR a\0b\r\n");
    let reply = c.expect(501);
    assert!(reply.text().contains("NUL"), "{reply:?}");
    c.cmd("NOOP", 200);
    c.cmd_says("PWD", 257, "\"/\"");
}

// --- Reply codes for errors -------------------------------------------------------------------

#[test]
fn unknown_verbs_are_500() {
    let server = TestServer::start();
    let mut c = server.connect();
    // Before login too: an unknown verb is a syntax error, not a login problem.
    c.cmd_says("HELLO", 500, "HELLO");
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd_says("FOOBAR some argument", 500, "FOOBAR");
    c.cmd("XYZZY", 500);
    c.cmd("NOOP", 200);
}

#[test]
fn security_commands_without_a_certificate() {
    let server = TestServer::start();
    let mut c = server.connect();
    // TLS negotiation is allowed before login (RFC 4217), so this is 502, not 530: the server
    // knows AUTH but has no certificate to offer.
    c.cmd_says("AUTH TLS", 502, "certificate");
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd_says("AUTH TLS", 502, "certificate");
    // PBSZ and PROT come after AUTH TLS; CCC is refused by policy.
    c.cmd_says("PBSZ 0", 503, "AUTH TLS first");
    c.cmd_says("PROT P", 503, "AUTH TLS first");
    c.cmd_says("CCC", 534, "CCC refused");
    let feat = c.cmd("FEAT", 211);
    assert!(
        !feat.text().contains("AUTH TLS"),
        "no TLS, no AUTH in FEAT: {feat:?}"
    );
    c.cmd("NOOP", 200);
}

#[test]
fn bad_or_missing_arguments_are_501() {
    let server = TestServer::start();
    let mut c = server.connect();
    c.cmd_says("USER", 501, "missing");
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    for line in [
        "CWD", "XCWD", "RETR", "STOR", "APPE", "DELE", "MKD", "XMKD", "RMD", "XRMD", "RNFR",
        "RNTO", "SIZE", "MDTM", "OPTS",
    ] {
        c.cmd_says(line, 501, "missing");
    }
    for line in [
        "PORT",
        "PORT 1,2,3",
        "PORT 127,0,0,1,300,1",
        "PORT a,b,c,d,e,f",
        "PORT 127,0,0,1,4,1,9",
        "EPRT |3|x|1|",
        "TYPE",
        "TYPE X",
        "MODE X",
        "STRU X",
        "REST abc",
        "EPSV x",
        "OPTS NOSUCH",
        "HELP NOSUCH",
        "SITE NOSUCH",
    ] {
        c.cmd(line, 501);
    }
    // A PORT to another host or to a privileged port is refused (RFC 2577 bounce protection).
    c.cmd_says("PORT 10,9,8,7,195,80", 501, "10.9.8.7");
    c.cmd_says("PORT 127,0,0,1,0,21", 501, "1024");
    c.cmd("NOOP", 200);
}

#[test]
fn unsupported_parameters_are_504_and_supported_ones_200() {
    let server = TestServer::start();
    let mut c = server.login();
    for line in [
        "TYPE E",
        "TYPE A T",
        "MODE B",
        "MODE C",
        "STRU R",
        "STRU P",
        "OPTS UTF8 OFF",
    ] {
        c.cmd(line, 504);
    }
    for line in [
        "TYPE A", "TYPE A N", "TYPE I", "TYPE L 8", "MODE S", "STRU F",
    ] {
        c.cmd(line, 200);
    }
}

#[test]
fn commands_before_login_are_530() {
    let server = TestServer::start();
    let mut c = server.connect();
    for line in [
        "PWD",
        "XPWD",
        "CWD Folder_Tes",
        "XCWD Folder_Tes",
        "CDUP",
        "XCUP",
        "PASV",
        "EPSV",
        "PORT 127,0,0,1,195,80",
        "LIST",
        "NLST",
        "RETR baca_saya.txt",
        "STOR x.txt",
        "TYPE I",
        "MODE S",
        "STRU F",
        "MKD made",
        "XMKD made",
        "RMD Folder_Tes",
        "XRMD Folder_Tes",
        "DELE baca_saya.txt",
        "RNFR baca_saya.txt",
        "RNTO x.txt",
        "SIZE baca_saya.txt",
        "MDTM baca_saya.txt",
        "SITE PERMS",
    ] {
        c.cmd_says(line, 530, "log in");
    }
    // What a client may ask before logging in.
    c.cmd("NOOP", 200);
    c.cmd_says("SYST", 215, "UNIX Type: L8");
    c.cmd("FEAT", 211);
    c.cmd("HELP", 214);
    c.cmd_says("STAT", 211, "Not logged in");
    c.cmd("OPTS UTF8 ON", 200);
    // Nothing was done on disk.
    assert!(!server.path("made").exists());
    assert!(server.path("Folder_Tes").is_dir());
    assert!(server.path("baca_saya.txt").is_file());
    assert_eq!(
        server.names_on_disk(""),
        vec!["Folder_Tes", "baca_saya.txt"]
    );
}

#[test]
fn wrong_password_is_530_and_login_can_be_retried() {
    let server = TestServer::start();
    let mut c = server.connect();
    c.cmd("USER user", 331);
    c.cmd_says("PASS wrong", 530, "incorrect");
    c.cmd("PWD", 530);
    // An unknown user also gets 331 then 530: USER does not tell which names exist.
    c.cmd("USER nobody", 331);
    c.cmd("PASS 12345", 530);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd_says("PWD", 257, "\"/\"");
}

#[test]
fn out_of_sequence_commands_are_503() {
    let server = TestServer::start();
    let mut c = server.connect();
    c.cmd_says("PASS 12345", 503, "USER");
    c.cmd("USER user", 331);
    c.cmd("PASS wrong", 530);
    // A failed PASS ends the attempt: the next PASS needs a new USER.
    c.cmd("PASS 12345", 503);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd("PASS 12345", 503);

    c.cmd_says("RNTO anything.txt", 503, "RNFR");
    // RNTO must come right after RNFR: any command in between cancels the rename.
    c.cmd("RNFR baca_saya.txt", 350);
    c.cmd("NOOP", 200);
    c.cmd("RNTO renamed.txt", 503);
    assert!(server.path("baca_saya.txt").exists());
    assert!(!server.path("renamed.txt").exists());
    // A failed RNTO does not leave the rename pending either.
    c.cmd("RNFR baca_saya.txt", 350);
    c.cmd("RNTO no_such_folder/x.txt", 550);
    c.cmd("RNTO renamed.txt", 503);
    assert!(server.path("baca_saya.txt").exists());
}

#[test]
fn missing_files_and_folders_are_550() {
    let server = TestServer::start();
    fs::create_dir(server.path("full")).unwrap();
    fs::write(server.path("full/inside.txt"), "x").unwrap();
    let mut c = server.login();
    c.cmd_says("CWD nope", 550, "nope");
    c.cmd_says("PWD", 257, "\"/\"");
    c.cmd("CWD baca_saya.txt", 550);
    c.cmd("XCWD /nope/deeper", 550);
    c.cmd_says("PWD", 257, "\"/\"");
    for line in [
        "RETR nope.txt",
        "RETR Folder_Tes",
        "STOR Folder_Tes",
        "STOR no_such_folder/x.txt",
        "DELE nope.txt",
        "DELE Folder_Tes",
        "RMD nope",
        "RMD baca_saya.txt",
        "RMD full",
        "RMD /",
        "MKD Folder_Tes",
        "MKD no_such_folder/x",
        "SIZE nope.txt",
        "SIZE Folder_Tes",
        "MDTM nope.txt",
        "RNFR nope.txt",
    ] {
        c.cmd(line, 550);
    }
    // LIST and NLST of a missing path: 550 before any 150.
    c.pasv();
    c.cmd("LIST nope", 550);
    c.pasv();
    c.cmd("NLST nope", 550);
    // Nothing was changed.
    assert_eq!(
        server.names_on_disk(""),
        vec!["Folder_Tes", "baca_saya.txt", "full"]
    );
    assert_eq!(server.names_on_disk("full"), vec!["inside.txt"]);
    c.cmd("NOOP", 200);
}

#[test]
fn a_missing_permission_letter_is_550_naming_the_letter() {
    let server = TestServer::start_with(|c| {
        c.users = vec![
            User::from_spec("ro:pw:elr", &c.root).unwrap(),
            User::from_spec("fetch:pw:r", &c.root).unwrap(),
        ];
    });
    let before = fs::read(server.path("baca_saya.txt")).unwrap();
    let mut c = server.login_as("ro", "pw");
    for (line, letter) in [
        ("STOR new.txt", 'w'),
        ("STOU", 'w'),
        ("APPE baca_saya.txt", 'a'),
        ("DELE baca_saya.txt", 'd'),
        ("RMD Folder_Tes", 'd'),
        ("MKD made", 'm'),
        ("XMKD made", 'm'),
        ("RNFR baca_saya.txt", 'f'),
        ("SITE CHMOD 777 baca_saya.txt", 'M'),
    ] {
        let reply = c.cmd(line, 550);
        assert!(
            reply.text().contains(&format!("'{letter}'")),
            "{line}: expected the 550 to name '{letter}', got {:?}",
            reply.lines
        );
    }
    // What elr allows still works.
    c.cmd("CWD Folder_Tes", 250);
    c.cmd("CDUP", 250);
    assert!(listing_names(&c.list("LIST")).contains(&"baca_saya.txt".to_string()));
    c.cmd("TYPE I", 200);
    assert_eq!(c.download("RETR baca_saya.txt"), before);
    // Nothing changed on disk.
    assert_eq!(fs::read(server.path("baca_saya.txt")).unwrap(), before);
    assert_eq!(
        server.names_on_disk(""),
        vec!["Folder_Tes", "baca_saya.txt"]
    );

    // A user with only 'r' may download but not change folder or list.
    let mut r = server.login_as("fetch", "pw");
    c.cmd("NOOP", 200);
    r.cmd_says("CWD Folder_Tes", 550, "'e'");
    r.cmd_says("CDUP", 550, "'e'");
    r.cmd_says("LIST", 550, "'l'");
    r.cmd_says("NLST", 550, "'l'");
    r.cmd_says("SIZE baca_saya.txt", 550, "'l'");
    r.cmd_says("MDTM baca_saya.txt", 550, "'l'");
    r.cmd("TYPE I", 200);
    assert_eq!(r.download("RETR baca_saya.txt"), before);
}

// --- Folders, files, renames ------------------------------------------------------------------

#[test]
fn cwd_cdup_and_their_x_forms() {
    let server = TestServer::start();
    fs::create_dir(server.path("Folder_Tes/inner")).unwrap();
    let mut c = server.login();
    assert_eq!(c.pwd(), "/");
    c.cmd_says("CWD Folder_Tes", 250, "\"/Folder_Tes\"");
    assert_eq!(c.pwd(), "/Folder_Tes");
    c.cmd("CWD inner", 250);
    assert_eq!(c.pwd(), "/Folder_Tes/inner");
    c.cmd("CDUP", 250);
    assert_eq!(c.pwd(), "/Folder_Tes");
    c.cmd("XCUP", 250);
    assert_eq!(c.pwd(), "/");
    c.cmd("XCWD /Folder_Tes/inner/", 250);
    c.cmd_says("XPWD", 257, "\"/Folder_Tes/inner\"");
    c.cmd("CWD ../..", 250);
    assert_eq!(c.pwd(), "/");
    // CDUP at the top stays at the top.
    c.cmd("CDUP", 250);
    assert_eq!(c.pwd(), "/");
}

#[test]
fn mkd_rmd_dele_change_the_disk() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd_says("MKD made", 257, "\"/made\"");
    assert!(server.path("made").is_dir());
    c.cmd_says("XMKD made/inner", 257, "\"/made/inner\"");
    assert!(server.path("made/inner").is_dir());
    c.cmd("CWD made", 250);
    // A relative MKD is relative to the current folder.
    c.cmd_says("MKD sub", 257, "\"/made/sub\"");
    assert!(server.path("made/sub").is_dir());
    c.cmd("XRMD sub", 250);
    assert!(!server.path("made/sub").exists());
    c.cmd("RMD /made/inner", 250);
    assert!(!server.path("made/inner").exists());
    c.upload("STOR file.txt", b"bye\n");
    assert!(server.path("made/file.txt").is_file());
    c.cmd("DELE file.txt", 250);
    assert!(!server.path("made/file.txt").exists());
    c.cmd("CDUP", 250);
    c.cmd("RMD made", 250);
    assert!(!server.path("made").exists());
    c.cmd("DELE baca_saya.txt", 250);
    assert!(!server.path("baca_saya.txt").exists());
}

#[test]
fn replies_quote_paths_with_doubled_quotes() {
    let server = TestServer::start();
    let mut c = server.login();
    let reply = c.cmd("MKD say \"hi\" there", 257);
    assert!(
        reply.lines[0].starts_with("\"/say \"\"hi\"\" there\""),
        "257 must quote the path and double the quotes inside it; got {:?}",
        reply.lines
    );
    assert!(server.path("say \"hi\" there").is_dir());
    c.cmd("CWD say \"hi\" there", 250);
    let pwd = c.cmd("PWD", 257);
    assert!(
        pwd.lines[0].starts_with("\"/say \"\"hi\"\" there\""),
        "{pwd:?}"
    );
    assert_eq!(c.pwd(), "/say \"hi\" there");
}

#[test]
fn rename_is_350_then_250() {
    let server = TestServer::start();
    let original = fs::read(server.path("baca_saya.txt")).unwrap();
    let mut c = server.login();
    c.cmd_says("RNFR baca_saya.txt", 350, "RNTO");
    c.cmd("RNTO renamed file.txt", 250);
    assert!(!server.path("baca_saya.txt").exists());
    assert_eq!(fs::read(server.path("renamed file.txt")).unwrap(), original);
    // Into a folder, by a relative path.
    c.cmd("RNFR renamed file.txt", 350);
    c.cmd("RNTO Folder_Tes/moved.txt", 250);
    assert_eq!(
        fs::read(server.path("Folder_Tes/moved.txt")).unwrap(),
        original
    );
    // A folder can be renamed too, but not into itself.
    c.cmd("RNFR Folder_Tes", 350);
    c.cmd("RNTO Folder_Tes/inside", 550);
    c.cmd("RNFR Folder_Tes", 350);
    c.cmd("RNTO Renamed_Folder", 250);
    assert!(server.path("Renamed_Folder/moved.txt").is_file());
    assert!(!server.path("Folder_Tes").exists());
}

#[test]
fn size_counts_bytes_in_type_i_and_crlf_in_type_a() {
    let server = TestServer::start();
    fs::write(server.path("lines.txt"), b"a\nbb\nccc\n").unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    c.cmd_says("SIZE lines.txt", 213, "9");
    assert_eq!(c.cmd("SIZE lines.txt", 213).lines, vec!["9"]);
    assert_eq!(c.download("RETR lines.txt").len(), 9);
    c.cmd("TYPE A", 200);
    // TYPE A sends each LF as CRLF: 9 bytes + 3 line ends.
    assert_eq!(c.cmd("SIZE lines.txt", 213).lines, vec!["12"]);
    assert_eq!(c.download("RETR lines.txt").len(), 12);
    // The seed's file too: SIZE in TYPE A is what RETR in TYPE A sends.
    let sent = c.download("RETR baca_saya.txt");
    assert_eq!(
        c.cmd("SIZE baca_saya.txt", 213).lines,
        vec![sent.len().to_string()]
    );
}

#[test]
fn mdtm_is_utc_yyyymmddhhmmss() {
    let server = TestServer::start();
    let set = |name: &str, secs: u64| {
        let file = fs::File::options()
            .write(true)
            .open(server.path(name))
            .unwrap();
        file.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    };
    fs::write(server.path("old.txt"), "old").unwrap();
    set("old.txt", 1_000_000_000);
    set("baca_saya.txt", 1_700_000_000);
    let mut c = server.login();
    assert_eq!(c.cmd("MDTM old.txt", 213).lines, vec!["20010909014640"]);
    assert_eq!(
        c.cmd("MDTM baca_saya.txt", 213).lines,
        vec!["20231114221320"]
    );
    // A file just written: 14 digits, within a minute of now.
    c.upload("STOR fresh.txt", b"new");
    let reply = c.cmd("MDTM fresh.txt", 213);
    let stamp = &reply.lines[0];
    assert!(
        stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()),
        "MDTM format YYYYMMDDHHMMSS, got {stamp:?}"
    );
    let now = SystemTime::now();
    let mtime = fs::metadata(server.path("fresh.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(stamp, &localftp::server::clock::timeval(mtime));
    assert!(now.duration_since(mtime).unwrap_or_default() < Duration::from_secs(60));
}

// --- Transfers --------------------------------------------------------------------------------

#[test]
fn type_a_converts_line_ends_both_ways() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd("TYPE A", 200);
    c.upload("STOR text.txt", b"one\r\ntwo\r\nlone\rcr\r\nlast");
    assert_eq!(
        fs::read(server.path("text.txt")).unwrap(),
        b"one\ntwo\nlone\rcr\nlast",
        "TYPE A upload: CRLF stored as LF, a lone CR kept"
    );
    assert_eq!(
        c.download("RETR text.txt"),
        b"one\r\ntwo\r\nlone\rcr\r\nlast",
        "TYPE A download: LF sent as CRLF"
    );
    c.cmd("TYPE I", 200);
    assert_eq!(c.download("RETR text.txt"), b"one\ntwo\nlone\rcr\nlast");
    // A CR as the very last byte has no LF after it: it is kept.
    c.cmd("TYPE A", 200);
    c.upload("STOR cr.txt", b"x\r\ny\r");
    assert_eq!(fs::read(server.path("cr.txt")).unwrap(), b"x\ny\r");

    // A large text, so that CRLF pairs fall across the server's read boundaries.
    let mut wire = Vec::new();
    let mut disk = Vec::new();
    for i in 0..120_000 {
        let line = format!("line {i}");
        wire.extend_from_slice(line.as_bytes());
        wire.extend_from_slice(b"\r\n");
        disk.extend_from_slice(line.as_bytes());
        disk.push(b'\n');
    }
    c.cmd("TYPE A", 200);
    c.upload("STOR big.txt", &wire);
    assert!(
        fs::read(server.path("big.txt")).unwrap() == disk,
        "large TYPE A upload not stored with LF line ends"
    );
    assert!(
        c.download("RETR big.txt") == wire,
        "large TYPE A download not sent with CRLF line ends"
    );
}

#[test]
fn binary_transfers_are_exact() {
    let server = TestServer::start();
    let bytes = binary_bytes(3 * 1024 * 1024 + 17);
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    c.upload("STOR blob.bin", &bytes);
    let stored = fs::read(server.path("blob.bin")).unwrap();
    assert!(
        stored == bytes,
        "stored {} bytes, sent {}",
        stored.len(),
        bytes.len()
    );
    assert_eq!(
        c.cmd("SIZE blob.bin", 213).lines,
        vec![bytes.len().to_string()]
    );
    let fetched = c.download("RETR blob.bin");
    assert!(
        fetched == bytes,
        "fetched {} bytes, expected {}",
        fetched.len(),
        bytes.len()
    );
    // An empty file both ways.
    c.upload("STOR empty.bin", b"");
    assert_eq!(fs::read(server.path("empty.bin")).unwrap(), b"");
    assert_eq!(c.download("RETR empty.bin"), b"");
    // STOR replaces an existing file whole.
    c.upload("STOR blob.bin", b"short");
    assert_eq!(fs::read(server.path("blob.bin")).unwrap(), b"short");
}

#[test]
fn list_is_in_ls_long_format() {
    let server = TestServer::start();
    fs::write(server.path("Folder_Tes/inner.txt"), "12345").unwrap();
    fs::create_dir(server.path("my folder")).unwrap();
    fs::write(server.path("my folder/a b.txt"), "abc").unwrap();
    let mut c = server.login();

    let listing = c.list("LIST");
    let files = parse_listing(&listing);
    let names: Vec<&str> = files.iter().map(|f| f.name()).collect();
    assert_eq!(names, vec!["Folder_Tes", "baca_saya.txt", "my folder"]);
    for file in &files {
        let meta = fs::metadata(server.path(file.name())).unwrap();
        assert_eq!(file.is_directory(), meta.is_dir(), "{}", file.name());
        if meta.is_file() {
            assert_eq!(file.size() as u64, meta.len(), "{}", file.name());
        }
    }
    for line in listing.lines() {
        assert!(
            line.starts_with('d') || line.starts_with('-'),
            "ls -l line starts with the file type: {line:?}"
        );
    }

    // `LIST -a` and `LIST -la /dir`, the flags clients add.
    assert_eq!(listing_names(&c.list("LIST -a")), names);
    assert_eq!(listing_names(&c.list("LIST -la")), names);
    let inner = parse_listing(&c.list("LIST -la /Folder_Tes"));
    assert_eq!(inner.len(), 1, "{inner:?}");
    assert_eq!(inner[0].name(), "inner.txt");
    assert_eq!(inner[0].size(), 5);
    // A folder whose name holds a space, with and without flags, relative and absolute.
    assert_eq!(listing_names(&c.list("LIST my folder")), vec!["a b.txt"]);
    assert_eq!(
        listing_names(&c.list("LIST -la /my folder")),
        vec!["a b.txt"]
    );
    // LIST of one file gives its one line.
    let one = parse_listing(&c.list("LIST my folder/a b.txt"));
    assert_eq!(one.len(), 1);
    assert_eq!((one[0].name(), one[0].size()), ("a b.txt", 3));
    // From inside a folder, LIST lists that folder.
    c.cmd("CWD Folder_Tes", 250);
    assert_eq!(listing_names(&c.list("LIST")), vec!["inner.txt"]);
    assert_eq!(c.list("LIST /Folder_Tes/.."), listing);
}

#[test]
fn nlst_lists_names_only() {
    let server = TestServer::start();
    fs::create_dir(server.path("my folder")).unwrap();
    fs::write(server.path("my folder/a b.txt"), "abc").unwrap();
    let mut c = server.login();
    assert_eq!(
        c.nlst("NLST"),
        vec!["Folder_Tes", "baca_saya.txt", "my folder"]
    );
    assert_eq!(c.nlst("NLST my folder"), vec!["a b.txt"]);
    assert_eq!(c.nlst("NLST -a /my folder"), vec!["a b.txt"]);
    assert_eq!(c.nlst("NLST Folder_Tes"), Vec::<String>::new());
    let raw = c.list("NLST");
    assert_eq!(raw, "Folder_Tes\r\nbaca_saya.txt\r\nmy folder\r\n");
}

#[test]
fn feat_help_syst_stat_noop_opts() {
    let server = TestServer::start();
    let mut c = server.login();
    let feat = c.cmd("FEAT", 211);
    assert!(feat.lines.len() > 2, "FEAT is multi-line: {feat:?}");
    for feature in ["UTF8", "EPSV", "PASV", "SIZE", "MDTM"] {
        assert!(
            feat.lines.iter().any(|l| l.trim() == feature),
            "FEAT lists {feature}: {feat:?}"
        );
    }
    for line in &feat.lines[1..feat.lines.len() - 1] {
        assert!(
            line.starts_with(' '),
            "FEAT lines start with a space: {line:?}"
        );
    }

    let help = c.cmd("HELP", 214);
    let help_words: Vec<&str> = help
        .lines
        .iter()
        .flat_map(|l| l.split_whitespace())
        .collect();
    for verb in [
        "USER", "PASS", "QUIT", "PWD", "XPWD", "CWD", "XCWD", "CDUP", "XCUP", "PASV", "EPSV",
        "LIST", "NLST", "RETR", "STOR", "TYPE", "MODE", "STRU", "SYST", "NOOP", "FEAT", "OPTS",
        "HELP", "MKD", "XMKD", "RMD", "XRMD", "DELE", "RNFR", "RNTO", "SIZE", "MDTM",
    ] {
        assert!(help_words.contains(&verb), "HELP lists {verb}: {help:?}");
    }
    c.cmd_says("HELP retr", 214, "RETR");
    c.cmd_says("SYST", 215, "UNIX Type: L8");
    let stat = c.cmd("STAT", 211);
    assert!(stat.lines.len() > 2, "STAT is multi-line: {stat:?}");
    assert!(
        stat.text().contains("Logged in as user"),
        "STAT names the user: {stat:?}"
    );
    c.cmd("NOOP", 200);
    c.cmd("OPTS UTF8 ON", 200);
    c.cmd("opts utf8 on", 200);
}

#[test]
fn epsv_announces_a_port_and_the_data_connection_works() {
    let server = TestServer::start();
    let mut c = server.login();
    let reply = c.cmd("EPSV", 229);
    let port = crate::support::epsv_port(&reply.text())
        .unwrap_or_else(|| panic!("229 reply has (|||port|): {reply:?}"));
    assert_ne!(port, 0);
    let data = TcpStream::connect((server.addr.ip(), port)).unwrap();
    data.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let listing = String::from_utf8(c.download_on(data, "LIST")).unwrap();
    assert!(listing_names(&listing).contains(&"baca_saya.txt".to_string()));

    c.cmd("TYPE I", 200);
    let data = c.epsv();
    let bytes = c.download_on(data, "RETR baca_saya.txt");
    assert_eq!(bytes, fs::read(server.path("baca_saya.txt")).unwrap());
    // EPSV 1 names IPv4, which this connection is; EPSV 2 (IPv6) is refused with 522.
    c.cmd("EPSV 1", 229);
    c.cmd("EPSV 2", 522);
}

#[test]
fn active_mode_with_port() {
    let server = TestServer::start();
    let mut c = server.login();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    c.cmd(
        &format!("PORT 127,0,0,1,{},{}", port / 256, port % 256),
        200,
    );
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        sender.send(bytes).unwrap();
    });
    c.send("NLST");
    c.expect_preliminary("NLST");
    let bytes = receiver
        .recv_timeout(READ_TIMEOUT)
        .expect("the server connected to the PORT address");
    c.expect(226);
    assert_eq!(bytes, b"Folder_Tes\r\nbaca_saya.txt\r\n");
}

#[test]
fn a_transfer_without_a_data_connection_is_425() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd_says("RETR baca_saya.txt", 425, "PASV");
    c.cmd("LIST", 425);
    c.cmd("NLST", 425);
    c.cmd("STOR new.txt", 425);
    // The refused upload left nothing behind, not even a temporary file.
    assert_eq!(
        server.names_on_disk(""),
        vec!["Folder_Tes", "baca_saya.txt"]
    );
    c.cmd("NOOP", 200);
    c.cmd("TYPE I", 200);
    assert_eq!(
        c.download("RETR baca_saya.txt"),
        fs::read(server.path("baca_saya.txt")).unwrap()
    );
}

#[test]
fn a_data_connection_that_never_comes_is_425() {
    let server = TestServer::start_with(|c| c.timeouts.data_connect = Duration::from_millis(300));
    let mut c = server.login();
    c.cmd("PASV", 227);
    // Nobody connects to the passive port: the 150 is followed by a 425 once the wait is over.
    c.send("RETR baca_saya.txt");
    c.expect_preliminary("RETR baca_saya.txt");
    let reply = c.expect(425);
    assert!(reply.text().contains("data connection"), "{reply:?}");
    c.cmd("NOOP", 200);
    assert_eq!(c.nlst("NLST"), vec!["Folder_Tes", "baca_saya.txt"]);
}

/// A file far larger than the socket buffers, so a transfer is still running when the test
/// breaks it. Sparse: it costs no disk.
fn plant_big_file(server: &TestServer, name: &str) {
    let file = fs::File::create(server.path(name)).unwrap();
    file.set_len(256 * 1024 * 1024).unwrap();
}

#[test]
fn a_data_connection_reset_mid_download_is_426() {
    let server = TestServer::start();
    plant_big_file(&server, "big.bin");
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = c.pasv();
    c.send("RETR big.bin");
    c.expect_preliminary("RETR big.bin");
    let mut first = [0u8; 4096];
    data.read_exact(&mut first).unwrap();
    reset(data);
    c.expect(426);
    // The session is still usable.
    c.cmd("NOOP", 200);
    assert_eq!(
        c.download("RETR baca_saya.txt"),
        fs::read(server.path("baca_saya.txt")).unwrap()
    );
}

#[test]
fn abor_stops_a_transfer_with_426_then_226() {
    let server = TestServer::start();
    plant_big_file(&server, "big.bin");
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let _data = c.pasv();
    c.send("RETR big.bin");
    c.expect_preliminary("RETR big.bin");
    // The client reads nothing, so the server is stuck writing until ABOR.
    c.send("ABOR");
    c.expect(426);
    c.expect(226);
    c.cmd("NOOP", 200);
    c.cmd_says("PWD", 257, "\"/\"");
}

#[test]
fn an_upload_that_cannot_be_stored_is_451_and_leaves_no_trace() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = c.pasv();
    c.send("STOR target.bin");
    c.expect_preliminary("STOR target.bin");
    data.write_all(b"some bytes").unwrap();
    // While the upload runs, a non-empty folder appears where the file should go: the
    // server cannot put the finished upload in its place.
    fs::create_dir(server.path("target.bin")).unwrap();
    fs::write(server.path("target.bin/occupied.txt"), "x").unwrap();
    drop(data);
    c.expect(451);
    assert_eq!(
        server.names_on_disk(""),
        vec!["Folder_Tes", "baca_saya.txt", "target.bin"],
        "no temporary upload file left behind"
    );
    assert_eq!(server.names_on_disk("target.bin"), vec!["occupied.txt"]);
    c.cmd("NOOP", 200);
    c.upload("STOR other.bin", b"fine");
    assert_eq!(fs::read(server.path("other.bin")).unwrap(), b"fine");
}

// --- Sessions ---------------------------------------------------------------------------------

#[test]
fn quit_is_221_and_closes() {
    let server = TestServer::start();
    let mut c = server.login();
    c.cmd_says("QUIT", 221, "Goodbye");
    assert!(c.is_closed(), "the server closes after 221");
    // Before login as well.
    let mut c = server.connect();
    c.cmd("QUIT", 221);
    assert!(c.is_closed());
}

#[test]
fn an_idle_session_is_closed_with_421() {
    let server = TestServer::start_with(|c| c.timeouts.idle = Duration::from_millis(300));
    let mut c = server.login();
    // Send nothing: the next reply is the server giving up.
    c.expect(421);
    assert!(c.is_closed());
}

#[test]
fn two_sessions_at_once_do_not_interfere() {
    let server = TestServer::start();
    fs::write(server.path("lines.txt"), b"a\nb\n").unwrap();
    let mut a = server.login();
    let mut b = server.login();
    // Current folder, TYPE and a pending rename belong to one session each.
    a.cmd("CWD Folder_Tes", 250);
    assert_eq!(b.pwd(), "/");
    assert_eq!(a.pwd(), "/Folder_Tes");
    a.cmd("TYPE I", 200);
    assert_eq!(a.cmd("SIZE /lines.txt", 213).lines, vec!["4"]);
    assert_eq!(b.cmd("SIZE lines.txt", 213).lines, vec!["6"]);
    a.cmd("RNFR /lines.txt", 350);
    b.cmd("RNTO stolen.txt", 503);
    a.cmd("RNTO /renamed.txt", 250);
    // A data connection set up by one session is not used by the other.
    let _a_data = a.pasv();
    b.cmd("LIST", 425);
    // Both transfer at the same time: a's download waits unread while b's completes.
    b.cmd("TYPE I", 200);
    let mut a_data = a.pasv();
    a.send("RETR /baca_saya.txt");
    a.expect_preliminary("RETR");
    b.upload("STOR from_b.txt", b"b was here");
    assert_eq!(b.download("RETR from_b.txt"), b"b was here");
    let mut a_bytes = Vec::new();
    a_data.read_to_end(&mut a_bytes).unwrap();
    a.expect(226);
    assert_eq!(a_bytes, fs::read(server.path("baca_saya.txt")).unwrap());
    // Each sees the other's files: one disk, two sessions.
    assert!(a.nlst("NLST /").contains(&"from_b.txt".to_string()));
    assert!(b.nlst("NLST").contains(&"renamed.txt".to_string()));
    a.cmd("QUIT", 221);
    b.cmd("NOOP", 200);
}

#[test]
fn a_client_vanishing_mid_upload_does_not_harm_another_session() {
    let server = TestServer::start();
    let mut other = server.login();
    other.cmd("TYPE I", 200);

    let mut gone = server.login();
    gone.cmd("TYPE I", 200);
    let mut data = gone.pasv();
    gone.send("STOR half.bin");
    gone.expect_preliminary("STOR half.bin");
    data.write_all(&binary_bytes(200_000)).unwrap();

    // While that upload hangs half-done, the other session works and sees no partial file.
    assert_eq!(other.nlst("NLST"), vec!["Folder_Tes", "baca_saya.txt"]);
    let sample = fs::read(server.path("baca_saya.txt")).unwrap();
    assert_eq!(other.download("RETR baca_saya.txt"), sample);

    // The client crashes: both of its connections are reset.
    reset(data);
    gone.vanish();

    // The server drops the partial upload: no half.bin, no temporary file.
    wait_until(READ_TIMEOUT, "the partial upload is cleaned up", || {
        fs::read_dir(&server.root).unwrap().all(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name != "half.bin" && !name.starts_with(UPLOAD_TEMP_PREFIX)
        })
    });
    other.upload("STOR after.bin", b"still fine");
    assert_eq!(other.download("RETR after.bin"), b"still fine");
    other.cmd_says("PWD", 257, "\"/\"");
    // And new clients are still served.
    let mut fresh = server.login();
    assert_eq!(
        fresh.nlst("NLST"),
        vec!["Folder_Tes", "after.bin", "baca_saya.txt"]
    );
}
