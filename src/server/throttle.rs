//! Per-session bandwidth limits: `--download-rate` and `--upload-rate` (`Config::download_rate`,
//! `Config::upload_rate`), as pyftpdlib's `ThrottledDTPHandler` does with its `read_limit` and
//! `write_limit`.
//!
//! **How the limit is kept: bytes so far against time so far.** A transfer allowed `rate`
//! bytes per second that has moved `moved` bytes must not be further along than
//! `moved / rate` seconds after it started. So it moves one chunk, then sleeps until that
//! moment comes:
//!
//! ```text
//! at 256 KiB/s, in chunks of 25.6 KiB:
//! moved  0 ─ chunk ─▶ 25.6 KiB ─ sleep ─ chunk ─▶ 51.2 KiB ─ sleep ─ …
//! time   0 s          (sleep until 0.1 s)         (sleep until 0.2 s)
//! ```
//!
//! Each sleep is measured from the start, not from the last chunk, so mistakes do not add up:
//! a chunk that took long (a slow disk, a full socket buffer) is followed by a shorter sleep,
//! and the average over the whole transfer is the rate, exactly. The last chunk is followed by
//! its sleep too, so the transfer ends (and the client gets its `226`) no sooner than
//! `size / rate` seconds after it began.
//!
//! A transfer that fell far behind (the client stopped reading for a minute) would, by this
//! rule alone, then go at full speed until it caught up. It may catch up by at most
//! [`CATCH_UP`]'s worth of bytes; older debt is forgotten. (A token bucket does the same: its
//! size is the largest burst.)
//!
//! **What still works under a limit.**
//! - ABOR: a sleeping thread makes no system call on the data socket, so it would not notice
//!   that ABOR shut the socket down. It sleeps in [`SLEEP_SLICE`]s and looks at the abort flag
//!   between them.
//! - The stall timeout: the data socket's timeouts count only time spent *blocked* reading or
//!   writing. Sleeping here is not blocked on the socket, so a throttled transfer is never taken
//!   for a stalled one; a client that really stops reading still blocks a write, which fails
//!   after `data_stall` as before.
//! - STAT: each paced chunk is counted in `TransferControl::moved`, which STAT shows.
//!
//! What is counted is the bytes on the data connection: after TYPE A turned LF into CRLF, and
//! before TLS encrypts them (a TLS record adds a few dozen bytes that are not counted).
//! Unlimited transfers never meet this module: [`Paced`] without a throttle passes every call
//! straight through, and `sendfile` goes at the kernel's pace (`platform::FileSender`).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The longest one sleep lasts before the abort flag is looked at again: an ABOR is answered
/// within about this long, whatever the rate.
pub const SLEEP_SLICE: Duration = Duration::from_millis(50);

/// How far behind its schedule a transfer may be and still catch up at full speed.
pub const CATCH_UP: Duration = Duration::from_secs(1);

/// The largest chunk moved at once. Chunks are a tenth of a second's worth, so that the bytes
/// arrive as a steady stream rather than in one burst a second; at high rates they are capped,
/// which keeps them a size a socket buffer takes at once.
const MAX_CHUNK: u64 = 64 * 1024;

/// The smallest chunk. At very low rates a tenth of a second's worth would be a few bytes:
/// one system call each, and under TLS a record of ~25 bytes of overhead per few bytes sent.
/// Below 5 KiB/s the bytes therefore come in 512-byte steps, less often than ten a second.
const MIN_CHUNK: u64 = 512;

/// One transfer's pacing: how fast it may go, and how far along it is.
pub struct Throttle<'a> {
    /// Bytes per second; at least 1.
    rate: u64,
    /// When the schedule began (moved forward when old debt is forgotten).
    started: Instant,
    /// Bytes moved so far.
    moved: u64,
    /// Set by ABOR (and by a server shutdown): stop sleeping and fail.
    abort: &'a AtomicBool,
    /// Where `moved` is published for STAT, on the session's thread.
    progress: &'a AtomicU64,
}

