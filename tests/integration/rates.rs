//! Per-session bandwidth limits (`Config::download_rate`, `Config::upload_rate`; the server's
//! `--download-rate` and `--upload-rate`): the rate measured by a real client, and ABOR, STAT
//! and the timeouts while a limit holds a transfer back.
//!
//! The rate tests move about three seconds' worth of bytes and accept ±15%: they check that the
//! limit is kept, they are not benchmarks. They run in parallel with the rest of the suite.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{Control, TestServer, have, run, server_binary, tool};

/// The limit the rate tests use.
const RATE: u64 = 256 * 1024;

/// Three seconds' worth at `RATE`.
const SIZE: usize = 3 * RATE as usize;

/// Bytes that differ at every position, so a reordered or repeated chunk shows.
fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// `bytes` moved in `took` is `RATE` within ±15%.
fn assert_near_rate(what: &str, bytes: usize, took: Duration) {
    let rate = bytes as f64 / took.as_secs_f64();
    let ratio = rate / RATE as f64;
    eprintln!("{what}: {bytes} bytes in {took:?}: {rate:.0} B/s, {ratio:.3} of the limit");
    assert!(
        (0.85..=1.15).contains(&ratio),
        "{what}: {rate:.0} B/s is not within 15% of {RATE} B/s ({bytes} bytes in {took:?})"
    );
}

/// PASV, send `command`, expect 150/125: the data connection.
fn start(c: &mut Control, command: &str) -> TcpStream {
    let data = c.pasv();
    c.send(command);
    let reply = c.read_reply();
    assert!(reply.code == 150 || reply.code == 125, "{reply:?}");
    data
}

/// Download `path` and measure from RETR to the end of the data.
fn timed_download(c: &mut Control, path: &str) -> (Vec<u8>, Duration) {
    let mut data = c.pasv();
    let sent = Instant::now();
    c.send(&format!("RETR {path}"));
    let reply = c.read_reply();
    assert!(reply.code == 150 || reply.code == 125, "{reply:?}");
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).unwrap();
    let took = sent.elapsed();
    c.expect(226);
    (bytes, took)
}

#[test]
fn a_limited_download_keeps_to_the_rate() {
    let server = TestServer::start_with(|config| config.download_rate = Some(RATE));
    let content = patterned(SIZE);
    std::fs::write(server.path("three_seconds.bin"), &content).unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let (bytes, took) = timed_download(&mut c, "three_seconds.bin");
    assert!(bytes == content, "the limited download changed the bytes");
    assert_near_rate("download (sendfile)", bytes.len(), took);
}

#[test]
fn a_limited_upload_keeps_to_the_rate() {
    let server = TestServer::start_with(|config| config.upload_rate = Some(RATE));
    let content = patterned(SIZE);
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = c.pasv();
    // The client may hand all of it to the socket buffers at once; the server reads at the
    // rate, so the time that counts is until its 226.
    let sent = Instant::now();
    c.send("STOR three_seconds.bin");
    let reply = c.read_reply();
    assert!(reply.code == 150 || reply.code == 125, "{reply:?}");
    data.write_all(&content).unwrap();
    drop(data);
    c.expect(226);
    let took = sent.elapsed();
    assert!(std::fs::read(server.path("three_seconds.bin")).unwrap() == content);
    assert_near_rate("upload", SIZE, took);
}

#[test]
fn each_session_has_its_own_limit() {
    let server = TestServer::start_with(|config| config.download_rate = Some(RATE));
    std::fs::write(server.path("binary.bin"), patterned(SIZE)).unwrap();
    // No line ends in it, so TYPE A sends it unchanged: the same bytes, through the
    // read-and-write copy instead of sendfile.
    std::fs::write(server.path("text.txt"), "x".repeat(SIZE)).unwrap();
    let addr = server.addr;
    let other = std::thread::spawn(move || {
        let mut c = Control::connect(addr);
        c.expect(220);
        c.cmd("USER user", 331);
        c.cmd("PASS 12345", 230);
        c.cmd("TYPE A", 200);
        timed_download(&mut c, "text.txt")
    });
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let (bytes, took) = timed_download(&mut c, "binary.bin");
    let (text, text_took) = other.join().unwrap();
    // One limit shared by both would make each take twice as long.
    assert_near_rate("first session (TYPE I)", bytes.len(), took);
    assert_near_rate("second session, at once (TYPE A)", text.len(), text_took);
}

