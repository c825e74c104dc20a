//! Issue 1 (hardening), item 4: under `PROT P` a TLS data connection must resume the control
//! connection's TLS session (vsftpd's `require_ssl_reuse`), so that another program on the
//! client's own address cannot connect to the passive port first and take the file, or feed
//! an upload. An attacker that races to the port is refused with 522; curl, lftp, Python's
//! ftplib (with the `session=` subclass), suppaftp on rustls and the guided client all resume,
//! over TLS 1.2 and TLS 1.3; plain `ftplib.FTP_TLS` does not, and is refused.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::client_cli::{assert_in_order, client, stdout_of};
use crate::support::{READ_TIMEOUT, TestServer, have, tool};

/// A server with a certificate for localhost (PEM files in its scratch folder), requiring TLS
/// for logins and transfers; `change` adjusts the rest. Returns the certificate too.
fn tls_server(change: impl FnOnce(&mut localftp::server::Config)) -> (TestServer, Vec<u8>) {
    crate::ftps::tls_server_with(|c| {
        c.require_tls = true;
        change(c);
    })
}

/// A rustls client setup trusting `cert`, with TLS 1.2 only or the defaults (1.3 first). Each
/// call has its own memory of TLS sessions: what it has not seen, it cannot resume.
fn client_config(cert: &[u8], tls12_only: bool) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.to_vec().into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Lesson 20's subclass of Python's `FTP_TLS` (after `import ftplib`): each data connection
/// resumes the control connection's TLS session, as servers that require reuse expect.
pub const REUSING_FTP_TLS: &str = r#"class ReusingFTP_TLS(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
"#;

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A TLS handshake as the client on `socket`; whether it resumed a session.
fn handshake(config: &Arc<ClientConfig>, mut socket: TcpStream) -> std::io::Result<(Tls, bool)> {
    socket.set_read_timeout(Some(READ_TIMEOUT))?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut connection = ClientConnection::new(Arc::clone(config), name).unwrap();
    while connection.is_handshaking() {
        connection.complete_io(&mut socket)?;
    }
    let resumed = connection.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    Ok((StreamOwned::new(connection, socket), resumed))
}

/// The victim: an FTPS control connection driven by hand, logged in, PBSZ 0 and PROT P sent.
struct Victim {
    control: Tls,
    config: Arc<ClientConfig>,
}

impl Victim {
    fn log_in(server: &TestServer, config: Arc<ClientConfig>) -> Victim {
        let mut socket = TcpStream::connect(server.addr).unwrap();
        socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let mut line = Vec::new();
        for (send, code) in [(None, "220"), (Some("AUTH TLS\r\n"), "234")] {
            if let Some(send) = send {
                socket.write_all(send.as_bytes()).unwrap();
            }
            line.clear();
            let mut byte = [0u8; 1];
            while !line.ends_with(b"\n") {
                socket.read_exact(&mut byte).unwrap();
                line.push(byte[0]);
            }
            assert!(line.starts_with(code.as_bytes()), "{line:?}");
        }
        let (control, _) = handshake(&config, socket).unwrap();
        let mut victim = Victim { control, config };
        for (line, code) in [
            ("USER user", 331),
            ("PASS 12345", 230),
            ("PBSZ 0", 200),
            ("PROT P", 200),
            ("TYPE I", 200),
        ] {
            victim.cmd(line, code);
        }
        victim
    }

    fn send(&mut self, line: &str) {
        self.control
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    /// One reply, code and text (single-line replies are all these tests need).
    fn reply(&mut self) -> (u16, String) {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            self.control.read_exact(&mut byte).expect("read a reply");
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).unwrap();
        (line[..3].parse().unwrap(), line[4..].trim_end().to_string())
    }

    fn cmd(&mut self, line: &str, code: u16) -> String {
        self.send(line);
        let (got, text) = self.reply();
        assert_eq!(got, code, "{line}: {text}");
        text
    }

    /// PASV: the passive port's address.
    fn pasv(&mut self) -> String {
        let text = self.cmd("PASV", 227);
        let inside = &text[text.find('(').unwrap() + 1..text.find(')').unwrap()];
        let n: Vec<u16> = inside
            .split(',')
            .map(|x| x.parse::<u16>().unwrap())
            .collect();
        format!("{}.{}.{}.{}:{}", n[0], n[1], n[2], n[3], n[4] * 256 + n[5])
    }
}

