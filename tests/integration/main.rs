//! localftp's integration tests: one test binary, every test through real sockets.
//!
//! Each test starts its own server on port 0 in a fresh temporary root (see `support`), so tests
//! run in parallel and never share files.

/// Shared helpers: start a server, talk to it line by line, open data connections.
mod support;

/// The seed's flow and every basic command, as raw-socket transcripts, error replies included.
mod transcript;

/// ABOR and STAT mid-transfer, REST, APPE, STOU, REIN, active mode, EPSV ALL, IPv6, MLSD/MLST.
mod protocol;

/// lftp, curl, ftplib and suppaftp using resume, active mode, MLSD and ABOR, checked on disk.
mod real_clients;

/// Every way out of the jail (`..`, absolute paths, symlinks), tried and refused.
#[cfg(unix)]
mod jail;

/// Attacks that once succeeded: a rename across the jail, SITE CHMOD bits, reserved names, uploads and shutdown, pending listings.
mod hardening;

/// suppaftp, curl and Python's ftplib run the seed's flow; files compared byte for byte.
mod interop;

/// The server program's flags, one-line errors, port 0 start-up, seed data, IPv6.
mod server_cli;

/// Connection, login and input limits, timeouts, foreign data peers, anonymous, users file.
mod limits;

/// The guided client as a program: the seed's flow, its annotated output, its errors.
mod client_cli;

/// The guided client at a pseudo-terminal (tmux): menu picked with the keyboard.
mod client_pty;

/// Generated input never panics the parser and never leads out of the jail.
mod properties;

/// Random bytes, huge lines, half-open and slow connections, a 2,000-connection burst.
mod abuse;

/// Files arrive intact (SHA-256), and failed or racing uploads never destroy what was there.
mod integrity;

/// Every code name LESSONS.md mentions exists, and its marked commands print what it shows.
#[cfg(unix)]
mod lessons;

/// FTPS with curl, lftp, ftplib, suppaftp; --require-tls; broken handshakes; passwords off the wire.
mod ftps;

/// The guided client with --tls: AUTH TLS, PBSZ/PROT, TLS data, --insecure, --ca, its errors.
mod client_tls;

/// TLS data connections resume the control session, so a racer to the passive port gets nothing.
mod tls_reuse;

/// The server as a teaching instrument: --explain, --transcript, --lab, --fault and SITE WHO.
mod instruments;

/// PASS costs the same for known and unknown names; Argon2's memory is bounded.
mod passwords;

/// The client as a tutor: --quiz, a note per server fault, --walkthrough, compare, pyftpdlib.
mod client_tutor;

/// A roster of 30 students at once, each in a seeded home; restarts keep passwords and files.
mod class;

/// A teacher's folder in every home (--share) and per-folder letters (--folder-perms), enforced.
mod shares;

/// Per-session download and upload limits: measured rate, ABOR and STAT under a limit.
mod rates;

/// Logs and transcripts name the user and survive restarts; a self-signed certificate that lasts.
mod classroom;

/// The teacher's board in headless Chromium: checklists, quiz, diagrams, 401, the grade sheet.
mod board;
