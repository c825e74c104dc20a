//! Issue 9, the client's part: the guided client with `--tls` against TLS servers started in
//! the test. The seed's flow over FTPS (AUTH TLS, the handshake, PBSZ/PROT, TLS data
//! connections), `--ca` with a certificate made here, a wrong CA, a server without TLS, and
//! `--tls` with no way to trust a certificate.

use std::fs;
use std::path::Path;
use std::process::Output;

use localftp::server::tls::TlsConfig;

use crate::client_cli::{assert_in_order, client, stdout_of};
use crate::support::TestServer;

/// A TLS server with a fresh self-signed certificate; also returns its fingerprint.
fn self_signed_server(require_tls: bool) -> (TestServer, String) {
    let tls = TlsConfig::self_signed().unwrap();
    let fingerprint = tls.fingerprint().to_string();
    let server = TestServer::start_with(move |c| {
        c.tls = Some(tls);
        c.require_tls = require_tls;
    });
    (server, fingerprint)
}

/// A self-signed certificate for `names`, its subject's common name `name`, written as
/// `NAME.pem` and `NAME-key.pem` in `dir`.
fn certificate(dir: &Path, name: &str, names: &[&str]) {
    let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    fs::write(dir.join(format!("{name}-key.pem")), key.serialize_pem()).unwrap();
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Bytes of every value, large enough to take many TLS records.
fn binary_sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

#[test]
fn seed_flow_over_ftps_with_insecure() {
    let (server, fingerprint) = self_signed_server(false);
    let local = tempfile::tempdir().unwrap();
    fs::write(local.path().join("notes.txt"), "catatan\n").unwrap();

    let output = client(&server, local.path())
        .args(["--tls", "--insecure", "--password", "12345"])
        .args([
            "pwd",
            "ls",
            "get baca_saya.txt",
            "put notes.txt",
            "cd Folder_Tes",
        ])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}",
        output.status
    );
    assert!(output.stderr.is_empty(), "{}", stderr_of(&output));

    let shown_fingerprint = format!("SHA-256 fingerprint: {fingerprint}\n");
    assert_in_order(
        &stdout,
        &[
            "S: 220 ",
            "== Stage 1b: TLS on the control connection",
            "C: AUTH TLS\n",
            "S: 234 ",
            "TLS handshake on this same TCP connection",
            "TLS handshake done: TLS 1.",
            ", cipher suite TLS",
            &shown_fingerprint,
            "--insecure: nobody vouched for this certificate",
            "from here on the wire is encrypted",
            "C: USER user\n",
            "S: 331 ",
            "the password goes next, encrypted",
            "C: PASS (hidden)\n",
            "S: 230 ",
            "C: PBSZ 0\n",
            "S: 200 PBSZ=0\n",
            "C: PROT P\n",
            "S: 200 ",
            "data connections will be TLS too",
            "C: PWD\n",
            "S: 257 \"/\"",
            "C: LIST\n",
            "[data] TLS handshake on the data connection",
            "   | -rw-r--r--",
            "the server's TLS close_notify came before its TCP close",
            "S: 226 ",
            "C: RETR baca_saya.txt\n",
            "[data] TLS handshake on the data connection",
            "S: 226 ",
            "saved baca_saya.txt",
            "C: STOR notes.txt\n",
            "[data] TLS handshake on the data connection",
            "[data] 8 bytes sent",
            "a TLS close_notify went before the TCP close",
            "S: 226 ",
            "C: CWD Folder_Tes\n",
            "S: 250 ",
            "C: QUIT\n",
            "S: 221 ",
        ],
    );
    assert!(!stdout.contains("12345"), "the password leaked:\n{stdout}");
    assert_eq!(
        fs::read(local.path().join("baca_saya.txt")).unwrap(),
        fs::read(server.path("baca_saya.txt")).unwrap()
    );
    assert_eq!(fs::read(server.path("notes.txt")).unwrap(), b"catatan\n");
    assert!(!local.path().join("baca_saya.txt.part").exists());
}

#[test]
fn a_server_that_requires_tls_serves_every_data_mode() {
    let (server, _) = self_signed_server(true);
    let local = tempfile::tempdir().unwrap();
    let bytes = binary_sample(700_000);
    fs::write(local.path().join("blob.bin"), &bytes).unwrap();

    let output = client(&server, local.path())
        .args(["--tls", "--insecure", "--password", "12345"])
        .args([
            "put blob.bin",
            "epsv",
            "ls",
            "active",
            "get blob.bin copy.bin",
        ])
        .args(["passive", "get baca_saya.txt"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}",
        output.status
    );
    assert_in_order(
        &stdout,
        &[
            "C: STOR blob.bin\n",
            "[data] 700000 bytes sent",
            "S: 226 ",
            "C: EPSV\n",
            "C: LIST\n",
            "[data] TLS handshake on the data connection",
            "blob.bin",
            "C: PORT ",
            "C: RETR blob.bin\n",
            "[data] open: the server connected from",
            "[data] TLS handshake on the data connection",
            "[data] 700000 bytes received",
            "S: 226 ",
            "C: PASV\n",
            "C: RETR baca_saya.txt\n",
            "S: 226 ",
        ],
    );
    assert!(fs::read(server.path("blob.bin")).unwrap() == bytes);
    assert!(fs::read(local.path().join("copy.bin")).unwrap() == bytes);
    assert_eq!(
        fs::read(local.path().join("baca_saya.txt")).unwrap(),
        fs::read(server.path("baca_saya.txt")).unwrap()
    );
}

