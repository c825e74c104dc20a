//! Moving the bytes of a transfer (RFC 959 §3.4.1, stream mode: the end of the data connection
//! is the end of the file), once `transfer.rs` has the data connection open.
//!
//! - **Downloads** in binary mode over plain TCP go with `sendfile(2)`: the kernel moves the file
//!   from the page cache to the socket without copying it through this process. Under TLS, and
//!   in TYPE A, the bytes must pass through here (to be encrypted, or to have each LF sent as
//!   CRLF, RFC 959 §3.1.1.1).
//! - **Uploads** are read in 256 KiB blocks (TYPE A turns each CRLF back into LF), and a STOR is
//!   made visible only when the last byte has arrived, ABOR has not come, the client is still
//!   there, and (by default) the bytes are on the disk: then the temporary file is renamed over
//!   the target, atomically. Any failure removes the temporary file and leaves the old one whole.
//!   So that the final `fsync` does not start from a whole upload still in memory, the disk is
//!   asked to start writing every 8 MiB as they arrive (write-behind, `WRITE_BEHIND_STEP`).
//! - **Under a limit** (`--download-rate`, `--upload-rate`) the data connection comes wrapped in
//!   a [`Paced`] with a throttle, and every loop here goes one chunk at a time (see
//!   `throttle.rs`). Without a limit nothing changes: `Paced` passes each call straight through.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::command::TransferType;
use super::stream::Stream;
use super::throttle::{Paced, Throttle};
use super::upload::{Finish, Upload};
use crate::platform::{FileSender, peer_has_hung_up, start_writeback};
use crate::reply::{Reply, ReplyCode};

/// What to send to the client.
pub enum Source {
    /// A file, from its current position (REST has seeked it already).
    File(File),
    /// A listing (LIST, NLST, MLSD), produced as it is read.
    Listing(Box<dyn io::Read + Send>),
}

impl Source {
    /// How many bytes are left to send. A listing is produced as it is sent, so its size is
    /// known only by producing it: this reads it into memory (only the early-close fault asks).
    pub(super) fn measure(&mut self) -> Option<u64> {
        match self {
            Source::Listing(lines) => {
                let mut bytes = Vec::new();
                lines.read_to_end(&mut bytes).ok()?;
                let len = bytes.len() as u64;
                *lines = Box::new(io::Cursor::new(bytes));
                Some(len)
            }
            other => other.len(),
        }
    }

    /// How many bytes are left to send, when it can be known cheaply.
    fn len(&self) -> Option<u64> {
        match self {
            Source::File(file) => {
                let size = file.metadata().ok()?.len();
                let mut file = file;
                Some(size.saturating_sub(file.stream_position().ok()?))
            }
            Source::Listing(_) => None,
        }
    }
}

/// The buffer for uploads and for TYPE A conversion. Large reads mean fewer system calls on a
/// fast loopback; 256 KiB lives only as long as the transfer.
const COPY_BUFFER: usize = 256 * 1024;

/// Why a transfer stopped early.
pub(super) enum Failure {
    /// The data connection broke, stalled, or was shut down by ABOR.
    Network(io::Error),
    /// Reading or writing the file on the server failed.
    Disk(io::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Network(e) => write!(f, "data connection: {e}"),
            Failure::Disk(e) => write!(f, "disk: {e}"),
        }
    }
}

impl Failure {
    /// The reply that says what went wrong.
    pub(super) fn reply(&self, aborted: bool) -> Reply {
        match self {
            _ if aborted => Reply::new(ReplyCode::TransferAborted, "Transfer aborted by ABOR."),
            Failure::Network(e) => Reply::new(
                ReplyCode::TransferAborted,
                format!("Data connection closed; transfer aborted ({e})."),
            ),
            Failure::Disk(e) if e.kind() == io::ErrorKind::StorageFull => Reply::new(
                ReplyCode::InsufficientStorage,
                "Disk full: the upload was not stored.",
            ),
            Failure::Disk(e) if e.kind() == io::ErrorKind::QuotaExceeded => Reply::new(
                ReplyCode::ExceededStorage,
                "Disk quota exceeded: the upload was not stored.",
            ),
            Failure::Disk(e) => Reply::new(
                ReplyCode::LocalError,
                format!("Local error while transferring: {e}."),
            ),
        }
    }
}

