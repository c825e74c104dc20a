//! Issue 9: FTPS (RFC 4217) with real clients — curl, lftp, Python's `FTP_TLS` and suppaftp on
//! rustls — plus `--require-tls`, broken handshakes, and the password seen on the wire without
//! TLS and gone with it.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use localftp::server::tls::TlsConfig;
use suppaftp::types::FileType;
use suppaftp::{RustlsConnector, RustlsFtpStream};

use crate::support::{TestServer, have, tool};
use crate::tls_reuse::REUSING_FTP_TLS;

/// A certificate for localhost written as PEM files in the server's scratch folder, and the
/// server using them (this also tests `--tls-cert` / `--tls-key` loading).
struct TlsServer {
    server: TestServer,
    cert_der: Vec<u8>,
}

fn tls_server(require_tls: bool) -> TlsServer {
    let (server, cert_der) = tls_server_with(|c| c.require_tls = require_tls);
    TlsServer { server, cert_der }
}

/// A server with a fresh certificate for localhost, loaded from PEM files in its scratch folder;
/// `change` adjusts the rest of the configuration. Returns the certificate too (DER).
pub fn tls_server_with(
    change: impl FnOnce(&mut localftp::server::Config),
) -> (TestServer, Vec<u8>) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let cert_der = certified.cert.der().to_vec();
    let (cert_pem, key_pem) = (certified.cert.pem(), certified.signing_key.serialize_pem());
    let server = TestServer::start_with(move |c| {
        let dir = c.root.parent().unwrap().to_path_buf();
        fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
        fs::write(dir.join("key.pem"), &key_pem).unwrap();
        c.tls =
            Some(TlsConfig::from_pem_files(&dir.join("cert.pem"), &dir.join("key.pem")).unwrap());
        change(c);
    });
    (server, cert_der)
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

fn run_ok(program: &str, args: &[&str]) -> String {
    String::from_utf8_lossy(&tool(program, args).stdout).into_owned()
}

#[test]
fn curl_over_ftps() {
    if !have("curl") {
        return;
    }
    let t = tls_server(true);
    let base = format!("ftp://user:12345@127.0.0.1:{}", t.server.addr.port());
    let content = random_bytes(300_000);
    fs::write(t.server.path("down.bin"), &content).unwrap();
    let listing = run_ok("curl", &["-sS", "--ssl-reqd", "-k", &format!("{base}/")]);
    assert!(listing.contains("down.bin"), "{listing}");
    let local = t.server.outside().join("down.bin");
    let local_arg = local.to_str().unwrap();
    run_ok(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "-k",
            "-o",
            local_arg,
            &format!("{base}/down.bin"),
        ],
    );
    assert!(fs::read(&local).unwrap() == content);
    run_ok(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "-k",
            "-T",
            local_arg,
            &format!("{base}/up.bin"),
        ],
    );
    assert!(fs::read(t.server.path("up.bin")).unwrap() == content);
}

#[test]
fn lftp_over_ftps() {
    if !have("lftp") {
        return;
    }
    let t = tls_server(true);
    let content = random_bytes(200_000);
    fs::write(t.server.path("down.bin"), &content).unwrap();
    let local_dir = t.server.outside().join("lftp");
    fs::create_dir_all(&local_dir).unwrap();
    fs::write(local_dir.join("up.bin"), &content).unwrap();
    let script = format!(
        "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; \
         set net:max-retries 1; open -u user,12345 -p {} 127.0.0.1; lcd {}; \
         get down.bin -o got.bin; put up.bin; ls; bye",
        t.server.addr.port(),
        local_dir.display()
    );
    let listing = run_ok("lftp", &["-c", &script]);
    assert!(listing.contains("up.bin"), "{listing}");
    assert!(fs::read(local_dir.join("got.bin")).unwrap() == content);
    assert!(fs::read(t.server.path("up.bin")).unwrap() == content);
}

