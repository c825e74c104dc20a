//! `Config`: everything the server needs to start, each field a flag of the server program,
//! with the seed's defaults; and the parsers of `--share` and `--folder-perms`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::users::User;
use super::{faults, permissions, tls};
use crate::seed::{SEED_BANNER, SEED_PORT, SEED_ROOT};

/// How long each kind of wait may last before the server gives up on the client.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// A logged-in or not, idle control connection (no command) is closed with 421 after this.
    /// It is also the write timeout of the control connection: a reply that cannot be written
    /// for this long (the client sends but never reads) ends the session.
    pub idle: Duration,
    /// Waiting for the client to connect to a passive port, or for an active connect.
    pub data_connect: Duration,
    /// A data connection on which no byte moves for this long fails the transfer.
    pub data_stall: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            idle: Duration::from_secs(300),
            data_connect: Duration::from_secs(30),
            data_stall: Duration::from_secs(300),
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on (the seed: 127.0.0.1; `::1` for IPv6).
    pub bind: IpAddr,
    /// The control port (the seed: 2122; 0 lets the OS pick a free one).
    pub port: u16,
    /// The folder served (the seed: `data`), created if missing.
    pub root: PathBuf,
    /// The accounts. Empty (and no `--class` roster) means the seed's one user, `user` /
    /// `12345` with `elradfmw`, whose home is `root`.
    pub users: Vec<User>,
    /// `--class FILE`: a class roster, one account per student (see `class`). Its accounts
    /// come after `users`; a name on both is refused at start.
    pub class: Option<PathBuf>,
    /// `--share DIR=NAME[:LETTERS]`: folders of the teacher's seen as `/NAME` in every home.
    pub shares: Vec<Share>,
    /// `--folder-perms PATH=LETTERS`: within every home, PATH and what is under it get LETTERS
    /// in place of the user's own (pyftpdlib's `override_perm`).
    pub folder_perms: Vec<(String, permissions::Perms)>,
    /// The greeting text after `220 `.
    pub banner: String,
    /// Passive ports to choose from; `None` lets the OS pick.
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// The IPv4 address to announce in 227 replies instead of the local one (for NAT).
    pub masquerade: Option<Ipv4Addr>,
    /// Give every home that is new or empty (the root too) `baca_saya.txt` and `Folder_Tes`, as
    /// the seed's `data/` has them (see `folders::prepare_home`).
    pub sample_content: bool,
    /// Let PORT/EPRT name an address other than the client's own, and let a passive data
    /// connection come from another address than the control connection's (pyftpdlib's
    /// `permit_foreign_addresses`). Off by default: RFC 2577 §3, bounce attacks and data theft.
    pub permit_foreign_addresses: bool,
    /// Let PORT/EPRT name a port below 1024 (pyftpdlib's `permit_privileged_ports`). Off by
    /// default: RFC 2577 §3.
    pub permit_privileged_ports: bool,
    /// The timeouts.
    pub timeouts: Timeouts,
    /// At most this many sessions at once (0: no limit). pyftpdlib's default is 512.
    pub max_connections: usize,
    /// At most this many sessions from one IP address (0: no limit, pyftpdlib's default;
    /// vsftpd uses 50).
    pub max_connections_per_ip: usize,
    /// Failed logins a session may make before it is closed.
    pub max_login_attempts: u32,
    /// The pause before each "530 Login incorrect": it makes guessing passwords slow.
    pub login_failure_delay: Duration,
    /// On shutdown, how long running transfers may go on before the server exits anyway.
    pub shutdown_grace: Duration,
    /// The anonymous account (user `anonymous` or `ftp`, any password), if enabled.
    pub anonymous: Option<User>,
    /// The certificate and key for FTPS (`AUTH TLS`, RFC 4217); `None`: plain FTP only.
    pub tls: Option<tls::TlsConfig>,
    /// Refuse USER before `AUTH TLS`, and transfers without `PROT P`.
    pub require_tls: bool,
    /// Under `PROT P`, refuse a data connection whose TLS session does not resume the control
    /// connection's (`522`), as vsftpd's `require_ssl_reuse`: otherwise another program on the
    /// client's address could connect to the passive port first and take the file. On by
    /// default; `--no-require-tls-reuse` turns it off for clients that cannot resume.
    pub require_tls_reuse: bool,
    /// `fsync` an upload before it replaces its target (on by default): the upload is on the
    /// disk, not only in the page cache, before the old file goes. Off trades that for speed.
    pub fsync: bool,
    /// At most this many bytes per second for each session's downloads (RETR, and LIST, NLST
    /// and MLSD listings), as pyftpdlib's `ThrottledDTPHandler.write_limit`; `None` (the
    /// default): no limit. Each session has its own: ten sessions may take ten times as much.
    /// `Some(0)` is taken as 1 byte per second. See `throttle` for how the rate is kept.
    pub download_rate: Option<u64>,
    /// At most this many bytes per second for each session's uploads (STOR, APPE, STOU), as
    /// pyftpdlib's `ThrottledDTPHandler.read_limit`; `None` (the default): no limit.
    pub upload_rate: Option<u64>,
    /// `--explain`: log why each reply was sent (see `trace`).
    pub explain: bool,
    /// `--transcript DIR`: write each session's conversation to DIR (see `trace`).
    pub transcript_dir: Option<PathBuf>,
    /// `--lab`: deterministic output for grading clients: sequential passive ports, fixed
    /// times in listings, numbered STOU names, transcripts without times or client ports.
    pub lab: bool,
    /// `--board ADDR:PORT`: the teacher's board, a web page of the class's progress (see
    /// `board`). Off by default.
    pub board: Option<SocketAddr>,
    /// `--report FILE`: the grade sheet (CSV), rewritten every 10 s and at shutdown (see
    /// `progress`).
    pub report: Option<PathBuf>,
    /// `--fault NAME`: misbehave on purpose, for exercises (see `faults`). Never on by default.
    pub faults: faults::Faults,
}

