//! FTPS, explicit (RFC 4217): `AUTH TLS` before `USER`, so the password travels encrypted;
//! then `PBSZ 0` and `PROT P`, so files and listings do too.
//!
//! ```text
//! S: 220 …                     the greeting, in clear text
//! C: AUTH TLS                  "let us switch to TLS on this connection" (RFC 4217 §4)
//! S: 234 …                     yes: the next bytes on the wire are the TLS handshake
//!    (handshake)               ClientHello, ServerHello, certificate, Finished
//! C: USER user / PASS (hidden)    encrypted from here on
//! C: PBSZ 0       S: 200       a buffer size TLS does not use: always 0 (§8)
//! C: PROT P       S: 200       data connections are TLS too (§9)
//! ```
//!
//! This module holds the TLS settings ([`Tls`]), the handshakes and `PBSZ`/`PROT`
//! ([`Client::protect_data`]); the `AUTH TLS` exchange is sent by the control connection itself,
//! [`Wire::secure_control`](super::wire::Wire::secure_control), which builds on this module.
//!
//! **Which TLS library, and why not through suppaftp.** suppaftp's `rustls-ring` feature can
//! do all of this (`RustlsFtpStream::into_secure`), and the test suite uses it for its own FTPS
//! interop test (`tests/integration/ftps.rs`). But this client stops using suppaftp's stream
//! after the greeting (see [`super::wire`] for why), so it uses the same TLS library directly:
//! rustls 0.23 with the ring crypto provider, one `rustls::ClientConnection` held with its
//! socket in a `rustls::StreamOwned` (see [`super::stream`]).
//!
//! **Whom to trust.** TLS is only as good as the check of the server's certificate. There are
//! two ways here, and no third: this machine has no system CA store to fall back on offline.
//!
//! - [`Trust::Ca`] (`--ca FILE`): the certificate must be signed by one in the PEM file (or be
//!   one of them) and name the `--host` given (an IP address is checked as one).
//! - [`Trust::Insecure`] (`--insecure`, curl's `-k`): any certificate is accepted, and the
//!   client shows its SHA-256 fingerprint for the student to compare with the one the server
//!   logged. The handshake's signatures are still checked, so the server must hold the key
//!   of the certificate it sent: what is skipped is only *who vouches* for that certificate.
//!
//! **The data connections.** Under `PROT P` the server is the TLS server on data connections
//! too, whichever side connected (RFC 4217 §9), so after each connect (or accept) the client
//! runs a new handshake with the same settings, resuming the control connection's TLS session
//! (the shared `ClientConfig` remembers it). That proves the data connection comes from the same
//! client, and servers that require it (localftp and vsftpd by default) refuse others with 522.

use std::io;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, ProtocolVersion,
    RootCertStore, SignatureScheme, StreamOwned,
};
use sha2::{Digest, Sha256};

use super::error::ClientError;
use super::narrate::Narrator;
use super::stream::{Stream, TlsStream};
use super::{Client, Options};

/// How the client decides that the certificate it is shown is the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// `--insecure`: accept any certificate; the student compares its fingerprint.
    Insecure,
    /// `--ca FILE`: only a certificate this PEM file vouches for.
    Ca(PathBuf),
}

/// The TLS settings for one server: built from the flags before connecting, then kept by the
/// control connection for the data connections.
pub struct Tls {
    config: Arc<ClientConfig>,
    /// The name the certificate must carry: the `--host` value.
    name: ServerName<'static>,
    insecure: bool,
    /// The control connection's certificate, once seen: each data connection must show the
    /// same one.
    fingerprint: Option<String>,
}

