//! ABOR (RFC 959 §4.1.3), and waiting for a running transfer to send its last reply.

use super::Session;
use crate::reply::{Reply, ReplyCode};
use crate::server::registry::Abort;

impl Session {
    /// Wait for a running transfer to send its last reply.
    pub fn finish_transfer(&mut self) {
        if let Some(transfer) = self.transfer.take() {
            transfer.wait();
        }
    }

    /// ABOR (RFC 959 §4.1.3): stop the transfer; it answers 426, then ABOR answers 226.
    pub(super) fn abort(&mut self) -> Reply {
        // A passive port opened for a transfer that never came is closed too.
        self.settings.take_data_plan();
        match self.transfer.take() {
            Some(transfer) if !transfer.is_finished() => {
                transfer.control.abort();
                transfer.wait();
                Reply::new(ReplyCode::ClosingDataConnection, "ABOR successful.")
            }
            Some(transfer) => {
                // It ended (and sent its 226) just before the ABOR arrived.
                transfer.wait();
                Reply::new(
                    ReplyCode::ClosingDataConnection,
                    "ABOR: the transfer had already completed.",
                )
            }
            None => Reply::new(
                ReplyCode::DataConnectionOpenNoTransfer,
                "No transfer to abort.",
            ),
        }
    }
}