/// Send a file or a listing. In binary mode over plain TCP a file goes with `sendfile(2)` (see
/// [`send_file`]); under TLS the bytes must be encrypted here, so they are read and written.
/// `limit` (the early-close fault) stops a listing or a binary plain-TCP download early.
pub(super) fn send(
    source: Source,
    mut stream: Paced<'_, Stream>,
    transfer_type: TransferType,
    limit: Option<u64>,
) -> Result<u64, Failure> {
    let sent = match (source, transfer_type, &stream.inner) {
        (Source::Listing(lines), _, _) => {
            send_copy(&mut lines.take(limit.unwrap_or(u64::MAX)), &mut stream)
        }
        (Source::File(file), TransferType::Image, Stream::Plain(socket)) => {
            send_file(&file, socket, limit, stream.throttle.as_mut())
        }
        (Source::File(mut file), TransferType::Image, Stream::Tls(_)) => {
            send_copy(&mut file, &mut stream)
        }
        (Source::File(mut file), TransferType::Ascii, _) => send_ascii(&mut file, &mut stream),
    }?;
    finish_sending(stream.inner)?;
    Ok(sent)
}

/// Send a file in binary mode with `sendfile(2)`: the kernel moves the bytes from the page
/// cache to the socket, never copying them into this process. A `read` + `write` loop would
/// copy every byte twice more and make two system calls per buffer; this is how vsftpd and
/// pyftpdlib send files too. The sender keeps the socket's queue short, 32 KiB per call (see
/// `FileSender::for_download`: it is what put RETR ahead of pyftpdlib's).
///
/// Under a limit each call asks for one chunk only, and the throttle then waits its turn.
fn send_file(
    file: &File,
    stream: &TcpStream,
    limit: Option<u64>,
    mut throttle: Option<&mut Throttle<'_>>,
) -> Result<u64, Failure> {
    /// The most one call asks for, without a limit; the sender hands the kernel at most its
    /// own chunk (32 KiB on Linux), and the kernel says how much it moved.
    const CHUNK: u64 = 1 << 30;
    let most = throttle
        .as_ref()
        .map_or(CHUNK, |throttle| throttle.chunk() as u64);
    let mut sender = FileSender::for_download(stream);
    let mut sent = 0u64;
    loop {
        let ask = limit.map_or(most, |limit| limit.saturating_sub(sent).min(most));
        if ask == 0 {
            return Ok(sent);
        }
        match sender.send(file, stream, ask as usize) {
            Ok(0) => return Ok(sent),
            Ok(n) => {
                sent += n as u64;
                if let Some(throttle) = throttle.as_mut() {
                    throttle.pace(n).map_err(Failure::Network)?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The socket's write timeout (the stall timeout) shows up as EAGAIN.
            Err(error) => {
                // sendfile does not say which side failed; a failing disk is rare, a client
                // that went away is common, so the connection is blamed unless the file's own
                // metadata cannot be read any more.
                return Err(match file.metadata() {
                    Ok(_) => Failure::Network(error),
                    Err(_) => Failure::Disk(error),
                });
            }
        }
    }
}

/// A file sent by reading and writing it, for TLS data connections (and listings).
fn send_copy(file: &mut impl Read, stream: &mut impl Write) -> Result<u64, Failure> {
    let mut buffer = vec![0u8; COPY_BUFFER / 2];
    let mut sent = 0u64;
    loop {
        let n = read_retrying(file, &mut buffer).map_err(Failure::Disk)?;
        if n == 0 {
            return Ok(sent);
        }
        stream.write_all(&buffer[..n]).map_err(Failure::Network)?;
        sent += n as u64;
    }
}

/// TYPE A on the way out: each LF becomes CRLF (RFC 959 §3.1.1.1, NVT-ASCII line ends).
/// Every LF is converted, even one already after a CR, so that TYPE A upload (which turns each
/// CRLF back into LF) restores the exact original bytes.
fn send_ascii(file: &mut File, stream: &mut impl Write) -> Result<u64, Failure> {
    let mut input = vec![0u8; COPY_BUFFER / 2];
    let mut output = Vec::with_capacity(COPY_BUFFER);
    let mut sent = 0u64;
    loop {
        let n = read_retrying(file, &mut input).map_err(Failure::Disk)?;
        if n == 0 {
            return Ok(sent);
        }
        output.clear();
        for &byte in &input[..n] {
            if byte == b'\n' {
                output.push(b'\r');
            }
            output.push(byte);
        }
        stream.write_all(&output).map_err(Failure::Network)?;
        sent += output.len() as u64;
    }
}

/// Close our side, so the client sees the end of the file (in stream mode, the end of the
/// connection *is* the end of the file: RFC 959 §3.4.1; under TLS a close_notify comes first).
fn finish_sending(stream: Stream) -> Result<(), Failure> {
    stream.close().map_err(Failure::Network)
}

/// Receive an upload into `upload.file`; then make it visible, unless ABOR came.
pub(super) fn receive(
    upload: Upload,
    mut stream: Paced<'_, Stream>,
    transfer_type: TransferType,
    abort: &AtomicBool,
    stall: Duration,
    hangs_up: &dyn Fn(Duration) -> bool,
    fsync: bool,
) -> Result<u64, Failure> {
    let Upload { mut file, finish } = upload;
    // Under a limit each read inside takes at most a chunk, and the throttle then waits.
    let mut watched = Watched {
        stream: &mut stream,
        abort,
        stall,
    };
    // Write-behind: only a durable upload into a new temporary file gains from it.
    let write_behind = fsync && matches!(finish, Finish::Rename(_));
    let copied = match transfer_type {
        TransferType::Image => receive_binary(&mut watched, &mut file, write_behind),
        TransferType::Ascii => receive_ascii(&mut watched, &mut file),
    };
    // Our side says goodbye too: under TLS a client (Python's `unwrap`, for one) waits for
    // the server's close_notify after its own; over plain TCP this is a plain half-close.
    let _ = stream.inner.close();
    let result = copied.and_then(|bytes| {
        // ABOR shuts the socket down, and a read after that sees a clean end of stream, which
        // looks just like a finished upload. The flag tells them apart: an aborted upload is
        // never made visible.
        if abort.load(Ordering::SeqCst) {
            return Err(Failure::Network(io::Error::other("aborted")));
        }
        // On the disk before it replaces anything: a disk that fills up or a quota reached
        // only at write-back (NFS, XFS) shows here, while the old file is still whole, and a
        // power cut after the rename cannot leave an empty file under the name.
        if fsync && matches!(finish, Finish::Rename(_)) {
            file.sync_data().map_err(Failure::Disk)?;
        }
        // In stream mode the end of the data connection *is* the end of the file (RFC 959
        // §3.4.1), so a client killed mid-upload looks like one that finished. The difference:
        // a killed client's control connection is closed too. An upload counts only if the
        // client is still there.
        // Waiting costs every such upload the grace time before its 226, so only an upload
        // that would replace an existing file waits: that is the file the guarantee protects.
        let grace = match &finish {
            Finish::Rename(temp) if temp.replaces_a_file() => HANG_UP_GRACE,
            Finish::Rename(_) | Finish::InPlace => Duration::ZERO,
        };
        if hangs_up(grace) {
            return Err(Failure::Network(io::Error::other(
                "the client closed the control connection before the upload was confirmed",
            )));
        }
        Ok(bytes)
    });
    drop(file);
    // On failure the old file (if any) was never touched, and the temporary file removes
    // itself as `finish` is dropped.
    let bytes = result?;
    if let Finish::Rename(temp) = finish {
        temp.commit().map_err(Failure::Disk)?;
    }
    Ok(bytes)
}

/// How long a finished STOR looks for a sign that its client has gone before it replaces the
/// target. A killed client's sockets all close at once, but in no fixed order: Linux closes an
/// exiting process's files last-opened first, so the end of the data connection usually comes
/// a few microseconds *before* that of the control connection. Only uploads that replace a
/// file wait; their 226 comes this much later.
const HANG_UP_GRACE: Duration = Duration::from_millis(20);

/// Whether the client closes `control` within `grace` (looking at least once).
pub(super) fn hangs_up_within(control: &TcpStream, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    loop {
        if peer_has_hung_up(control) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// The data connection of an upload, read so that ABOR is heard even where shutting the socket
/// down does not wake a blocked read (`platform::WAKE_SLICE`): there the socket's timeout is a
/// short slice, and between slices the abort flag and the stall time are looked at. Elsewhere
/// the first timeout is the stall timeout itself.
struct Watched<'a, R> {
    stream: &'a mut R,
    abort: &'a AtomicBool,
    stall: Duration,
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let started = Instant::now();
        loop {
            match self.stream.read(buffer) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) && crate::platform::WAKE_SLICE.is_some()
                        && started.elapsed() < self.stall =>
                {
                    if self.abort.load(Ordering::SeqCst) {
                        return Err(io::Error::other("aborted"));
                    }
                }
                other => return other,
            }
        }
    }
}

