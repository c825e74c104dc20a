//! The localftp server, with the seed's defaults.
//!
//! ```text
//! cargo run --example server                       # 127.0.0.1:2122, user/12345, root data/
//! RUST_LOG=debug cargo run --example server        # also every command and reply
//! cargo run --example server -- --help             # all flags
//! cargo run --example server -- --port 0 --root /tmp/ftp --user ann:pw:elr
//! ```
//!
//! Then, in a second terminal: `cargo run --example client`, or
//! `curl ftp://user:12345@127.0.0.1:2122/`.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use localftp::server::users::User;
use localftp::server::{Config, SEED_BANNER, SEED_PORT, Server, Timeouts};

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
    #[arg(long, default_value = "data")]
    root: PathBuf,

    /// An account, NAME:PASSWORD[:PERMS[:HOME]] (repeatable). Replaces the default user
    /// user:12345:elradfmw. PERMS defaults to elr; HOME (relative to --root) to the root.
    #[arg(long = "user", value_name = "NAME:PASSWORD[:PERMS[:HOME]]")]
    users: Vec<String>,

    /// Greeting text sent after "220 ".
    #[arg(long, default_value = SEED_BANNER)]
    banner: String,

    /// Passive ports to use, LO-HI (e.g. 50000-50100); default: any free port.
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

    /// Seconds a control connection may stay idle before it is closed with 421.
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

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let flags = Flags::parse();

    let mut users = Vec::new();
    for spec in &flags.users {
        match User::from_spec(spec, &flags.root) {
            Ok(user) => users.push(user),
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    let config = Config {
        bind: flags.bind,
        port: flags.port,
        root: flags.root,
        users,
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
    };
    match Server::bind(config) {
        Ok(server) => {
            server.run();
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
