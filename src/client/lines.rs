//! Reply lines off the control connection's byte stream, and the replies they make (RFC 959
//! §4.2; TCP, RFC 9293 §2.2).
//!
//! TCP delivers a stream of bytes, not messages: one reply may arrive in several pieces (even
//! cut in the middle of a line), and two replies may arrive in one piece. So the client never
//! takes one `read()` for one reply; it reads up to the end of each line. RFC 959 ends every
//! line with CRLF (the Telnet end of line, RFC 854); some servers send a bare LF, and a very
//! few a bare CR. This reader accepts all three and says which it saw, and in how many pieces
//! each line came, so [`super::wire`] can turn what is unusual into a protocol note.
//!
//! A CR that is the last byte received so far might be the first half of a CRLF whose LF is
//! still on its way. Waiting for the next byte could wait forever (after a bare CR the server
//! may send nothing more until the next command), so the line is ended at the CR at once and
//! the next read checks whether an LF follows: if so it is skipped, if not that CR was bare.

use std::io::{self, BufRead, BufReader, Read};

/// One reply as received (RFC 959 §4.2): its code and every line exactly as it arrived (without
/// CRLF).
///
/// Not the server's [`crate::reply::Reply`], which is built from a named
/// [`ReplyCode`](crate::reply::ReplyCode) and framed on the way out: the client must take any
/// three digits a server sends, and show each line as it came, code prefix and all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedReply {
    /// The three-digit code.
    pub code: u16,
    /// The lines, each with its code prefix as sent (`227 Entering Passive Mode (…)`).
    pub lines: Vec<String>,
}

impl ReceivedReply {
    /// Parse the lines of one reply, as read from the wire.
    ///
    /// ```
    /// use localftp::client::wire::ReceivedReply;
    /// let reply = ReceivedReply::parse(vec!["230 Login successful.".into()]).unwrap();
    /// assert_eq!(reply.code, 230);
    /// assert_eq!(reply.text(), "Login successful.");
    /// assert!(ReceivedReply::parse(vec!["hello".into()]).is_err());
    /// ```
    pub fn parse(lines: Vec<String>) -> Result<ReceivedReply, String> {
        let first = lines.first().ok_or("an empty reply")?;
        let code = code_of(first).ok_or_else(|| format!("{first:?} does not start with a code"))?;
        Ok(ReceivedReply { code, lines })
    }

    /// The text of the last line, after the code: for a single-line reply, its whole text.
    pub fn text(&self) -> &str {
        let last = self.lines.last().map(String::as_str).unwrap_or("");
        last.get(4..).unwrap_or("")
    }

    /// All the text, every line joined by spaces (for searching a 227 for its numbers).
    pub fn full_text(&self) -> String {
        self.lines.join(" ")
    }

    /// 1yz: the command started; another reply follows (RFC 959 §4.2.1).
    pub fn is_preliminary(&self) -> bool {
        self.code / 100 == 1
    }

    /// 2yz: done.
    pub fn is_success(&self) -> bool {
        self.code / 100 == 2
    }
}

/// The code at the start of a reply line: three digits, then a space, a hyphen or nothing.
fn code_of(line: &str) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match line.as_bytes().get(3) {
        None | Some(b' ') | Some(b'-') => digits.parse().ok(),
        _ => None,
    }
}

/// How a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// CRLF, as RFC 959 §4.2 asks.
    CrLf,
    /// A bare LF.
    Lf,
    /// A bare CR, followed by something other than LF.
    Cr,
    /// The connection closed in the middle of the line.
    Eof,
}

/// One line, without its ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The text (invalid UTF-8 replaced, as a reply is meant to be text).
    pub text: String,
    /// How it ended.
    pub ending: Ending,
    /// How many reads from the network the line's bytes took: 1 is the usual case, more means
    /// the line was split across TCP segments (or TLS records).
    pub pieces: usize,
    /// The *previous* line, taken to end in CRLF, turned out to end in a bare CR.
    pub after_bare_cr: bool,
}

/// Why a line could not be read.
#[derive(Debug)]
pub enum LineError {
    /// The socket failed or timed out.
    Io(io::Error),
    /// The line grew past the limit without ending.
    TooLong,
}

