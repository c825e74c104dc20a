//! Transfers: RETR, STOR, APPE, LIST and NLST moving bytes over the data connection
//! (RFC 959 §3.4 stream mode, §4.1.3 the service commands, §5.4 the 1xx/2xx sequence).
//!
//! Every transfer follows the same sequence of replies:
//!
//! ```text
//! C: RETR baca_saya.txt
//! S: 150 Opening data connection for /baca_saya.txt (123 bytes).   <- or 125 if already open
//!    ... the bytes flow on the data connection, which then closes ...
//! S: 226 Transfer complete: 123 bytes in 0.001 s.
//! ```
//!
//! The session checks everything it can *before* the transfer (the file exists, the letter is
//! granted, the path is inside the jail) and answers 550 at once if not. What remains, making
//! the data connection and moving the bytes, runs here on a helper thread of the session, so
//! that the session thread keeps reading the control connection: that is how `ABOR`, `STAT` and
//! `NOOP` are answered while data flows. The helper sends the 1xx and the final reply itself.
//!
//! `ABOR` sets [`TransferControl::abort`] and shuts the data socket down; the copy loop fails
//! at once, the helper answers `426`, and the session then answers `226` for the ABOR itself.
//!
//! Uploads with STOR write to a hidden temporary file in the target's folder and rename it over
//! the target only when the last byte has arrived (see `copy.rs`): a broken upload never
//! destroys the old file and is never seen half-written. APPE and STOR after REST write in
//! place (that is what they mean), so a broken one leaves a partly extended file.
//!
//! Under `--download-rate` or `--upload-rate` the data connection is paced (`throttle.rs`);
//! each transfer keeps the rate on its own, and a session runs one transfer at a time, so the
//! limit is per session.

use std::io;
use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::command::TransferType;
use super::control::Replier;
use super::copy::{Source, receive, send};
use super::data::{DataError, DataPlan};
use super::instruments::TransferWatch;
use super::registry::Registry;
use super::stream::Stream;
use super::throttle::{Paced, Throttle, format_rate};
use super::tls::TlsConfig;
use super::upload::Upload;
use crate::reply::{Reply, ReplyCode};

/// Stack size of a transfer thread. The copy loops keep their buffers on the heap, so the
/// stack holds only a few frames; 256 KiB is ample and is address space, not memory, until
/// touched.
const TRANSFER_STACK: usize = 256 * 1024;

/// One transfer, fully checked and ready to run.
pub struct Job {
    /// The command, for the log (`RETR`, `STOR`, …).
    pub verb: &'static str,
    /// The virtual path, for the replies and the log.
    pub path: String,
    /// Which way the bytes go.
    pub direction: Direction,
    /// A size to announce in the 150 reply, when known.
    pub size: Option<u64>,
    /// Text for the 1xx reply instead of the usual one (STOU's `FILE: name`, RFC 1123 §4.1.2.9).
    pub preliminary: Option<String>,
    /// For `--explain`: why the command got this far (its RFC section, the letter checked, the
    /// jail's decision), said with the 1xx reply.
    pub context: Option<String>,
}

/// Which way a transfer's bytes go.
pub enum Direction {
    /// Server to client.
    Send(Source),
    /// Client to server.
    Receive(Upload),
}

/// What the session keeps about the data side of its transfer.
#[derive(Default, Debug)]
pub struct TransferControl {
    /// Set by ABOR.
    pub abort: AtomicBool,
    /// A handle on the data socket once it is open, so ABOR can shut it down.
    socket: Mutex<Option<TcpStream>>,
    /// Bytes moved so far, for STAT. Counted under a limit only, where the bytes go chunk by
    /// chunk anyway (an unlimited download may be a single `sendfile` call, with no moment in
    /// between to count).
    pub moved: AtomicU64,
}

