//! `compare FILE`: the same file downloaded as TYPE I and as TYPE A, and the bytes that differ
//! shown in hex, side by side (RFC 959 §3.1.1.1 ASCII type, §3.1.1.3 image type).
//!
//! In TYPE A every line end travels as CRLF (`0d 0a`), the network's standard (the NVT-ASCII of
//! RFC 854), and each side converts to its own: a Unix server sends its `0a` as `0d 0a`, and a
//! Unix client turns `0d 0a` back into `0a` when it saves. TYPE I sends the stored bytes
//! untouched. So a text file arrives the same either way, while the wire in between differs,
//! and a file that is not text (an image, a zip) would be damaged by the conversion: which is
//! why the seed's client uses `retrbinary`, TYPE I.
//!
//! ```text
//!    difference 1 of 3: TYPE I offset 7 (0x7), TYPE A offset 7 (0x7)
//!      TYPE I  61 74 61 74 61 6e    0a 6c   |catatan .l|
//!      TYPE A  61 74 61 74 61 6e 0d 0a 6c   |catatan..l|
//!                                ^^ the CR that TYPE A added before the LF
//! ```
//!
//! Both copies are kept in memory and saved nowhere, so `compare` is for small text files: it
//! stops at [`LIMIT`] bytes.

use std::io::{self, Write};
use std::path::Path;

use super::copy;
use super::error::ClientError;
use super::narrate::Narrator;
use super::transfer::Direction;
use super::{Client, FileType};

/// The most bytes `compare` keeps of each copy.
pub const LIMIT: usize = 8 * 1024 * 1024;

/// How many differences are shown in hex.
const SHOWN: usize = 3;

/// How many columns of context come before each difference, and after it.
const BEFORE: usize = 6;
const AFTER: usize = 3;

impl Client {
    /// Download `remote` as TYPE I and as TYPE A, into memory, and show where they differ.
    pub fn compare(&mut self, remote: &str) -> Result<(), ClientError> {
        self.narrator().stage(&format!(
            "TYPE I vs TYPE A: {remote} downloaded both ways (RFC 959 §3.1.1)"
        ));
        self.narrator().note(
            "two downloads into memory, saved nowhere: first TYPE I (the bytes as stored), then \
             TYPE A (the bytes as the text convention puts them on the wire)",
        );
        let binary = self.fetch_as(remote, FileType::Binary)?;
        let ascii = self.fetch_as(remote, FileType::Ascii)?;
        show(self.narrator(), &binary, &ascii);
        Ok(())
    }

    fn fetch_as(&mut self, remote: &str, file_type: FileType) -> Result<Vec<u8>, ClientError> {
        self.ensure_type(file_type)?;
        let label = match file_type {
            FileType::Binary => "(memory: the TYPE I copy)",
            FileType::Ascii => "(memory: the TYPE A copy, as it came on the wire)",
        };
        let mut bytes = Capped(Vec::new());
        let direction = Direction::Receive {
            into: &mut bytes,
            path: Path::new(label),
            // No conversion here: the point is to see the bytes the wire carried.
            ascii: false,
        };
        self.transfer(&format!("RETR {remote}"), None, direction)?;
        Ok(bytes.0)
    }
}

/// A buffer that refuses to grow past [`LIMIT`].
struct Capped(Vec<u8>);

