//! Everything that can go wrong in the guided client, each as one sentence a student can act on
//! (the seed's section IV: connection refused, timeouts, 530, 550, local files, a full disk).
//!
//! One flat enum, as in ureq: each variant's doc says *when* it happens, and [`fmt::Display`]
//! writes the sentence. A failure never panics and never ends the menu by itself; the caller
//! decides with [`ClientError::is_fatal`] whether the session can go on.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use rustls::CertificateError;

use crate::reply::ReplyCode;

/// Why one step of the client failed.
#[derive(Debug)]
pub enum ClientError {
    /// The host name could not be turned into an address.
    Resolve {
        /// The host as given.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// The TCP connection to the server could not be made (refused, unreachable, timed out).
    Connect {
        /// `host:port` as given.
        address: String,
        /// The socket error.
        source: io::Error,
        /// The connect timeout, for the "no answer" sentence.
        timeout: Duration,
    },
    /// The server said nothing for too long on the control or the data connection.
    Timeout {
        /// What the client was waiting for ("the greeting", "a reply to PASV", …).
        waiting_for: String,
        /// How long it waited.
        after: Duration,
    },
    /// The server closed the control connection, or the socket failed.
    ConnectionLost {
        /// What the client was doing when it noticed.
        during: String,
        /// The socket error (an end-of-file shows as `UnexpectedEof`).
        source: io::Error,
    },
    /// The server answered a command with a 4yz or 5yz reply (or another unexpected one).
    Refused {
        /// The command as shown to the student (a password masked).
        command: String,
        /// The reply code.
        code: u16,
        /// The reply's text (its last line), as sent.
        text: String,
    },
    /// The server sent a line that is not an FTP reply, or a 227/229 without a usable address.
    BadReply {
        /// What was wrong.
        problem: String,
    },
    /// The local file to upload does not exist.
    LocalMissing {
        /// The path given.
        path: PathBuf,
    },
    /// The local file exists but cannot be read (a folder, no permission, locked…).
    LocalUnreadable {
        /// The path given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A local file could not be created or written (no permission, disk full…).
    LocalWrite {
        /// The file being written.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The server said the download was complete (226), but fewer bytes came than its 150
    /// announced: the data connection was closed early (see [`super::notes`]).
    Short {
        /// The command, as sent.
        command: String,
        /// Bytes received.
        got: u64,
        /// Bytes the 150 announced.
        announced: u64,
    },
    /// The second (data) connection could not be opened, or broke during a transfer.
    Data {
        /// What the client was doing.
        during: String,
        /// The socket error.
        source: io::Error,
    },
    /// `--tls`: the server answered `AUTH TLS` with something other than `234` (a `502` when it
    /// has no certificate), so the client stops rather than log in in clear text.
    NoTls {
        /// The reply code.
        code: u16,
        /// The reply's text, as sent.
        text: String,
    },
    /// `--tls`: the TLS handshake on the control connection failed: the certificate was
    /// refused (another CA, another name, expired), or the server broke the handshake off.
    Tls {
        /// Where the handshake was.
        during: String,
        /// The error from rustls or the socket ([`explain_tls`] puts it in words).
        source: io::Error,
    },
    /// A menu action was written in a way the client does not understand.
    Usage(String),
    /// The terminal prompt failed (the terminal went away).
    Prompt(String),
}

impl ClientError {
    /// Whether the session cannot go on after this error: the control connection is gone or out
    /// of step. Every other error is reported and the menu comes back.
    pub fn is_fatal(&self) -> bool {
        match self {
            ClientError::Resolve { .. }
            | ClientError::Connect { .. }
            | ClientError::ConnectionLost { .. }
            | ClientError::Timeout { .. }
            | ClientError::BadReply { .. }
            | ClientError::NoTls { .. }
            | ClientError::Tls { .. }
            | ClientError::Prompt(_) => true,
            // 421 is the server saying it is closing the control connection.
            ClientError::Refused { code, .. } => *code == ReplyCode::ServiceNotAvailable.number(),
            _ => false,
        }
    }

    /// The error for an I/O failure on the control connection while doing `during`.
    pub fn control(during: impl Into<String>, source: io::Error, timeout: Duration) -> ClientError {
        let during = during.into();
        if is_timeout(&source) {
            ClientError::Timeout {
                waiting_for: during,
                after: timeout,
            }
        } else {
            ClientError::ConnectionLost { during, source }
        }
    }
}

/// Whether a socket error is a read or write timeout (Unix says `WouldBlock`, Windows
/// `TimedOut`).
pub fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether a local write failed because the disk (or the user's quota) is full.
pub fn is_disk_full(error: &io::Error) -> bool {
    // 28 is ENOSPC and 122 EDQUOT on Linux; `StorageFull` covers both where std maps them.
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// What a reply code means, from the shared table in [`crate::reply`], or from its first digit
/// for codes the table does not name.
pub fn meaning(code: u16) -> &'static str {
    match ReplyCode::from_number(code) {
        Some(named) => named.explain(),
        None => ReplyCode::class_of(code),
    }
}

/// Why a TLS handshake failed, in words: the certificate problems a student meets first get a
/// sentence of their own; anything else is rustls's own description. (Here rather than in
/// [`super::tls`], which builds on this module: the sentence is part of [`ClientError::Tls`].)
pub fn explain_tls(error: &io::Error) -> String {
    let tls = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(why)) => match why {
            CertificateError::UnknownIssuer => not_signed("no issuer of that name there"),
            CertificateError::BadSignature => {
                not_signed("one there has the issuer's name, but not its key")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the server's certificate is not for the host name given with --host; connect \
                 with a name the certificate lists"
                    .into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".into()
            }
            other => format!("the server's certificate was refused ({other:?})"),
        },
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server broke off the handshake with the TLS alert {alert:?}")
        }
        Some(other) => other.to_string(),
        None if is_timeout(error) => "the server stopped answering".into(),
        None if error.kind() == io::ErrorKind::UnexpectedEof => {
            "the server closed the connection in the middle of the handshake".into()
        }
        None => error.to_string(),
    }
}

fn not_signed(detail: &str) -> String {
    format!(
        "the server's certificate is not signed by any certificate in the --ca file \
         ({detail}): the file holds another CA, or someone else answered"
    )
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve { host, source } => {
                write!(f, "could not find the address of {host:?}: {source}")
            }
            ClientError::Connect {
                address,
                source,
                timeout,
            } => match source.kind() {
                io::ErrorKind::ConnectionRefused => write!(
                    f,
                    "could not connect to {address}: the connection was refused \
                     (is the server running, and on that port?)"
                ),
                _ if is_timeout(source) => write!(
                    f,
                    "could not connect to {address}: no answer within {} s \
                     (a firewall, or the wrong host?)",
                    timeout.as_secs()
                ),
                _ => write!(f, "could not connect to {address}: {source}"),
            },
            ClientError::Timeout { waiting_for, after } => write!(
                f,
                "timed out: the server sent nothing for {} s while the client waited for {waiting_for}",
                after.as_secs()
            ),
            ClientError::ConnectionLost { during, source } => {
                if source.kind() == io::ErrorKind::UnexpectedEof {
                    write!(f, "the server closed the control connection ({during})")
                } else {
                    write!(f, "the control connection failed ({during}): {source}")
                }
            }
            ClientError::Refused {
                command,
                code,
                text,
            } => write!(
                f,
                "{command} failed with {code} ({}); the server said: {text}",
                meaning(*code)
            ),
            ClientError::BadReply { problem } => {
                write!(f, "the server broke the protocol: {problem}")
            }
            ClientError::LocalMissing { path } => write!(
                f,
                "the local file {} does not exist, so there is nothing to upload",
                path.display()
            ),
            ClientError::LocalUnreadable { path, source } => {
                write!(
                    f,
                    "the local file {} cannot be read: {source}",
                    path.display()
                )
            }
            ClientError::LocalWrite { path, source } if is_disk_full(source) => write!(
                f,
                "the local disk is full: {} could not be written, and the partial file was removed",
                path.display()
            ),
            ClientError::LocalWrite { path, source } => {
                write!(
                    f,
                    "the local file {} could not be written: {source}",
                    path.display()
                )
            }
            ClientError::Short {
                command,
                got,
                announced,
            } => write!(
                f,
                "{command} came back short: the server said the transfer was complete, but only \
                 {got} of the {announced} bytes it announced arrived"
            ),
            ClientError::Data { during, source } => {
                write!(f, "the data connection failed while {during}: {source}")
            }
            ClientError::NoTls { code, text } => write!(
                f,
                "the server does not offer FTPS: it answered AUTH TLS with {code} ({}), so the \
                 client stops rather than send the password in clear text; leave out --tls for \
                 plain FTP, or give the server a certificate (localftp: --tls-self-signed); the \
                 server said: {text}",
                meaning(*code)
            ),
            ClientError::Tls { during, source } => write!(
                f,
                "the TLS handshake failed ({during}): {}",
                explain_tls(source)
            ),
            ClientError::Usage(message) => write!(f, "{message}"),
            ClientError::Prompt(message) => write!(f, "the terminal prompt failed: {message}"),
        }
    }
}

