//! Where Linux, macOS and Windows differ: the one module with `cfg` in it.
//!
//! Everything else in the crate is written once, for every platform. What differs, and what
//! each platform does about it:
//!
//! | need | Linux | macOS, other Unix | Windows |
//! |------|-------|-------------------|---------|
//! | send a file ([`FileSender`]) | `sendfile(2)`: page cache → socket, no copy | read + write through a 256 KiB buffer | the same |
//! | has the peer hung up? ([`peer_has_hung_up`]) | `recv(MSG_PEEK \| MSG_DONTWAIT)` | the same | unknown: always "no" (see below) |
//! | file facts for LIST/MLSD ([`FileFacts`]) | mode bits, links, device + inode | the same | read-only → no `w`; 1 link; no `unique` |
//! | SITE CHMOD ([`permissions_from_mode`]) | mode bits | the same | refused (502): no Unix modes |
//! | names ([`WINDOWS_NAMES`]) | any name without `/` | the same | drives, `\`, devices, streams, trailing dots, 8.3 names refused (553) |
//! | start writing an upload early ([`start_writeback`]) | `posix_fadvise(DONTNEED)` starts write-back | nothing: the final `fsync` does it all | the same |
//! | a private key's file ([`create_private_file`]) | mode 0600: the owner alone reads it | the same | a plain new file (see there) |
//!
//! Disk full and quota errors need nothing here: `io::ErrorKind::StorageFull` and
//! `QuotaExceeded` name them on every platform.
//!
//! *The hang-up check on Windows.* A STOR that replaces a file waits a moment to see whether
//! the client's control connection closed too (a killed client looks like one that finished;
//! see `server::copy`). Looking without waiting needs a non-blocking peek, and the session's
//! own thread is blocked reading that same socket: Unix has a per-call flag for it
//! (`MSG_DONTWAIT`), Windows only a per-socket mode that would disturb that thread. So on
//! Windows the check says "still there", and a client killed in the last instant of an upload
//! that replaces a file may leave the new (complete-looking) file in place. A production
//! server there would use overlapped I/O; this one keeps the lesson on one thread per session.

/// Whether file names follow Windows' rules, where `C:`, `a\b`, `NUL` or `name:stream` mean
/// more than a name; the jail then refuses them (`server::jail::windows_name_problem`).
pub const WINDOWS_NAMES: bool = cfg!(windows);

/// Whether this system's file names usually ignore case (NTFS on Windows, APFS on macOS as
/// installed): `Folder_Tes` and `folder_tes` are one folder there. Per-folder letters
/// (`--folder-perms`, `--share`) then match a client's path without regard to case, so that a
/// change of case cannot step around them.
pub const CASE_INSENSITIVE_NAMES: bool = cfg!(any(windows, target_os = "macos"));

use std::fs::File;
use std::io;
use std::net::TcpStream;

use cap_std::fs::Metadata;

/// Sends a file's bytes to a socket, the fastest way the platform has.
pub struct FileSender {
    /// The most one call hands to the kernel (see [`FileSender::for_download`]).
    #[cfg(target_os = "linux")]
    chunk: usize,
    /// The buffer for the portable read + write copy (empty on Linux, where none is needed).
    #[cfg(not(target_os = "linux"))]
    buffer: Vec<u8>,
}

impl Default for FileSender {
    fn default() -> Self {
        FileSender::new()
    }
}

/// How much sent-but-not-yet-transmitted data a download may leave queued in its socket on
/// Linux (`TCP_NOTSENT_LOWAT`), and how much one `sendfile` call hands over: see
/// [`FileSender::for_download`].
#[cfg(target_os = "linux")]
const UNSENT_LIMIT: u32 = 64 * 1024;
#[cfg(target_os = "linux")]
const CHUNK_UNDER_LIMIT: usize = UNSENT_LIMIT as usize / 2;

impl FileSender {
    /// A sender that hands the kernel as much as each call asks for; the portable copy's
    /// buffer is allocated here, once per transfer.
    pub fn new() -> FileSender {
        FileSender {
            #[cfg(target_os = "linux")]
            chunk: usize::MAX,
            #[cfg(not(target_os = "linux"))]
            buffer: vec![0; 256 * 1024],
        }
    }

