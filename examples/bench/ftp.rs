//! The client side of the bench, by hand on `std::net`: a control connection that sends a
//! command and reads its (possibly multi-line) reply, and passive data connections.
//!
//! It is written for any FTP server, not only localftp: it takes 120 before 220, 230 right
//! after USER, 125 or 150 before data, and PASV when EPSV is refused. Every socket has read and
//! write timeouts, so a stuck server fails a measure instead of hanging it. A data connection
//! always goes to the control connection's address, never to one a 227 reply names.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// How long one read, write or connect may wait.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest reply line accepted, and the most lines in one multi-line reply.
const MAX_LINE: u64 = 8192;
const MAX_LINES: usize = 1000;

/// A measure fails with a sentence saying what went wrong.
pub type Result<T> = std::result::Result<T, String>;

/// One reply: its code and its last line.
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The last line, without its line end.
    pub text: String,
}

/// A control connection. One socket, one file descriptor: the idle measure holds thousands.
pub struct Control {
    reader: BufReader<TcpStream>,
    /// Cleared when the server answers EPSV with an error: PASV from then on.
    epsv: bool,
}

impl Control {
    /// Connect and read the greeting (a server may send 120 "ready soon" before its 220).
    pub fn connect(address: SocketAddr) -> Result<Control> {
        let stream = TcpStream::connect_timeout(&address, IO_TIMEOUT)
            .map_err(|e| format!("connect to {address}: {e}"))?;
        set_timeouts(&stream)?;
        // Commands are small and each waits for its reply: Nagle's delay would only add latency.
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let mut control = Control {
            reader: BufReader::with_capacity(4096, stream),
            epsv: true,
        };
        for _ in 0..4 {
            let reply = control.reply()?;
            match reply.code {
                220 => return Ok(control),
                120 => continue,
                _ => return Err(format!("greeting: {}", reply.text)),
            }
        }
        Err("greeting: no 220 after 120".into())
    }

    /// Connect and log in: USER, then PASS unless USER alone was enough. Requires a 230.
    pub fn login(address: SocketAddr, user: &str, password: &str) -> Result<Control> {
        let mut control = Control::connect(address)?;
        let reply = control.command(&format!("USER {user}"))?;
        match reply.code {
            230 => return Ok(control),
            331 => {}
            _ => return Err(format!("USER: {}", reply.text)),
        }
        control.expect(&format!("PASS {password}"), &[230])?;
        Ok(control)
    }

    /// The control socket (to shut it down, or to ask its address).
    pub fn socket(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    /// Send one command line.
    pub fn send(&mut self, command: &str) -> Result<()> {
        let mut socket: &TcpStream = self.reader.get_ref();
        socket
            .write_all(format!("{command}\r\n").as_bytes())
            .map_err(|e| format!("sending {}: {e}", shown(command)))
    }

    /// Read one reply. A multi-line reply (`123-…` up to `123 …`) is read whole.
    pub fn reply(&mut self) -> Result<Reply> {
        let first = self.line()?;
        let code = first
            .get(..3)
            .and_then(|digits| digits.parse::<u16>().ok())
            .filter(|code| (100..600).contains(code))
            .ok_or_else(|| format!("not a reply: {first:?}"))?;
        if first.as_bytes().get(3) != Some(&b'-') {
            return Ok(Reply { code, text: first });
        }
        let end = format!("{code} ");
        for _ in 0..MAX_LINES {
            let line = self.line()?;
            if line.starts_with(&end) {
                return Ok(Reply { code, text: line });
            }
        }
        Err(format!(
            "a multi-line {code} reply longer than {MAX_LINES} lines"
        ))
    }

    /// Read one line, at most `MAX_LINE` bytes; the connection closing is an error.
    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        let read = (&mut self.reader)
            .take(MAX_LINE)
            .read_line(&mut line)
            .map_err(|e| format!("reading a reply: {e}"))?;
        if read == 0 {
            return Err("the server closed the control connection".into());
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Send a command and read its reply, whatever the code.
    pub fn command(&mut self, command: &str) -> Result<Reply> {
        self.send(command)?;
        self.reply()
    }

    /// Send a command; its reply must have one of the `wanted` codes.
    pub fn expect(&mut self, command: &str, wanted: &[u16]) -> Result<Reply> {
        let reply = self.command(command)?;
        if wanted.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(format!("{}: {}", shown(command), reply.text))
        }
    }

    /// QUIT, which must get 221, then wait for the server to close the connection (so the
    /// closing side, which keeps TIME_WAIT, is the server's, as in a real session).
    pub fn quit(mut self) -> Result<()> {
        self.expect("QUIT", &[221])?;
        let mut rest = [0u8; 512];
        for _ in 0..64 {
            match self.reader.read(&mut rest) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(format!("waiting for the close after 221: {e}")),
            }
        }
        Err("the server kept talking after 221".into())
    }

