//! # localftp — an FTP server and a guided FTP client, written to be read
//!
//! localftp rebuilds a classroom pair, a pyftpdlib server and an ftplib client, in Rust, so a
//! student can watch every step of FTP (RFC 959) happen and then read the code that did it.
//!
//! ## The map
//!
//! | module | the one idea it teaches |
//! |--------|-------------------------|
//! | [`reply`] | every reply is a three-digit code with a meaning (RFC 959 §4.2); shared by server and client |
//! | [`server`] | `Config`, `Server::bind` and the accept loop: one OS thread per connection |
//! | `server::session` | one session's state machine: greet 220 → read → parse → gate → dispatch → reply |
//! | `server::control` | the control connection: bounded line reading, writing replies, logging them |
//! | `server::command` | `Command` and a pure `parse()`: text in, a typed command out, no I/O |
//! | `server::permissions` | pyftpdlib's permission letters (`elradfmwMT`) as an exhaustive `match` |
//! | `server::users` | who may log in, with which password, letters and home folder |
//! | `server::jail` | virtual path ↔ real path: `/` is the user's home and nothing escapes it |
//! | `server::data` | the second connection: passive (PASV/EPSV) and active (PORT/EPRT) |
//! | `server::transfer` | RETR/STOR/LIST streaming on a helper thread, so ABOR can be heard |
//! | `server::listing` | `ls -l` lines for LIST, names for NLST |
//! | `server::commands` | one module per RFC 959 §4.1 command family |
//! | [`client`] | the guided client: each step on the wire, with an explanation |
//!
//! ## What is simplified
//!
//! A production server differs from this one in a few places, each marked in the code where it
//! happens: threads are not pooled (one thread per session is the lesson); the jail checks paths
//! and then opens them, so a *local* user racing the server with symlinks could slip between the
//! two steps (FTP clients cannot create symlinks, so they cannot); users live in memory.

pub mod client;
pub mod reply;
pub mod server;
