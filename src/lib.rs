//! # localftp — an FTP server and a guided FTP client, written to be read
//!
//! localftp rebuilds a classroom pair, a pyftpdlib server and an ftplib client, in Rust, so a
//! student can watch every step of FTP (RFC 959) happen and then read the code that did it.
//!
//! ## The map
//!
//! | module | the one idea it teaches |
//! |--------|-------------------------|
//! | [`platform`] | where Linux, macOS and Windows differ: the one module with `cfg` in it |
//! | [`seed`] | the classroom's defaults (port 2122, `user`/`12345`, `baca_saya.txt`), shared by server and client |
//! | [`reply`] | every reply is a three-digit code with a meaning (RFC 959 §4.2); shared by server and client |
//! | `reply::meaning` | each code's meaning in one sentence for a student, and what a first digit says |
//! | [`server`] | the `Server` and its accept loop: one OS thread per connection, and the shutdown |
//! | `server::config` | `Config`: everything the server needs to start, with the seed's defaults |
//! | `server::start` | `Server::bind`: roster, homes and jails, the listening socket; `StartError` |
//! | `server::folders` | the files the server makes itself: the seed's sample in each home, the grade sheet |
//! | `server::registry` | who is connected: the connection limits, and waking sessions for a shutdown |
//! | `server::session` | one session's state machine: greet 220 → read → parse → gate → dispatch → reply |
//! | `server::session::setup` | a session's control connection set up: socket options, reader, replier; AUTH TLS |
//! | `server::session::bookkeeping` | around each command: sending the reply, following a login into the logs |
//! | `server::session::letters` | the letters that hold for a command, and the words `--explain` uses for them |
//! | `server::session::abort` | ABOR: stopping the transfer on its helper thread, 426 then 226 |
//! | `server::session::outcome` | what a handler asks the loop to do, and how a refusal (`Err`) is still the reply sent |
//! | `server::control` | the control connection: bounded line reading, writing replies, logging them |
//! | `server::control::replier` | the writing half: one reply at a time, shared with the transfer thread, faults played on the wire |
//! | `server::command` | `Command` and a pure `parse()`: text in, a typed command out, no I/O |
//! | `server::command::arguments` | the arguments with a grammar of their own: TYPE, PORT, EPRT, SITE, MFMT, LIST's flags |
//! | `server::verbs` | the command table: each command's name, RFC, letter, before-login, HELP and FEAT, in one `match` |
//! | `server::settings` | what one login sets (folder, TYPE, data connection, REST, RNFR, PROT…), reset by REIN at once |
//! | `server::permissions` | pyftpdlib's permission letters (`elradfmwMT`) as an exhaustive `match`, and per-folder letters |
//! | `server::users` | who may log in, with which password, letters and home folder |
//! | `server::users::error` | `UsersError`: why an account could not be made or read, in the words printed at start |
//! | `server::class` | `--class FILE`: a roster of students, generated passwords kept as hashes, a handout |
//! | `server::class::error` | `ClassError`: why a roster could not be loaded or its handout written |
//! | `server::passwords` | a password check costs the same for every name, and a semaphore bounds Argon2's memory |
//! | `server::jail` | virtual path ↔ the home: every file operation beneath an open handle on it, so the OS refuses escapes; shared folders (`--share`) as jails of their own |
//! | `server::jail::paths` | virtual paths as strings: `resolve` folds `..` at `/`, with no disk touched |
//! | `server::jail::links` | the jail's slow path: links read one at a time, absolute targets rewritten under the home |
//! | `server::data` | the second connection: passive (PASV/EPSV) and active (PORT/EPRT) |
//! | `server::stream` | one connection type, plain or TLS, for control and data alike |
//! | `server::tls` | FTPS (RFC 4217): certificates, and a TLS stream two threads can share |
//! | `server::tls::connection` | `TlsStream`: one TLS connection, rustls's state behind a mutex held only to encrypt or decrypt |
//! | `server::tag` | who a session is in every log line (`[#3 alice@…]`), and what of a command may be logged |
//! | `server::trace` | `--explain` (why each reply) and `--transcript` (each session in a file); log lines name the user |
//! | `server::transcript` | a transcript's files: named after who logged in, never overwritten |
//! | `server::state` | the server's own files outside every jail: a self-signed certificate that lasts |
//! | `server::events` | what happens on a data connection, as one value written and read back in the same words |
//! | `server::progress` | each student's progress through the seed's stages, read off the conversation |
//! | `server::progress::sheet` | the grade sheet (`--report`): the progress as CSV, a column per stage |
//! | `server::diagram` | a session as a sequence diagram (SVG), live or from a transcript |
//! | `server::board` | `--board`: the teacher's live page over a small, bounded, hand-written HTTP (`board::http`), and the grade sheet |
//! | `server::instruments` | the instruments' hooks: the session and a transfer report each step, and only here is it asked whether `--explain`, `--transcript`, `--lab` or a fault is on |
//! | `server::faults` | `--fault NAME`: misbehaving on purpose, so students write robust clients |
//! | `server::transfer` | RETR/STOR/LIST on a helper thread, so ABOR can be heard: 150 … 226 |
//! | `server::copy` | moving the bytes: `sendfile`, TYPE A line ends, the hang-up check |
//! | `server::throttle` | `--download-rate`/`--upload-rate`: pacing a transfer by bytes so far against time so far |
//! | `server::upload` | an upload's destination: a temporary file renamed over the target only when whole |
//! | `server::clock` | time as FTP writes it (`YYYYMMDDHHMMSS`), and the calendar behind `ls -l` dates |
//! | `server::listing` | `ls -l` lines for LIST, names for NLST, RFC 3659 facts for MLSD/MLST |
//! | `server::listing::facts` | `Facts`: an MLSD/MLST line's facts (RFC 3659 §7), narrowed by `OPTS MLST`; `perm` from the user's letters |
//! | `server::commands` | one module per RFC 959 §4.1 command family |
//! | `server::commands::transfers` | RETR, STOR, APPE, STOU, REST: every check answered before the 150, then the transfer thread |
//! | [`client`] | the guided client: one method per menu action, each step on the wire explained |
//! | `client::wire`, `client::lines` | the one place commands are sent and replies read (and narrated) |
//! | `client::wire::auth_tls` | `AUTH TLS` on the control connection: the 234, the handshake, the TLS stream in place of the plain one |
//! | `client::data` | the data connection by hand: PASV's six numbers, EPSV, PORT |
//! | `client::transfer`, `client::files`, `client::copy` | 150 … bytes … 226; `.part` files and resume; TYPE A conversion |
//! | `client::listing`, `client::commands` | LIST/MLSD, and the commands that need no data connection |
//! | `client::tls`, `client::stream` | `--tls`: AUTH TLS, the handshake, PBSZ/PROT, TLS data connections |
//! | `client::notes`, `client::watch` | protocol notes: where a server departs from the RFCs |
//! | `client::quiz`, `client::walkthrough`, `client::compare` | the tutor: predict each reply, the seed's flow step by step, TYPE A vs I in hex |
//! | `client::options` | `Options`: everything the client needs to start, as the example's flags fill it |
//! | `client::action`, `client::menu`, `client::terminal` | script words, the dialoguer menu, prompts and Ctrl-C |
//! | `client::menu::login` | where to connect and as whom: flags first, then prompts, never a prompt without a terminal |
//!
//! ## What is simplified
//!
//! A production server differs from this one in a few places, each marked in the code where it
//! happens: threads are not pooled (one thread per session is the lesson, bounded by
//! `--max-connections`); users come from flags or a plain file, not from the system's accounts or
//! a directory service. Uploads are `fsync`ed before they replace a file (`--no-fsync` trades
//! that for speed).

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod platform;
pub mod reply;
pub mod seed;
#[cfg(feature = "server")]
pub mod server;