impl std::error::Error for ClientError {
    /// The socket, file or TLS error underneath, for the variants that wrap one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Resolve { source, .. }
            | ClientError::Connect { source, .. }
            | ClientError::ConnectionLost { source, .. }
            | ClientError::LocalUnreadable { source, .. }
            | ClientError::LocalWrite { source, .. }
            | ClientError::Data { source, .. }
            | ClientError::Tls { source, .. } => Some(source),
            ClientError::Timeout { .. }
            | ClientError::Refused { .. }
            | ClientError::BadReply { .. }
            | ClientError::LocalMissing { .. }
            | ClientError::Short { .. }
            | ClientError::NoTls { .. }
            | ClientError::Usage(_)
            | ClientError::Prompt(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_command_the_code_and_its_meaning() {
        let error = ClientError::Refused {
            command: "RETR nope.txt".into(),
            code: 550,
            text: "\"/nope.txt\": no such file or folder.".into(),
        };
        let sentence = error.to_string();
        assert!(
            sentence.starts_with("RETR nope.txt failed with 550 (refused"),
            "{sentence}"
        );
        assert!(sentence.ends_with("the server said: \"/nope.txt\": no such file or folder."));
        assert!(sentence.contains("does not exist"), "{sentence}");
        assert!(!error.is_fatal());
    }

    #[test]
    fn a_full_disk_is_said_plainly() {
        let error = ClientError::LocalWrite {
            path: "big.iso".into(),
            // By kind: the raw code differs per OS (ENOSPC 28, ERROR_DISK_FULL 112).
            source: io::ErrorKind::StorageFull.into(),
        };
        assert!(error.to_string().starts_with("the local disk is full"));
    }

    #[test]
    fn refused_connections_suggest_the_server_is_down() {
        let error = ClientError::Connect {
            address: "127.0.0.1:2122".into(),
            source: io::ErrorKind::ConnectionRefused.into(),
            timeout: Duration::from_secs(5),
        };
        assert!(error.to_string().contains("is the server running"));
        assert!(error.is_fatal());
        let cause = std::error::Error::source(&error).and_then(|e| e.downcast_ref::<io::Error>());
        assert_eq!(
            cause.map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );
    }
}