    /// A sender for a download on `socket`, which it sets up for a steady flow.
    ///
    /// On Linux the socket may hold at most 64 KiB that it has not yet transmitted
    /// (`TCP_NOTSENT_LOWAT`), and each `sendfile` call hands over 32 KiB; a call then blocks
    /// until the kernel has transmitted enough. Without this, one `sendfile` fills the socket
    /// with megabytes at a time (the send buffer grows to `tcp_wmem`'s maximum, 4 MiB here),
    /// and the kernel transmits them in bursts from two places at once: this thread, and the
    /// receiver's CPU as its acknowledgements arrive. On loopback each CPU queues its packets
    /// separately, so they arrive out of order; the receiver reports duplicates and the sender
    /// retransmits data that was never lost (`nstat`: 60–240 `TcpRetransSegs` per GiB before,
    /// 0–7 after). BENCHMARKS.md has the measurements: RETR over loopback went from
    /// 0.8 × pyftpdlib to ahead of it, with 40 % less CPU per GiB. Linux's own note on the
    /// option says 128 KB or less is enough for most workloads to keep the link busy; in-flight
    /// data (the congestion window) is not limited by it, only what waits behind it.
    ///
    /// Elsewhere this is [`FileSender::new`].
    pub fn for_download(socket: &TcpStream) -> FileSender {
        #[cfg(target_os = "linux")]
        {
            // An old kernel without the option (before 3.12) still gets a working download.
            let limited = socket2::SockRef::from(socket)
                .set_tcp_notsent_lowat(UNSENT_LIMIT)
                .is_ok();
            FileSender {
                chunk: if limited {
                    CHUNK_UNDER_LIMIT
                } else {
                    usize::MAX
                },
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = socket;
            FileSender::new()
        }
    }

    /// Send up to `max` bytes of `file`, from its current position, to `socket`; the number
    /// sent, 0 at the end of the file. `ErrorKind::Interrupted` means: call again.
    #[cfg(target_os = "linux")]
    pub fn send(&mut self, file: &File, socket: &TcpStream, max: usize) -> io::Result<usize> {
        // sendfile(2): the kernel moves the bytes from the page cache to the socket without
        // copying them into this process.
        rustix::fs::sendfile(socket, file, None, max.min(self.chunk)).map_err(io::Error::from)
    }

    /// Send up to `max` bytes of `file`, from its current position, to `socket`; the number
    /// sent, 0 at the end of the file. `ErrorKind::Interrupted` means: call again.
    #[cfg(not(target_os = "linux"))]
    pub fn send(
        &mut self,
        mut file: &File,
        mut socket: &TcpStream,
        max: usize,
    ) -> io::Result<usize> {
        use std::io::{Read, Write};
        let want = max.min(self.buffer.len());
        let n = file.read(&mut self.buffer[..want])?;
        socket.write_all(&self.buffer[..n])?;
        Ok(n)
    }
}

/// Ask the kernel to start writing `len` bytes of `file` from `offset` to the disk now, without
/// waiting for it, so that a later `fsync` finds little left to do ("write-behind").
///
/// Linux has no safe wrapper for `sync_file_range(2)` in the crates this project uses; this
/// uses `posix_fadvise(POSIX_FADV_DONTNEED)`, which on Linux starts write-back of the range's
/// dirty pages (`WB_SYNC_NONE`, no waiting) and then drops only the pages that are already
/// clean, which a range written a moment ago has hardly any of. PostgreSQL uses the same
/// call for the same purpose where `sync_file_range` is missing. A failure only means the
/// final `fsync` does the work, so it is ignored. Elsewhere this does nothing.
#[cfg(target_os = "linux")]
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    if let Some(len) = std::num::NonZeroU64::new(len) {
        let _ = rustix::fs::fadvise(file, offset, Some(len), rustix::fs::Advice::DontNeed);
    }
}

/// Start write-back early; nothing to do on this platform (the final `fsync` does it all).
#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// The ports the system hands out for outgoing connections: where a passive data port is
/// chosen when no `--passive-ports` range is set (see `server::data::listen`). Linux says which
/// in `/proc/sys/net/ipv4/ip_local_port_range`; elsewhere, and if that cannot be read, the
/// IANA dynamic range that Windows and macOS use, 49152–65535.
pub fn ephemeral_ports() -> std::ops::RangeInclusive<u16> {
    #[cfg(target_os = "linux")]
    if let Some(range) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| parse_port_range(&text))
    {
        return range;
    }
    49152..=65535
}

/// `"32768\t60999\n"` → `32768..=60999`; `None` for anything else.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_port_range(text: &str) -> Option<std::ops::RangeInclusive<u16>> {
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    let (Some(Ok(low)), Some(Ok(high)), None) = (numbers.next(), numbers.next(), numbers.next())
    else {
        return None;
    };
    (low > 0 && low <= high).then_some(low..=high)
}

