//! Moving the bytes over an open data connection, and counting them (RFC 959 §3.4.1 stream
//! mode; §3.1.1.1 for TYPE A).
//!
//! In TYPE A (ASCII) lines travel with CRLF endings and each side converts them to its own
//! (here LF); in TYPE I (image, binary) bytes travel unchanged. The copy reports how many bytes
//! crossed the wire and how many the local file got, so the student sees the difference.

use std::io::{self, Read, Write};

use indicatif::ProgressBar;

use super::narrate::Narrator;

/// How much is read or written at a time.
const CHUNK: usize = 64 * 1024;

/// How many bytes moved: on the wire, and in the local file (they differ in TYPE A).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Bytes that went over the data connection.
    pub wire: u64,
    /// Bytes read from or written to the local file.
    pub local: u64,
}

/// Why a copy stopped: the network side or the local file side.
#[derive(Debug)]
pub enum CopyError {
    /// Reading or writing the data connection failed.
    Network(io::Error, Counts),
    /// Reading or writing the local file failed.
    Local(io::Error, Counts),
}

/// Copy the data connection into `local` until the server closes it (a download or listing).
/// In ASCII mode CRLF becomes LF.
pub fn receive<R: Read + ?Sized, W: Write + ?Sized>(
    data: &mut R,
    local: &mut W,
    ascii: bool,
    bar: Option<&ProgressBar>,
) -> Result<Counts, CopyError> {
    let mut buffer = vec![0u8; CHUNK];
    let mut counts = Counts::default();
    let mut text = LineEndings::default();
    loop {
        let n = match data.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Network(e, counts)),
        };
        counts.wire += n as u64;
        let out = if ascii {
            text.convert_to_local(&buffer[..n])
        } else {
            buffer[..n].to_vec()
        };
        local
            .write_all(&out)
            .map_err(|e| CopyError::Local(e, counts))?;
        counts.local += out.len() as u64;
        if let Some(bar) = bar {
            bar.inc(n as u64);
        }
    }
    let rest = text.finish();
    local
        .write_all(&rest)
        .and_then(|()| local.flush())
        .map_err(|e| CopyError::Local(e, counts))?;
    counts.local += rest.len() as u64;
    Ok(counts)
}

/// Copy `local` onto the data connection (an upload). In ASCII mode LF becomes CRLF.
pub fn send<R: Read + ?Sized, W: Write + ?Sized>(
    local: &mut R,
    data: &mut W,
    ascii: bool,
    bar: Option<&ProgressBar>,
) -> Result<Counts, CopyError> {
    let mut buffer = vec![0u8; CHUNK];
    let mut counts = Counts::default();
    let mut text = LineEndings::default();
    loop {
        let n = match local.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Local(e, counts)),
        };
        counts.local += n as u64;
        let out = if ascii {
            text.convert_to_wire(&buffer[..n])
        } else {
            buffer[..n].to_vec()
        };
        data.write_all(&out)
            .map_err(|e| CopyError::Network(e, counts))?;
        counts.wire += out.len() as u64;
        if let Some(bar) = bar {
            bar.inc(n as u64);
        }
    }
    data.flush().map_err(|e| CopyError::Network(e, counts))?;
    Ok(counts)
}

/// The conversion a TYPE A download makes, on bytes already in memory: CRLF becomes LF, a lone
/// CR stays (see `compare`).
///
/// ```
/// use localftp::client::copy::crlf_to_lf;
/// assert_eq!(crlf_to_lf(b"a\r\nb\r"), b"a\nb\r");
/// ```
pub fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut text = LineEndings::default();
    let mut out = text.convert_to_local(bytes);
    out.extend(text.finish());
    out
}

/// TYPE A line-ending conversion that works chunk by chunk: a CR at the end of one chunk may
/// be followed by the LF at the start of the next.
#[derive(Debug, Default)]
struct LineEndings {
    /// Receiving: a CR was seen last and its LF may come next.
    held_cr: bool,
    /// Sending: the last byte sent was a CR (so an LF after it is already CRLF).
    last_was_cr: bool,
}