#[test]
fn abor_stops_a_limited_download_promptly() {
    // 100 B/s: the server sends 512 bytes, then sleeps five seconds before the next 512.
    let server = TestServer::start_with(|config| config.download_rate = Some(100));
    std::fs::write(server.path("slow.bin"), patterned(64 * 1024)).unwrap();
    std::fs::write(server.path("small.txt"), b"still works").unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = start(&mut c, "RETR slow.bin");
    let mut first = [0u8; 512];
    data.read_exact(&mut first).unwrap();

    let took = c.abort_transfer();
    assert!(took < Duration::from_secs(1), "ABOR took {took:?}");
    // The session goes on, still limited (11 bytes at 100 B/s).
    assert_eq!(c.download("RETR small.txt"), b"still works");
}

#[test]
fn abor_stops_a_limited_upload_promptly_and_stores_nothing() {
    let server = TestServer::start_with(|config| config.upload_rate = Some(100));
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = start(&mut c, "STOR slow.bin");
    // All of it, and the end: without the limit the upload would be complete by now. With
    // it, the server has read 512 bytes and sleeps five seconds before the next 512.
    data.write_all(&patterned(4096)).unwrap();
    drop(data);
    std::thread::sleep(Duration::from_millis(200));

    let took = c.abort_transfer();
    assert!(took < Duration::from_secs(1), "ABOR took {took:?}");
    assert!(
        !server.path("slow.bin").exists(),
        "an aborted upload was stored"
    );
    crate::integrity::wait_no_temporary(&server.root);
}

/// The byte count in a STAT reply's `N bytes so far`.
fn bytes_so_far(c: &mut Control) -> u64 {
    let status = c.cmd("STAT", 211).text();
    assert!(status.contains("limited to 256 KiB/s"), "{status}");
    let (before, _) = status
        .split_once(" bytes so far")
        .unwrap_or_else(|| panic!("no bytes so far in {status}"));
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn stat_during_a_limited_download_shows_the_bytes_moving() {
    let server = TestServer::start_with(|config| config.download_rate = Some(RATE));
    std::fs::write(server.path("three_seconds.bin"), patterned(SIZE)).unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let mut data = start(&mut c, "RETR three_seconds.bin");
    let mut received = vec![0u8; 64 * 1024];
    data.read_exact(&mut received).unwrap();

    let asked = Instant::now();
    let early = bytes_so_far(&mut c);
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "STAT waited for the transfer"
    );
    let mut more = vec![0u8; 256 * 1024];
    data.read_exact(&mut more).unwrap();
    let later = bytes_so_far(&mut c);
    eprintln!("STAT said {early} bytes, then {later} bytes");
    // Each count is what the client has read by then, give or take the chunk the server has
    // just sent and not yet counted (a tenth of a second's worth); the second is larger.
    let chunk = RATE / 10;
    assert!(early + chunk >= 64 * 1024, "{early}");
    assert!(
        later + chunk >= (64 + 256) * 1024 && later > early,
        "{early} then {later}"
    );
    assert!(later < SIZE as u64, "STAT came after the end: {later}");

    let mut rest = Vec::new();
    data.read_to_end(&mut rest).unwrap();
    assert_eq!(64 * 1024 + more.len() + rest.len(), SIZE);
    c.expect(226);
}

