//! Transfer parameter commands (RFC 959 §4.1.2; RFC 2428 for EPRT and EPSV): how the next data
//! connection is made (PORT, EPRT, PASV, EPSV) and how bytes are represented (TYPE).
//!
//! Active mode is guarded as RFC 2577 §3 asks: the server connects only to the client's own
//! address, on an unprivileged port. Without that, a client could make the server connect to
//! a third host ("FTP bounce") and send it whatever a file holds.

use std::net::{IpAddr, SocketAddr};

use crate::reply::{Reply, ReplyCode};
use crate::server::command::{EpsvArg, TransferType};
use crate::server::data::{self, DataPlan, pasv_numbers};
use crate::server::session::Session;

impl Session {
    /// PORT and EPRT: the client listens at `address`; the next transfer connects there.
    pub fn port(&mut self, address: SocketAddr) -> Result<Reply, Reply> {
        if self.settings.epsv_all() {
            return Err(epsv_all_refusal());
        }
        let config = &self.shared.config;
        let peer = self.tag.peer.ip().to_canonical();
        if address.ip().to_canonical() != peer && !config.permit_foreign_addresses {
            log::warn!(
                "{} active mode to foreign address {address} refused",
                self.tag
            );
            return Err(Reply::new(
                ReplyCode::SyntaxErrorInArguments,
                format!(
                    "Refused: the data address {} is not your address {peer} (RFC 2577 bounce protection).",
                    address.ip()
                ),
            ));
        }
        if address.port() < 1024 && !config.permit_privileged_ports {
            log::warn!(
                "{} active mode to privileged port {address} refused",
                self.tag
            );
            return Err(Reply::new(
                ReplyCode::SyntaxErrorInArguments,
                format!(
                    "Refused: port {} is below 1024 (RFC 2577 bounce protection).",
                    address.port()
                ),
            ));
        }
        self.settings.set_data_plan(DataPlan::Active(address));
        Ok(Reply::new(
            ReplyCode::CommandOkay,
            format!("Active mode: I will connect to {address} for the next transfer."),
        ))
    }

    /// PASV: listen on a new port and announce it as six numbers (IPv4 only).
    pub fn pasv(&mut self) -> Result<Reply, Reply> {
        if self.settings.epsv_all() {
            return Err(epsv_all_refusal());
        }
        let IpAddr::V4(local) = self.local.ip().to_canonical() else {
            return Err(Reply::new(
                ReplyCode::CantOpenDataConnection,
                "PASV works over IPv4 only; use EPSV on IPv6.",
            ));
        };
        let port = self.open_passive()?;
        let announced = self.shared.config.masquerade.unwrap_or(local);
        Ok(Reply::new(
            ReplyCode::EnteringPassiveMode,
            format!("Entering Passive Mode ({}).", pasv_numbers(announced, port)),
        ))
    }

    /// EPSV (RFC 2428 §3): listen on a new port and announce only the port.
    pub fn epsv(&mut self, arg: EpsvArg) -> Result<Reply, Reply> {
        let family = if self.local.ip().to_canonical().is_ipv4() {
            1
        } else {
            2
        };
        match arg {
            EpsvArg::All => {
                self.settings.lock_epsv_all();
                return Ok(Reply::new(
                    ReplyCode::CommandOkay,
                    "EPSV ALL ok: from now on only EPSV sets up data connections.",
                ));
            }
            EpsvArg::Protocol(asked) if asked != family => {
                return Err(Reply::new(
                    ReplyCode::NetworkProtocolNotSupported,
                    format!("Network protocol not supported, use ({family})."),
                ));
            }
            EpsvArg::Protocol(_) | EpsvArg::Any => {}
        }
        let port = self.open_passive()?;
        Ok(Reply::new(
            ReplyCode::EnteringExtendedPassiveMode,
            format!("Entering Extended Passive Mode (|||{port}|)."),
        ))
    }

    /// TYPE: ASCII (line ends converted) or image (bytes as they are).
    pub fn set_type(&mut self, transfer_type: TransferType) -> Reply {
        self.settings.set_transfer_type(transfer_type);
        let text = match transfer_type {
            TransferType::Ascii => "Type set to A (ASCII): line ends become CRLF on the wire.",
            TransferType::Image => "Type set to I (binary): bytes are sent unchanged.",
        };
        Reply::new(ReplyCode::CommandOkay, text)
    }
}

impl Session {
    /// Listen for the next data connection (PASV and EPSV alike), on the control connection's
    /// own address; the port to announce, or the 425 when no port is free.
    fn open_passive(&mut self) -> Result<u16, Reply> {
        let config = &self.shared.config;
        let listener = data::listen(
            self.local.ip(),
            config.passive_ports.as_ref(),
            self.watch.lab(),
        )
        .map_err(|e| no_passive_port(self, e))?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        self.settings.set_data_plan(DataPlan::Passive(listener));
        self.watch.listening(port, &self.local.ip());
        Ok(port)
    }
}

fn epsv_all_refusal() -> Reply {
    Reply::new(
        ReplyCode::BadSequence,
        "EPSV ALL was sent: only EPSV may set up data connections now (RFC 2428 §4).",
    )
}

fn no_passive_port(session: &Session, error: std::io::Error) -> Reply {
    log::warn!("{} no passive port available: {error}", session.tag);
    Reply::new(
        ReplyCode::CantOpenDataConnection,
        "No passive port is free right now; try again.",
    )
}
