//! What a client sets during one login, and what REIN forgets (RFC 959 §4.1.1: REIN "flushes all
//! I/O and account information", as if the connection were new).
//!
//! The current folder, TYPE, the data connection prepared by PASV or PORT, EPSV ALL, a REST
//! offset, an RNFR source, the MLST facts chosen with OPTS, and PBSZ/PROT: each is set by one
//! command and read by others. They live together in [`Settings`], with private fields, so a
//! handler changes them only through the methods below, and REIN is one line:
//! `settings = Settings::default()`. A new setting added here is reset by REIN without anyone
//! having to remember it.
//!
//! What is *not* here lasts for the whole connection: TLS on the control connection (AUTH TLS
//! cannot be undone without CCC), the failed-login count, and the session's number.

use super::command::TransferType;
use super::data::DataPlan;
use super::listing::Facts;

/// One login's settings. `Settings::default()` is how a connection starts, and what REIN
/// returns to.
///
/// ```
/// use localftp::server::settings::Settings;
/// let mut settings = Settings::default();
/// settings.set_cwd("/Folder_Tes".into());
/// settings.set_restart_offset(100);
/// settings = Settings::default(); // REIN
/// assert_eq!(settings.cwd(), "/");
/// assert_eq!(settings.take_restart_offset(), None);
/// ```
pub struct Settings {
    /// The current folder, as a virtual path (`/` is the user's home).
    cwd: String,
    /// TYPE A or TYPE I. RFC 959 §3.1.1.1 makes ASCII the default.
    transfer_type: TransferType,
    /// What PASV/EPSV/PORT/EPRT set up for the next transfer.
    data_plan: Option<DataPlan>,
    /// After `EPSV ALL`, only EPSV may set up data connections (RFC 2428 §4).
    epsv_all: bool,
    /// The offset given by REST, for the command right after it (RFC 3659 §5).
    restart_offset: Option<u64>,
    /// The source of a rename after RNFR: its virtual path, looked up again by RNTO.
    rename_from: Option<String>,
    /// The facts MLSD and MLST send, as chosen with `OPTS MLST` (RFC 3659 §7.9).
    mlst_facts: Facts,
    /// PBSZ was sent (PROT must come after it; RFC 4217 §8).
    pbsz: bool,
    /// PROT P: data connections are TLS (RFC 4217 §9).
    private_data: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            cwd: "/".to_string(),
            transfer_type: TransferType::Ascii,
            data_plan: None,
            epsv_all: false,
            restart_offset: None,
            rename_from: None,
            mlst_facts: Facts::ALL,
            pbsz: false,
            private_data: false,
        }
    }
}

impl Settings {
    /// The current folder (CWD, CDUP; PWD shows it).
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// CWD moved to `folder`, a virtual path already checked to be a folder.
    pub fn set_cwd(&mut self, folder: String) {
        self.cwd = folder;
    }

    /// TYPE A or I.
    pub fn transfer_type(&self) -> TransferType {
        self.transfer_type
    }

    /// TYPE was sent.
    pub fn set_transfer_type(&mut self, transfer_type: TransferType) {
        self.transfer_type = transfer_type;
    }

    /// The data connection prepared for the next transfer, if any.
    pub fn data_plan(&self) -> Option<&DataPlan> {
        self.data_plan.as_ref()
    }

    /// PASV, EPSV, PORT or EPRT prepared the next data connection (replacing any earlier one).
    pub fn set_data_plan(&mut self, plan: DataPlan) {
        self.data_plan = Some(plan);
    }

    /// A transfer takes the prepared data connection; ABOR drops it (`None` either way after).
    pub fn take_data_plan(&mut self) -> Option<DataPlan> {
        self.data_plan.take()
    }

    /// Whether `EPSV ALL` was sent.
    pub fn epsv_all(&self) -> bool {
        self.epsv_all
    }

    /// `EPSV ALL`: from now on only EPSV may set up data connections.
    pub fn lock_epsv_all(&mut self) {
        self.epsv_all = true;
    }

    /// REST gave an offset for the next command.
    pub fn set_restart_offset(&mut self, offset: u64) {
        self.restart_offset = Some(offset);
    }

    /// The REST offset, taken: it applies to the command right after REST only.
    pub fn take_restart_offset(&mut self) -> Option<u64> {
        self.restart_offset.take()
    }

    /// RNFR named the source of a rename.
    pub fn set_rename_from(&mut self, virtual_path: String) {
        self.rename_from = Some(virtual_path);
    }

    /// The RNFR source, taken (by RNTO, or dropped by any other command).
    pub fn take_rename_from(&mut self) -> Option<String> {
        self.rename_from.take()
    }

    /// The facts MLSD and MLST send.
    pub fn mlst_facts(&self) -> Facts {
        self.mlst_facts
    }

    /// `OPTS MLST` chose the facts.
    pub fn set_mlst_facts(&mut self, facts: Facts) {
        self.mlst_facts = facts;
    }

    /// Whether PBSZ was sent.
    pub fn pbsz(&self) -> bool {
        self.pbsz
    }

    /// PBSZ 0 was accepted.
    pub fn set_pbsz(&mut self) {
        self.pbsz = true;
    }

    /// Whether data connections are TLS (PROT P).
    pub fn private_data(&self) -> bool {
        self.private_data
    }

    /// PROT P (`true`) or PROT C (`false`).
    pub fn set_private_data(&mut self, private: bool) {
        self.private_data = private;
    }
}