/// Read one line from `reader`; `None` when the connection closed before a single byte.
/// `pending_cr` carries the "was that CR followed by LF?" question from one call to the next.
pub fn read_line<R: Read>(
    reader: &mut BufReader<R>,
    pending_cr: &mut bool,
    max: usize,
) -> Result<Option<Line>, LineError> {
    let mut bytes = Vec::new();
    // Bytes already buffered came from an earlier read: that read counts as one piece.
    let mut pieces = usize::from(!reader.buffer().is_empty());
    let mut after_bare_cr = false;
    let ending = loop {
        if reader.buffer().is_empty() {
            pieces += 1;
        }
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Io(e)),
        };
        if buffer.is_empty() {
            if bytes.is_empty() {
                return Ok(None);
            }
            break Ending::Eof;
        }
        if std::mem::take(pending_cr) {
            if buffer[0] == b'\n' {
                // The LF of the last line's CRLF, which came in the next piece.
                reader.consume(1);
                pieces = pieces.saturating_sub(1);
                continue;
            }
            after_bare_cr = true;
        }
        let Some(end) = buffer.iter().position(|&b| b == b'\n' || b == b'\r') else {
            bytes.extend_from_slice(buffer);
            let taken = buffer.len();
            reader.consume(taken);
            if bytes.len() > max {
                return Err(LineError::TooLong);
            }
            continue;
        };
        bytes.extend_from_slice(&buffer[..end]);
        let (ending, used) = match (buffer[end], buffer.get(end + 1)) {
            (b'\n', _) => (Ending::Lf, end + 1),
            (_, Some(b'\n')) => (Ending::CrLf, end + 2),
            (_, Some(_)) => (Ending::Cr, end + 1),
            (_, None) => {
                // The CR is the last byte so far: decided at the next read (see the module doc).
                *pending_cr = true;
                (Ending::CrLf, end + 1)
            }
        };
        reader.consume(used);
        break ending;
    };
    if bytes.len() > max {
        return Err(LineError::TooLong);
    }
    Ok(Some(Line {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        ending,
        pieces: pieces.max(1),
        after_bare_cr,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes in the given pieces, one per `read`, like TCP
    /// segments.
    struct Segments(Vec<Vec<u8>>);

    impl Read for Segments {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let mut piece = self.0.remove(0);
            let n = piece.len().min(out.len());
            out[..n].copy_from_slice(&piece[..n]);
            if n < piece.len() {
                self.0.insert(0, piece.split_off(n));
            }
            Ok(n)
        }
    }

    fn lines(pieces: &[&[u8]]) -> Vec<Line> {
        let mut reader = BufReader::new(Segments(pieces.iter().map(|p| p.to_vec()).collect()));
        let mut pending = false;
        let mut out = Vec::new();
        while let Some(line) = read_line(&mut reader, &mut pending, 100).unwrap() {
            out.push(line);
        }
        out
    }

    #[test]
    fn crlf_lf_and_cr_endings_are_told_apart() {
        let got = lines(&[b"220 a\r\n331 b\n230 c\r257 d\r\n"]);
        let endings: Vec<_> = got.iter().map(|l| (l.text.as_str(), l.ending)).collect();
        assert_eq!(
            endings,
            [
                ("220 a", Ending::CrLf),
                ("331 b", Ending::Lf),
                ("230 c", Ending::Cr),
                ("257 d", Ending::CrLf)
            ]
        );
        assert!(got.iter().all(|l| l.pieces == 1 && !l.after_bare_cr));
    }

    #[test]
    fn a_line_cut_across_segments_counts_its_pieces() {
        let got = lines(&[b"331 Us", b"er ok", b"ay\r\n230 "]);
        assert_eq!(got[0].text, "331 User okay");
        assert_eq!(got[0].pieces, 3);
        assert_eq!(got[1].text, "230 ");
        assert_eq!(got[1].ending, Ending::Eof);
    }

    #[test]
    fn a_crlf_split_between_cr_and_lf_is_still_one_crlf() {
        let got = lines(&[b"200 ok\r", b"\n250 done\r\n"]);
        assert_eq!(got[0].ending, Ending::CrLf);
        assert_eq!(got[1].text, "250 done");
        assert!(!got[1].after_bare_cr);
        assert_eq!(
            got[1].pieces, 1,
            "the LF's piece belongs to the line before"
        );
    }

    #[test]
    fn a_bare_cr_at_the_end_of_a_piece_is_found_at_the_next_line() {
        let got = lines(&[b"200 ok\r", b"250 done\r\n"]);
        assert_eq!(got[1].text, "250 done");
        assert!(got[1].after_bare_cr);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut reader = BufReader::with_capacity(16, Segments(vec![vec![b'x'; 300]]));
        let mut pending = false;
        assert!(matches!(
            read_line(&mut reader, &mut pending, 100),
            Err(LineError::TooLong)
        ));
    }

    #[test]
    fn reply_codes_need_three_digits_and_a_separator() {
        assert_eq!(code_of("220 hi"), Some(220));
        assert_eq!(code_of("211-Features:"), Some(211));
        assert_eq!(code_of("226"), Some(226));
        assert_eq!(code_of("22 hi"), None);
        assert_eq!(code_of("2200 hi"), None);
        assert_eq!(code_of(" UTF8"), None);
    }

    #[test]
    fn the_text_of_a_multi_line_reply_is_its_last_line() {
        let reply = ReceivedReply::parse(vec![
            "211-Features:".into(),
            " EPSV".into(),
            "211 End".into(),
        ])
        .unwrap();
        assert_eq!(reply.text(), "End");
        assert!(reply.is_success() && !reply.is_preliminary());
    }
}
