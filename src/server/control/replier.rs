//! The writing half of the control connection: `Replier` sends each reply, plays the reply
//! faults (`--fault`) on the wire, and logs it as the control connection does
//! (`localftp::server::control`).

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use super::SessionTag;
use crate::reply::{Reply, ReplyCode};
use crate::server::faults::{Fault, Faults, WRONG_PASV_ADDRESS};
use crate::server::stream::Stream;
use crate::server::tls::TlsStream;
use crate::server::trace::Trace;

/// The writing half of the control connection, shared by a session and its transfer thread.
#[derive(Clone)]
pub struct Replier {
    inner: Arc<Mutex<Stream>>,
    about: Arc<About>,
}

/// What a replier knows besides its stream: whose session it is, the faults to play, the trace.
struct About {
    tag: SessionTag,
    faults: Faults,
    trace: Option<Arc<Trace>>,
}

impl Replier {
    /// Write to `stream` (a handle on the session's socket).
    pub fn new(
        stream: Stream,
        tag: SessionTag,
        faults: Faults,
        trace: Option<Arc<Trace>>,
    ) -> Replier {
        Replier {
            inner: Arc::new(Mutex::new(stream)),
            about: Arc::new(About { tag, faults, trace }),
        }
    }

    /// The session this writes for.
    pub fn tag(&self) -> &SessionTag {
        &self.about.tag
    }

    /// The faults this server plays (`--fault`).
    pub fn faults(&self) -> &Faults {
        &self.about.faults
    }

    /// The session's explain log and transcript, when on.
    pub fn trace(&self) -> Option<&Trace> {
        self.about.trace.as_deref()
    }

    /// Another handle on the control socket (for looking at it, not for writing replies).
    pub fn socket(&self) -> Option<TcpStream> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .socket()
            .try_clone()
            .ok()
    }

    /// From now on, write through `tls` (after `AUTH TLS`).
    pub fn upgrade(&self, tls: Arc<TlsStream>) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = Stream::Tls(tls);
    }

    /// Send one reply, whole, and log it at debug level.
    pub fn send(&self, reply: &Reply) -> io::Result<()> {
        self.send_explained(reply, None)
    }

    /// Send a reply with its `--explain` line (`why`), both written to the transcript *before*
    /// the reply goes on the wire: a transfer thread's reply may otherwise be answered by the
    /// client's next command before its explanation is written, and the transcript would show
    /// them out of order.
    pub fn send_explained(&self, reply: &Reply, why: Option<&str>) -> io::Result<()> {
        let About { tag, faults, trace } = &*self.about;
        let misdirected;
        let reply = if faults.has(Fault::WrongPasvAddress)
            && reply.code == ReplyCode::EnteringPassiveMode
        {
            Fault::WrongPasvAddress.fired(tag, &format!("227 announces {WRONG_PASV_ADDRESS}"));
            misdirected = announce_elsewhere(reply);
            &misdirected
        } else {
            reply
        };
        let stretched;
        let reply = if faults.has(Fault::Multiline) && reply.lines.len() == 1 {
            Fault::Multiline.fired(tag, &format!("{} sent as a multi-line reply", reply.code));
            stretched = Reply {
                code: reply.code,
                lines: vec![
                    "This reply has more than one line (fault multiline).".to_string(),
                    reply.lines[0].clone(),
                ],
            };
            &stretched
        } else {
            reply
        };
        // With --explain the trace logs it at the default level instead (see `trace.rs`).
        if !trace.as_ref().is_some_and(|trace| trace.explains()) {
            log::debug!(target: "localftp::server::control", "{tag} -> {reply}");
        }
        if let Some(trace) = trace {
            trace.reply(reply);
            if let Some(why) = why {
                trace.why(why);
            }
        }
        let mut wire = reply.to_wire();
        if faults.has(Fault::BareLf) {
            Fault::BareLf.fired(tag, &format!("{} ends in LF, not CRLF", reply.code));
            wire = wire.replace("\r\n", "\n");
        }
        // A poisoned lock means the other thread panicked mid-write; the socket is still
        // usable and the session's panic handler will end the session anyway.
        let mut stream = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if faults.has(Fault::Split) {
            Fault::Split.fired(tag, &format!("{} sent in pieces of 3 bytes", reply.code));
            // TCP_NODELAY is on, so each small write leaves as a segment of its own.
            for piece in wire.as_bytes().chunks(3) {
                stream.write_all(piece)?;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            return Ok(());
        }
        stream.write_all(wire.as_bytes())
    }
}

/// The `wrong-227` fault: the 227 reply with [`WRONG_PASV_ADDRESS`] in place of the four
/// address numbers, the port kept (`(127,0,0,1,195,80)` → `(10,255,255,1,195,80)`).
fn announce_elsewhere(reply: &Reply) -> Reply {
    let text = &reply.lines[0];
    let numbers = text
        .split_once('(')
        .and_then(|(before, rest)| Some((before, rest.split_once(')')?)));
    let Some((before, (inside, after))) = numbers else {
        return reply.clone();
    };
    let port: Vec<&str> = inside.split(',').skip(4).collect();
    let wrong = WRONG_PASV_ADDRESS.octets().map(|n| n.to_string()).join(",");
    Reply {
        code: reply.code,
        lines: vec![format!("{before}({wrong},{}){after}", port.join(","))],
    }
}
