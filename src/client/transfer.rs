//! The sequence every command with a data connection follows (RFC 959 §4.1.3, §5.4): RETR,
//! STOR and resuming (in `files`), LIST and MLSD (in `listing`), TYPE A vs TYPE I (in
//! `compare`). It is written once, in [`Client::transfer`]:
//!
//! ```text
//! C: PASV                      set up the data connection (or EPSV, or PORT)
//! S: 227 Entering Passive Mode (127,0,0,1,195,80).
//!    [data] open               the client connects to port 195 × 256 + 80 = 50000
//! C: RETR baca_saya.txt        the command itself
//! S: 150 (or 125) …            1yz: started; a second reply will follow
//!    [data] 97 bytes, closed   the bytes, then the close that marks their end
//! S: 226 Transfer complete.    2yz: done
//! ```
//!
//! Servers do not all keep to this sequence, and the places where they differ get protocol
//! notes (see [`super::notes`]): a 2yz with no 1yz before it (the data is read anyway), a 125
//! before the server connected, the final reply before the data connection closed, and fewer
//! bytes than the 150 announced although the server said 226 (the file stays `NAME.part`).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::Client;
use super::copy::{self, Carried, CopyError, Counts};
use super::data::{self, DataMode, Pending};
use super::error::ClientError;
use super::narrate::Closer;
use super::notes::{self, Note};
use super::tls;
use super::watch::ReplyWatch;
use super::wire::refusal;

/// Which way the bytes go, and between what.
pub(super) enum Direction<'a> {
    /// Server → client: a listing, kept in memory and shown line by line.
    Listing(&'a mut Vec<u8>),
    /// Server → client, into the file at `path`.
    Receive {
        into: &'a mut dyn Write,
        path: &'a Path,
        ascii: bool,
    },
    /// Client → server, from the file at `path`, `size` bytes long.
    Send {
        from: &'a mut dyn Read,
        path: &'a Path,
        ascii: bool,
        size: u64,
    },
}

impl Client {
    /// The sequence every transfer shares: data connection, (REST,) command, 1yz, bytes,
    /// close, 2yz. Returns how many bytes moved.
    pub(super) fn transfer(
        &mut self,
        command: &str,
        rest: Option<u64>,
        direction: Direction<'_>,
    ) -> Result<Counts, ClientError> {
        let mut pending = data::prepare(&mut self.wire, self.mode)?;
        if let Some(offset) = rest {
            self.wire
                .require(&format!("REST {offset}"), |code| code == 350)?;
        }
        let verb = command
            .split(' ')
            .next()
            .unwrap_or(command)
            .to_ascii_uppercase();
        self.wire.send(command)?;
        // Active mode: had the server connected when its reply began to arrive? A 125 says so.
        let connected_first = match pending {
            Pending::Listening(_) => {
                self.wire.wait_for_reply();
                Some(pending.connected_yet(&self.wire))
            }
            Pending::Connected(_) | Pending::Accepted(..) => None,
        };
        let reply = self.wire.read_reply(&format!("the reply to {verb}"))?;
        // A server that skips the 1yz sends its final reply at once, and the data anyway.
        let mut final_reply = None;
        if reply.is_success() {
            self.wire.note(Note::NoPreliminary {
                verb: verb.clone(),
                code: reply.code,
            });
            final_reply = Some(reply.clone());
        } else if !reply.is_preliminary() {
            if matches!(pending, Pending::Connected(_) | Pending::Accepted(..)) {
                self.narrator().data("closing the unused data connection");
            }
            return Err(refusal(command, &reply));
        } else if reply.code == 125 && connected_first == Some(false) {
            self.wire.note(Note::Premature125);
        } else {
            self.explain_preliminary(reply.code);
        }
        self.move_bytes(command, rest, pending, direction, reply, final_reply)
    }

    /// Say what the 1yz reply means here. What other servers do, from their source:
    /// pyftpdlib (`push_dtp_data` for LIST, MLSD and RETR, `ftp_STOR` for uploads) says 125
    /// when it has already accepted the data connection as the command arrives, and 150 when it
    /// has not yet, so the same server may answer either, depending on timing; vsftpd always
    /// says 150 ("150 Opening BINARY mode data connection", "150 Here comes the directory
    /// listing").
    fn explain_preliminary(&self, code: u16) {
        self.narrator().note(match (code, self.mode) {
            (125, DataMode::Active) => {
                "125: the server had connected to our port before the command came (pyftpdlib \
                 connects as soon as PORT arrives, and says 125 once it has)"
            }
            (125, _) => {
                "125, not 150: we connected right after the 227/229, and the server had taken \
                 that connection in before the command came (pyftpdlib says 125 then, 150 when \
                 it has not yet; vsftpd always says 150)"
            }
            (_, DataMode::Active) => "150: the server connects to the client's port now",
            _ => {
                "150: the transfer starts now; we connected before sending the command, but \
                 this server either had not taken the connection in yet (pyftpdlib then says \
                 150, and 125 when it had) or always says 150 (vsftpd does)"
            }
        });
    }

