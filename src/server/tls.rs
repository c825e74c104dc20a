//! FTPS: TLS on the control and data connections (RFC 4217), with rustls.
//!
//! Plain FTP sends everything in clear text, the password included: anyone who can capture the
//! traffic (`tcpdump -A -i lo port 2122`) reads `PASS 12345`. Explicit FTPS fixes that on the
//! same port: the client sends `AUTH TLS`, the server answers `234`, and both sides run a TLS
//! handshake on the control connection; from then on every command and reply is encrypted
//! (RFC 4217 §4). `PBSZ 0` and `PROT P` then ask for the data connections to be TLS too (§8, §9).
//!
//! [`TlsConfig`] holds the certificate and key (from PEM files, or generated for `localhost`
//! with `--tls-self-signed`). [`TlsStream`] is a TLS connection that the session thread can read
//! while the transfer thread writes a reply: rustls keeps one state machine per connection, so
//! that state sits behind a mutex held only to encrypt or decrypt, never while waiting for the
//! network. (A `rustls::StreamOwned` would hold its state across a blocking read, and a reply
//! could not be sent while the session waits for the next command.)

use std::fmt::Write as _;
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::reply::{Reply, ReplyCode};

mod connection;

pub use connection::TlsStream;

/// The server's TLS identity: certificate chain and key, ready to start connections.
///
/// The one made at start is shared by every session. At `AUTH TLS` each session takes its own
/// copy ([`TlsConfig::for_session`]) with its own memory of TLS sessions, which its data
/// connections must resume (see [`TlsConfig::accept_data`]).
#[derive(Clone)]
pub struct TlsConfig {
    /// For the control connection.
    control: Arc<rustls::ServerConfig>,
    /// For data connections: the same, but sending no TLS 1.3 session tickets (see `new`).
    data: Arc<rustls::ServerConfig>,
    /// For data connections that only the server writes to (downloads, listings): one fresh
    /// ticket, which the client reads with the data (see `for_session`).
    data_with_ticket: Arc<rustls::ServerConfig>,
    /// Refuse a data connection whose TLS session is not a resumption (`--no-require-tls-reuse`
    /// turns it off).
    require_reuse: bool,
    fingerprint: String,
}

/// TLS 1.3 session tickets the control connection sends after its handshake. An OpenSSL or
/// GnuTLS client (curl, lftp, Python) resumes with one ticket again and again; a rustls client
/// spends one per data connection. Uploads bring no new one (see `TlsConfig::new`), so this is
/// how many uploads in a row such a client can make: the guided client keeps them all
/// (`client::tickets`); rustls's own store (suppaftp's default) keeps 8. A ticket is about
/// 150 bytes, sent once per login.
const CONTROL_TICKETS: usize = 32;

/// TLS sessions a session's cache remembers (TLS 1.2 session IDs): the control connection's,
/// and a few data connections'.
const SESSIONS_REMEMBERED: usize = 16;

/// The names a self-signed certificate is made for: the machine itself, by name and address.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Why a TLS setup could not be made: the certificate and key could not be read or generated,
/// or rustls would not take them.
#[derive(Debug)]
pub enum TlsError {
    /// The certificate file (`--tls-cert`) could not be read, or is not PEM.
    ReadCertificates {
        /// The file.
        path: PathBuf,
        /// Why (a file error, or a malformed PEM section).
        source: pem::Error,
    },
    /// The certificate file holds no `-----BEGIN CERTIFICATE-----` section.
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file (`--tls-key`) could not be read, or holds no private key.
    ReadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        source: pem::Error,
    },
    /// rcgen could not make a self-signed certificate (`--tls-self-signed`).
    Generate(rcgen::Error),
    /// rustls refused the certificate and key together: the key is not the certificate's, or
    /// of a kind rustls does not support.
    Setup(rustls::Error),
    /// A session's own ticket key could not be made ([`TlsConfig::for_session`], at
    /// `AUTH TLS`).
    TicketKey(rustls::Error),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::ReadCertificates { path, source } => write!(
                f,
                "cannot read certificates from {}: {source}",
                path.display()
            ),
            TlsError::NoCertificate { path } => {
                write!(f, "no certificate found in {}", path.display())
            }
            TlsError::ReadKey { path, source } => write!(
                f,
                "cannot read a private key from {}: {source}",
                path.display()
            ),
            TlsError::Generate(e) => write!(f, "cannot generate a certificate: {e}"),
            TlsError::Setup(e) => {
                write!(f, "the certificate and key do not make a TLS setup: {e}")
            }
            TlsError::TicketKey(e) => write!(f, "cannot make a session ticket key: {e}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::ReadCertificates { source, .. } | TlsError::ReadKey { source, .. } => {
                Some(source)
            }
            TlsError::NoCertificate { .. } => None,
            TlsError::Generate(e) => Some(e),
            TlsError::Setup(e) | TlsError::TicketKey(e) => Some(e),
        }
    }
}

/// Why a data connection was refused under `--require-tls-reuse` (the default): its TLS
/// handshake was a new one, not a resumption of the control connection's session.
#[derive(Debug)]
pub struct NotResumed;

impl std::fmt::Display for NotResumed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "its TLS session is new, not the control connection's resumed (session reuse required)",
        )
    }
}

impl std::error::Error for NotResumed {}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key; the fingerprint says which certificate this is.
        write!(f, "TlsConfig {{ sha256: {} }}", self.fingerprint)
    }
}

