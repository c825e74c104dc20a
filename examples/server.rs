//! The localftp server, with the seed's defaults.
//!
//! ```text
//! cargo run --example server                       # 127.0.0.1:2122, user/12345, root data/
//! RUST_LOG=debug cargo run --example server        # also every command and reply
//! cargo run --example server -- --help             # all flags
//! cargo run --example server -- --port 0 --root /tmp/ftp --user ann:pw:elr
//! cargo run --example server -- --hash-password            # a hash for a --users file
//! ```
//!
//! Ctrl-C (or SIGTERM) stops it gracefully: no new sessions, running transfers may finish
//! (up to `--shutdown-grace` seconds), and a summary is logged.
//!
//! Then, in a second terminal: `cargo run --example client`, or
//! `curl ftp://user:12345@127.0.0.1:2122/`.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use localftp::server::faults::{Fault, Faults};
use localftp::server::permissions::Perms;
use localftp::server::state;
use localftp::server::throttle::parse_rate;
use localftp::server::tls::TlsConfig;
use localftp::server::users::{User, hash_password, load_users_file};
use localftp::server::{
    Config, SEED_BANNER, SEED_PORT, SEED_ROOT, Server, Share, Timeouts, folder_perms_from_spec,
};

/// localftp: a teaching FTP server (RFC 959), one thread per connection.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Flags {
    /// Address to listen on (IPv4 or IPv6, e.g. 127.0.0.1 or ::1).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,

    /// Control port; 0 picks a free one (the log says which).
    #[arg(long, default_value_t = SEED_PORT)]
    port: u16,

    /// Folder to serve; created if missing, with baca_saya.txt and Folder_Tes/.
    #[arg(long, default_value = SEED_ROOT)]
    root: PathBuf,

    /// An account, NAME:PASSWORD[:PERMS[:HOME]] (repeatable). Replaces the default user
    /// user:12345:elradfmw. PERMS defaults to elr; HOME (relative to --root) to the root.
    #[arg(long = "user", value_name = "NAME:PASSWORD[:PERMS[:HOME]]")]
    users_plain: Vec<String>,

    /// Greeting text sent after "220 ".
    #[arg(long, default_value = SEED_BANNER)]
    banner: String,

    /// Passive ports to use, LO-HI (e.g. 50000-50100); default: the system's ephemeral range.
    #[arg(long, value_name = "LO-HI", value_parser = parse_port_range)]
    passive_ports: Option<RangeInclusive<u16>>,

    /// IPv4 address to announce in 227 replies instead of the local one (behind NAT).
    #[arg(long, value_name = "ADDR")]
    masquerade: Option<Ipv4Addr>,

    /// Allow PORT/EPRT to name another host than the client (off: RFC 2577 bounce protection).
    #[arg(long)]
    permit_foreign_addresses: bool,

    /// Allow PORT/EPRT to name a port below 1024 (off: RFC 2577 bounce protection).
    #[arg(long)]
    permit_privileged_ports: bool,

    /// Accounts from a file: one NAME:HASH[:PERMS[:HOME]] a line, HASH from --hash-password.
    /// Replaces the default user; can be combined with --user.
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,

    /// A class roster: one student a line, NAME or NAME,PASSWORD ('#' starts a comment). Each
    /// student gets the letters elradfmw and the home ROOT/NAME with the seed's files. Missing
    /// passwords are generated; the handout NAME-handout.md beside the roster lists every
    /// login, and NAME.accounts keeps only the hashes. Works with --user (e.g. a teacher).
    #[arg(long, value_name = "FILE")]
    class: Option<PathBuf>,

    /// A shared folder, DIR=NAME[:LETTERS] (repeatable): the folder DIR appears as /NAME in
    /// every home, with LETTERS for everyone (default elr, read only). Nothing above DIR is
    /// reachable through it.
    #[arg(long = "share", value_name = "DIR=NAME[:LETTERS]", value_parser = Share::from_spec)]
    shares: Vec<Share>,

    /// Letters for one folder of every home, PATH=LETTERS (repeatable): PATH and everything
    /// under it get LETTERS in place of the user's own (pyftpdlib's override_perm), e.g.
    /// Folder_Tes=elr.
    #[arg(long = "folder-perms", value_name = "PATH=LETTERS", value_parser = folder_perms_from_spec)]
    folder_perms: Vec<(String, Perms)>,

    /// Draw a transcript (the .jsonl file of --transcript) as a sequence diagram: print the SVG
    /// on standard output and exit. E.g. --diagram transcripts/alice-1.jsonl > session.svg
    #[arg(long, value_name = "FILE.jsonl")]
    diagram: Option<PathBuf>,

    /// The teacher's board: a web page with each student's progress through the seed's flow,
    /// live, at http://ADDR:PORT/ (PORT alone: 127.0.0.1:PORT). Log in with an account that has
    /// the letter S, e.g. --user teacher:pw:elrS:.
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_board_address)]
    board: Option<std::net::SocketAddr>,

    /// Keep the grade sheet (CSV: a row per student, a column per stage, the quiz score) in
    /// FILE: rewritten every 10 s while anything changes, and when the server stops. The board
    /// offers the same file at any time.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,

    /// Read passwords on standard input, one a line, print each one's Argon2 hash for a
    /// --users file (one a line, in order), and exit.
    #[arg(long)]
    hash_password: bool,

    /// Enable anonymous login (user "anonymous" or "ftp", any password) with this home folder.
    /// An account named "anonymous" or "ftp" (--user, --users) could then never log in, so the
    /// server refuses to start with both.
    #[arg(long, value_name = "DIR")]
    anonymous: Option<PathBuf>,

    /// The anonymous user's letters. Letters that change files (a d f m w M T) are allowed
    /// only with this flag, and the log warns about them.
    #[arg(
        long,
        value_name = "LETTERS",
        default_value = "elr",
        requires = "anonymous"
    )]
    anonymous_perms: String,

    /// At most this many sessions at once (0: no limit).
    #[arg(long, default_value_t = 512, value_name = "N")]
    max_connections: usize,

    /// At most this many sessions from one IP address (0: no limit).
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_connections_per_ip: usize,

    /// Failed logins a session may make before it is closed.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_login_attempts: u32,

    /// Milliseconds to wait before answering a failed login (slows password guessing).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    login_failure_delay: u64,

    /// On Ctrl-C or SIGTERM, seconds running transfers may go on before the server exits.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    shutdown_grace: u64,

    /// FTPS: the certificate chain (PEM) for AUTH TLS (RFC 4217). Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// FTPS: the private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// FTPS with a self-signed certificate for localhost (for the classroom), made at the
    /// first start and kept in --state-dir; its SHA-256 fingerprint is logged.
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,

    /// Where --tls-self-signed keeps its certificate and key from one start to the next
    /// (default: localftp-state next to --root). Must be outside the root and every home.
    #[arg(long, value_name = "DIR", requires = "tls_self_signed")]
    state_dir: Option<PathBuf>,

    /// Refuse USER before AUTH TLS, and data transfers without PROT P.
    #[arg(long)]
    require_tls: bool,

    /// Under PROT P, accept TLS data connections that do not resume the control connection's
    /// TLS session. By default they are refused (522), as vsftpd's require_ssl_reuse does, so
    /// that another program on the client's address cannot take a file by connecting to the
    /// passive port first. curl, lftp and FileZilla resume; Python's ftplib needs a subclass
    /// (LESSONS.md, Lesson 20).
    #[arg(long)]
    no_require_tls_reuse: bool,

    /// Do not fsync uploads before they replace their target: faster, but a power cut right
    /// after an upload may leave an empty or partial file under its name.
    #[arg(long)]
    no_fsync: bool,

    /// Limit each session's downloads (RETR, LIST, NLST, MLSD) to RATE bytes per second, e.g.
    /// 65536, 64KiB, 500KB, 2MiB (KiB/MiB/GiB and k/M/G: 1024-based; KB/MB/GB: 1000-based).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    download_rate: Option<u64>,

    /// Limit each session's uploads (STOR, APPE, STOU) to RATE bytes per second (as
    /// --download-rate).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    upload_rate: Option<u64>,

    /// Log, after every reply, one line saying why it was sent: RFC section, session state
    /// before and after, the permission letter checked, the jail's decision; and the data
    /// connection's events (target `explain`).
    #[arg(long)]
    explain: bool,

    /// Write each session's conversation to DIR, named after the user who logged in:
    /// USER-YYYYMMDD-HHMMSS-N.txt to read, .jsonl for programs (passwords masked; never
    /// overwritten).
    #[arg(long, value_name = "DIR")]
    transcript: Option<PathBuf>,

    /// Deterministic output for grading clients: first free passive port of --passive-ports,
    /// one fixed time in listings and MDTM, numbered STOU names, transcripts without times.
    #[arg(long)]
    lab: bool,

    /// Misbehave on purpose, for exercises (repeatable): multiline, split, slow, always-125,
    /// wrong-227, early-close, 421-at-fifth-command, bare-lf.
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<Fault>,

    /// Seconds a control connection may stay idle before it is closed with 421; also how long
    /// a reply may wait to be written (a client that never reads) before the session ends.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    idle_timeout: u64,

    /// Seconds to wait for a data connection (PASV accept or active connect).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    data_connect_timeout: u64,

    /// Seconds a data connection may stall (no byte moving) before the transfer fails.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    data_stall_timeout: u64,
}

fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let (low, high) = text
        .split_once('-')
        .ok_or_else(|| format!("{text:?} is not LO-HI, e.g. 50000-50100"))?;
    let low: u16 = low.parse().map_err(|_| format!("{low:?} is not a port"))?;
    let high: u16 = high
        .parse()
        .map_err(|_| format!("{high:?} is not a port"))?;
    if low == 0 || low > high {
        return Err(format!("{text:?}: need 1 <= LO <= HI"));
    }
    Ok(low..=high)
}

/// `--board 8021` is 127.0.0.1:8021: loopback unless the teacher names another address.
fn parse_board_address(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok((Ipv4Addr::LOCALHOST, port).into());
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not ADDR:PORT (e.g. 127.0.0.1:8021) or a port"))
}

fn main() -> ExitCode {
    // rustls warns about things clients commonly do (an IP address sent as the TLS server
    // name); only its errors are worth a teacher's screen.
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,rustls=error"),
    )
    .init();
    let flags = match Flags::try_parse() {
        Ok(flags) => flags,
        // --help and --version print and exit as usual.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap's message is several lines (usage, hints); a server's start-up error is one.
            let rendered = e.to_string();
            let first = rendered.lines().next().unwrap_or("error: bad arguments");
            eprintln!("{first} (see --help)");
            return ExitCode::from(2);
        }
    };
    if flags.hash_password {
        return print_hash();
    }
    if let Some(transcript) = &flags.diagram {
        return print_diagram(transcript);
    }
    let config = match configure(flags) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let server = match Server::bind(config) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let handle = server.shutdown_handle();
    if let Err(e) = ctrlc::set_handler(move || handle.shutdown()) {
        log::warn!("Ctrl-C will stop the server abruptly: {e}");
    }
    server.run();
    ExitCode::SUCCESS
}

