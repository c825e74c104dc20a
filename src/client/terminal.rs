//! The terminal: dialoguer prompts, and Ctrl-C.
//!
//! Ctrl-C ends the client at once, but tidily (exit code 130): a menu hides the cursor and the
//! password prompt turns echo off, and a bare SIGINT would leave the terminal that way. A
//! download in progress stays in its `.part` file, never under its final name. What the
//! server sees depends on how far the session got ([`Phase`]), and the last line says which.

use std::io::{self, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use dialoguer::console::Term;
use dialoguer::theme::Theme;
use dialoguer::{Input, Password};

use super::DEFAULT_PASSWORD;
use super::error::ClientError;

/// How far the session has got, for the line Ctrl-C prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// No connection yet (the prompts for host, port, user and password): nothing was sent.
    NotConnected = 0,
    /// The control connection is open, and no login has succeeded on it yet.
    Connected = 1,
    /// Logged in.
    LoggedIn = 2,
    /// QUIT was answered: the server has ended the session.
    Ended = 3,
}

static PHASE: AtomicU8 = AtomicU8::new(Phase::NotConnected as u8);

/// Record how far the session has got.
pub fn set_phase(phase: Phase) {
    PHASE.store(phase as u8, Ordering::SeqCst);
}

/// What stopping now means for the server, as the end of the Ctrl-C line.
fn what_the_server_sees() -> &'static str {
    match PHASE.load(Ordering::SeqCst) {
        0 => "no connection had been opened yet, so nothing was sent to the server",
        1 => {
            "the control connection was open but not logged in: the server sees it close, \
             with no QUIT"
        }
        2 => "the server sees the control connection close, with no QUIT",
        _ => "the session had already ended with QUIT",
    }
}

/// Set while the hidden password prompt has switched the terminal's echo off.
static SECRET_PROMPT: AtomicBool = AtomicBool::new(false);

/// Set while a menu or an input line is read key by key (see [`keyed`]).
static KEY_PROMPT: AtomicBool = AtomicBool::new(false);

/// Ask for one line of text, with a default that Enter accepts.
pub fn ask(theme: &dyn Theme, prompt: &str, default: Option<&str>) -> Result<String, ClientError> {
    let mut input = Input::<String>::with_theme(theme).with_prompt(prompt);
    if let Some(default) = default {
        input = input.default(default.to_string());
    }
    keyed(|| input.interact_text())
}

/// Ask for the password without echoing it; Enter alone takes the seed's, as the prompt says
/// (a student who presses Enter at every prompt expects the seed's login, not an empty
/// password and a 530). The line left on screen says which it was, without a row of stars
/// that would hint at a length.
pub fn secret(theme: &dyn Theme) -> Result<String, ClientError> {
    let prompt = format!("Password (Enter: {DEFAULT_PASSWORD}, the seed's)");
    SECRET_PROMPT.store(true, Ordering::SeqCst);
    let password = Password::with_theme(theme)
        .with_prompt(&prompt)
        .allow_empty_password(true)
        .report(false)
        .interact();
    SECRET_PROMPT.store(false, Ordering::SeqCst);
    let password = password.map_err(prompt_failed)?;
    let (password, said) = if password.is_empty() {
        (DEFAULT_PASSWORD.to_string(), "the seed's, by Enter")
    } else {
        (password, "typed, hidden")
    };
    let mut line = String::new();
    if theme
        .format_input_prompt_selection(&mut line, "Password", said)
        .is_ok()
    {
        let _ = Term::stderr().write_line(&line);
    }
    Ok(password)
}

/// Run a prompt that reads keys one by one (a menu, a line of input). Such a prompt sees
/// Ctrl-C as a key and returns `Interrupted`, so this thread, the main one, exits; the
/// signal handler leaves it to us (an exit from another thread can leave a zombie that a
/// terminal multiplexer never reaps).
pub fn keyed<T>(prompt: impl FnOnce() -> dialoguer::Result<T>) -> Result<T, ClientError> {
    KEY_PROMPT.store(true, Ordering::SeqCst);
    let result = prompt();
    KEY_PROMPT.store(false, Ordering::SeqCst);
    result.map_err(prompt_failed)
}

fn prompt_failed(error: dialoguer::Error) -> ClientError {
    let dialoguer::Error::IO(error) = error;
    if error.kind() == io::ErrorKind::Interrupted {
        interrupted();
    }
    ClientError::Prompt(error.to_string())
}

/// Catch Ctrl-C (see the module doc).
pub fn install_ctrl_c() {
    let _ = ctrlc::set_handler(|| {
        if !KEY_PROMPT.load(Ordering::SeqCst) {
            interrupted();
        }
    });
}

/// Set once the client has started to exit after Ctrl-C.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Restore the terminal and exit with 130 (128 + SIGINT). Both the signal handler's thread and
/// an interrupted prompt come here; only the first exits, since two threads calling `exit` at
/// once can deadlock in the C library.
fn interrupted() -> ! {
    if EXITING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    let _ = Term::stdout().show_cursor();
    let _ = Term::stderr().show_cursor();
    if SECRET_PROMPT.load(Ordering::SeqCst) {
        // The prompt's own code restores echo only when it returns; it will not.
        let _ = std::process::Command::new("stty")
            .arg("echo")
            .stdin(Stdio::inherit())
            .status();
    }
    let _ = writeln!(
        io::stderr(),
        "\ninterrupted (Ctrl-C): the client stops here; {}",
        what_the_server_sees()
    );
    std::process::exit(130);
}
