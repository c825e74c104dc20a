//! Test helpers: a server on port 0 in a temporary root, and a raw control connection that
//! reads like a transcript (`send`, `expect`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use localftp::server::{Config, Server, Timeouts};

/// How long any read may block before the test fails instead of hanging.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server with its own temporary root (removed when the test ends).
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The root folder it serves (the seed user's home).
    pub root: PathBuf,
    /// The scratch folder holding `root`; things planted *outside* the root go here.
    pub scratch: tempfile::TempDir,
}

impl TestServer {
    /// The seed's server (user/12345, elradfmw, sample content) on 127.0.0.1, port 0.
    pub fn start() -> TestServer {
        TestServer::start_with(|_| {})
    }

    /// Like `start`, after `change` has adjusted the configuration. `config.root` is already
    /// the temporary root when `change` runs.
    pub fn start_with(change: impl FnOnce(&mut Config)) -> TestServer {
        let scratch = tempfile::tempdir().expect("temp dir");
        let root = scratch.path().join("root");
        let mut config = Config {
            port: 0,
            root: root.clone(),
            timeouts: Timeouts::default(),
            ..Config::default()
        };
        change(&mut config);
        let server = Server::bind(config).expect("server binds");
        let addr = server.spawn();
        TestServer {
            addr,
            root: root.canonicalize().expect("root exists"),
            scratch,
        }
    }

    /// A new control connection, greeting read and checked.
    pub fn connect(&self) -> Control {
        let mut control = Control::connect(self.addr);
        control.expect(220);
        control
    }

    /// A control connection that is logged in as the seed's user.
    pub fn login(&self) -> Control {
        let mut control = self.connect();
        control.cmd("USER user", 331);
        control.cmd("PASS 12345", 230);
        control
    }

    /// A path inside the root.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The scratch folder that holds the root: outside the jail.
    pub fn outside(&self) -> &Path {
        self.scratch.path()
    }
}

/// One reply: its code and every line of its text, as received.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// All lines joined, for `contains` checks.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A control connection driven line by line.
pub struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Control {
    pub fn connect(addr: SocketAddr) -> Control {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Control {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// Send one command line (CRLF is added).
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// Send bytes exactly as given.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to the server");
    }

    /// Read one whole reply (all lines of a multi-line reply).
    pub fn read_reply(&mut self) -> Reply {
        let first = self.read_line();
        let code: u16 = first
            .get(..3)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not a reply line: {first:?}"));
        let mut lines = vec![first[4.min(first.len())..].to_string()];
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let line = self.read_line();
                if line.starts_with(&end) || line == code.to_string() {
                    lines.push(line[4.min(line.len())..].to_string());
                    break;
                }
                lines.push(line);
            }
        }
        Reply { code, lines }
    }

    /// Read a reply and check its code; shows the whole reply on mismatch.
    pub fn expect(&mut self, code: u16) -> Reply {
        let reply = self.read_reply();
        assert_eq!(
            reply.code, code,
            "expected {code}, got {} {:?}",
            reply.code, reply.lines
        );
        reply
    }

    /// Send a command and expect a reply code.
    pub fn cmd(&mut self, line: &str, code: u16) -> Reply {
        self.send(line);
        self.expect(code)
    }

    /// PASV, then connect to the announced port: the data connection.
    pub fn pasv(&mut self) -> TcpStream {
        let reply = self.cmd("PASV", 227);
        let text = reply.text();
        let inside = text
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(numbers, _)| numbers)
            .expect("227 reply has (h1,h2,h3,h4,p1,p2)");
        let n: Vec<u16> = inside
            .split(',')
            .map(|x| x.trim().parse().unwrap())
            .collect();
        let addr = format!("{}.{}.{}.{}:{}", n[0], n[1], n[2], n[3], n[4] * 256 + n[5]);
        let data = TcpStream::connect(addr).expect("connect to the passive port");
        data.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        data
    }

    /// PASV, send `command`, expect 150/125, read the whole data connection, expect 226.
    pub fn download(&mut self, command: &str) -> Vec<u8> {
        let mut data = self.pasv();
        self.send(command);
        let preliminary = self.read_reply();
        assert!(
            preliminary.code == 150 || preliminary.code == 125,
            "{command}: expected 150/125, got {preliminary:?}"
        );
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)
            .expect("read the data connection");
        self.expect(226);
        bytes
    }

    /// PASV, send `command`, expect 150/125, write `bytes` and close, expect 226.
    pub fn upload(&mut self, command: &str, bytes: &[u8]) {
        let mut data = self.pasv();
        self.send(command);
        let preliminary = self.read_reply();
        assert!(
            preliminary.code == 150 || preliminary.code == 125,
            "{command}: expected 150/125, got {preliminary:?}"
        );
        data.write_all(bytes).expect("write the data connection");
        drop(data);
        self.expect(226);
    }

    /// The listing LIST gives, as text.
    pub fn list(&mut self, command: &str) -> String {
        String::from_utf8(self.download(command)).expect("listing is UTF-8")
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .expect("read a reply line (timed out?)");
        assert!(n > 0, "the server closed the control connection");
        assert!(
            line.ends_with("\r\n"),
            "reply line not ended by CRLF: {line:?}"
        );
        line.truncate(line.len() - 2);
        line
    }

    /// Whether the server has closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}