/// Another program on the same machine connects to the victim's passive port before the
/// victim does, runs its own (full) TLS handshake, and reads or writes. Old code accepted it:
/// the attacker got the victim's download and fed the victim's upload. Now the server sees a
/// handshake that resumed nothing, drops the connection, and answers the victim 522; the
/// victim's own connection, which resumes, then works.
#[test]
fn an_attacker_that_reaches_the_passive_port_first_gets_and_gives_nothing() {
    for tls12_only in [false, true] {
        let (server, cert) = tls_server(|_| {});
        let secret = b"the victim's secret file\n".repeat(1000);
        fs::write(server.path("secret.bin"), &secret).unwrap();
        let mut victim = Victim::log_in(&server, client_config(&cert, tls12_only));
        let version = if tls12_only { "TLS 1.2" } else { "TLS 1.3" };

        // A download: the attacker connects first and reads whatever comes.
        let port = victim.pasv();
        let raced = TcpStream::connect(&port).unwrap();
        let attacker_config = client_config(&cert, tls12_only);
        let thief = std::thread::spawn(move || {
            let mut got = Vec::new();
            if let Ok((mut tls, _)) = handshake(&attacker_config, raced) {
                let _ = tls.read_to_end(&mut got);
            }
            got
        });
        victim.send("RETR secret.bin");
        let (first, _) = victim.reply();
        assert!(first == 125 || first == 150, "{version}: {first}");
        let (code, text) = victim.reply();
        let stolen = thief.join().unwrap();
        assert!(
            stolen.is_empty(),
            "{version}: the attacker received {} bytes of the victim's download",
            stolen.len()
        );
        assert_eq!(code, 522, "{version}: the transfer ended {code} {text}");
        assert!(text.contains("session reuse required"), "{text}");

        // An upload: the attacker connects first and sends its own bytes.
        let port = victim.pasv();
        let raced = TcpStream::connect(&port).unwrap();
        let attacker_config = client_config(&cert, tls12_only);
        let forger = std::thread::spawn(move || {
            if let Ok((mut tls, _)) = handshake(&attacker_config, raced) {
                let _ = tls.write_all(b"forged by the attacker");
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        victim.send("STOR target.bin");
        let (first, _) = victim.reply();
        assert!(first == 125 || first == 150, "{version}: {first}");
        let (code, text) = victim.reply();
        forger.join().unwrap();
        assert_eq!(code, 522, "{version}: the upload ended {code} {text}");
        assert!(
            !server.path("target.bin").exists(),
            "{version}: the attacker's bytes were stored"
        );

        // The victim's own data connection resumes its session, and gets the file.
        let port = victim.pasv();
        victim.send("RETR secret.bin");
        let (first, _) = victim.reply();
        assert!(first == 125 || first == 150, "{version}: {first}");
        let config = Arc::clone(&victim.config);
        let (mut data, resumed) = handshake(&config, TcpStream::connect(&port).unwrap()).unwrap();
        assert!(
            resumed,
            "{version}: the victim's data connection did not resume"
        );
        let mut got = Vec::new();
        let _ = data.read_to_end(&mut got);
        assert_eq!(victim.reply().0, 226, "{version}");
        assert!(got == secret, "{version}: the victim's download differs");
    }
}

/// Python's `ftplib.FTP_TLS` wraps each data connection in a new TLS session; with reuse
/// required (the default) its transfers are refused with 522. The three-line subclass of
/// Lesson 20, which passes `session=self.sock.session`, resumes, over TLS 1.2 and 1.3.
#[test]
fn python_ftplib_resumes_with_the_session_subclass_and_is_refused_without() {
    if !have("python3") {
        return;
    }
    let (server, _) = tls_server(|_| {});
    let content = b"python over FTPS\n".repeat(5000);
    fs::write(server.path("down.bin"), &content).unwrap();
    let script = format!(
        r#"
import ftplib, ssl, io
{reusing}
def context(tls12):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx

for tls12 in (False, True):
    ftp = ReusingFTP_TLS(context=context(tls12), timeout=10)
    ftp.connect("127.0.0.1", {port})
    ftp.login("user", "12345")
    ftp.prot_p()
    for _ in range(3):
        lines = []
        ftp.retrlines("LIST", lines.append)
        assert any(l.endswith(" down.bin") for l in lines), lines
        got = io.BytesIO()
        ftp.retrbinary("RETR down.bin", got.write)
        assert got.getvalue() == open({down:?}, "rb").read()
        ftp.storbinary("STOR up.bin", io.BytesIO(got.getvalue()))
    print("resumed", ftp.sock.version())
    ftp.quit()

plain = ftplib.FTP_TLS(context=context(False), timeout=10)
plain.connect("127.0.0.1", {port})
plain.login("user", "12345")
plain.prot_p()
try:
    plain.retrlines("LIST", print)
    print("plain FTP_TLS was served")
except ftplib.error_perm as e:
    print("refused", e)
"#,
        port = server.addr.port(),
        down = server.path("down.bin").display().to_string(),
        reusing = REUSING_FTP_TLS,
    );
    let out = String::from_utf8_lossy(&tool("python3", &["-c", &script]).stdout).into_owned();
    assert!(
        out.contains("resumed TLSv1.3") && out.contains("resumed TLSv1.2"),
        "{out}"
    );
    assert!(out.contains("refused 522"), "{out}");
    assert!(out.contains("session reuse required"), "{out}");
    assert!(fs::read(server.path("up.bin")).unwrap() == content);
}

/// curl resumes the control connection's TLS session on its data connections, over TLS 1.2
/// and 1.3: listing, download and upload all work with reuse required.
#[test]
fn curl_resumes_over_tls_1_2_and_1_3() {
    if !have("curl") {
        return;
    }
    let (server, _) = tls_server(|_| {});
    let content = b"curl over FTPS\n".repeat(20_000);
    fs::write(server.path("down.bin"), &content).unwrap();
    let base = format!("ftp://user:12345@127.0.0.1:{}", server.addr.port());
    let local = server.outside().join("down.bin");
    for max in ["1.2", "1.3"] {
        let curl = |args: &[&str]| {
            let mut all = vec!["-sS", "--ssl-reqd", "-k", "--tls-max", max];
            all.extend_from_slice(args);
            String::from_utf8_lossy(&tool("curl", &all).stdout).into_owned()
        };
        assert!(curl(&[&format!("{base}/")]).contains("down.bin"));
        curl(&["-o", local.to_str().unwrap(), &format!("{base}/down.bin")]);
        assert!(fs::read(&local).unwrap() == content, "TLS {max}");
        curl(&[
            "-T",
            local.to_str().unwrap(),
            &format!("{base}/up-{max}.bin"),
        ]);
        assert!(fs::read(server.path(&format!("up-{max}.bin"))).unwrap() == content);
    }
}

/// lftp (GnuTLS) resumes too, several data connections in one session, over TLS 1.2 and 1.3.
#[test]
fn lftp_resumes_over_tls_1_2_and_1_3() {
    if !have("lftp") {
        return;
    }
    let (server, _) = tls_server(|_| {});
    let content = b"lftp over FTPS\n".repeat(20_000);
    fs::write(server.path("down.bin"), &content).unwrap();
    let local = server.outside().join("lftp");
    fs::create_dir_all(&local).unwrap();
    fs::write(local.join("up.bin"), &content).unwrap();
    for (name, priority) in [("1.3", "NORMAL"), ("1.2", "NORMAL:-VERS-TLS1.3")] {
        let script = format!(
            "set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate no; \
             set ssl:priority {priority}; set net:max-retries 1; \
             open -u user,12345 -p {} 127.0.0.1; lcd {}; ls; get down.bin -o got-{name}.bin; \
             put up.bin -o up-{name}.bin; ls; bye",
            server.addr.port(),
            local.display()
        );
        let out = String::from_utf8_lossy(&tool("lftp", &["-c", &script]).stdout).into_owned();
        assert!(out.contains(&format!("up-{name}.bin")), "TLS {name}: {out}");
        assert!(fs::read(local.join(format!("got-{name}.bin"))).unwrap() == content);
        assert!(fs::read(server.path(&format!("up-{name}.bin"))).unwrap() == content);
    }
}

/// suppaftp on rustls (a client that spends one TLS 1.3 ticket per data connection) resumes on
/// every data connection of a longer session: downloads bring it new tickets.
#[test]
fn suppaftp_on_rustls_resumes_on_every_data_connection() {
    use suppaftp::types::FileType;
    use suppaftp::{RustlsConnector, RustlsFtpStream};
    for tls12_only in [false, true] {
        let (server, cert) = tls_server(|_| {});
        let content = b"suppaftp over FTPS\n".repeat(10_000);
        fs::write(server.path("down.bin"), &content).unwrap();
        let config = client_config(&cert, tls12_only);
        let ftp = RustlsFtpStream::connect(server.addr).unwrap();
        let mut ftp = ftp
            .into_secure(RustlsConnector::from(config), "localhost")
            .unwrap();
        ftp.login("user", "12345").unwrap();
        ftp.transfer_type(FileType::Binary).unwrap();
        for round in 0..6 {
            let names = ftp.nlst(None).unwrap();
            assert!(names.iter().any(|n| n == "down.bin"), "{names:?}");
            let got = ftp.retr_as_buffer("down.bin").unwrap().into_inner();
            assert!(got == content);
            let name = format!("up{round}.bin");
            ftp.put_file(&name, &mut &content[..]).unwrap();
            assert!(fs::read(server.path(&name)).unwrap() == content);
        }
        ftp.quit().unwrap();
    }
}

/// The guided client resumes the control connection's TLS session on each data connection,
/// and says so.
#[test]
fn the_guided_client_resumes_and_says_so() {
    let (server, _) = tls_server(|_| {});
    let local = tempfile::tempdir().unwrap();
    fs::write(local.path().join("notes.txt"), "catatan\n").unwrap();
    let output = client(&server, local.path())
        .args(["--tls", "--insecure", "--password", "12345"])
        .args([
            "ls",
            "get baca_saya.txt",
            "put notes.txt",
            "ls",
            "get notes.txt",
        ])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}");
    let resumed = "resumed the control connection's TLS session";
    assert_eq!(stdout.matches(resumed).count(), 5, "{stdout}");
    assert_in_order(&stdout, &["C: STOR notes.txt\n", resumed, "S: 226 "]);
    assert!(!stdout.contains("S: 522"), "{stdout}");
}

/// A rustls client spends one TLS 1.3 ticket per data connection, and uploads bring none back
/// (see `server::tls`); the guided client used to run out after eight uploads in a row and get
/// 522. Twenty uploads in a row now all resume.
#[test]
fn the_guided_client_resumes_on_twenty_uploads_in_a_row() {
    let (server, _) = tls_server(|_| {});
    let local = tempfile::tempdir().unwrap();
    let mut actions = Vec::new();
    for i in 0..20 {
        fs::write(
            local.path().join(format!("up{i}.txt")),
            format!("upload {i}\n"),
        )
        .unwrap();
        actions.push(format!("put up{i}.txt"));
    }
    let output = client(&server, local.path())
        .args(["--tls", "--insecure", "--password", "12345"])
        .args(&actions)
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(!stdout.contains("S: 522"), "{stdout}");
    assert!(output.status.success(), "{stdout}");
    let resumed = "resumed the control connection's TLS session";
    assert_eq!(stdout.matches(resumed).count(), 20, "{stdout}");
    for i in 0..20 {
        assert_eq!(
            fs::read(server.path(&format!("up{i}.txt"))).unwrap(),
            format!("upload {i}\n").as_bytes()
        );
    }
}

/// `--no-require-tls-reuse`: data connections that do not resume are served, for clients that
/// cannot resume (here plain `ftplib.FTP_TLS`).
#[test]
fn reuse_can_be_turned_off_for_clients_that_cannot_resume() {
    if !have("python3") {
        return;
    }
    let (server, _) = tls_server(|c| c.require_tls_reuse = false);
    let script = format!(
        r#"
import ftplib, ssl
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=ctx, timeout=10)
ftp.connect("127.0.0.1", {port})
ftp.login("user", "12345")
ftp.prot_p()
print(ftp.nlst())
"#,
        port = server.addr.port()
    );
    let out = String::from_utf8_lossy(&tool("python3", &["-c", &script]).stdout).into_owned();
    assert!(out.contains("baca_saya.txt"), "{out}");
}
