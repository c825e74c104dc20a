//! What each reply code means, in one sentence for a student ([`ReplyCode::explain`]), and
//! what the first digit says about any code (RFC 959 §4.2.1, [`ReplyCode::class_of`]).

use super::ReplyCode;

impl ReplyCode {
    /// One sentence for a student: what this reply means and what happens next.
    pub fn explain(self) -> &'static str {
        use ReplyCode::*;
        match self {
            RestartMarker => "a restart marker: where to resume if the transfer breaks",
            ServiceReadyInMinutes => "the server is busy starting up; try again in a few minutes",
            DataConnectionAlreadyOpen => {
                "the data connection is already open, so the transfer starts on it right away"
            }
            AboutToOpenDataConnection => {
                "the server accepted the command and is about to use the data connection; \
                 the final reply comes when the transfer ends"
            }
            CommandOkay => "the command was accepted",
            CommandSuperfluous => "nothing to do: this server does not need that command",
            SystemStatus => "status or feature information, often on several lines",
            DirectoryStatus => "the status of a folder",
            FileStatus => "a fact about a file: its size or modification time",
            HelpMessage => "help text for a person to read",
            SystemType => "the kind of system the server says it is (UNIX Type: L8 is usual)",
            ServiceReady => "the greeting: the server is ready for USER",
            ClosingControlConnection => "goodbye: the server closes the control connection",
            DataConnectionOpenNoTransfer => "the data connection is open but nothing is being sent",
            ClosingDataConnection => {
                "the transfer is complete and the data connection is closed (by the side that sent)"
            }
            EnteringPassiveMode => {
                "passive mode: the server listens on the address in brackets, \
                 and the client opens the data connection to it"
            }
            EnteringExtendedPassiveMode => {
                "extended passive mode: connect to the same host at the port between the |||s"
            }
            UserLoggedIn => "login succeeded: the session is open",
            SecurityExchangeComplete => "TLS accepted: the handshake starts now",
            FileActionOkay => "the file or folder action completed",
            PathCreated => "the quoted path is the folder that was created, or the current folder",
            UserNameOkay => "user name received: now send the password with PASS",
            NeedAccount => "this server also wants an account (ACCT) before login",
            FileActionPending => "step one done: the server waits for the next command (e.g. RNTO)",
            ServiceNotAvailable => {
                "the server is closing the connection (shutdown, limit or timeout)"
            }
            CantOpenDataConnection => {
                "the second (data) connection could not be set up; try PASV/PORT again"
            }
            TransferAborted => "the data connection was closed and the transfer stopped midway",
            FileBusy => "the file is busy right now; trying again later may work",
            LocalError => "the server hit an error of its own while doing this",
            InsufficientStorage => "the server's disk is full",
            SyntaxError => "the server does not know this command",
            SyntaxErrorInArguments => "the command is known, but its argument is wrong or missing",
            CommandNotImplemented => "the server knows this command but does not support it",
            BadSequence => "the command came in the wrong order (e.g. PASS before USER)",
            NotImplementedForParameter => "the command is supported, but not with that parameter",
            ProtectionLevelRefused => "the data connection needs a different protection (PROT)",
            NetworkProtocolNotSupported => {
                "that network protocol is not supported; the reply lists the ones that are (after \
                 a transfer command on FTPS: the data connection's TLS session must resume the \
                 control connection's)"
            }
            NotLoggedIn => "not logged in: the login failed or has not happened yet",
            NeedAccountForStoring => "an account is needed to store files",
            DeniedForPolicy => "refused by the server's security policy",
            ProtectionLevelNotSupported => "that protection level is not offered; PROT C or P are",
            FileUnavailable => {
                "refused: the file or folder does not exist, or you lack the permission"
            }
            PageTypeUnknown => "page structure is not supported",
            ExceededStorage => "a storage limit was exceeded",
            FileNameNotAllowed => "that file name is not allowed",
            InvalidRestParameter => "the restart offset (REST) is not valid for this file",
        }
    }

    /// What the first digit says about any reply (RFC 959 §4.2.1), for codes without a name.
    ///
    /// ```
    /// use localftp::reply::ReplyCode;
    /// assert!(ReplyCode::class_of(299).starts_with("positive completion"));
    /// ```
    pub fn class_of(number: u16) -> &'static str {
        match number / 100 {
            1 => "positive preliminary: started, another reply will follow",
            2 => "positive completion: done",
            3 => "positive intermediate: send the next command",
            4 => "transient negative: failed, but trying again later may work",
            5 => "permanent negative: failed, do not repeat it unchanged",
            _ => "not a valid FTP reply code",
        }
    }
}