    /// After the 1yz: open the data connection, move the bytes, close it, read the final
    /// reply, and check what came against what was announced.
    fn move_bytes(
        &mut self,
        command: &str,
        rest: Option<u64>,
        pending: Pending,
        direction: Direction<'_>,
        reply: super::wire::ReceivedReply,
        final_reply: Option<super::wire::ReceivedReply>,
    ) -> Result<Counts, ClientError> {
        let mut stream = match pending.open(&self.wire) {
            Ok(stream) => stream,
            Err(error) => {
                // The server still sends its verdict (425) for the command: read it.
                if final_reply.is_none() {
                    let _ = self
                        .wire
                        .read_reply("the reply after the failed data connection");
                }
                return Err(error);
            }
        };
        let downloading = !matches!(direction, Direction::Send { .. });
        let carried = match direction {
            Direction::Listing(_) => Carried::Listing,
            Direction::Receive { .. } => Carried::Download,
            Direction::Send { .. } => Carried::Upload,
        };
        let local_path = match &direction {
            Direction::Listing(_) => PathBuf::from("(the listing in memory)"),
            Direction::Receive { path, .. } | Direction::Send { path, .. } => path.to_path_buf(),
        };
        let total = match &direction {
            Direction::Send { size, .. } => Some(*size),
            // Many servers put the size in the 150 text ("(97 bytes)"); it is only a hint.
            _ => announced_size(reply.text()),
        };
        let bar = self.narrator().progress_bar(total);
        // Downloads watch the control connection: does the final reply come before the close?
        let control = match (&final_reply, downloading && !stream.is_tls()) {
            (None, true) => self.wire.socket().try_clone().ok(),
            _ => None,
        };
        let mut watched = ReplyWatch::new(
            &mut stream,
            control,
            self.wire.has_buffered(),
            self.wire.timeout(),
        );
        let copied = match direction {
            Direction::Listing(listing) => {
                let copied = copy::receive(&mut watched, listing, true, bar.as_ref());
                // The bar goes before the lines are shown: printed under a live bar, they would
                // push it up the screen, out of reach of its own clearing.
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                // What came over the data connection, shown before the reply that follows it.
                for line in String::from_utf8_lossy(listing).lines() {
                    self.narrator().content(line);
                }
                copied
            }
            Direction::Receive { into, ascii, .. } => {
                copy::receive(&mut watched, into, ascii, bar.as_ref())
            }
            Direction::Send { from, ascii, .. } => {
                copy::send(from, &mut watched, ascii, bar.as_ref())
            }
        };
        let replied_early = watched.replied_early();
        drop(watched);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let outcome = match copied {
            Ok(counts) => {
                copy::report(self.narrator(), counts, carried);
                Ok(counts)
            }
            Err(CopyError::Network(source, counts)) => {
                self.narrator().data(&format!(
                    "the data connection broke after {} bytes",
                    counts.wire
                ));
                Err(ClientError::Data {
                    during: format!("{command} was moving bytes"),
                    source,
                })
            }
            Err(CopyError::Local(source, counts)) => {
                self.narrator().data(&format!(
                    "closed early after {} bytes: the local file failed",
                    counts.wire
                ));
                Err(local_error(local_path, source, downloading))
            }
        };
        if stream.is_tls() && outcome.is_ok() {
            tls::narrate_end(self.narrator(), downloading);
        }
        // Closing is the end-of-file marker in stream mode: the server replies after it.
        stream.close(outcome.is_ok());
        if outcome.is_ok() {
            self.narrator().closed_by(match downloading {
                true => Closer::Server,
                false => Closer::Client,
            });
        }
        let last = match final_reply {
            Some(reply) => reply,
            None => self.wire.read_reply("the reply that ends the transfer")?,
        };
        if replied_early {
            self.wire.note(Note::EarlyFinalReply);
        }
        match outcome {
            Ok(counts)
                if last.is_success()
                    && downloading
                    && rest.is_none()
                    && notes::is_short(total, counts.wire) =>
            {
                let announced = total.unwrap_or(0);
                self.wire.note(Note::ShortTransfer {
                    got: counts.wire,
                    announced,
                    code: last.code,
                });
                Err(ClientError::Short {
                    command: command.to_string(),
                    got: counts.wire,
                    announced,
                })
            }
            Ok(counts) if last.is_success() => Ok(counts),
            Ok(_) => Err(refusal(command, &last)),
            // The server's code says more than "the socket broke" when it has one.
            Err(ClientError::Data { .. }) if last.code >= 400 => Err(refusal(command, &last)),
            Err(error) => Err(error),
        }
    }
}

fn local_error(path: PathBuf, source: io::Error, downloading: bool) -> ClientError {
    if downloading {
        ClientError::LocalWrite { path, source }
    } else {
        ClientError::LocalUnreadable { path, source }
    }
}

/// The size a 150 reply announces, as in `150 Opening … (97 bytes).`
fn announced_size(text: &str) -> Option<u64> {
    let (before, _) = text.rsplit_once(" bytes")?;
    let digits = before.rsplit(['(', ' ']).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_150_size_hint_is_read_when_present() {
        assert_eq!(
            announced_size("Opening data connection in BINARY mode for /a (97 bytes)."),
            Some(97)
        );
        assert_eq!(
            announced_size("Opening BINARY mode data connection for a (1234 bytes)."),
            Some(1234)
        );
        assert_eq!(announced_size("File status okay."), None);
    }
}