/// Check the TLS flags before anything is asked or sent: `--tls` needs a way to trust the
/// server, and `--insecure`/`--ca` mean nothing without `--tls`.
pub fn check_flags(options: &Options) -> Result<(), ClientError> {
    match (options.tls, &options.trust) {
        (true, None) => Err(ClientError::Usage(
            "--tls needs a way to check the server's certificate, and this machine has no \
             system CA store to use offline: give --ca FILE (the server's certificate, or the \
             CA that signed it, as PEM) or --insecure (accept any certificate, then compare \
             the SHA-256 fingerprint shown with the one the server logged)"
                .into(),
        )),
        (false, Some(_)) => Err(ClientError::Usage(
            "--insecure and --ca only matter with --tls, which turns FTPS on".into(),
        )),
        _ => Ok(()),
    }
}

impl Tls {
    /// The settings for `host`, or `None` without `--tls`. A CA file that cannot be read, or
    /// holds no certificate, is a usage error: nothing has been sent yet.
    pub fn for_host(options: &Options, host: &str) -> Result<Option<Tls>, ClientError> {
        check_flags(options)?;
        let Some(trust) = options.trust.as_ref().filter(|_| options.tls) else {
            return Ok(None);
        };
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            ClientError::Usage(format!(
                "{host:?} is neither a host name nor an IP address, so no certificate can match it"
            ))
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Usage(format!("TLS cannot be set up: {e}")))?;
        let config = match trust {
            Trust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { algorithms }))
                .with_no_client_auth(),
            Trust::Ca(path) => builder
                .with_root_certificates(load_roots(path)?)
                .with_no_client_auth(),
        };
        let mut config = config;
        // Enough TLS 1.3 tickets for long runs of uploads, which bring none (see `tickets`).
        config.resumption =
            rustls::client::Resumption::store(Arc::new(super::tickets::TicketStore::default()));
        Ok(Some(Tls {
            config: Arc::new(config),
            name,
            insecure: *trust == Trust::Insecure,
            fingerprint: None,
        }))
    }

    /// Who the certificate must name, as the narration says it: the host name, or "the IP
    /// address …".
    pub(super) fn host(&self) -> String {
        host_of(&self.name)
    }

    /// Whether any certificate is accepted (`--insecure`): the fingerprint is then the only
    /// check, and the student's to make.
    pub(super) fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// The handshake on the control connection: also remembers the server's certificate,
    /// which every data connection must show again.
    pub fn handshake_control(&mut self, socket: TcpStream) -> io::Result<TlsStream> {
        let stream = self.handshake(socket)?;
        self.fingerprint = server_fingerprint(&stream.conn);
        Ok(stream)
    }

    /// Run a TLS handshake as the client on `socket` (its timeouts already set), to the end.
    pub fn handshake(&self, mut socket: TcpStream) -> io::Result<TlsStream> {
        let mut connection = ClientConnection::new(Arc::clone(&self.config), self.name.clone())
            .map_err(io::Error::other)?;
        while connection.is_handshaking() {
            connection.complete_io(&mut socket)?;
        }
        Ok(StreamOwned::new(connection, socket))
    }
}

/// The PEM certificates in `path`, as the only roots the client trusts.
fn load_roots(path: &PathBuf) -> Result<RootCertStore, ClientError> {
    let shown = path.display();
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect())
        .map_err(|e| ClientError::Usage(format!("--ca {shown}: cannot read certificates: {e}")))?;
    if certificates.is_empty() {
        return Err(ClientError::Usage(format!(
            "--ca {shown}: no certificate in it (expected PEM, -----BEGIN CERTIFICATE-----)"
        )));
    }
    let mut roots = RootCertStore::empty();
    for certificate in certificates {
        roots.add(certificate).map_err(|e| {
            ClientError::Usage(format!("--ca {shown}: a certificate cannot be used: {e}"))
        })?;
    }
    Ok(roots)
}