/// How much of a durable upload may wait in the page cache before its write-back is started
/// (see `platform::start_writeback`). Then the disk writes while the network delivers, and the
/// final `fsync` finds only the last few MiB still to write. BENCHMARKS.md has the figures:
/// 8 MiB steps did better than 32 or 128 on this project's machine.
const WRITE_BEHIND_STEP: u64 = 8 << 20;

fn receive_binary(
    stream: &mut impl Read,
    file: &mut File,
    write_behind: bool,
) -> Result<u64, Failure> {
    let mut buffer = vec![0u8; COPY_BUFFER];
    let mut received = 0u64;
    let mut handed_to_disk = 0u64;
    loop {
        let n = read_retrying(stream, &mut buffer).map_err(Failure::Network)?;
        if n == 0 {
            return Ok(received);
        }
        file.write_all(&buffer[..n]).map_err(Failure::Disk)?;
        received += n as u64;
        if write_behind && received - handed_to_disk >= WRITE_BEHIND_STEP {
            start_writeback(file, handed_to_disk, received - handed_to_disk);
            handed_to_disk = received;
        }
    }
}

/// TYPE A on the way in: each CRLF becomes LF; a CR not followed by LF is kept. A CR at the end
/// of one read is held back until the next read shows what follows it.
fn receive_ascii(stream: &mut impl Read, file: &mut File) -> Result<u64, Failure> {
    let mut input = vec![0u8; COPY_BUFFER];
    let mut output = Vec::with_capacity(COPY_BUFFER + 1);
    let mut held_cr = false;
    let mut received = 0u64;
    loop {
        let n = read_retrying(stream, &mut input).map_err(Failure::Network)?;
        output.clear();
        if n == 0 {
            if held_cr {
                file.write_all(b"\r").map_err(Failure::Disk)?;
            }
            return Ok(received);
        }
        received += n as u64;
        for &byte in &input[..n] {
            if held_cr && byte != b'\n' {
                output.push(b'\r');
            }
            held_cr = byte == b'\r';
            if !held_cr {
                output.push(byte);
            }
        }
        file.write_all(&output).map_err(Failure::Disk)?;
    }
}

fn read_retrying(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
