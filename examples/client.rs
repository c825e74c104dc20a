//! The guided FTP client: every command, every reply, and what each one means.
//!
//! ```text
//! cargo run --example server                       # first, in another terminal
//! cargo run --example client                       # the menu; asks host, port, user, password
//! cargo run --example client -- --password 12345 pwd ls "get baca_saya.txt" "put notes.txt"
//! printf 'pwd\nls\nget baca_saya.txt\n' | cargo run --example client -- --password 12345
//! cargo run --example client -- --help             # all flags and every action word
//! ```
//!
//! FTPS (RFC 4217): start the server with `--tls-self-signed` (it logs the certificate's
//! SHA-256 fingerprint), then compare it with the one the client shows:
//!
//! ```text
//! cargo run --example client -- --tls --insecure --password 12345 pwd ls
//! cargo run --example client -- --tls --ca cert.pem --password 12345 pwd   # a trusted PEM
//! ```
//!
//! The client as a tutor: a quiz on every reply, the seed's whole lesson in one command, and
//! TYPE A against TYPE I in hex:
//!
//! ```text
//! cargo run --example client -- --quiz --password 12345 pwd ls     # predict each reply
//! cargo run --example client -- --quiz-answers 2,3,2,2 --password 12345 pwd   # guesses given
//! cargo run --example client -- --walkthrough                     # Enter between the steps
//! cargo run --example client -- --password 12345 "compare baca_saya.txt"
//! ```
//!
//! It works against any FTP server: `--host ftp.example.org --port 21 --user anonymous`, and
//! says in a one-line `note:` wherever that server departs from the RFCs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use localftp::client::action::SCRIPT_HELP;
use localftp::client::data::DataMode;
use localftp::client::tls::Trust;
use localftp::client::{Options, run};

/// localftp's guided client: walks through an FTP session and shows what travels on the wire.
///
/// With no ACTIONS it shows a menu (or, when standard input is not a terminal, reads one
/// action per line from it).
#[derive(Parser, Debug)]
#[command(version, about, after_help = SCRIPT_HELP)]
struct Flags {
    /// Server host [default: 127.0.0.1; asked for at the menu unless --password is given].
    #[arg(long)]
    host: Option<String>,

    /// Control port [default: 2122; asked for at the menu unless --password is given].
    #[arg(long)]
    port: Option<u16>,

    /// User name [default: user; asked for at the menu unless --password is given].
    #[arg(long)]
    user: Option<String>,

    /// Password [asked for, hidden, at a terminal; Enter takes the seed's 12345]. Visible to
    /// other local users in `ps`.
    #[arg(long)]
    password: Option<String>,

    /// No colour and no progress bars, even on a terminal.
    #[arg(long)]
    plain: bool,

    /// Seconds to wait for a connection or a reply.
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    timeout: u64,

    /// How data connections are opened, until an action changes it.
    #[arg(long, value_enum, default_value_t = Mode::Passive)]
    mode: Mode,

    /// Explicit FTPS: AUTH TLS before logging in, then PBSZ 0 and PROT P (needs --insecure or
    /// --ca).
    #[arg(long)]
    tls: bool,

    /// With --tls: accept any certificate (compare the fingerprint shown with the server's).
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,

    /// With --tls: trust only certificates signed by (or equal to) one in this PEM file.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,

    /// Predict each reply before it arrives (its first digit, or the code); the score is shown
    /// at the end.
    #[arg(long)]
    quiz: bool,

    /// The quiz's guesses in order instead of asking, e.g. 2,3,2,230,- (- skips a reply).
    #[arg(long, value_name = "LIST")]
    quiz_answers: Option<String>,

    /// With --quiz: keep the score here. By default it is sent to the server before QUIT
    /// (SITE QUIZ), so the teacher's board shows it.
    #[arg(long)]
    no_report: bool,

    /// Play the seed's whole flow and its error cases step by step, each explained (pauses
    /// for Enter at a terminal). Uses the seed's password unless --password is given.
    #[arg(long, conflicts_with = "actions")]
    walkthrough: bool,

    /// Actions to run in order, e.g. pwd ls "get baca_saya.txt" (see ACTIONS below).
    actions: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// PASV: the client connects to the server (the seed's default).
    Passive,
    /// EPSV: like PASV, and works over IPv6.
    Epsv,
    /// PORT: the server connects to the client.
    Active,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    run(Options {
        host: flags.host,
        port: flags.port,
        user: flags.user,
        password: flags.password,
        actions: flags.actions,
        plain: flags.plain,
        timeout: Duration::from_secs(flags.timeout.max(1)),
        mode: match flags.mode {
            Mode::Passive => DataMode::Passive,
            Mode::Epsv => DataMode::ExtendedPassive,
            Mode::Active => DataMode::Active,
        },
        tls: flags.tls,
        trust: match (flags.insecure, flags.ca) {
            (true, _) => Some(Trust::Insecure),
            (false, Some(ca)) => Some(Trust::Ca(ca)),
            (false, None) => None,
        },
        quiz: flags.quiz || flags.quiz_answers.is_some(),
        quiz_answers: flags.quiz_answers,
        no_report: flags.no_report,
        walkthrough: flags.walkthrough,
    })
}