    /// Open a passive data connection: EPSV (RFC 2428), or PASV when EPSV is refused.
    pub fn passive(&mut self) -> Result<TcpStream> {
        let mut port = None;
        if self.epsv {
            let reply = self.command("EPSV")?;
            if reply.code == 229 {
                port = Some(epsv_port(&reply.text)?);
            } else {
                self.epsv = false;
            }
        }
        let port = match port {
            Some(port) => port,
            None => pasv_port(&self.expect("PASV", &[227])?.text)?,
        };
        let peer = self
            .socket()
            .peer_addr()
            .map_err(|e| format!("peer: {e}"))?;
        let address = SocketAddr::new(peer.ip(), port);
        let data = TcpStream::connect_timeout(&address, IO_TIMEOUT)
            .map_err(|e| format!("data connection to {address}: {e}"))?;
        set_timeouts(&data)?;
        Ok(data)
    }

    /// Run a command that sends data to us (RETR, LIST): read the data connection to its end,
    /// keeping the bytes in `keep` if given, then the final reply (226 or 250). Returns the
    /// number of bytes that arrived.
    pub fn download(
        &mut self,
        command: &str,
        buffer: &mut [u8],
        keep: Option<&mut Vec<u8>>,
    ) -> Result<u64> {
        let mut data = self.passive()?;
        self.expect(command, &[125, 150])?;
        let total = receive(&mut data, buffer, keep)
            .map_err(|e| format!("{command}: data connection: {e}"))?;
        drop(data);
        let done = self.reply()?;
        if done.code != 226 && done.code != 250 {
            return Err(format!("{command}: {}", done.text));
        }
        Ok(total)
    }

    /// Run a command that takes data from us (STOR): send `size` bytes of `file` (from its
    /// start) the way the server sends files (`sendfile(2)` on Linux, see `localftp::platform`),
    /// close the data connection, and read the final reply (226 or 250).
    ///
    /// `sendfile` keeps the client's own CPU low, so the figure is the server's limit rather
    /// than this client's.
    pub fn upload(&mut self, command: &str, mut file: &File, size: u64) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        let data = self.passive()?;
        self.expect(command, &[125, 150])?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| format!("{command}: {e}"))?;
        let mut sender = localftp::platform::FileSender::new();
        let mut offset = 0u64;
        while offset < size {
            let chunk = (size - offset).min(1 << 30) as usize;
            match sender.send(file, &data, chunk) {
                Ok(0) => return Err(format!("{command}: the file ended at {offset} bytes")),
                Ok(n) => offset += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{command}: data connection: {e}")),
            }
        }
        // The end of the data connection is the end of the file (stream mode, RFC 959 §3.4).
        let _ = data.shutdown(Shutdown::Write);
        drop(data);
        let done = self.reply()?;
        if done.code != 226 && done.code != 250 {
            return Err(format!("{command}: {}", done.text));
        }
        Ok(())
    }
}

/// Read a data connection to its end through `buffer`, keeping the bytes in `keep` if given;
/// the number of bytes that arrived. The download loop of RETR and LIST, and of the
/// `raw-sendfile` reference, which must read exactly as RETR does to be comparable.
pub fn receive(
    data: &mut TcpStream,
    buffer: &mut [u8],
    mut keep: Option<&mut Vec<u8>>,
) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let read = match data.read(buffer) {
            Ok(0) => return Ok(total),
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += read as u64;
        if let Some(keep) = keep.as_deref_mut() {
            keep.extend_from_slice(&buffer[..read]);
        }
    }
}

/// Read and write timeouts on a socket.
pub fn set_timeouts(stream: &TcpStream) -> Result<()> {
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket timeouts: {e}"))
}

/// A command as it may be shown in a message: the password masked.
fn shown(command: &str) -> &str {
    if command.to_ascii_uppercase().starts_with("PASS ") {
        "PASS ****"
    } else {
        command
    }
}

/// The port in `229 Entering Extended Passive Mode (|||PORT|)`.
fn epsv_port(text: &str) -> Result<u16> {
    let inside = text
        .split_once('(')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("EPSV: {text}"))?;
    let delimiter = inside
        .chars()
        .next()
        .ok_or_else(|| format!("EPSV: {text}"))?;
    inside
        .split(delimiter)
        .nth(3)
        .and_then(|port| port.parse().ok())
        .ok_or_else(|| format!("EPSV: {text}"))
}

/// The port in `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`: p1 × 256 + p2.
fn pasv_port(text: &str) -> Result<u16> {
    let inside = text
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(numbers, _)| numbers)
        .ok_or_else(|| format!("PASV: {text}"))?;
    let numbers: Vec<u16> = inside
        .split(',')
        .filter_map(|n| n.trim().parse::<u16>().ok())
        .collect();
    match numbers[..] {
        [_, _, _, _, high, low] if high < 256 && low < 256 => Ok(high * 256 + low),
        _ => Err(format!("PASV: {text}")),
    }
}
