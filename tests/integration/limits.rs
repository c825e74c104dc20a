//! Issue 5: every limit, timeout and refusal, with short values so the tests run fast.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use localftp::server::users::{User, hash_password, parse_users_file};
use localftp::server::{Config, Server};

use crate::support::{Control, TestServer};

#[test]
fn over_the_connection_limit_a_client_gets_421_and_is_closed() {
    let server = TestServer::start_with(|c| c.max_connections = 2);
    let first = server.login();
    let _second = server.connect();
    let mut third = Control::connect(server.addr);
    let refusal = third.expect(421);
    assert!(
        refusal.text().contains("Too many connections"),
        "{refusal:?}"
    );
    assert!(third.is_closed());
    // A place frees when a session ends.
    let mut first = first;
    first.cmd("QUIT", 221);
    assert!(first.is_closed());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = Control::connect(server.addr);
        if again.read_reply().code == 220 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed place was never reused"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn over_the_per_address_limit_a_client_gets_421() {
    let server = TestServer::start_with(|c| c.max_connections_per_ip = 1);
    let _first = server.connect();
    let mut second = Control::connect(server.addr);
    let refusal = second.expect(421);
    assert!(refusal.text().contains("from your address"), "{refusal:?}");
}

#[test]
fn failed_logins_are_slowed_and_limited() {
    let server = TestServer::start_with(|c| {
        c.max_login_attempts = 3;
        c.login_failure_delay = Duration::from_millis(200);
    });
    let mut c = server.connect();
    for attempt in 1..=3 {
        // USER answers 331 whether or not the name exists: no user enumeration.
        c.cmd(
            if attempt == 2 {
                "USER nobody"
            } else {
                "USER user"
            },
            331,
        );
        let sent = Instant::now();
        let reply = c.cmd("PASS wrong", 530);
        assert!(
            sent.elapsed() >= Duration::from_millis(200),
            "no delay on attempt {attempt}"
        );
        if attempt == 3 {
            assert!(reply.text().contains("closing"), "{reply:?}");
        }
    }
    assert!(c.is_closed(), "the session must end after the last attempt");
    // A right password on a new connection still works.
    let mut c = server.connect();
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
}

#[test]
fn user_after_login_is_refused() {
    let server = TestServer::start();
    let mut c = server.login();
    let reply = c.cmd("USER other", 530);
    assert!(reply.text().contains("REIN"), "{reply:?}");
    c.cmd("PWD", 257);
}

