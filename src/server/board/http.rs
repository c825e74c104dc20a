//! The board's HTTP, by hand: a GET over a TCP connection, one request per connection
//! (HTTP/1.1, RFC 9112, with `Connection: close`). It is all the board needs, and written out it
//! can be bounded: at most [`MAX_CLIENTS`] connections are served at once, each on its own
//! thread and for at most [`CLIENT_TIMEOUT`] per read or write. A connection beyond that gets
//! `503` at once. So no number of idle or slow connections can make the server run out of
//! threads, which would end the whole process, FTP sessions included.
//!
//! (An HTTP crate such as tiny_http gives each connection a thread of its own, with no limit
//! and no timeout: 200 idle connections made 200 threads. See the test
//! `board::idle_connections_to_the_board_hold_a_bounded_number_of_threads`.)

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

/// How many connections are served at once.
pub const MAX_CLIENTS: usize = 16;
/// How long one read or write of a client may take.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest request head read (request line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// What the board needs of a request.
#[derive(Debug, Default)]
pub struct Request {
    /// The path, without the query (`/session/3.svg`).
    pub path: String,
    /// The query, without the `?` (`download`).
    pub query: String,
    /// The `Authorization` header's value, if sent.
    pub authorization: Option<String>,
}

/// An answer: a status, headers, and a text body.
pub struct Response {
    /// The status code (`200`, `401`, `404`, …).
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection`.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: String,
}

impl Response {
    /// A response with `status` and `body`.
    pub fn new(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// This response with one more header.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// The bytes on the wire. `HEAD` gets the same head without the body.
    fn to_wire(&self, with_body: bool) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            503 => "Service Unavailable",
            _ => "",
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut wire = head.into_bytes();
        if with_body {
            wire.extend_from_slice(self.body.as_bytes());
        }
        wire
    }
}

/// Accept connections on `listener` for ever, on a thread of its own, answering each request
/// with `answer`.
pub fn serve(
    listener: TcpListener,
    answer: Arc<dyn Fn(&Request) -> Response + Send + Sync>,
) -> io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    thread::Builder::new().name("board".into()).spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else {
                // Out of descriptors, most likely: a pause lets connections end.
                thread::sleep(Duration::from_millis(50));
                continue;
            };
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
                active.fetch_sub(1, Ordering::SeqCst);
                busy(stream);
                continue;
            }
            let (answer, mine) = (Arc::clone(&answer), Arc::clone(&active));
            let spawned = thread::Builder::new()
                .name("board-client".into())
                .spawn(move || {
                    client(stream, answer.as_ref());
                    mine.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                // The stream went with the closure and is closed; the place is free again.
                active.fetch_sub(1, Ordering::SeqCst);
            }
        }
    })?;
    Ok(())
}

/// A connection the board has no room for: `503` at once, without a thread.
fn busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let response =
        Response::new(503, "The board is busy; try again in a moment.\n").with("Retry-After", "1");
    let _ = stream.write_all(&response.to_wire(true));
}

/// Serve one connection: read its request, answer it, close.
fn client(mut stream: TcpStream, answer: &(dyn Fn(&Request) -> Response + Send + Sync)) {
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CLIENT_TIMEOUT));
    let response = match read_head(&mut stream) {
        Ok(head) => match parse(&head) {
            Ok((method, request)) => match method.as_str() {
                "GET" | "HEAD" => (answer(&request), method == "GET"),
                _ => (
                    Response::new(405, "Only GET here.\n").with("Allow", "GET, HEAD"),
                    true,
                ),
            },
            Err(why) => (Response::new(400, format!("{why}\n")), true),
        },
        // Nothing, or too slow, or too long: the connection just closes.
        Err(_) => return,
    };
    let (response, with_body) = response;
    let _ = stream.write_all(&response.to_wire(with_body));
}

/// The request head: everything up to the blank line, at most [`MAX_HEAD`] bytes.
fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer)?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Err(io::ErrorKind::InvalidData.into());
        }
        head.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8(head).map_err(|_| io::ErrorKind::InvalidData.into())
}

/// The method and what the board needs of a request head.
///
/// ```
/// use localftp::server::board::http::parse;
/// let head = "GET /session/3.svg?download HTTP/1.1\r\nHost: x\r\nauthorization: Basic YTpi\r\n\r\n";
/// let (method, request) = parse(head).unwrap();
/// assert_eq!((method.as_str(), request.path.as_str()), ("GET", "/session/3.svg"));
/// assert_eq!(request.query, "download");
/// assert_eq!(request.authorization.as_deref(), Some("Basic YTpi"));
/// assert!(parse("nonsense\r\n\r\n").is_err());
/// ```
pub fn parse(head: &str) -> Result<(String, Request), &'static str> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version)) = (first.next(), first.next(), first.next())
    else {
        return Err("not an HTTP request line");
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Err("not an HTTP/1 request for a path");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let authorization = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("authorization")
            .then(|| value.trim().to_string())
    });
    let request = Request {
        path: path.to_string(),
        query: query.to_string(),
        authorization,
    };
    Ok((method.to_string(), request))
}