#[test]
fn a_slow_limited_transfer_outlasts_the_stall_and_idle_timeouts() {
    // 384 B/s: 512 bytes every 1.3 s, longer than either timeout, the whole file in 2.7 s.
    let server = TestServer::start_with(|config| {
        config.download_rate = Some(384);
        config.timeouts.data_stall = Duration::from_secs(1);
        config.timeouts.idle = Duration::from_secs(1);
    });
    std::fs::write(server.path("trickle.bin"), patterned(1024)).unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    let (bytes, took) = timed_download(&mut c, "trickle.bin");
    assert_eq!(bytes, patterned(1024));
    assert!(
        took >= Duration::from_secs(2),
        "the limit was not kept: {took:?}"
    );
}

#[test]
fn the_program_takes_rates_with_units_and_refuses_nonsense() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let root = root.to_str().unwrap();
    for (flag, value) in [
        ("--download-rate", "fast"),
        ("--upload-rate", "0"),
        ("--download-rate", "10XB"),
    ] {
        let output = Command::new(server_binary())
            .args(["--port", "0", "--root", root, flag, value])
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag} {value} was accepted");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            lines.len() == 1
                && lines[0].starts_with("error:")
                && lines[0].contains(flag)
                && lines[0].contains(value),
            "{flag} {value}: not a one-line error naming it: {stderr}"
        );
        assert!(
            !std::path::Path::new(root).exists(),
            "{flag} {value} created the root"
        );
    }

    let mut server = run(
        dir.path(),
        &[
            "--port",
            "0",
            "--root",
            root,
            "--download-rate",
            "64KiB",
            "--upload-rate",
            "1MB",
        ],
    );
    server.wait_for_log("each session limited to downloads 64 KiB/s, uploads 1 MB/s");
    std::fs::write(
        dir.path().join("root/one_and_a_half.bin"),
        patterned(96 * 1024),
    )
    .unwrap();
    let mut c = Control::connect(server.addr);
    c.expect(220);
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    c.cmd("TYPE I", 200);
    let (bytes, took) = timed_download(&mut c, "one_and_a_half.bin");
    assert_eq!(bytes.len(), 96 * 1024);
    assert!(
        took >= Duration::from_millis(1300),
        "64KiB was not kept: {took:?}"
    );
    let log = server.wait_for_log("one_and_a_half.bin completed");
    assert!(log.contains("(limited to 64 KiB/s)"), "{log}");
}

#[test]
fn the_limits_hold_under_tls_too() {
    if !have("curl") {
        return;
    }
    // Under PROT P the bytes go through the read-and-write copy and rustls, not sendfile.
    let (server, _) = crate::ftps::tls_server_with(|config| {
        config.require_tls = true;
        config.download_rate = Some(RATE);
        config.upload_rate = Some(RATE);
    });
    let size = SIZE / 2;
    let content = patterned(size);
    std::fs::write(server.path("down.bin"), &content).unwrap();
    let base = format!("ftp://user:12345@127.0.0.1:{}", server.addr.port());
    let local = server.outside().join("down.bin");
    let local = local.to_str().unwrap();
    let least = Duration::from_secs_f64(0.85 * size as f64 / RATE as f64);
    for args in [
        ["-o", local, &format!("{base}/down.bin")],
        ["-T", local, &format!("{base}/up.bin")],
    ] {
        let started = Instant::now();
        tool(
            "curl",
            &[&["-sS", "--ssl-reqd", "-k"][..], &args[..]].concat(),
        );
        let took = started.elapsed();
        eprintln!("curl {} over TLS: {size} bytes in {took:?}", args[0]);
        // The lower bound is the limit; the time also holds two TLS handshakes and a login.
        assert!(took >= least, "curl {}: {took:?}, limit not kept", args[0]);
        // An upper bound only against a transfer that hangs: curl's start, two TLS handshakes
        // and the login run beside the whole suite, so their time varies a lot.
        assert!(took < least * 4, "curl {}: {took:?}", args[0]);
    }
    assert!(std::fs::read(server.path("up.bin")).unwrap() == content);
}