#[test]
fn an_idle_control_connection_gets_421() {
    let server = TestServer::start_with(|c| c.timeouts.idle = Duration::from_millis(500));
    let mut c = server.login();
    let started = Instant::now();
    let reply = c.read_reply();
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(reply.text().contains("Idle timeout"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(c.is_closed());
}

#[test]
fn no_data_connection_in_time_is_425() {
    let server = TestServer::start_with(|c| c.timeouts.data_connect = Duration::from_millis(500));
    let mut c = server.login();
    c.cmd("PASV", 227); // ...and never connect
    c.send("RETR baca_saya.txt");
    c.expect(150);
    let reply = c.expect(425);
    assert!(reply.text().contains("within"), "{reply:?}");
    // Active mode to a port nobody listens on: 425 too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    c.cmd(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
    c.send("NLST");
    c.expect(150);
    c.expect(425);
    c.cmd("NOOP", 200);
}

#[test]
fn a_client_that_stops_reading_or_sending_does_not_hold_the_transfer() {
    let server = TestServer::start_with(|c| c.timeouts.data_stall = Duration::from_millis(500));
    std::fs::File::create(server.path("big.bin"))
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let mut c = server.login();
    c.cmd("TYPE I", 200);
    // Download, and never read: the server's writes stall.
    let data = c.pasv();
    c.send("RETR big.bin");
    c.expect(125); // connected before RETR: "already open"
    let reply = c.expect(426);
    assert!(reply.text().contains("transfer aborted"), "{reply:?}");
    drop(data);
    // Upload, send a little, then go quiet without closing.
    let mut data = c.pasv();
    c.send("STOR stalled.bin");
    c.expect(125);
    data.write_all(b"partial").unwrap();
    c.expect(426);
    drop(data);
    assert!(
        !server.path("stalled.bin").exists(),
        "a stalled upload must not be stored"
    );
    let hidden = std::fs::read_dir(&server.root)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(hidden, 0, "temporary file left behind");
    c.cmd("NOOP", 200);
}

#[test]
fn a_data_connection_from_another_address_is_refused() {
    let server = TestServer::start();
    let mut c = server.login();
    let reply = c.cmd("PASV", 227);
    let port = pasv_port(&reply.text());
    // Connect from 127.0.0.2: same machine, but not the control connection's address.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: SocketAddr = "127.0.0.2:0".parse().unwrap();
    socket.bind(&from.into()).unwrap();
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    socket.connect(&to.into()).unwrap();
    c.send("RETR baca_saya.txt");
    let reply = c.expect(425);
    assert!(reply.text().contains("127.0.0.2"), "{reply:?}");
    // The session goes on.
    c.download("RETR baca_saya.txt");

    // With foreign addresses permitted, the same connection is served.
    let server = TestServer::start_with(|c| c.permit_foreign_addresses = true);
    let mut c = server.login();
    let reply = c.cmd("PASV", 227);
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&from.into()).unwrap();
    let to: SocketAddr = format!("127.0.0.1:{}", pasv_port(&reply.text()))
        .parse()
        .unwrap();
    socket.connect(&to.into()).unwrap();
    c.send("RETR baca_saya.txt");
    c.expect(125);
    let mut stream: TcpStream = socket.into();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    c.expect(226);
    assert!(text.contains("baca_saya"));
}

fn pasv_port(text: &str) -> u16 {
    let inside = text.split_once('(').unwrap().1.split_once(')').unwrap().0;
    let n: Vec<u16> = inside
        .split(',')
        .map(|x| x.parse::<u16>().unwrap())
        .collect();
    n[4] * 256 + n[5]
}

#[test]
fn input_limits() {
    let server = TestServer::start();
    let mut c = server.login();
    // A 1 MB line: 500, and the session reads on.
    let mut line = vec![b'X'; 1 << 20];
    line.extend_from_slice(b"\r\n");
    c.send_raw(&line);
    c.expect(500);
    c.send_raw(b"RETR \xff\xfe\xfd\r\n"); // not UTF-8
    c.expect(501);
    c.send_raw(b"CWD a\0b\r\n");
    c.expect(501);
    c.send_raw(b"\xff\xf4\xff\xf2NOOP\r\n"); // Telnet IP, DM
    c.expect(200);
    c.cmd("PWD", 257);
}

#[test]
fn anonymous_reads_but_does_not_write_unless_allowed() {
    let server = TestServer::start_with(|c| {
        let public = c.root.join("public");
        std::fs::create_dir_all(&public).unwrap();
        std::fs::write(public.join("hello.txt"), b"hi").unwrap();
        c.anonymous = Some(User::anonymous("elr".parse().unwrap(), public));
    });
    let mut c = server.connect();
    c.cmd("USER anonymous", 331);
    c.cmd("PASS guest@example.com", 230);
    assert_eq!(c.download("RETR hello.txt"), b"hi");
    c.pasv();
    let refusal = c.cmd("STOR x.txt", 550);
    assert!(refusal.text().contains("'w'"), "{refusal:?}");
    c.cmd("CWD ..", 250);
    let pwd = c.cmd("PWD", 257);
    assert!(
        pwd.text().starts_with("\"/\""),
        "anonymous is jailed in its folder"
    );
    assert!(
        !c.list("NLST").contains("baca_saya.txt"),
        "outside the anonymous folder"
    );

    let server = TestServer::start_with(|c| {
        c.anonymous = Some(User::anonymous("elrw".parse().unwrap(), c.root.clone()));
    });
    let mut c = server.connect();
    c.cmd("USER ftp", 331);
    c.cmd("PASS ", 230);
    c.upload("STOR x.txt", b"anon");
    assert_eq!(std::fs::read(server.path("x.txt")).unwrap(), b"anon");
    // Without --anonymous, the name is an ordinary (unknown) user.
    let plain = TestServer::start();
    let mut c = plain.connect();
    c.cmd("USER anonymous", 331);
    c.cmd("PASS x", 530);
}

#[test]
fn users_from_a_file_log_in_with_hashed_passwords() {
    let hash = hash_password("s3cret").unwrap();
    let server = TestServer::start_with(|c| {
        c.users = parse_users_file(&format!("ann:{hash}:elrw\n"), &c.root).unwrap();
    });
    let mut c = server.connect();
    c.cmd("USER ann", 331);
    c.cmd("PASS wrong", 530);
    c.cmd("USER ann", 331);
    c.cmd("PASS s3cret", 230);
    c.upload("STOR f.txt", b"ok");
}

#[test]
fn graceful_shutdown_lets_a_transfer_finish_and_closes_idle_sessions() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("root");
    let config = Config {
        port: 0,
        root: root.clone(),
        shutdown_grace: Duration::from_secs(10),
        ..Config::default()
    };
    let server = Server::bind(config).unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let runner = std::thread::spawn(move || server.run());
    std::fs::File::create(root.join("big.bin"))
        .unwrap()
        .set_len(16 << 20)
        .unwrap();

    let login = |addr| {
        let mut c = Control::connect(addr);
        c.expect(220);
        c.cmd("USER user", 331);
        c.cmd("PASS 12345", 230);
        c
    };
    let mut idle = login(addr);
    let mut busy = login(addr);
    busy.cmd("TYPE I", 200);
    let mut data = busy.pasv();
    busy.send("RETR big.bin");
    busy.expect(125);

    handle.shutdown();
    // The idle session is told at once.
    let reply = idle.expect(421);
    assert!(reply.text().contains("shutting down"), "{reply:?}");
    assert!(idle.is_closed());
    // New clients are turned away (refused outright once the listener is closed, or 421).
    if let Ok(stream) = TcpStream::connect(addr) {
        let mut late = Control::from_stream(stream);
        if let Some(reply) = late.try_read_reply() {
            assert_eq!(reply.code, 421, "{reply:?}");
        }
    }
    // The transfer finishes whole, then that session too gets 421.
    let mut received = Vec::new();
    data.read_to_end(&mut received).unwrap();
    assert_eq!(received.len(), 16 << 20);
    busy.expect(226);
    busy.expect(421);
    // And run() returns.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !runner.is_finished() {
        assert!(
            Instant::now() < deadline,
            "run() did not return after the shutdown"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_users_file_line_without_a_hash_is_an_error() {
    let err = parse_users_file("ann:12345:elr", std::path::Path::new("/srv"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--hash-password"), "{err}");
}