/// Whether the peer has closed `socket` (a FIN is waiting), looking without blocking and
/// without taking anything from it. Another thread may be reading the same socket.
#[cfg(unix)]
pub fn peer_has_hung_up(socket: &TcpStream) -> bool {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
    let peeked = socket2::SockRef::from(socket)
        .recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT);
    match peeked {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        ),
    }
}

/// Whether the peer has closed `socket`. Windows cannot look without disturbing another
/// thread's blocking read (see the module's doc), so this says "no".
#[cfg(not(unix))]
pub fn peer_has_hung_up(_socket: &TcpStream) -> bool {
    false
}

/// How many threads this process may start before the system runs out of something each one
/// needs, with a reserve for the server's own; `None` where nothing is known.
///
/// On Linux each thread takes four memory mappings (its stack and guard page, and the stack
/// and guard page Rust sets up for signals), and a process may have `vm.max_map_count` of them
/// (65,530 by default): about 16,000 threads. Past that, a new thread cannot set up its signal
/// stack, and Rust's runtime aborts the *whole process* (rust-lang/rust#78497), so the server
/// must never get there: it refuses new sessions and transfers first (see `Registry`).
#[cfg(target_os = "linux")]
pub fn thread_budget() -> Option<usize> {
    let maps: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some((maps / 4).saturating_sub(256))
}

/// How many threads this process may start; `None`: nothing is known here.
#[cfg(not(target_os = "linux"))]
pub fn thread_budget() -> Option<usize> {
    None
}

/// Where shutting a socket down does not wake another thread blocked reading it (Windows:
/// rust-lang/rust#121594; only closing it would), blocking reads are made in slices of this
/// length, and between slices the reader looks at whether it has been told to stop (ABOR, a
/// server shutdown). `None` where `shutdown()` wakes the reader (Unix): one read waits the
/// whole timeout.
pub const WAKE_SLICE: Option<std::time::Duration> = if cfg!(windows) {
    Some(std::time::Duration::from_millis(250))
} else {
    None
};

/// The timeout to set on a socket whose reads should give up after `timeout`: `timeout`
/// itself, or a [`WAKE_SLICE`] of it where reads must wake up to look around.
pub fn read_slice(timeout: std::time::Duration) -> std::time::Duration {
    WAKE_SLICE.map_or(timeout, |slice| slice.min(timeout))
}

/// Let a restarted server bind its port again at once, even while connections of the previous
/// run are in TIME_WAIT: `SO_REUSEADDR`, as std sets it on Unix. Not on Windows, where the same
/// option means something else: another socket could bind a port that is in use.
pub fn reusable_port(socket: &socket2::Socket) -> io::Result<()> {
    if cfg!(unix) {
        socket.set_reuse_address(true)?;
    }
    Ok(())
}

/// Wait at most `slice` for a connection on `listener`; `ErrorKind::WouldBlock` (or
/// `TimedOut`) if none came. On Linux the socket's receive timeout applies to `accept()`; on
/// other systems it does not, so the listener is polled without blocking, a few milliseconds
/// apart.
#[cfg(target_os = "linux")]
pub fn accept_within(
    listener: &std::net::TcpListener,
    slice: std::time::Duration,
) -> io::Result<(TcpStream, std::net::SocketAddr)> {
    socket2::SockRef::from(listener).set_read_timeout(Some(slice))?;
    listener.accept()
}