impl Default for Config {
    /// The seed's server: 127.0.0.1:2122, root `data/`, the seed's user and greeting.
    fn default() -> Config {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: SEED_PORT,
            root: PathBuf::from(SEED_ROOT),
            users: Vec::new(),
            class: None,
            shares: Vec::new(),
            folder_perms: Vec::new(),
            banner: SEED_BANNER.to_string(),
            passive_ports: None,
            masquerade: None,
            sample_content: true,
            permit_foreign_addresses: false,
            permit_privileged_ports: false,
            timeouts: Timeouts::default(),
            max_connections: 512,
            max_connections_per_ip: 0,
            max_login_attempts: 3,
            login_failure_delay: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            anonymous: None,
            tls: None,
            require_tls: false,
            require_tls_reuse: true,
            fsync: true,
            download_rate: None,
            upload_rate: None,
            explain: false,
            transcript_dir: None,
            lab: false,
            board: None,
            report: None,
            faults: faults::Faults::default(),
        }
    }
}

/// A shared folder (`--share DIR=NAME[:LETTERS]`).
#[derive(Debug, Clone)]
pub struct Share {
    /// The folder on disk; it must exist.
    pub dir: PathBuf,
    /// Its name in every home: `/NAME`.
    pub name: String,
    /// The letters every user has in it (default `elr`: read only).
    pub perms: permissions::Perms,
}

impl Share {
    /// Parse `DIR=NAME[:LETTERS]` (the last `=` splits, so DIR may hold one).
    ///
    /// ```
    /// use localftp::server::Share;
    /// let share = Share::from_spec("/srv/materi=Materi").unwrap();
    /// assert_eq!((share.name.as_str(), share.perms.to_string()), ("Materi", "elr".into()));
    /// assert_eq!(Share::from_spec("inbox=Kumpul:elw").unwrap().perms.to_string(), "elw");
    /// assert!(Share::from_spec("no-name").is_err());
    /// ```
    pub fn from_spec(spec: &str) -> Result<Share, String> {
        let (dir, rest) = spec
            .rsplit_once('=')
            .ok_or_else(|| format!("--share {spec:?}: expected DIR=NAME[:LETTERS]"))?;
        let (name, letters) = rest.split_once(':').unwrap_or((rest, "elr"));
        let perms = letters
            .parse()
            .map_err(|e| format!("--share {spec:?}: {e}"))?;
        Ok(Share {
            dir: PathBuf::from(dir),
            name: name.to_string(),
            perms,
        })
    }
}

/// Parse `--folder-perms PATH=LETTERS` (the last `=` splits).
///
/// ```
/// let (path, letters) = localftp::server::folder_perms_from_spec("Folder_Tes=elr").unwrap();
/// assert_eq!((path.as_str(), letters.to_string()), ("Folder_Tes", "elr".into()));
/// ```
pub fn folder_perms_from_spec(spec: &str) -> Result<(String, permissions::Perms), String> {
    let (path, letters) = spec
        .rsplit_once('=')
        .ok_or_else(|| format!("--folder-perms {spec:?}: expected PATH=LETTERS"))?;
    let letters = letters
        .parse()
        .map_err(|e| format!("--folder-perms {spec:?}: {e}"))?;
    Ok((path.to_string(), letters))
}

/// The seed's account: `user` / `12345` with the letters `elradfmw`, at home in `root`.
pub fn seed_user(root: &Path) -> User {
    let perms = crate::seed::SEED_PERMS
        .parse()
        .expect("the seed's letters are valid");
    User::new(
        crate::seed::SEED_USER,
        crate::seed::SEED_PASSWORD,
        perms,
        root,
    )
}
