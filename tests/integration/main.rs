//! localftp's integration tests: one test binary, every test through real sockets.
//!
//! Each test starts its own server on port 0 in a fresh temporary root (see `support`), so tests
//! run in parallel and never share files.

/// Shared helpers: start a server, talk to it line by line, open data connections.
mod support;

/// The seed's flow and every command of issue 2, as raw-socket transcripts.
mod transcript;