impl<'a> Throttle<'a> {
    /// A schedule starting now, for `rate` bytes per second (0 is taken as 1).
    pub fn new(rate: u64, abort: &'a AtomicBool, progress: &'a AtomicU64) -> Throttle<'a> {
        Throttle {
            rate: rate.max(1),
            started: Instant::now(),
            moved: 0,
            abort,
            progress,
        }
    }

    /// How many bytes to move in one read or write: a tenth of a second's worth, between
    /// `MIN_CHUNK` and `MAX_CHUNK`.
    pub fn chunk(&self) -> usize {
        (self.rate / 10).clamp(MIN_CHUNK, MAX_CHUNK) as usize
    }

    /// Count `bytes` more as moved, then sleep until the schedule allows them. Fails (with an
    /// error the copy loops treat as a broken connection) if ABOR comes while sleeping.
    pub fn pace(&mut self, bytes: usize) -> io::Result<()> {
        self.moved += bytes as u64;
        self.progress.store(self.moved, Ordering::Relaxed);
        // A due time past what the clock can hold is centuries away: a year is as good.
        let due = self
            .started
            .checked_add(self.time_for(self.moved))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
        let now = Instant::now();
        if let Some(late) = now.checked_duration_since(due)
            && late > CATCH_UP
        {
            // Forget the debt beyond CATCH_UP: as if the transfer had started that much later.
            self.started += late - CATCH_UP;
        }
        loop {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            if self.abort.load(Ordering::SeqCst) {
                return Err(io::Error::other("aborted"));
            }
            thread::sleep(left.min(SLEEP_SLICE));
        }
    }

    /// How long `bytes` take at the rate, computed in whole numbers so it is exact.
    fn time_for(&self, bytes: u64) -> Duration {
        let seconds = bytes / self.rate;
        let nanos = u128::from(bytes % self.rate) * 1_000_000_000 / u128::from(self.rate);
        Duration::new(seconds, nanos as u32)
    }
}

/// A reader or writer that, under a throttle, moves at most one chunk per call and then waits
/// its turn; without one, it passes each call straight to `inner`.
pub struct Paced<'a, T> {
    /// The data connection.
    pub inner: T,
    /// The limit, if the session has one for this direction.
    pub throttle: Option<Throttle<'a>>,
}

impl<T: Write> Write for Paced<'_, T> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(throttle) = &mut self.throttle else {
            return self.inner.write(data);
        };
        let n = self
            .inner
            .write(&data[..data.len().min(throttle.chunk())])?;
        throttle.pace(n)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read> Read for Paced<'_, T> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let Some(throttle) = &mut self.throttle else {
            return self.inner.read(buffer);
        };
        let most = buffer.len().min(throttle.chunk());
        let n = self.inner.read(&mut buffer[..most])?;
        throttle.pace(n)?;
        Ok(n)
    }
}

/// Units a rate may be given in, matched without regard to case. `k`, `M` and `G` alone are
/// 1024-based, as in curl's and wget's `--limit-rate`.
const UNITS: [(&str, u64); 11] = [
    ("", 1),
    ("b", 1),
    ("k", 1 << 10),
    ("kib", 1 << 10),
    ("kb", 1_000),
    ("m", 1 << 20),
    ("mib", 1 << 20),
    ("mb", 1_000_000),
    ("g", 1 << 30),
    ("gib", 1 << 30),
    ("gb", 1_000_000_000),
];

/// A rate in bytes per second, from what a person types: a number, optionally with a decimal
/// part, then optionally a unit (`KiB`, `MiB`, `GiB` are 1024-based; `KB`, `MB`, `GB`
/// 1000-based; `k`, `M`, `G` alone 1024-based, as curl and wget read them), optionally `/s`.
/// Case does not matter, and a space may separate the number from the unit. Zero is refused:
/// no limit is said by giving none.
///
/// ```
/// use localftp::server::throttle::parse_rate;
/// assert_eq!(parse_rate("65536"), Ok(65_536));
/// assert_eq!(parse_rate("64KiB"), Ok(64 * 1024));
/// assert_eq!(parse_rate("64k"), Ok(64 * 1024));
/// assert_eq!(parse_rate("500KB"), Ok(500_000));
/// assert_eq!(parse_rate("1.5 MiB/s"), Ok(1_572_864));
/// assert!(parse_rate("fast").is_err());
/// assert!(parse_rate("0").is_err());
/// ```
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let example = "give bytes per second, e.g. 65536, 64KiB, 500KB or 2MiB";
    let trimmed = text.trim();
    let trimmed = trimmed
        .strip_suffix("/s")
        .or_else(|| trimmed.strip_suffix("/S"))
        .unwrap_or(trimmed);
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    // A number has a digit, at most one point, and (for the arithmetic below) at most 18
    // digits after it.
    let has_digit = !whole.is_empty() || !fraction.is_empty();
    let is_number = has_digit && !fraction.contains('.') && fraction.len() <= 18;
    let multiplier = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, multiplier)| multiplier);
    let Some(multiplier) = multiplier.filter(|_| is_number) else {
        return Err(format!("{text:?} is not a rate: {example}"));
    };
    let too_large = || format!("{text:?} is more bytes per second than fit in 64 bits");
    // Whole numbers only: 1.5 MiB is (15 × 1 MiB) / 10, with no floating-point rounding.
    let digits: u128 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| too_large())?;
    let scale = 10u128.pow(fraction.len() as u32);
    let rate = digits
        .checked_mul(u128::from(multiplier))
        .map(|bytes| bytes / scale)
        .and_then(|bytes| u64::try_from(bytes).ok())
        .ok_or_else(too_large)?;
    if rate == 0 {
        return Err(format!(
            "{text:?} is under 1 byte per second: leave the flag out for no limit"
        ));
    }
    Ok(rate)
}