#[test]
fn python_ftp_tls_with_prot_p() {
    if !have("python3") {
        return;
    }
    let t = tls_server(true);
    let content = random_bytes(2_000_000);
    fs::write(t.server.path("down.bin"), &content).unwrap();
    let out_dir = t.server.outside().display().to_string();
    let script = format!(
        r#"
import ftplib, ssl, io, os
{reusing}
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ftp = ReusingFTP_TLS(context=ctx, timeout=10)
ftp.connect("127.0.0.1", {port})
ftp.login("user", "12345")
ftp.prot_p()
lines = []
ftp.retrlines("LIST", lines.append)
assert any(l.endswith(" down.bin") for l in lines), lines
buf = io.BytesIO()
ftp.retrbinary("RETR down.bin", buf.write)
open(os.path.join("{out_dir}", "py.bin"), "wb").write(buf.getvalue())
ftp.storbinary("STOR py_up.bin", io.BytesIO(buf.getvalue()))
print("ok", ftp.size("py_up.bin"))
ftp.quit()
"#,
        port = t.server.addr.port(),
        reusing = REUSING_FTP_TLS,
    );
    let out = run_ok("python3", &["-c", &script]);
    assert!(out.contains("ok 2000000"), "{out}");
    assert!(fs::read(t.server.outside().join("py.bin")).unwrap() == content);
    assert!(fs::read(t.server.path("py_up.bin")).unwrap() == content);
}

#[test]
fn suppaftp_with_rustls() {
    let t = tls_server(true);
    let content = random_bytes(500_000);
    fs::write(t.server.path("down.bin"), &content).unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(t.cert_der.clone().into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let ftp = RustlsFtpStream::connect(t.server.addr).unwrap();
    let mut ftp = ftp
        .into_secure(RustlsConnector::from(Arc::new(config)), "localhost")
        .unwrap();
    ftp.login("user", "12345").unwrap();
    ftp.transfer_type(FileType::Binary).unwrap();
    let names = ftp.list(None).unwrap();
    assert!(names.iter().any(|l| l.ends_with(" down.bin")), "{names:?}");
    let got = ftp.retr_as_buffer("down.bin").unwrap().into_inner();
    assert!(got == content);
    ftp.put_file("up.bin", &mut &content[..]).unwrap();
    assert!(fs::read(t.server.path("up.bin")).unwrap() == content);
    ftp.quit().unwrap();
}

#[test]
fn feat_and_the_security_sequence() {
    let t = tls_server(false);
    let mut c = t.server.connect();
    let feat = c.cmd("FEAT", 211);
    for feature in ["AUTH TLS", "PBSZ", "PROT"] {
        assert!(
            feat.lines.iter().any(|l| l.trim() == feature),
            "{feature} missing: {feat:?}"
        );
    }
    c.cmd("PBSZ 0", 503);
    c.cmd("AUTH KERBEROS", 504);
    // Without --require-tls a clear session works as before.
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.download("RETR baca_saya.txt");
    c.cmd("CCC", 534);
}

#[test]
fn require_tls_refuses_clear_logins_and_clear_data() {
    if !have("python3") {
        return;
    }
    let t = tls_server(true);
    let mut c = t.server.connect();
    let refusal = c.cmd("USER user", 534);
    assert!(refusal.text().contains("AUTH TLS"), "{refusal:?}");
    c.cmd("PASS 12345", 534);
    // With TLS on the control connection but PROT C, transfers are refused with 521.
    let script = format!(
        r#"
import ftplib, ssl
{reusing}
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ftp = ReusingFTP_TLS(context=ctx, timeout=10)
ftp.connect("127.0.0.1", {port})
ftp.login("user", "12345")
ftp.prot_p()  # PBSZ 0 and PROT P (RFC 2228: PROT needs PBSZ first)
ftp.prot_c()
try:
    ftp.retrlines("LIST")
    print("LIST worked")
except ftplib.error_perm as e:
    print("refused", e)
ftp.prot_p()
ftp.retrlines("LIST", lambda line: None)
print("then ok")
ftp.quit()
"#,
        port = t.server.addr.port(),
        reusing = REUSING_FTP_TLS,
    );
    let out = run_ok("python3", &["-c", &script]);
    assert!(out.contains("refused 521"), "{out}");
    assert!(out.contains("then ok"), "{out}");
}

#[test]
fn garbage_handshakes_end_only_their_own_session_or_transfer() {
    if !have("python3") {
        return;
    }
    let t = tls_server(false);
    // Control connection: AUTH TLS, then bytes that are not TLS: that session ends.
    let mut bad = t.server.connect();
    bad.cmd("AUTH TLS", 234);
    bad.send_raw(b"this is not a TLS ClientHello\r\n");
    // The server may send a TLS alert saying why, then closes.
    assert!(
        bad.reads_to_end(),
        "a broken control handshake must end that session"
    );
    // Another session is unaffected.
    let mut good = t.server.login();
    good.download("RETR baca_saya.txt");

    // Data connection under PROT P: garbage instead of a handshake is 425 for that transfer,
    // and the session goes on.
    let script = format!(
        r#"
import ftplib, ssl, socket, re
{reusing}
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ftp = ReusingFTP_TLS(context=ctx, timeout=10)
ftp.connect("127.0.0.1", {port})
ftp.login("user", "12345")
ftp.prot_p()
reply = ftp.sendcmd("PASV")
n = [int(x) for x in re.search(r"\((.*)\)", reply).group(1).split(",")]
raw = socket.create_connection(("127.0.0.1", n[4] * 256 + n[5]))
raw.sendall(b"GARBAGE" * 100)
ftp.putcmd("RETR baca_saya.txt")
first = ftp.getline()
second = ftp.getline()
print("replies", first[:3], second[:3])
raw.close()
lines = []
ftp.retrlines("LIST", lines.append)
print("after", len(lines))
ftp.quit()
"#,
        port = t.server.addr.port(),
        reusing = REUSING_FTP_TLS,
    );
    let out = run_ok("python3", &["-c", &script]);
    assert!(out.contains("replies 125 425"), "{out}");
    assert!(out.contains("after"), "{out}");
}

/// A TCP relay between a client and the server that records what the client sends.
fn recording_relay(server: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    thread::spawn(move || {
        let Ok((mut client, _)) = listener.accept() else {
            return;
        };
        let mut upstream = TcpStream::connect(server).unwrap();
        let mut client_reader = client.try_clone().unwrap();
        let mut upstream_writer = upstream.try_clone().unwrap();
        let to_server = thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = client_reader.read(&mut buffer) {
                if n == 0 || upstream_writer.write_all(&buffer[..n]).is_err() {
                    break;
                }
                record.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
            let _ = upstream_writer.shutdown(std::net::Shutdown::Write);
        });
        let _ = std::io::copy(&mut upstream, &mut client);
        let _ = client.shutdown(std::net::Shutdown::Write);
        let _ = to_server.join();
    });
    (address, seen)
}