impl LineEndings {
    /// CRLF → LF; a CR not followed by LF is kept.
    fn convert_to_local(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len());
        for &byte in chunk {
            if self.held_cr {
                self.held_cr = false;
                if byte != b'\n' {
                    out.push(b'\r');
                }
            }
            if byte == b'\r' {
                self.held_cr = true;
            } else {
                out.push(byte);
            }
        }
        out
    }

    /// What a CR at the very end of a download stands for: itself.
    fn finish(&mut self) -> Vec<u8> {
        if std::mem::take(&mut self.held_cr) {
            vec![b'\r']
        } else {
            Vec::new()
        }
    }

    /// LF → CRLF, leaving existing CRLFs alone.
    fn convert_to_wire(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 16);
        for &byte in chunk {
            if byte == b'\n' && !self.last_was_cr {
                out.push(b'\r');
            }
            out.push(byte);
            self.last_was_cr = byte == b'\r';
        }
        out
    }
}

/// What a data connection carried, for [`report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// A listing, shown on screen and never saved.
    Listing,
    /// A file, downloaded into a local one.
    Download,
    /// A file, uploaded from a local one.
    Upload,
}

/// Say how the data connection ended and how many bytes it carried.
pub fn report(narrator: &Narrator, counts: Counts, carried: Carried) {
    let converted = match (counts.wire != counts.local, carried) {
        (false, _) => String::new(),
        (true, Carried::Listing) => {
            format!(" ({} once TYPE A's CRLF line ends became LF)", counts.local)
        }
        (true, _) => format!(
            " ({} bytes in the local file: TYPE A changed the line endings)",
            counts.local
        ),
    };
    narrator.data(&match carried {
        Carried::Listing => format!(
            "{} bytes of listing received{converted}, shown above and not saved; the server \
             closed the data connection (end of data)",
            counts.wire
        ),
        Carried::Download => format!(
            "{} bytes received{converted}; the server closed the data connection (end of data)",
            counts.wire
        ),
        Carried::Upload => format!(
            "{} bytes sent{converted}; the client closed the data connection, \
             which tells the server the file is complete",
            counts.wire
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_split_across_chunks_becomes_one_lf() {
        let mut text = LineEndings::default();
        let mut out = text.convert_to_local(b"one\r");
        out.extend(text.convert_to_local(b"\ntwo\r\n"));
        out.extend(text.finish());
        assert_eq!(out, b"one\ntwo\n");
    }

    #[test]
    fn lone_cr_survives_a_download() {
        let mut text = LineEndings::default();
        let mut out = text.convert_to_local(b"a\rb\r");
        out.extend(text.finish());
        assert_eq!(out, b"a\rb\r");
    }

    #[test]
    fn uploads_get_crlf_once() {
        let mut text = LineEndings::default();
        let mut out = text.convert_to_wire(b"a\nb\r");
        out.extend(text.convert_to_wire(b"\nc\n"));
        assert_eq!(out, b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn binary_copies_are_byte_for_byte() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        let mut out = Vec::new();
        let counts = receive(&mut bytes.as_slice(), &mut out, false, None).unwrap();
        assert_eq!(out, bytes);
        assert_eq!(counts.wire, 200_000);
        assert_eq!(counts.local, 200_000);
    }

    #[test]
    fn a_full_local_disk_is_a_local_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                // By kind: the raw code differs per OS (ENOSPC 28, ERROR_DISK_FULL 112).
                Err(io::ErrorKind::StorageFull.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let result = receive(&mut &b"some bytes"[..], &mut Full, false, None);
        match result {
            Err(CopyError::Local(e, counts)) => {
                assert!(crate::client::error::is_disk_full(&e));
                assert_eq!(counts.wire, 10);
                assert_eq!(counts.local, 0);
            }
            other => panic!("expected a local error, got {other:?}"),
        }
    }
}
