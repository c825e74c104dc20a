//! Security commands (RFC 2228 §3, as RFC 4217 uses them for TLS): AUTH, PBSZ, PROT, CCC.
//!
//! ```text
//! C: AUTH TLS        S: 234   ...then the TLS handshake; everything after it is encrypted
//! C: PBSZ 0          S: 200   (a buffer size; always 0 for TLS, RFC 4217 §8)
//! C: PROT P          S: 200   data connections will be TLS too (C would keep them clear)
//! ```
//!
//! `CCC` (clear the control connection) is refused with 534: after it, commands would travel in
//! clear text again, which undoes what AUTH TLS was for; RFC 4217 §6 lets a server refuse it.
//! After `REIN` the control connection stays encrypted (TLS cannot be undone without CCC) and
//! PBSZ/PROT start over.

use crate::reply::{Reply, ReplyCode};
use crate::server::session::{Outcome, Session};

impl Session {
    /// AUTH TLS (or its old name AUTH SSL): answer 234; the session loop then runs the
    /// handshake on the control connection.
    pub fn auth(&mut self, mechanism: &str) -> Result<Outcome, Reply> {
        if self.shared.config.tls.is_none() {
            return Err(Reply::new(
                ReplyCode::CommandNotImplemented,
                "AUTH is not available: this server has no certificate \
                 (start it with --tls-self-signed, or --tls-cert and --tls-key).",
            ));
        }
        if !matches!(
            mechanism.to_ascii_uppercase().as_str(),
            "TLS" | "SSL" | "TLS-C" | "TLS-P"
        ) {
            return Err(Reply::new(
                ReplyCode::NotImplementedForParameter,
                format!("AUTH {mechanism} is not supported; use AUTH TLS."),
            ));
        }
        if self.control_tls() {
            return Err(Reply::new(ReplyCode::BadSequence, "TLS is already on."));
        }
        Ok(Outcome::StartTls(Reply::new(
            ReplyCode::SecurityExchangeComplete,
            "AUTH TLS ok: start the TLS handshake.",
        )))
    }

    /// PBSZ: a protection buffer size, which TLS does not use: the answer is always 0.
    pub fn pbsz(&mut self, _size: &str) -> Result<Reply, Reply> {
        if !self.control_tls() {
            return Err(Reply::new(
                ReplyCode::BadSequence,
                "PBSZ needs AUTH TLS first.",
            ));
        }
        self.settings.set_pbsz();
        Ok(Reply::new(ReplyCode::CommandOkay, "PBSZ=0"))
    }

    /// PROT: C keeps data connections in clear text, P encrypts them.
    pub fn prot(&mut self, level: &str) -> Result<Reply, Reply> {
        if !self.control_tls() {
            return Err(Reply::new(
                ReplyCode::BadSequence,
                "PROT needs AUTH TLS first.",
            ));
        }
        if !self.settings.pbsz() {
            return Err(Reply::new(
                ReplyCode::BadSequence,
                "PROT needs PBSZ 0 first.",
            ));
        }
        match level.to_ascii_uppercase().as_str() {
            "C" => {
                self.settings.set_private_data(false);
                Ok(Reply::new(
                    ReplyCode::CommandOkay,
                    "PROT C: data connections travel in clear text.",
                ))
            }
            "P" => {
                self.settings.set_private_data(true);
                Ok(Reply::new(
                    ReplyCode::CommandOkay,
                    "PROT P: data connections are encrypted.",
                ))
            }
            "S" | "E" => Err(Reply::new(
                ReplyCode::ProtectionLevelNotSupported,
                format!("PROT {level} is not offered; use PROT P (or C)."),
            )),
            _ => Err(Reply::new(
                ReplyCode::NotImplementedForParameter,
                format!("Unknown protection level {level:?}; use PROT P or PROT C."),
            )),
        }
    }

    /// CCC: refused (see the module doc), always: its one answer is an `Err`.
    pub fn ccc(&self) -> Result<Reply, Reply> {
        Err(Reply::new(
            ReplyCode::DeniedForPolicy,
            "CCC refused: the control connection stays encrypted.",
        ))
    }
}