/// A rate as people read it: `256 KiB/s`, `2 MB/s`, or `1500 B/s` when no unit divides it.
pub fn format_rate(rate: u64) -> String {
    const NAMED: [(&str, u64); 6] = [
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1_000),
    ];
    NAMED
        .iter()
        .find(|&&(_, size)| rate >= size && rate.is_multiple_of(size))
        .map_or_else(
            || format!("{rate} B/s"),
            |&(unit, size)| format!("{} {unit}/s", rate / size),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_and_every_unit() {
        assert_eq!(parse_rate("1"), Ok(1));
        assert_eq!(parse_rate("1024B"), Ok(1024));
        assert_eq!(parse_rate("64KiB"), Ok(65_536));
        assert_eq!(parse_rate("64kib"), Ok(65_536));
        assert_eq!(parse_rate("64K"), Ok(65_536));
        assert_eq!(parse_rate("64k"), Ok(65_536));
        assert_eq!(parse_rate("64KB"), Ok(64_000));
        assert_eq!(parse_rate("2MiB"), Ok(2 << 20));
        assert_eq!(parse_rate("2M"), Ok(2 << 20));
        assert_eq!(parse_rate("2MB"), Ok(2_000_000));
        assert_eq!(parse_rate("1GiB"), Ok(1 << 30));
        assert_eq!(parse_rate("1G"), Ok(1 << 30));
        assert_eq!(parse_rate("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_rate(" 256 KiB/s "), Ok(256 * 1024));
        assert_eq!(parse_rate("0.5KiB"), Ok(512));
        assert_eq!(parse_rate(".5k"), Ok(512));
        assert_eq!(parse_rate("3."), Ok(3));
    }

    #[test]
    fn nonsense_zero_and_overflow_are_refused() {
        for bad in [
            "", "fast", "KiB", "-1", "1.2.3", "1e3", "1 2", "12XB", "1KiBs", ".", "inf", "0x10",
        ] {
            let error = parse_rate(bad).expect_err(bad);
            assert!(error.contains("is not a rate"), "{bad}: {error}");
        }
        assert!(parse_rate("0").unwrap_err().contains("leave the flag out"));
        assert!(
            parse_rate("0.1")
                .unwrap_err()
                .contains("leave the flag out")
        );
        assert!(
            parse_rate("99999999999GiB")
                .unwrap_err()
                .contains("64 bits")
        );
        assert_eq!(parse_rate("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn rates_are_shown_in_the_largest_unit_that_divides_them() {
        assert_eq!(format_rate(256 * 1024), "256 KiB/s");
        assert_eq!(format_rate(3 << 20), "3 MiB/s");
        assert_eq!(format_rate(2_000_000), "2 MB/s");
        assert_eq!(format_rate(1500), "1500 B/s");
        assert_eq!(format_rate(100), "100 B/s");
    }

    #[test]
    fn chunks_are_a_tenth_of_a_second_within_bounds() {
        let (abort, progress) = (AtomicBool::new(false), AtomicU64::new(0));
        assert_eq!(Throttle::new(256 * 1024, &abort, &progress).chunk(), 26_214);
        assert_eq!(Throttle::new(100, &abort, &progress).chunk(), 512);
        assert_eq!(Throttle::new(1 << 30, &abort, &progress).chunk(), 65_536);
    }

    #[test]
    fn pacing_holds_the_rate_and_stops_for_abort() {
        let (abort, progress) = (AtomicBool::new(false), AtomicU64::new(0));
        let mut throttle = Throttle::new(10_000, &abort, &progress);
        let started = Instant::now();
        for _ in 0..4 {
            throttle.pace(500).unwrap();
        }
        // 2,000 bytes at 10,000 B/s: 0.2 s, not less.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_millis(600), "{took:?}");
        assert_eq!(progress.load(Ordering::Relaxed), 2_000);
        // 10,000 more bytes are a second away; ABOR cuts the wait short.
        abort.store(true, Ordering::SeqCst);
        let asked = Instant::now();
        assert!(throttle.pace(10_000).is_err());
        assert!(asked.elapsed() < SLEEP_SLICE * 2);
    }
}
