//! The two references: what this machine does with no FTP at all. They run in the same rounds
//! as the FTP measures, in between them, so that a busy machine or a disk that is slow today
//! moves the reference and the FTP figure together, and their ratio stays meaningful.
//!
//! | measure | what one round does | its check |
//! |---|---|---|
//! | `raw-sendfile` | a listener on 127.0.0.1, port 0; a thread accepts one connection and sends the big file with plain `sendfile(2)` calls on an untuned socket (Linux), then closes; this side reads it with RETR's buffer and loop | both sides counted the file's size |
//! | `disk-fsync` | copy the big file into STOR's folder 1 MiB at a time, then `fsync`, as `dd bs=1M conv=fsync` does | the copy's size on disk (then it is deleted) |
//!
//! RETR ÷ raw-sendfile compares localftp's downloads with the plain way of sending a file over
//! loopback (above 1 since RETR keeps its socket's queue short: BENCHMARKS.md, issue 20); STOR ÷ disk-fsync how close its uploads (fsync'd before the rename) come to what
//! the disk can take.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::thread;
use std::time::Instant;

use localftp::platform::FileSender;

use crate::fixtures;
use crate::ftp::{self, IO_TIMEOUT, Result};
use crate::measures::{BUFFER, Bench, CLIENT_STACK};

/// The block of the disk copy: `dd bs=1M`.
const BLOCK: usize = 1 << 20;

/// The big file sent over loopback with no FTP, the plain way: the reference for RETR. MB/s.
///
/// The sending side uses `localftp::platform::FileSender::new`, asking for up to 1 GiB per
/// call on an untuned socket: what localftp's RETR did before issue 20, and what the shared
/// harness's bare-socket reference does. RETR itself now uses `FileSender::for_download`, which
/// keeps the socket's unsent queue short and comes out faster than this.
///
/// Not `std::io::copy(&mut File, &mut TcpStream)`. With Rust 1.95 on Linux 6.18,
/// `strace -f -e trace=sendfile,splice,copy_file_range` shows no such call from it; a full
/// trace shows one `statx`, then `read(file, …, 8192)` + `sendto(socket, …, 8192)` in a loop.
/// std copies in the kernel between files (`copy_file_range`) and to or from pipes
/// (`sendfile`, `splice`), not to sockets, so that would measure a slower copy. The same
/// strace of this measure (256 MiB) shows `sendfile(7, 3, NULL, 1073741824) = 268435456`, the
/// whole file in one call on the blocking socket, then one call returning 0 at the end.
///
/// On other systems `FileSender` reads and writes through a 256 KiB buffer, as localftp does
/// there.
pub fn raw_sendfile(bench: &Bench) -> Result<Vec<f64>> {
    let size = bench.big_size;
    let source = bench.root.join(fixtures::big(size));
    let file = File::open(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("a listener on 127.0.0.1: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("the listener's address: {e}"))?;
    let mut buffer = vec![0u8; BUFFER];
    // The connection's setup is timed, as RETR's data connection is.
    let started = Instant::now();
    let mut receiving = TcpStream::connect_timeout(&address, IO_TIMEOUT)
        .map_err(|e| format!("connect to {address}: {e}"))?;
    // Once connect has returned, the connection waits in the listener's backlog: this accept
    // does not block, and a failed connect never leaves a thread waiting in accept.
    let (sending, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    ftp::set_timeouts(&receiving)?;
    ftp::set_timeouts(&sending)?;
    let (sent, got) = thread::scope(|scope| {
        let sender = thread::Builder::new()
            .stack_size(CLIENT_STACK)
            .spawn_scoped(scope, || send_all(&file, sending))
            .map_err(|e| format!("starting the sending thread: {e}"))?;
        let got = ftp::receive(&mut receiving, &mut buffer, None);
        // Closed before the join, so that a sender still writing fails at once.
        drop(receiving);
        let sent = sender
            .join()
            .map_err(|_| "the sending thread panicked".to_string())?;
        Ok::<_, String>((sent, got))
    })?;
    let secs = started.elapsed().as_secs_f64();
    let sent = sent.map_err(|e| format!("raw sendfile: sending: {e}"))?;
    let got = got.map_err(|e| format!("raw sendfile: receiving: {e}"))?;
    if sent != size || got != size {
        return Err(format!(
            "raw sendfile: {sent} bytes sent and {got} arrived, the file has {size}"
        ));
    }
    Ok(vec![size as f64 / secs / 1e6])
}

/// Send the whole file from its start, then close the sending direction: the end of the data,
/// as in FTP's stream mode. Each call waits at most the socket's write timeout.
fn send_all(file: &File, socket: TcpStream) -> io::Result<u64> {
    /// The most one call asks for, as in localftp's RETR (`server::copy`); `FileSender::new`
    /// hands it all to the kernel.
    const CHUNK: usize = 1 << 30;
    let mut sender = FileSender::new();
    let mut sent = 0u64;
    loop {
        match sender.send(file, &socket, CHUNK) {
            Ok(0) => break,
            Ok(n) => sent += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    socket.shutdown(Shutdown::Write)?;
    Ok(sent)
}

/// The disk's fsync'd write speed, as `dd if=BIG of=X bs=1M conv=fsync` measures it: the big
/// file copied into STOR's folder (so onto the same filesystem), 1 MiB at a time, then
/// `sync_all`; the time includes the fsync. MB/s.
///
/// The source is read, not generated, as dd reads it: it is usually in the page cache (it was
/// just written, or sent by RETR), so the figure is the disk's, as STOR's is.
pub fn disk_fsync(bench: &Bench, round: usize) -> Result<Vec<f64>> {
    let size = bench.big_size;
    let source = bench.root.join(fixtures::big(size));
    let mut source = File::open(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let target = bench.root.join(fixtures::disk_copy(round));
    let mut block = vec![0u8; BLOCK];
    let started = Instant::now();
    let copied = copy_and_sync(&mut source, &target, size, &mut block);
    let secs = started.elapsed().as_secs_f64();
    let on_disk = fs::metadata(&target).map(|meta| meta.len());
    let _ = fs::remove_file(&target);
    copied.map_err(|e| format!("disk fsync: {}: {e}", target.display()))?;
    match on_disk {
        Ok(written) if written == size => Ok(vec![size as f64 / secs / 1e6]),
        Ok(written) => Err(format!(
            "disk fsync: {written} bytes on disk, {size} written"
        )),
        Err(e) => Err(format!("disk fsync: {}: {e}", target.display())),
    }
}

/// Copy `size` bytes of `source` into a new file at `target` through `block`, then force them
/// onto the disk.
fn copy_and_sync(source: &mut File, target: &Path, size: u64, block: &mut [u8]) -> io::Result<()> {
    let mut copy = File::create_new(target)?;
    let mut left = size;
    while left > 0 {
        let now = left.min(block.len() as u64) as usize;
        source.read_exact(&mut block[..now])?;
        copy.write_all(&block[..now])?;
        left -= now as u64;
    }
    copy.sync_all()
}
