//! A session's control connection, set up: the socket's options, the trace, the line reader and
//! the reply writer at connect (`Session::new`), and the TLS handshake after AUTH TLS. It logs
//! as the session (`localftp::server::session`).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use super::{Login, Session};
use crate::server::Shared;
use crate::server::control::{ControlReader, Replier, SessionTag};
use crate::server::instruments::SessionWatch;
use crate::server::registry::Slot;
use crate::server::settings::Settings;
use crate::server::stream::Stream;
use crate::server::trace::Trace;

impl Session {
    pub(super) fn new(
        tag: SessionTag,
        local: SocketAddr,
        stream: TcpStream,
        shared: Arc<Shared>,
        slot: &Slot,
    ) -> io::Result<Session> {
        // Replies are small and each is awaited by the client; sending them at once matters
        // more than packing them (Nagle would hold a reply back while an ACK is pending).
        stream.set_nodelay(true)?;
        // Clients send ABOR's Telnet "synch" as TCP urgent data (RFC 959 §4.1.3); Python's
        // ftplib sends the whole "ABOR\r\n" that way, which makes its last byte urgent. Linux
        // takes the urgent byte out of the stream unless SO_OOBINLINE is set, and the line would
        // then never end. Inline, it arrives in order, and control.rs strips the Telnet bytes.
        socket2::SockRef::from(&stream).set_out_of_band_inline(true)?;
        // A client that sends commands but never reads the replies fills the socket buffers,
        // and then a reply's `write` waits for room that never comes: the read timeout (the
        // idle timeout) cannot fire while the thread is stuck writing, so the session, and
        // its place under --max-connections, would be held for as long as the client stays
        // connected. A reply that cannot be written within the idle timeout ends the session.
        // The option belongs to the socket, so it holds for every handle on it: the transfer
        // thread's replies, and the TLS layer after AUTH TLS, which writes to the same socket.
        stream.set_write_timeout(Some(shared.config.timeouts.idle))?;
        // One socket, shared: the reader, the reply writer (also used by the transfer thread)
        // and the registry (to wake this session for a shutdown) hold the same descriptor.
        let socket = Arc::new(stream);
        slot.attach(Arc::clone(&socket));
        let config = &shared.config;
        let trace = Trace::start(
            &tag,
            config.explain,
            config.transcript_dir.as_deref(),
            config.lab,
            shared.progress.as_ref(),
        )
        .unwrap_or_else(|e| {
            log::warn!(
                target: "localftp::server::session",
                "{tag} cannot write the transcript: {e}"
            );
            None
        })
        .map(Arc::new);
        let replier = Replier::new(
            Stream::Plain(Arc::clone(&socket)),
            tag.clone(),
            config.faults.clone(),
            trace.clone(),
        );
        let watch = SessionWatch::new(trace, config.faults.clone(), config.lab);
        let mut reader = ControlReader::new(Stream::Plain(socket), shared.config.timeouts.idle)?;
        let registry = Arc::clone(&shared.registry);
        reader.stop_when(move || registry.is_shutting_down());
        Ok(Session {
            shared,
            tag,
            local,
            login: Login::AwaitingUser,
            settings: Settings::default(),
            transfer: None,
            failed_logins: 0,
            session_tls: None,
            watch,
            activity: slot.activity(),
            replier,
            reader,
        })
    }

    /// Run the TLS handshake on the control connection, and from then on read and write
    /// through TLS. Bytes the client sent right after AUTH TLS (the start of its handshake)
    /// may already sit in the read buffer; they go to the handshake.
    pub(super) fn start_tls(&mut self) -> std::io::Result<()> {
        let Some(tls) = &self.shared.config.tls else {
            return Err(std::io::Error::other("no TLS configuration"));
        };
        let socket = self
            .replier
            .socket()
            .ok_or_else(|| std::io::Error::other("cannot reach the control socket"))?;
        let tls = tls
            .for_session(self.shared.config.require_tls_reuse)
            .map_err(std::io::Error::other)?;
        let timeout = self.shared.config.timeouts.data_connect;
        let stream = Arc::new(tls.accept_control(socket, self.reader.unread(), timeout)?);
        self.session_tls = Some(tls);
        self.reader.upgrade(Arc::clone(&stream));
        self.replier.upgrade(stream);
        log::info!(
            target: "localftp::server::session",
            "{} control connection is now TLS",
            self.tag
        );
        Ok(())
    }
}
