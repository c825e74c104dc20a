//! What happens on a session's data connections, as one value each: the explain log and the
//! transcript write it as a sentence ([`DataEvent`]'s `Display`), and the sequence diagram and
//! the teacher's board read it back ([`DataEvent::parse`]). The sentence is defined once, here,
//! in both directions.

use std::fmt;

/// One event on the data connection of a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataEvent {
    /// PASV/EPSV: the server listens on `port` and waits for the client (`at` is the address
    /// it listens on).
    Listening {
        /// The passive port.
        port: u16,
        /// The server's address.
        at: String,
    },
    /// The data connection is open, with `peer` (the client's address).
    Open {
        /// Who is on the other end.
        peer: String,
    },
    /// PROT P: the TLS handshake on the data connection is done.
    Tls,
    /// The transfer ended well: `bytes` moved, and the data connection closed.
    Done {
        /// How many bytes.
        bytes: u64,
        /// True for an upload (the server received), false for a download or listing.
        received: bool,
    },
    /// The transfer failed or was aborted, for the reason given.
    Stopped {
        /// Why, in words.
        why: String,
    },
}

const LISTENING: (&str, &str) = ("passive port ", "; waiting for the client to connect");
const OPEN: &str = "data connection open with ";
const TLS: &str = "TLS handshake done on the data connection (PROT P)";
const DONE: &str = " bytes ";
const CLOSED: &str = "; data connection closed";
const STOPPED: &str = "transfer stopped: ";

impl fmt::Display for DataEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataEvent::Listening { port, at } => {
                write!(f, "{}{port} opened on {at}{}", LISTENING.0, LISTENING.1)
            }
            DataEvent::Open { peer } => write!(f, "{OPEN}{peer}"),
            DataEvent::Tls => f.write_str(TLS),
            DataEvent::Done { bytes, received } => {
                let way = if *received { "received" } else { "sent" };
                write!(f, "{bytes}{DONE}{way}{CLOSED}")
            }
            DataEvent::Stopped { why } => write!(f, "{STOPPED}{why}"),
        }
    }
}

impl DataEvent {
    /// The event a sentence of [`DataEvent`]'s `Display` describes (from a transcript).
    ///
    /// ```
    /// use localftp::server::events::DataEvent;
    /// for event in [
    ///     DataEvent::Listening { port: 50000, at: "127.0.0.1".into() },
    ///     DataEvent::Open { peer: "127.0.0.1:41234".into() },
    ///     DataEvent::Tls,
    ///     DataEvent::Done { bytes: 139, received: false },
    ///     DataEvent::Stopped { why: "the client aborted it".into() },
    /// ] {
    ///     assert_eq!(DataEvent::parse(&event.to_string()), Some(event));
    /// }
    /// assert_eq!(DataEvent::parse("something else"), None);
    /// ```
    pub fn parse(text: &str) -> Option<DataEvent> {
        if let Some(rest) = text.strip_prefix(LISTENING.0) {
            let rest = rest.strip_suffix(LISTENING.1)?;
            let (port, at) = rest.split_once(" opened on ")?;
            return Some(DataEvent::Listening {
                port: port.parse().ok()?,
                at: at.to_string(),
            });
        }
        if let Some(peer) = text.strip_prefix(OPEN) {
            return Some(DataEvent::Open {
                peer: peer.to_string(),
            });
        }
        if text == TLS {
            return Some(DataEvent::Tls);
        }
        if let Some(why) = text.strip_prefix(STOPPED) {
            return Some(DataEvent::Stopped {
                why: why.to_string(),
            });
        }
        let (bytes, way) = text.strip_suffix(CLOSED)?.split_once(DONE)?;
        Some(DataEvent::Done {
            bytes: bytes.parse().ok()?,
            received: match way {
                "received" => true,
                "sent" => false,
                _ => return None,
            },
        })
    }
}
