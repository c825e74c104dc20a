//! Where to connect and as whom: the flags first, then (at a terminal) the prompts for host,
//! port, user and password, and never a prompt when standard input is not a terminal.

use dialoguer::Input;
use dialoguer::theme::Theme;

use crate::client::error::ClientError;
use crate::client::terminal::{ask, keyed, secret};
use crate::client::{DEFAULT_HOST, DEFAULT_USER, Options};
use crate::seed::SEED_PORT;

/// Where to connect and as whom.
pub(super) struct Login {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password: String,
}

/// Flags first; then, at a terminal, prompts (host, port and user only for the menu); never a
/// prompt when standard input is not a terminal.
///
/// A flag skips its own prompt. `--password` skips them all: who gives the password on the
/// command line has said what they want, and the seed's host, port and user fill the rest
/// (otherwise the keys meant for the menu would land in the port prompt).
pub(super) fn credentials(
    options: &Options,
    menu: bool,
    stdin_is_terminal: bool,
    theme: &dyn Theme,
) -> Result<Login, ClientError> {
    let prompt = menu && options.password.is_none();
    let host = match (&options.host, prompt) {
        (Some(host), _) => host.clone(),
        (None, true) => ask(theme, "Host", Some(DEFAULT_HOST))?,
        (None, false) => DEFAULT_HOST.to_string(),
    };
    let port = match (options.port, prompt) {
        (Some(port), _) => port,
        (None, true) => ask_port(theme)?,
        (None, false) => SEED_PORT,
    };
    let user = match (&options.user, prompt) {
        (Some(user), _) => user.clone(),
        (None, true) => ask(theme, "User", Some(DEFAULT_USER))?,
        (None, false) => DEFAULT_USER.to_string(),
    };
    let password = match &options.password {
        Some(password) => password.clone(),
        None if stdin_is_terminal => secret(theme)?,
        None => {
            return Err(ClientError::Usage(
                "no password: give --password, since standard input is not a terminal and \
                 the client cannot ask for one"
                    .into(),
            ));
        }
    };
    Ok(Login {
        host,
        port,
        user,
        password,
    })
}

/// The port prompt: a wrong key gets a hint, not the parser's "invalid digit".
fn ask_port(theme: &dyn Theme) -> Result<u16, ClientError> {
    let text = keyed(|| {
        Input::<String>::with_theme(theme)
            .with_prompt("Port")
            .default(SEED_PORT.to_string())
            .validate_with(|text: &String| port_number(text).map(|_| ()))
            .interact_text()
    })?;
    port_number(&text).map_err(ClientError::Usage)
}

/// A port typed at the prompt: a number from 1 to 65535.
fn port_number(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!(
            "{:?} is not a port: a port is a number from 1 to 65535; Enter takes {SEED_PORT}",
            text.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_is_a_number_from_1_to_65535_and_a_wrong_one_gets_a_hint() {
        assert_eq!(port_number("2122"), Ok(2122));
        assert_eq!(port_number(" 21 "), Ok(21));
        for wrong in ["x", "0", "65536", "-1", ""] {
            let hint = port_number(wrong).unwrap_err();
            assert!(
                hint.contains("a port is a number from 1 to 65535; Enter takes 2122"),
                "{hint}"
            );
        }
    }
}