/// Wait at most `slice` for a connection on `listener` (see the Linux version).
#[cfg(not(target_os = "linux"))]
pub fn accept_within(
    listener: &std::net::TcpListener,
    slice: std::time::Duration,
) -> io::Result<(TcpStream, std::net::SocketAddr)> {
    let deadline = std::time::Instant::now() + slice;
    listener.set_nonblocking(true)?;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                // An accepted socket inherits the listener's non-blocking mode on some systems.
                stream.set_nonblocking(false)?;
                return Ok((stream, peer));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() >= deadline {
                    return Err(e);
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// What a listing says about a file beyond its type, size and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts {
    /// Permission bits as `ls -l` shows them (`0o644`, …).
    pub mode: u32,
    /// How many names the file has (hard links).
    pub links: u64,
    /// Device and inode: the same file under two names has the same (RFC 3659 `unique`).
    pub unique: Option<(u64, u64)>,
}

impl FileFacts {
    /// The facts of `meta`.
    #[cfg(unix)]
    pub fn of(meta: &Metadata) -> FileFacts {
        use cap_std::fs::MetadataExt;
        FileFacts {
            mode: meta.mode() & 0o7777,
            links: meta.nlink(),
            unique: Some((meta.dev(), meta.ino())),
        }
    }

    /// The facts of `meta`. Windows has a read-only attribute, not mode bits: what it
    /// honestly gives is `r` for everyone, `w` for the owner unless read-only, and `x` on
    /// folders (to enter them).
    #[cfg(not(unix))]
    pub fn of(meta: &Metadata) -> FileFacts {
        let write = if meta.permissions().readonly() {
            0
        } else {
            0o200
        };
        let enter = if meta.is_dir() { 0o111 } else { 0 };
        FileFacts {
            mode: 0o444 | write | enter,
            links: 1,
            unique: None,
        }
    }
}

/// The permissions for `SITE CHMOD mode`, where files have Unix mode bits.
#[cfg(unix)]
pub fn permissions_from_mode(mode: u32) -> Option<cap_std::fs::Permissions> {
    use cap_std::fs::PermissionsExt;
    Some(cap_std::fs::Permissions::from_mode(mode))
}

/// The permissions for `SITE CHMOD mode`: none on Windows, whose files have no mode bits.
#[cfg(not(unix))]
pub fn permissions_from_mode(_mode: u32) -> Option<cap_std::fs::Permissions> {
    None
}

/// Create a new file (never an existing one) that only its owner may read: for a private key.
///
/// On Unix the file is made with mode 0600 from the start, so there is no moment when others
/// could open it (setting the mode after creating it would leave one). Windows has no mode
/// bits: a new file takes the access rules of its folder, which in a user's own folders admit
/// only that user and the administrators; so there it is a plain new file.
#[cfg(unix)]
pub fn create_private_file(path: &std::path::Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Create a new file (never an existing one) for a private key (see the Unix version).
#[cfg(not(unix))]
pub fn create_private_file(path: &std::path::Path) -> io::Result<File> {
    File::options().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A download's socket holds little unsent data on Linux, and a file bigger than many
    /// chunks still arrives whole, byte for byte.
    #[test]
    fn a_download_keeps_its_socket_queue_short_and_sends_the_whole_file() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let mut received = Vec::new();
            TcpStream::connect(address)
                .unwrap()
                .read_to_end(&mut received)
                .unwrap();
            received
        });
        let (socket, _) = listener.accept().unwrap();
        let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&content).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();

        let mut sender = FileSender::for_download(&socket);
        #[cfg(target_os = "linux")]
        assert_eq!(
            socket2::SockRef::from(&socket).tcp_notsent_lowat().unwrap(),
            UNSENT_LIMIT
        );
        let mut sent = 0;
        loop {
            match sender.send(&file, &socket, 1 << 30).unwrap() {
                0 => break,
                n => {
                    #[cfg(target_os = "linux")]
                    assert!(n <= CHUNK_UNDER_LIMIT, "one call sent {n} bytes");
                    sent += n;
                }
            }
        }
        drop(socket);
        assert_eq!(sent, content.len());
        assert!(reader.join().unwrap() == content, "the bytes differ");
    }

    #[test]
    fn the_ephemeral_port_range_is_read_as_two_numbers() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some(32768..=60999));
        assert_eq!(parse_port_range("1024 1024"), Some(1024..=1024));
        for bad in [
            "",
            "32768",
            "60999 32768",
            "0 100",
            "1 2 3",
            "a b",
            "70000 80000",
        ] {
            assert_eq!(parse_port_range(bad), None, "{bad:?}");
        }
        let system = ephemeral_ports();
        assert!(system.start() <= system.end() && *system.start() > 0);
    }

    /// Write-behind changes nothing in the file: written in steps with write-back started after
    /// each, then synced, it reads back byte for byte (and the pages it may drop are clean).
    #[test]
    fn starting_writeback_early_keeps_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.bin");
        let mut file = File::create(&path).unwrap();
        let step: Vec<u8> = (0..(3 << 20) as u32).map(|i| (i % 253) as u8).collect();
        for i in 0..5u64 {
            file.write_all(&step).unwrap();
            start_writeback(&file, i * step.len() as u64, step.len() as u64);
        }
        start_writeback(&file, 0, 0);
        file.sync_data().unwrap();
        drop(file);
        let back = std::fs::read(&path).unwrap();
        assert_eq!(back.len(), 5 * step.len());
        assert!(
            back.chunks(step.len()).all(|chunk| chunk == step),
            "the bytes differ"
        );
    }
}
