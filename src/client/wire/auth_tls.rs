//! `AUTH TLS` on the control connection (RFC 4217 §4), narrated: the `234`, the handshake on
//! the same socket, and the TLS stream put where the plain one was.

use std::io::BufReader;

use super::{ClientError, Stream, Wire};
use crate::client::tls::{self, Tls};

impl Wire {
    /// Stage 1b: `AUTH TLS`, the `234`, and the handshake on the control connection, narrated
    /// (the TLS settings and the handshake itself are `client::tls`'s).
    pub fn secure_control(mut self, settings: Tls) -> Result<Wire, ClientError> {
        let narrator = self.narrator.clone();
        narrator.stage("Stage 1b: TLS on the control connection (RFC 4217 §4, AUTH TLS)");
        narrator.note(
            "--tls: the client asks for TLS before USER, so the user name and the password \
             travel encrypted",
        );
        let reply = self.command("AUTH TLS")?;
        if reply.code != 234 {
            return Err(ClientError::NoTls {
                code: reply.code,
                text: reply.text().to_string(),
            });
        }
        narrator.note(&format!(
            "TLS handshake on this same TCP connection: ClientHello, ServerHello, the server's \
             certificate, key exchange, Finished; the certificate must be for {}",
            settings.host()
        ));
        let insecure = settings.is_insecure();
        let wire = self.start_tls(settings)?;
        if let Some(connection) = wire.tls_state() {
            narrator.note(&format!("TLS handshake done: {}", tls::summary(connection)));
            let fingerprint = tls::server_fingerprint(connection).unwrap_or_default();
            narrator.note(&format!(
                "the server's certificate, SHA-256 fingerprint: {fingerprint}"
            ));
            narrator.note(if insecure {
                "--insecure: nobody vouched for this certificate; it is the server's only if this \
                 fingerprint matches the one the server logged (\"FTPS ready: certificate SHA-256 \
                 fingerprint …\")"
            } else {
                "verified: the --ca file vouches for this certificate, and it names this host"
            });
        }
        narrator.note(
            "from here on the wire is encrypted: every command and reply below travels inside TLS \
             records, and a capture (tcpdump) shows only ciphertext",
        );
        Ok(wire)
    }

    /// After `234` to `AUTH TLS`: run the TLS handshake on this connection, and carry on with
    /// the TLS stream in place of the plain one.
    pub fn start_tls(mut self, mut tls: Tls) -> Result<Wire, ClientError> {
        if self.pending_cr {
            // The 234's CR came alone so far: its LF is on the way, and must not be left to be
            // read as the first byte of the TLS handshake.
            self.read_line("the end of the 234 reply")?;
        }
        if !self.reader.buffer().is_empty() {
            // Bytes after the 234 in clear text would be read later as if they came through
            // TLS: a man in the middle could plant replies that way (the STARTTLS injection).
            return Err(ClientError::BadReply {
                problem: "the server sent more after the 234, before the TLS handshake".into(),
            });
        }
        let Stream::Plain(socket) = self.reader.into_inner() else {
            return Err(ClientError::Usage("TLS is already on".into()));
        };
        let stream = tls
            .handshake_control(socket)
            .map_err(|source| ClientError::Tls {
                during: "on the control connection, after AUTH TLS".into(),
                source,
            })?;
        Ok(Wire {
            reader: BufReader::new(Stream::Tls(Box::new(stream))),
            narrator: self.narrator,
            timeout: self.timeout,
            tls: Some(tls),
            private_data: false,
            pending_cr: false,
            notes: self.notes,
            found: Vec::new(),
            quiz: self.quiz,
            last_verb: self.last_verb,
        })
    }
}