impl super::registry::Abort for TransferControl {
    /// Stop the transfer: the copy loop's next read or write fails at once.
    fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
        if let Some(socket) = self.socket.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// Settings a transfer needs from its session.
pub struct Settings {
    /// TYPE A or TYPE I.
    pub transfer_type: TransferType,
    /// The control connection's client address, which passive connections must come from;
    /// `None` when foreign addresses are permitted.
    pub peer: Option<IpAddr>,
    /// How long to wait for the data connection.
    pub connect_timeout: Duration,
    /// How long a data connection may stall (no byte moving) before the transfer fails.
    pub stall_timeout: Duration,
    /// A handle on the control connection, to see whether the client is still there before an
    /// upload is made visible.
    pub control: Option<TcpStream>,
    /// The server's sessions: once a shutdown has begun, the server itself has closed the
    /// reading side of every control connection, so a hang-up can no longer be seen there.
    pub registry: Arc<super::registry::Registry>,
    /// Under `PROT P`, the TLS setup for the data connection (RFC 4217 §9).
    pub tls: Option<TlsConfig>,
    /// Force an upload's bytes onto the disk before it replaces the target (`Config::fsync`).
    pub fsync: bool,
    /// The session's limit for this transfer's direction, in bytes per second
    /// (`Config::download_rate` or `Config::upload_rate`); `None`: as fast as it goes.
    pub rate: Option<u64>,
    /// `--lab`: replies and transcripts the same in every run.
    pub lab: bool,
}

/// A transfer running on its helper thread.
pub struct Running {
    thread: JoinHandle<()>,
    /// Shared with the helper thread.
    pub control: Arc<TransferControl>,
    /// What is being transferred, for STAT.
    pub what: String,
    /// When it started.
    pub started: Instant,
    /// Its limit in bytes per second, if any (see `Settings::rate`).
    pub rate: Option<u64>,
}

impl Running {
    /// Whether the helper thread has sent its final reply and ended.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Wait for the helper thread to end (it has then sent its final reply).
    pub fn wait(self) {
        if self.thread.join().is_err() {
            log::error!("a transfer thread panicked; its session goes on");
        }
    }
}

/// Start `job` on a helper thread that makes the data connection, sends the 1xx reply, moves
/// the bytes and sends the final reply.
pub fn start(
    job: Job,
    plan: DataPlan,
    settings: Settings,
    replier: Replier,
) -> io::Result<Running> {
    let control = Arc::new(TransferControl::default());
    let what = format!("{} {}", job.verb, job.path);
    let rate = settings.rate;
    let shared = Arc::clone(&control);
    let ticket = Registry::take_thread(&settings.registry).ok_or_else(|| {
        io::Error::other("the server is running as many threads as this machine allows")
    })?;
    let thread = thread::Builder::new()
        .name(format!("transfer-{}", replier.tag().id))
        .stack_size(TRANSFER_STACK)
        .spawn(move || {
            let _ticket = ticket;
            run(job, plan, settings, &replier, &shared)
        })?;
    Ok(Running {
        thread,
        control,
        what,
        started: Instant::now(),
        rate,
    })
}

/// The helper thread's whole life: RFC 959 §5.4's sequence. The instruments (`--explain`,
/// `--transcript`, `--lab`, `--fault`) are told each step through `watch` and act there.
fn run(
    mut job: Job,
    plan: DataPlan,
    settings: Settings,
    replier: &Replier,
    control: &TransferControl,
) {
    let started = Instant::now();
    let tag = replier.tag().clone();
    let watch = TransferWatch::new(&tag, replier.trace(), replier.faults(), settings.lab);
    // 1. The 1xx reply: 125 if the data connection is already open, else 150 *before* opening
    //    it (a client may wait for the 150 before it connects).
    let early = plan.already_open(settings.peer);
    let already_open = matches!(early, Ok(Some(_)));
    if early.is_ok() {
        let text = preliminary_text(&job, &settings, already_open);
        let code = watch.preliminary_code(already_open);
        let about = (job.verb, job.path.as_str(), job.context.as_deref());
        let why = watch.why_preliminary(about, code, already_open);
        if replier
            .send_explained(&Reply::new(code, text), why.as_deref())
            .is_err()
        {
            return;
        }
    }
    // 2. The data connection (425 if it cannot be made, 426 if ABOR came first).
    let opened = match early {
        Ok(Some(stream)) => Ok(stream),
        Ok(None) => plan.open(settings.peer, settings.connect_timeout, &control.abort),
        Err(error) => Err(error),
    };
    let stream = match opened {
        Ok(stream) => stream,
        Err(error) => {
            if let DataError::ForeignPeer(peer) = &error {
                log::warn!("{tag} {} refused a data connection from {peer}", job.verb);
            }
            let code = if matches!(error, DataError::Aborted) {
                ReplyCode::TransferAborted
            } else {
                ReplyCode::CantOpenDataConnection
            };
            let reply = Reply::new(code, format!("Can't open data connection: {error}."));
            let _ = replier.send(&reply);
            return;
        }
    };
    watch.opened(&stream);
    // A stalled client (it stopped reading or sending) must not hold this thread forever.
    let _ = stream.set_read_timeout(Some(crate::platform::read_slice(settings.stall_timeout)));
    let _ = stream.set_write_timeout(Some(settings.stall_timeout));
    if let Ok(handle) = stream.try_clone() {
        *control.socket.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
    }
    // ABOR may have come while we waited for the connection, before the handle was stored.
    if control.abort.load(Ordering::SeqCst) {
        let _ = stream.shutdown(Shutdown::Both);
    }
    // PROT P: the data connection is TLS too, the server acting as the TLS server whichever
    // side opened the TCP connection (RFC 4217 §9). A failed handshake fails this transfer
    // only; the session goes on.
    let stream = match &settings.tls {
        None => Stream::Plain(Arc::new(stream)),
        Some(tls) => match tls.accept_data(
            stream,
            settings.connect_timeout,
            matches!(job.direction, Direction::Send(_)),
        ) {
            Ok(tls) => {
                watch.secured();
                Stream::Tls(Arc::new(tls))
            }
            Err(error) => {
                log::warn!(
                    "{tag} {} TLS handshake on the data connection failed: {error}",
                    job.verb
                );
                let _ = replier.send(&super::tls::data_refusal(&error));
                return;
            }
        },
    };
    // 3. The bytes, paced under a limit (whose clock starts now, with the first byte).
    let limit = match &mut job.direction {
        Direction::Send(source) => watch.send_limit(job.verb, source),
        Direction::Receive(_) => None,
    };
    let receiving = matches!(job.direction, Direction::Receive(_));
    let stream = Paced {
        inner: stream,
        throttle: settings
            .rate
            .map(|rate| Throttle::new(rate, &control.abort, &control.moved)),
    };
    let result = match job.direction {
        Direction::Send(source) => send(source, stream, settings.transfer_type, limit),
        Direction::Receive(upload) => receive(
            upload,
            stream,
            settings.transfer_type,
            &control.abort,
            settings.stall_timeout,
            &|grace| client_hangs_up(&settings, grace),
            settings.fsync,
        ),
    };
    watch.moved(&result, receiving);
    // 4. The final reply: 226, or why not.
    let seconds = started.elapsed().as_secs_f64();
    let limited = settings
        .rate
        .map(|rate| format!(" (limited to {})", format_rate(rate)))
        .unwrap_or_default();
    let reply = match result {
        Ok(bytes) => {
            log::info!(
                "{tag} {} {} completed: {bytes} bytes in {seconds:.3} s{limited}",
                job.verb,
                job.path
            );
            watch.complete(bytes, seconds)
        }
        Err(failure) => {
            let aborted = control.abort.load(Ordering::SeqCst);
            // ABOR is the client's own choice; anything else (a stall, a broken connection,
            // a full disk) is worth a warning.
            let level = if aborted {
                log::Level::Info
            } else {
                log::Level::Warn
            };
            log::log!(
                level,
                "{tag} {} {} failed after {seconds:.3} s: {}",
                job.verb,
                job.path,
                if aborted {
                    "aborted by ABOR".to_string()
                } else {
                    failure.to_string()
                }
            );
            failure.reply(aborted)
        }
    };
    let why = watch.why_final(job.verb, &job.path, &reply);
    let _ = replier.send_explained(&reply, why.as_deref());
}

/// Whether the client closes its control connection within `grace`: a sign that a finished
/// upload is really a killed client's. During a shutdown the server has closed the reading side
/// itself, which looks the same, so nothing can be told and the upload counts.
fn client_hangs_up(settings: &Settings, grace: Duration) -> bool {
    match &settings.control {
        Some(control) if !settings.registry.is_shutting_down() => {
            super::copy::hangs_up_within(control, grace)
        }
        _ => false,
    }
}

/// The text of the 1xx reply: what is sent, in which mode, and its size when known.
fn preliminary_text(job: &Job, settings: &Settings, already_open: bool) -> String {
    if let Some(text) = &job.preliminary {
        return text.clone();
    }
    let opening = if already_open {
        "Data connection already open"
    } else {
        "Opening data connection"
    };
    let mode = match settings.transfer_type {
        TransferType::Ascii => "ASCII",
        TransferType::Image => "BINARY",
    };
    match job.size {
        Some(size) => format!("{opening} in {mode} mode for {} ({size} bytes).", job.path),
        None => format!("{opening} in {mode} mode for {}.", job.path),
    }
}
