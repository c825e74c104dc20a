//! localftp's integration tests: one test binary, every test through real sockets.
//!
//! Each test starts its own server on port 0 in a fresh temporary root (see `support`), so tests
//! run in parallel and never share files.

/// Shared helpers: start a server, talk to it line by line, open data connections.
mod support;

/// The seed's flow and every command of issue 2, as raw-socket transcripts.
mod transcript;

/// Issue 4: ABOR and STAT mid-transfer, REST, APPE, STOU, REIN, active mode, EPSV ALL, IPv6, MLSD/MLST.
mod protocol;

/// Issue 4: lftp, curl, ftplib and suppaftp using resume, active mode, MLSD and ABOR.
mod real_clients;

/// Issue 2: every way out of the jail (`..`, absolute paths, symlinks), tried and refused.
#[cfg(unix)]
mod jail;

/// Attacks that once succeeded: a rename across the jail, SITE CHMOD bits, reserved names, uploads and shutdown, pending listings.
mod hardening;

/// Issue 2: suppaftp, curl and Python's ftplib run the seed's flow; files compared byte for byte.
mod interop;

/// Issue 2: the server program's flags, one-line errors, port 0 start-up, seed data, IPv6.
mod server_cli;

/// Issue 5: connection and login limits, timeouts, input limits, foreign data peers, anonymous, users file, shutdown.
mod limits;

/// Issue 3: the guided client as a program: the seed's flow, its annotated output, its errors.
mod client_cli;

/// Issue 3: the guided client at a pseudo-terminal (tmux): menu picked with the keyboard.
mod client_pty;

/// Issue 5: generated input never panics the parser and never leads out of the jail.
mod properties;

/// Issue 5: random bytes, huge lines, half-open and slow connections, a 2,000-connection burst.
mod abuse;

/// Issue 6: SHA-256 checked transfers of every size, TYPE A round trips, uploads killed, aborted, stalled or out of disk, races, 200 sessions, resource baseline.
mod integrity;

/// Issue 8: every code name LESSONS.md mentions exists, and its marked commands print what it shows.
#[cfg(unix)]
mod lessons;

/// Issue 9: FTPS with curl, lftp, ftplib and suppaftp; --require-tls; broken handshakes; the password on the wire.
mod ftps;

/// Issue 9: the guided client with --tls: AUTH TLS, PBSZ/PROT, TLS data connections, --insecure, --ca, and its errors.
mod client_tls;

/// Issue 1 (hardening), item 4: TLS data connections must resume the control connection's session; an attacker racing to the passive port gets nothing.
mod tls_reuse;

/// Issue 10: --explain, --transcript, --lab, --fault and SITE WHO.
mod instruments;

/// Issue 1 (hardening), item 5: PASS costs the same for known and unknown names; Argon2's memory is bounded.
mod passwords;

/// Issue 11: the client as a tutor: --quiz, a protocol note per server fault, --walkthrough, compare, and pyftpdlib.
mod client_tutor;

/// Issue 17: a class roster of 30 students at once, each in a seeded home of their own; restarts keep passwords and files.
mod class;

/// Issue 17: a teacher's folder in every home (--share) and letters for one folder (--folder-perms): enforced, named in refusals, nothing above a share.
mod shares;

/// Issue 17: per-session download and upload limits: measured rate, ABOR and STAT under a limit.
mod rates;

/// Issue 17: log lines and transcripts name the user; transcripts survive restarts; a self-signed certificate that lasts.
mod classroom;

/// Issue 18: the teacher's board in headless Chromium: checklists, quiz, a session's diagram, a screenshot, 401, the grade sheet.
mod board;
