//! [`Options`]: everything the client needs to start (host, port, user, the actions, TLS, the
//! quiz), as the example fills it from its flags.

use std::time::Duration;

use super::data::DataMode;
use super::tls::Trust;

/// Everything the client needs to start; the example fills it from flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's host; asked for (default 127.0.0.1) when missing and interactive.
    pub host: Option<String>,
    /// The control port; asked for (default 2122) when missing and interactive.
    pub port: Option<u16>,
    /// The user name; asked for (default `user`) when missing and interactive.
    pub user: Option<String>,
    /// The password; asked for, hidden, when missing and standard input is a terminal.
    pub password: Option<String>,
    /// Menu actions as words (`pwd`, `ls`, `get baca_saya.txt`); none means the menu, or a
    /// script on standard input when it is not a terminal.
    pub actions: Vec<String>,
    /// No colour and no progress bars, even on a terminal.
    pub plain: bool,
    /// How long to wait for a connection or a reply.
    pub timeout: Duration,
    /// Who opens the data connections, until the menu changes it.
    pub mode: DataMode,
    /// `--tls`: explicit FTPS (RFC 4217): AUTH TLS before USER, then PBSZ 0 and PROT P.
    pub tls: bool,
    /// With `tls`, how the server's certificate is trusted (`--insecure` or `--ca FILE`).
    pub trust: Option<Trust>,
    /// `--quiz`: predict each reply before it arrives (asked at the terminal).
    pub quiz: bool,
    /// `--quiz-answers 2,3,230,…`: the quiz's guesses, in order, instead of asking.
    pub quiz_answers: Option<String>,
    /// `--walkthrough`: play the seed's whole flow step by step instead of the menu.
    pub walkthrough: bool,
    /// `--no-report`: keep the quiz score here; by default it is sent to the server before
    /// QUIT (`SITE QUIZ`), for the teacher's board.
    pub no_report: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            host: None,
            port: None,
            user: None,
            password: None,
            actions: Vec::new(),
            plain: false,
            timeout: Duration::from_secs(15),
            mode: DataMode::Passive,
            tls: false,
            trust: None,
            quiz: false,
            quiz_answers: None,
            walkthrough: false,
            no_report: false,
        }
    }
}