#[test]
fn the_password_is_on_the_wire_without_tls_and_gone_with_it() {
    if !have("python3") {
        return;
    }
    let t = tls_server(false);
    for (tls, class) in [(false, "FTP"), (true, "FTP_TLS")] {
        let (relay, seen) = recording_relay(t.server.addr);
        let script = format!(
            r#"
import ftplib, ssl
kw = {{}}
if "{class}" == "FTP_TLS":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    kw["context"] = ctx
ftp = getattr(ftplib, "{class}")(timeout=10, **kw)
ftp.connect("127.0.0.1", {port})
ftp.login("user", "12345")
print(ftp.pwd())
ftp.quit()
"#,
            port = relay.port()
        );
        run_ok("python3", &["-c", &script]);
        thread::sleep(Duration::from_millis(100));
        let seen = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
        if tls {
            assert!(seen.contains("AUTH TLS"), "{seen:?}");
            assert!(
                !seen.contains("12345"),
                "the password crossed the wire in clear text"
            );
            assert!(
                !seen.contains("PASS"),
                "commands after AUTH TLS must be encrypted"
            );
        } else {
            assert!(
                seen.contains("PASS 12345"),
                "without TLS the password is visible: {seen:?}"
            );
        }
    }
}

#[test]
fn a_self_signed_certificate_has_a_fingerprint() {
    let tls = TlsConfig::self_signed().unwrap();
    let fingerprint = tls.fingerprint();
    assert_eq!(fingerprint.len(), 32 * 3 - 1, "{fingerprint}");
    assert!(fingerprint.split(':').all(|b| {
        b.len() == 2
            && b.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    }));
}