/// Turn the flags into a server configuration, or say what is wrong with them.
fn configure(flags: Flags) -> Result<Config, Box<dyn std::error::Error>> {
    let mut users = Vec::new();
    if let Some(path) = &flags.users {
        users = load_users_file(path, &flags.root)?;
    }
    for spec in &flags.users_plain {
        users.push(User::from_spec(spec, &flags.root)?);
    }
    let anonymous = match &flags.anonymous {
        Some(home) => {
            let perms = flags
                .anonymous_perms
                .parse()
                .map_err(|e| format!("--anonymous-perms: {e}"))?;
            let user = User::anonymous(perms, home);
            if user.can_write() {
                log::warn!(
                    "anonymous users may change files in {} (letters {perms})",
                    home.display()
                );
            }
            Some(user)
        }
        None => None,
    };
    let tls = match (&flags.tls_cert, &flags.tls_key, flags.tls_self_signed) {
        (Some(cert), Some(key), _) => Some(TlsConfig::from_pem_files(cert, key)?),
        (_, _, true) => {
            let folder = flags.state_dir.clone();
            let folder = folder.unwrap_or_else(|| state::default_dir(&flags.root));
            let homes = users
                .iter()
                .chain(&anonymous)
                .map(|user| user.home.as_path());
            let shares = flags.shares.iter().map(|share| share.dir.as_path());
            let served = std::iter::once(flags.root.as_path())
                .chain(homes)
                .chain(shares);
            Some(state::lasting_certificate(&folder, served, flags.bind)?)
        }
        _ => None,
    };
    if let Some(tls) = &tls {
        log::info!(
            "FTPS ready: certificate SHA-256 fingerprint {}",
            tls.fingerprint()
        );
    } else if flags.require_tls {
        return Err(
            "--require-tls needs a certificate: --tls-self-signed, or --tls-cert and --tls-key"
                .into(),
        );
    }
    for fault in &flags.faults {
        log::warn!("fault {fault} is on: this server misbehaves on purpose (--fault)");
    }
    if flags.lab {
        log::info!("lab mode: deterministic ports, times and names (--lab)");
    }
    Ok(Config {
        bind: flags.bind,
        port: flags.port,
        root: flags.root,
        users,
        class: flags.class,
        shares: flags.shares,
        folder_perms: flags.folder_perms,
        banner: flags.banner,
        passive_ports: flags.passive_ports,
        masquerade: flags.masquerade,
        sample_content: true,
        permit_foreign_addresses: flags.permit_foreign_addresses,
        permit_privileged_ports: flags.permit_privileged_ports,
        timeouts: Timeouts {
            idle: Duration::from_secs(flags.idle_timeout.max(1)),
            data_connect: Duration::from_secs(flags.data_connect_timeout.max(1)),
            data_stall: Duration::from_secs(flags.data_stall_timeout.max(1)),
        },
        max_connections: flags.max_connections,
        max_connections_per_ip: flags.max_connections_per_ip,
        max_login_attempts: flags.max_login_attempts,
        login_failure_delay: Duration::from_millis(flags.login_failure_delay),
        shutdown_grace: Duration::from_secs(flags.shutdown_grace),
        anonymous,
        tls,
        require_tls: flags.require_tls,
        require_tls_reuse: !flags.no_require_tls_reuse,
        fsync: !flags.no_fsync,
        download_rate: flags.download_rate,
        upload_rate: flags.upload_rate,
        explain: flags.explain,
        transcript_dir: flags.transcript,
        lab: flags.lab,
        board: flags.board,
        report: flags.report,
        faults: Faults::new(flags.faults),
    })
}

/// `--diagram FILE`: a transcript in, its sequence diagram (SVG) out.
fn print_diagram(transcript: &std::path::Path) -> ExitCode {
    match std::fs::read_to_string(transcript) {
        Ok(text) => {
            let steps = localftp::server::diagram::steps_from_jsonl(&text);
            let title = format!("localftp session: {}", transcript.display());
            print!("{}", localftp::server::diagram::svg(&title, &steps));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", transcript.display());
            ExitCode::FAILURE
        }
    }
}

/// `--hash-password`: each line of standard input in, its hash out, in order.
fn print_hash() -> ExitCode {
    for line in std::io::stdin().lines() {
        let Ok(line) = line else {
            eprintln!("error: cannot read the passwords from standard input");
            return ExitCode::FAILURE;
        };
        match hash_password(line.trim_end_matches('\r')) {
            Ok(hash) => println!("{hash}"),
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