impl TlsConfig {
    /// Load a certificate chain and a private key from PEM files (`--tls-cert`, `--tls-key`).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect())
            .map_err(|source| TlsError::ReadCertificates {
                path: cert.to_path_buf(),
                source,
            })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate {
                path: cert.to_path_buf(),
            });
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::ReadKey {
            path: key.to_path_buf(),
            source,
        })?;
        TlsConfig::new(chain, key)
    }

    /// A fresh self-signed certificate for `localhost`, `127.0.0.1` and `::1`: enough for a
    /// classroom, where clients accept it with `--insecure` (curl `-k`) after checking the
    /// fingerprint the server logs. A new one each time: `server::state` keeps one from one
    /// start to the next instead, so clients can trust it with `--ca`.
    pub fn self_signed() -> Result<TlsConfig, TlsError> {
        let names = SELF_SIGNED_NAMES.map(String::from).to_vec();
        let certified = rcgen::generate_simple_self_signed(names).map_err(TlsError::Generate)?;
        let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
        TlsConfig::new(vec![certified.cert.der().clone()], key.into())
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, TlsError> {
        let fingerprint = fingerprint(&chain[0]);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let control = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(TlsError::Setup)?;
        // After a TLS 1.3 handshake the server sends session tickets. On an upload the client
        // only writes and never reads them; when it closes, those unread bytes make its kernel
        // reset the connection instead of closing it, and the upload looks broken (curl does
        // exactly this). Data connections therefore send none.
        let mut data = control.clone();
        data.send_tls13_tickets = 0;
        let control = Arc::new(control);
        Ok(TlsConfig {
            data_with_ticket: Arc::clone(&control),
            control,
            data: Arc::new(data),
            require_reuse: true,
            fingerprint,
        })
    }

    /// This setup for one FTP session: its control connection and its data connections share
    /// a TLS session cache and a ticket key that no other session has. A data connection whose
    /// handshake *resumes* a session from that cache proves that its client knew the secrets of
    /// this session's control connection: it is the logged-in client, not another program on
    /// the same machine (or behind the same NAT) that raced it to the passive port.
    /// `require_reuse` refuses data connections that do not resume (vsftpd's
    /// `require_ssl_reuse`).
    pub fn for_session(&self, require_reuse: bool) -> Result<TlsConfig, TlsError> {
        let ticketer = rustls::crypto::ring::Ticketer::new().map_err(TlsError::TicketKey)?;
        let storage = rustls::server::ServerSessionMemoryCache::new(SESSIONS_REMEMBERED);
        let own = |base: &rustls::ServerConfig, tickets: usize| {
            let mut config = base.clone();
            config.session_storage = Arc::clone(&storage) as _;
            config.ticketer = Arc::clone(&ticketer);
            config.send_tls13_tickets = tickets;
            Arc::new(config)
        };
        Ok(TlsConfig {
            control: own(&self.control, CONTROL_TICKETS),
            data: own(&self.data, 0),
            // A rustls client spends a ticket on each data connection; a download gives it a
            // new one to read along with the file. (An upload must not: see `new`.)
            data_with_ticket: own(&self.data, 1),
            require_reuse,
            fingerprint: self.fingerprint.clone(),
        })
    }

    /// The SHA-256 fingerprint of the certificate, `AB:CD:…`, as browsers and curl show it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Start TLS on the control connection (after `AUTH TLS`) and run the handshake, waiting
    /// at most `timeout`. `early` holds bytes already read from the socket that belong to the
    /// handshake.
    pub fn accept_control(
        &self,
        socket: TcpStream,
        early: &[u8],
        timeout: Duration,
    ) -> io::Result<TlsStream> {
        TlsStream::accept(&self.control, socket, early, timeout)
    }

    /// Start TLS on a data connection (under `PROT P`) and run the handshake. `download`: the
    /// client reads this connection to its end (RETR, LIST, …), so a session ticket may be sent.
    ///
    /// With reuse required, a handshake that did not resume this session's TLS session fails
    /// with a [`NotResumed`] error (see [`data_refusal`]): the connection is dropped before a
    /// byte of the file is sent or taken.
    pub fn accept_data(
        &self,
        socket: TcpStream,
        timeout: Duration,
        download: bool,
    ) -> io::Result<TlsStream> {
        let config = if download {
            &self.data_with_ticket
        } else {
            &self.data
        };
        let stream = TlsStream::accept(config, socket, &[], timeout)?;
        let resumed = stream.lock().handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        if self.require_reuse && !resumed {
            // A clean close (close_notify, then FIN) rather than a reset: the client sees the
            // end of the data, not an error, and goes on to read the 522 that explains it.
            let _ = stream.close();
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, NotResumed));
        }
        Ok(stream)
    }
}

/// The reply for a data connection whose TLS handshake failed: `522` when it was refused for
/// not resuming the control connection's session (the code and words vsftpd uses, so clients
/// recognise it), `425` for any other failure.
pub fn data_refusal(error: &io::Error) -> Reply {
    if error.get_ref().is_some_and(|e| e.is::<NotResumed>()) {
        Reply::new(
            ReplyCode::NetworkProtocolNotSupported,
            "SSL connection failed: session reuse required. The data connection's TLS session \
             must resume the control connection's (curl, lftp and FileZilla do; Python's \
             ftplib needs session=self.sock.session, see Lesson 20).",
        )
    } else {
        Reply::new(
            ReplyCode::CantOpenDataConnection,
            format!("TLS handshake on the data connection failed: {error}."),
        )
    }
}

/// `AB:CD:…` for the SHA-256 of a certificate.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = Sha256::digest(cert.as_ref());
    let mut out = String::with_capacity(95);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{byte:02X}");
    }
    out
}
