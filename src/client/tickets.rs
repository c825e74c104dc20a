//! Where the client keeps the TLS sessions its data connections resume.
//!
//! Under `PROT P` every data connection resumes the control connection's TLS session (RFC 4217
//! §9; localftp and vsftpd refuse one that does not). In TLS 1.3 a resumption spends a *ticket*
//! the server sent, and rustls uses each ticket once. The server sends a batch after the control
//! connection's handshake and one more with each download or listing, but none with an upload
//! (an uploading client never reads, and unread bytes turn its close into a reset). rustls's own
//! store keeps at most eight tickets per server, so the ninth upload in a row found none, made a
//! full handshake, and was refused with 522. This store keeps up to [`TICKETS_PER_SERVER`].
//!
//! (curl, lftp and Python's ftplib reuse one session for every data connection instead, which
//! their TLS libraries allow and rustls does not.)

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rustls::NamedGroup;
use rustls::client::Tls13ClientSessionValue;
use rustls::client::{ClientSessionMemoryCache, ClientSessionStore, Tls12ClientSessionValue};
use rustls::pki_types::ServerName;

/// The most TLS 1.3 tickets kept for one server: as many as `localftp`'s control connection
/// sends, with room for those that downloads bring.
pub const TICKETS_PER_SERVER: usize = 64;

/// rustls's memory cache for everything but TLS 1.3 tickets, and a deeper queue for those.
#[derive(Debug)]
pub struct TicketStore {
    others: ClientSessionMemoryCache,
    tickets: Mutex<HashMap<ServerName<'static>, VecDeque<Tls13ClientSessionValue>>>,
}

impl Default for TicketStore {
    fn default() -> Self {
        TicketStore {
            others: ClientSessionMemoryCache::new(8),
            tickets: Mutex::default(),
        }
    }
}

impl ClientSessionStore for TicketStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.others.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.others.kx_hint(server_name)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.others.set_tls12_session(server_name, value);
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.others.tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.others.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        let mut tickets = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        let queue = tickets.entry(server_name).or_default();
        if queue.len() == TICKETS_PER_SERVER {
            queue.pop_front();
        }
        queue.push_back(value);
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        let mut tickets = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        // The newest first: it is the furthest from expiring.
        tickets.get_mut(server_name)?.pop_back()
    }
}