/// `--insecure`: any certificate is the server's, but the handshake must still be signed by
/// the key of the certificate sent, checked with the crypto provider's own algorithms.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The one thing --insecure skips: who signed the certificate, and for which name.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl Client {
    /// Stage 2b: `PBSZ 0` and `PROT P`, so the data connections are TLS too (RFC 4217 §8–§9).
    pub fn protect_data(&mut self) -> Result<(), ClientError> {
        self.narrator().stage(
            "Stage 2b: encrypting the data connections too (RFC 4217 §8 and §9, PBSZ and PROT)",
        );
        self.narrator().note(
            "AUTH TLS encrypted this control connection only; files and listings travel on \
             separate data connections, and PROT decides whether those are TLS",
        );
        self.wire.require("PBSZ 0", |code| code == 200)?;
        self.narrator().note(
            "PBSZ (RFC 2228's protection buffer size) means nothing to TLS, which frames its \
             own records: it is always 0, and it must come before PROT",
        );
        self.wire.require("PROT P", |code| code == 200)?;
        self.wire.set_private_data(true);
        self.narrator().note(
            "PROT P (private): data connections will be TLS too; the server is the TLS server \
             on them (RFC 4217 §9), so after each connect the client runs a TLS handshake \
             before the first byte of any file",
        );
        Ok(())
    }
}

/// Under `PROT P`: the TLS handshake on a freshly opened data connection, narrated.
pub fn secure_data(
    socket: TcpStream,
    tls: &Tls,
    narrator: &Narrator,
) -> Result<Stream, ClientError> {
    narrator.data("TLS handshake on the data connection (the server is the TLS server here too)");
    let failed = |source| ClientError::Data {
        during: "the TLS handshake on the data connection".into(),
        source,
    };
    let stream = tls.handshake(socket).map_err(failed)?;
    let connection = &stream.conn;
    let seen = server_fingerprint(connection);
    if seen.is_some() && seen != tls.fingerprint {
        return Err(failed(io::Error::other(
            "it showed a different certificate than the control connection: someone else \
             answered",
        )));
    }
    let how = match connection.handshake_kind() {
        Some(HandshakeKind::Resumed) => {
            "resumed the control connection's TLS session: only the same client holds its secret"
        }
        _ => "a full handshake, with the same certificate as the control connection",
    };
    narrator.data(&format!("TLS: {}; {how}", summary(connection)));
    Ok(Stream::Tls(Box::new(stream)))
}

/// The end of a TLS data connection, as the student should read it.
pub fn narrate_end(narrator: &Narrator, downloading: bool) {
    narrator.data(if downloading {
        "the server's TLS close_notify came before its TCP close: the file ended where the \
         server meant it to, not where someone cut the connection (RFC 4217 §12.6)"
    } else {
        "a TLS close_notify went before the TCP close: under TLS that, not the close alone, \
         tells the server the upload is complete (RFC 4217 §12.6)"
    });
}

/// `TLS 1.3, cipher suite …, key exchange …` for a connection that finished its handshake.
pub(super) fn summary(connection: &ClientConnection) -> String {
    let version = match connection.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        other => format!("{other:?}"),
    };
    let mut text = version;
    if let Some(suite) = connection.negotiated_cipher_suite() {
        text += &format!(", cipher suite {:?}", suite.suite());
    }
    if let Some(group) = connection.negotiated_key_exchange_group() {
        text += &format!(", key exchange {:?}", group.name());
    }
    text
}

/// The SHA-256 fingerprint of the server's certificate, `AB:CD:…`, as the server logs it.
pub(super) fn server_fingerprint(connection: &ClientConnection) -> Option<String> {
    let certificate = connection.peer_certificates()?.first()?;
    Some(fingerprint(certificate))
}

/// `AB:CD:…` for the SHA-256 of a certificate (the form browsers, curl and our server show).
///
/// ```
/// use localftp::client::tls::fingerprint;
/// let shown = fingerprint(b"");
/// assert!(shown.starts_with("E3:B0:C4:42:98:FC:1C:14"));
/// assert_eq!(shown.len(), 32 * 3 - 1);
/// ```
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn host_of(name: &ServerName<'_>) -> String {
    match name {
        ServerName::IpAddress(ip) => format!("the IP address {}", std::net::IpAddr::from(*ip)),
        other => other.to_str().into_owned(),
    }
}
