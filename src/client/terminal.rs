//! The terminal: dialoguer prompts, and Ctrl-C.
//!
//! Ctrl-C ends the client at once, but tidily (exit code 130): a menu hides the cursor and the
//! password prompt turns echo off, and a bare SIGINT would leave the terminal that way. A
//! download in progress stays in its `.part` file, never under its final name.

use std::io::{self, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};

use dialoguer::console::Term;
use dialoguer::theme::Theme;
use dialoguer::{Input, Password};

use super::error::ClientError;

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

/// Ask for the password without echoing it.
pub fn secret(theme: &dyn Theme) -> Result<String, ClientError> {
    SECRET_PROMPT.store(true, Ordering::SeqCst);
    let password = Password::with_theme(theme)
        .with_prompt("Password")
        .allow_empty_password(true)
        .interact();
    SECRET_PROMPT.store(false, Ordering::SeqCst);
    password.map_err(prompt_failed)
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
        "\ninterrupted (Ctrl-C): the client stops here; the server sees the connection close"
    );
    std::process::exit(130);
}
