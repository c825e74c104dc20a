//! The classroom's defaults, in one place for the server and the client alike.
//!
//! The seed (the user's document) describes a pyftpdlib server and an ftplib client that agree
//! on these values; localftp keeps every one of them, so a student can run the classroom's
//! own Python client against this server, or this client against the classroom's server.

/// Where the server listens and the client connects: the loopback interface only.
pub const SEED_HOST: &str = "127.0.0.1";

/// The control port. FTP's standard port is 21, which needs root on Unix.
pub const SEED_PORT: u16 = 2122;

/// The classroom's account: user name.
pub const SEED_USER: &str = "user";

/// The classroom's account: password.
pub const SEED_PASSWORD: &str = "12345";

/// The classroom's account: pyftpdlib's permission letters (see `server::permissions`).
pub const SEED_PERMS: &str = "elradfmw";

/// The folder served, relative to where the server starts.
pub const SEED_ROOT: &str = "data";

/// The greeting, sent as `220 Selamat datang di Local FTP Server` ("welcome").
pub const SEED_BANNER: &str = "Selamat datang di Local FTP Server";

/// The sample file, created in the root at start if missing.
pub const SAMPLE_FILE: &str = "baca_saya.txt";

/// The empty sample folder, created in the root at start if missing.
pub const SAMPLE_FOLDER: &str = "Folder_Tes";