impl Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.0.len() + bytes.len() > LIMIT {
            return Err(io::Error::other(format!(
                "compare keeps both copies in memory and stops at {LIMIT} bytes: pick a smaller \
                 text file"
            )));
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One column of the side-by-side view: a TYPE I byte and a TYPE A byte, or a gap.
type Column = (Option<u8>, Option<u8>);

/// The two copies lined up: equal bytes share a column; a CR that TYPE A added before an LF has
/// a gap on the TYPE I side. Returns the columns, the columns of the added CRs, and the column
/// of the first other difference, after which nothing is lined up.
fn align(binary: &[u8], ascii: &[u8]) -> (Vec<Column>, Vec<usize>, Option<usize>) {
    let (mut i, mut j) = (0, 0);
    let mut columns = Vec::with_capacity(ascii.len().max(binary.len()));
    let mut added = Vec::new();
    while i < binary.len() && j < ascii.len() {
        if binary[i] == ascii[j] {
            columns.push((Some(binary[i]), Some(ascii[j])));
            i += 1;
            j += 1;
        } else if ascii[j] == b'\r' && binary[i] == b'\n' && ascii.get(j + 1) == Some(&b'\n') {
            added.push(columns.len());
            columns.push((None, Some(b'\r')));
            j += 1;
        } else {
            break;
        }
    }
    let other = (i < binary.len() || j < ascii.len()).then_some(columns.len());
    // The rest, unaligned, byte against byte, so the view can still show it.
    let rest = (binary.len() - i).max(ascii.len() - j);
    for k in 0..rest {
        columns.push((binary.get(i + k).copied(), ascii.get(j + k).copied()));
    }
    (columns, added, other)
}

/// Print the counts, up to [`SHOWN`] differences in hex, and why.
fn show(narrator: &Narrator, binary: &[u8], ascii: &[u8]) {
    let (columns, added, other) = align(binary, ascii);
    narrator.note(&format!(
        "TYPE I: {} bytes, exactly as stored on the server",
        binary.len()
    ));
    narrator.note(&match added.len() {
        0 => format!("TYPE A: {} bytes on the wire: no CR added", ascii.len()),
        n => format!(
            "TYPE A: {} bytes on the wire: {n} CR byte(s) (0d) added, one before each LF (0a)",
            ascii.len()
        ),
    });
    let saved = copy::crlf_to_lf(ascii);
    narrator.note(&format!(
        "saved by this client as TYPE A, CRLF back to LF: {} bytes, {} the TYPE I copy",
        saved.len(),
        if saved == binary {
            "the same as"
        } else {
            "not the same as"
        }
    ));
    if added.is_empty() && other.is_none() {
        narrator.note(
            "no byte differs: the file has no LF (or already ends its lines in CRLF), or the \
             server ignores TYPE A (vsftpd does, unless ascii_download_enable is set)",
        );
    }
    for (n, &column) in added.iter().take(SHOWN).enumerate() {
        let (i, j) = offsets(&columns, column);
        narrator.note(&format!(
            "difference {} of {}: TYPE I offset {i} ({i:#x}), TYPE A offset {j} ({j:#x})",
            n + 1,
            added.len()
        ));
        for line in view(&columns, column, "the CR that TYPE A added before the LF") {
            narrator.note(&line);
        }
    }
    if let Some(column) = other {
        let (i, j) = offsets(&columns, column);
        narrator.note(&format!(
            "from TYPE I offset {i}, TYPE A offset {j} on, the copies differ in another way \
             than line ends (a changed file, or a server converting more than line ends):"
        ));
        for line in view(&columns, column, "from here") {
            narrator.note(&line);
        }
    }
    narrator.note(
        "why: TYPE A is for text, and puts every line end on the wire as CRLF, whatever each \
         side uses; TYPE I moves bytes untouched, which a file that is not text needs (RFC 959 \
         §3.1.1.1)",
    );
}

/// The byte offsets, in each copy, of the given column.
fn offsets(columns: &[Column], column: usize) -> (usize, usize) {
    let before = &columns[..column];
    (
        before.iter().filter(|(b, _)| b.is_some()).count(),
        before.iter().filter(|(_, a)| a.is_some()).count(),
    )
}

/// Three lines: the TYPE I bytes, the TYPE A bytes, and a marker under `column`.
fn view(columns: &[Column], column: usize, mark: &str) -> [String; 3] {
    let window = &columns[column.saturating_sub(BEFORE)..(column + AFTER).min(columns.len())];
    let hex = |byte: Option<u8>| byte.map_or("  ".to_string(), |b| format!("{b:02x}"));
    let text = |byte: Option<u8>| match byte {
        Some(b) if b.is_ascii_graphic() || b == b' ' => b as char,
        Some(_) => '.',
        None => ' ',
    };
    let row = |pick: fn(&Column) -> Option<u8>| {
        let bytes: Vec<String> = window.iter().map(|c| hex(pick(c))).collect();
        let chars: String = window.iter().map(|c| text(pick(c))).collect();
        (bytes.join(" "), chars)
    };
    let (binary_hex, binary_text) = row(|c| c.0);
    let (ascii_hex, ascii_text) = row(|c| c.1);
    let at = column - column.saturating_sub(BEFORE);
    [
        format!(
            "  TYPE I  {binary_hex:<width$}   |{binary_text}|",
            width = 3 * window.len()
        ),
        format!(
            "  TYPE A  {ascii_hex:<width$}   |{ascii_text}|",
            width = 3 * window.len()
        ),
        format!("          {}^^ {mark}", " ".repeat(3 * at)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_added_cr_is_found_with_its_offsets() {
        let (columns, added, other) = align(b"a\n\nb\n", b"a\r\n\r\nb\r\n");
        assert_eq!(other, None);
        assert_eq!(added.len(), 3);
        assert_eq!(offsets(&columns, added[0]), (1, 1));
        assert_eq!(offsets(&columns, added[1]), (2, 3));
        assert_eq!(offsets(&columns, added[2]), (4, 6));
    }

    #[test]
    fn the_view_puts_a_gap_where_the_cr_went() {
        let (columns, added, _) = align(b"catatan\nlagi", b"catatan\r\nlagi");
        let [binary, ascii, mark] = view(&columns, added[0], "added");
        assert!(binary.contains("61 6e    0a 6c"), "{binary}");
        assert!(ascii.contains("61 6e 0d 0a 6c"), "{ascii}");
        assert!(binary.ends_with("|atatan .l|"), "{binary}");
        assert!(ascii.ends_with("|atatan..l|"), "{ascii}");
        // The marker sits under the 0d.
        let at = ascii.find("0d").unwrap();
        assert_eq!(mark.find("^^"), Some(at));
    }

    #[test]
    fn other_differences_stop_the_alignment() {
        let (_, added, other) = align(b"abc", b"abd");
        assert!(added.is_empty());
        assert_eq!(other, Some(2));
        let (_, _, other) = align(b"ab", b"ab");
        assert_eq!(other, None);
        let (_, _, other) = align(b"ab", b"abc");
        assert_eq!(other, Some(2));
    }
}