#[test]
fn prot_c_sent_raw_makes_the_data_connections_plain_again() {
    let (server, _) = self_signed_server(false);
    let local = tempfile::tempdir().unwrap();
    let output = client(&server, local.path())
        .args(["--tls", "--insecure", "--password", "12345"])
        .args(["raw PROT C", "ls"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}",
        output.status
    );
    let after = &stdout[stdout.find("C: PROT C").expect("PROT C sent")..];
    assert!(after.contains("S: 226 "), "{stdout}");
    assert!(
        !after.contains("[data] TLS handshake"),
        "after PROT C the data connection must be plain:\n{stdout}"
    );
}

#[test]
fn a_trusted_ca_file_verifies_the_certificate_and_the_host_name() {
    let keys = tempfile::tempdir().unwrap();
    certificate(keys.path(), "cert", &["127.0.0.1", "localhost"]);
    let (cert, key) = (
        keys.path().join("cert.pem"),
        keys.path().join("cert-key.pem"),
    );
    let tls = TlsConfig::from_pem_files(&cert, &key).unwrap();
    let server = TestServer::start_with(move |c| c.tls = Some(tls));
    let local = tempfile::tempdir().unwrap();

    // By IP address (checked as one) and by name.
    for host in ["127.0.0.1", "localhost"] {
        let output = client(&server, local.path())
            .args(["--host", host, "--tls", "--ca", cert.to_str().unwrap()])
            .args(["--password", "12345", "pwd", "get baca_saya.txt"])
            .output()
            .unwrap();
        let stdout = stdout_of(&output);
        assert!(
            output.status.success(),
            "{host}: {stdout}{}",
            stderr_of(&output)
        );
        assert_in_order(
            &stdout,
            &[
                "C: AUTH TLS\n",
                "S: 234 ",
                "TLS handshake done",
                "verified: the --ca file vouches for this certificate",
                "C: PASS (hidden)\n",
                "C: PROT P\n",
                "[data] TLS handshake on the data connection",
                "saved baca_saya.txt",
            ],
        );
    }
}

#[test]
fn a_wrong_ca_or_a_wrong_name_is_a_clear_certificate_error() {
    let keys = tempfile::tempdir().unwrap();
    certificate(keys.path(), "cert", &["127.0.0.1", "localhost"]);
    certificate(keys.path(), "other", &["127.0.0.1", "localhost"]);
    certificate(keys.path(), "elsewhere", &["ftp.example.org"]);
    // Same subject name as the server's certificate, another key: an impostor's CA.
    let impostor = keys.path().join("impostor");
    fs::create_dir(&impostor).unwrap();
    certificate(&impostor, "cert", &["127.0.0.1", "localhost"]);
    let (cert, key) = (
        keys.path().join("cert.pem"),
        keys.path().join("cert-key.pem"),
    );
    let tls = TlsConfig::from_pem_files(&cert, &key).unwrap();
    let server = TestServer::start_with(move |c| c.tls = Some(tls));
    let local = tempfile::tempdir().unwrap();

    let cases = [
        (
            "other.pem",
            "in the --ca file (no issuer of that name there)",
        ),
        (
            "impostor/cert.pem",
            "in the --ca file (one there has the issuer's name",
        ),
        ("cert.pem", ""),
    ];
    for (ca, expected) in cases {
        let ca = keys.path().join(ca);
        let output = client(&server, local.path())
            .args(["--tls", "--ca", ca.to_str().unwrap(), "--password", "12345"])
            .arg("pwd")
            .output()
            .unwrap();
        let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
        if expected.is_empty() {
            assert!(output.status.success(), "{stdout}{stderr}");
            continue;
        }
        assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
        assert!(
            stderr.starts_with("error: the TLS handshake failed") && stderr.contains(expected),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !stdout.contains("C: USER"),
            "no login after a failed handshake:\n{stdout}"
        );
    }

    // The certificate is for ftp.example.org: trusted, but not for 127.0.0.1.
    let keys_path = keys.path().to_path_buf();
    let wrong_name = TestServer::start_with(move |c| {
        let (cert, key) = (
            keys_path.join("elsewhere.pem"),
            keys_path.join("elsewhere-key.pem"),
        );
        c.tls = Some(TlsConfig::from_pem_files(&cert, &key).unwrap());
    });
    let ca = keys.path().join("elsewhere.pem");
    let output = client(&wrong_name, local.path())
        .args([
            "--tls",
            "--ca",
            ca.to_str().unwrap(),
            "--password",
            "12345",
            "pwd",
        ])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not for the host name"), "{stderr}");
}

#[test]
fn tls_against_a_server_without_tls_explains_the_502() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let output = client(&server, local.path())
        .args(["--tls", "--insecure", "--password", "12345", "pwd"])
        .output()
        .unwrap();
    let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert_in_order(&stdout, &["C: AUTH TLS\n", "S: 502 "]);
    assert!(
        stderr.starts_with("error: the server does not offer FTPS: it answered AUTH TLS with 502"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    assert!(
        !stdout.contains("C: USER"),
        "never log in in clear text:\n{stdout}"
    );
}

#[test]
fn tls_needs_a_ca_or_insecure() {
    let server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let output = client(&server, local.path())
        .args(["--tls", "--password", "12345", "pwd"])
        .output()
        .unwrap();
    let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.starts_with("error: --tls needs a way to check the server's certificate")
            && stderr.contains("--ca FILE")
            && stderr.contains("--insecure"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "nothing is sent: {stdout}");

    // And the other way round: --insecure alone means nothing.
    let output = client(&server, local.path())
        .args(["--insecure", "--password", "12345", "pwd"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("only matter with --tls"));
}
