//! The two ways to drive the client: the dialoguer menu for a student at a terminal, and a
//! script of [`Action`] words (see [`super::action`]). Both end in [`Client::perform`].
//!
//! The client never waits for a prompt when standard input is not a terminal: a missing
//! password is then an error (exit code 2). Exit codes: 0 when every step worked, 1 when one
//! failed (the others still ran), 2 for a mistake in the actions or flags, 130 after Ctrl-C.
//!
//! `--walkthrough` replaces the menu with the seed's flow (see [`super::walkthrough`]), and
//! `--quiz` makes every reply a question in any mode (see [`super::quiz`]); the score is shown
//! however the client ends.

use std::io::{self, IsTerminal, Read};
use std::process::ExitCode;

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Input, Select};

use super::action::Action;
use super::data::DataMode;
use super::error::ClientError;
use super::narrate::Narrator;
use super::quiz::{Guess, Quiz, SharedQuiz};
use super::terminal::{ask, install_ctrl_c, keyed, secret};
use super::tls::{self, Tls};
use super::{Client, DEFAULT_HOST, FileType, Flow, Options, walkthrough};
use crate::seed::{SAMPLE_FILE, SAMPLE_FOLDER};

mod login;

use login::credentials;

/// Run the guided client: connect, log in, then the menu, the script or the walkthrough, then
/// QUIT; with a quiz, its score at the end.
pub fn run(options: Options) -> ExitCode {
    install_ctrl_c();
    let narrator = Narrator::new(options.plain);
    let stdin_is_terminal = io::stdin().is_terminal();
    let quiz = match quiz(&options, &narrator, stdin_is_terminal) {
        Ok(quiz) => quiz,
        Err(error) => {
            narrator.error(&error);
            return ExitCode::from(2);
        }
    };
    let code = if options.walkthrough {
        walk(&options, narrator.clone(), quiz.clone())
    } else {
        session(&options, narrator.clone(), stdin_is_terminal, quiz.clone())
    };
    if let Some(score) = quiz.and_then(|quiz| quiz.borrow().score()) {
        narrator.quiz(&score);
    }
    code
}

/// The quiz the flags ask for, if any.
fn quiz(
    options: &Options,
    narrator: &Narrator,
    stdin_is_terminal: bool,
) -> Result<Option<SharedQuiz>, ClientError> {
    match (&options.quiz_answers, options.quiz) {
        (Some(answers), _) => Guess::parse_list(answers)
            .map(|guesses| Some(Quiz::scripted(guesses)))
            .map_err(|e| ClientError::Usage(format!("--quiz-answers: {e}"))),
        (None, true) if stdin_is_terminal => Ok(Some(Quiz::interactive(narrator.colour()))),
        (None, true) => Err(ClientError::Usage(
            "--quiz asks at the terminal, and standard input is not one: give the guesses \
             with --quiz-answers 2,3,2,…"
                .into(),
        )),
        (None, false) => Ok(None),
    }
}

/// `--walkthrough`: checked like any run, then played (see [`walkthrough`]).
fn walk(options: &Options, narrator: Narrator, quiz: Option<SharedQuiz>) -> ExitCode {
    if !options.actions.is_empty() {
        narrator.error(&ClientError::Usage(
            "--walkthrough plays its own steps: give it no actions".into(),
        ));
        return ExitCode::from(2);
    }
    let host = options.host.as_deref().unwrap_or(DEFAULT_HOST);
    if let Err(error) = tls::check_flags(options).and_then(|()| Tls::for_host(options, host)) {
        narrator.error(&error);
        return ExitCode::from(2);
    }
    walkthrough::play(options, narrator, quiz)
}

/// The menu or the script.
fn session(
    options: &Options,
    narrator: Narrator,
    stdin_is_terminal: bool,
    quiz: Option<SharedQuiz>,
) -> ExitCode {
    let menu = options.actions.is_empty() && stdin_is_terminal;
    // Flags and a script are checked before connecting: a typo costs no network round trip.
    let script = match tls::check_flags(options).and_then(|()| script(options, menu)) {
        Ok(script) => script,
        Err(error) => {
            narrator.error(&error);
            return ExitCode::from(2);
        }
    };
    let theme: Box<dyn Theme> = match narrator.colour() {
        true => Box::new(ColorfulTheme::default()),
        false => Box::new(SimpleTheme),
    };
    let login = match credentials(options, menu, stdin_is_terminal, theme.as_ref()) {
        Ok(login) => login,
        Err(error) => {
            narrator.error(&error);
            return ExitCode::from(2);
        }
    };
    let tls = match Tls::for_host(options, &login.host) {
        Ok(tls) => tls,
        Err(error) => {
            narrator.error(&error);
            return ExitCode::from(2);
        }
    };
    let connected = Client::connect(
        &login.host,
        login.port,
        options.timeout,
        narrator,
        tls,
        quiz,
    );
    let mut client = match connected {
        Ok(client) => client,
        Err(error) => return fail(&Narrator::new(options.plain), &error),
    };
    client.mode = options.mode;
    client.report_quiz = !options.no_report;
    let (mut user, mut password) = (login.user, login.password);
    for attempt in 1.. {
        match client.login(&user, &password) {
            Ok(()) => break,
            Err(error) if menu && attempt < 3 && !error.is_fatal() => {
                client.narrator().error(&error);
                let retry = ask(theme.as_ref(), "User", Some(&user))
                    .and_then(|u| secret(theme.as_ref()).map(|p| (u, p)));
                match retry {
                    Ok((u, p)) => (user, password) = (u, p),
                    Err(error) => return fail(client.narrator(), &error),
                }
            }
            Err(error) => return fail(client.narrator(), &error),
        }
    }
    // Under TLS, data connections are encrypted too, or the session stops here.
    if client.is_tls()
        && let Err(error) = client.protect_data()
    {
        return fail(client.narrator(), &error);
    }
    let mut failed = false;
    let mut steps = script.map(Vec::into_iter);
    loop {
        let action = match steps.as_mut() {
            Some(steps) => match steps.next() {
                Some(action) => action,
                None => break,
            },
            None => match choose(&client, theme.as_ref()) {
                Ok(action) => action,
                Err(error) => return fail(client.narrator(), &error),
            },
        };
        match client.perform(&action) {
            Ok(Flow::Quit) => break,
            Ok(Flow::Continue) => {}
            Err(error) => {
                client.narrator().error(&error);
                failed = true;
                if error.is_fatal() {
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    if !client.has_quit()
        && let Err(error) = client.quit()
    {
        client.narrator().error(&error);
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The scripted actions (from the arguments, or from standard input when it is not a
/// terminal), or `None` for the menu.
fn script(options: &Options, menu: bool) -> Result<Option<Vec<Action>>, ClientError> {
    if menu {
        return Ok(None);
    }
    let lines = if options.actions.is_empty() {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text).map_err(|e| {
            ClientError::Usage(format!("cannot read the script on standard input: {e}"))
        })?;
        text.lines().map(str::to_string).collect()
    } else {
        options.actions.clone()
    };
    lines
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| Action::parse(line).map_err(ClientError::Usage))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The menu: pick an operation, then answer its questions.
fn choose(client: &Client, theme: &dyn Theme) -> Result<Action, ClientError> {
    let type_entry = match client.file_type() {
        FileType::Binary => "TYPE      switch to ASCII (now binary)",
        FileType::Ascii => "TYPE      switch to binary (now ASCII)",
    };
    let mode_entry = format!(
        "PASV/PORT choose passive or active (now {})",
        match client.mode() {
            DataMode::Passive => "passive, PASV",
            DataMode::ExtendedPassive => "extended passive, EPSV",
            DataMode::Active => "active, PORT",
        }
    );
    let entries = [
        "PWD       where am I?",
        "LIST      what is in this folder?",
        "RETR      download a file",
        "STOR      upload a file",
        "CWD       go into a folder",
        "CDUP      go up one folder",
        "MKD       make a folder",
        "RNFR/RNTO rename",
        "DELE      delete a file",
        "RMD       delete a folder",
        "REST      resume a download",
        type_entry,
        &mode_entry,
        "COMPARE   TYPE A vs TYPE I on one file, in hex",
        "MLSD      the standard listing (FEAT first)",
        "raw       type any command",
        "QUIT      quit",
    ];
    println!();
    let picked = keyed(|| {
        Select::with_theme(theme)
            .with_prompt("What next? (arrows, Enter; q quits)")
            .items(entries)
            .default(0)
            .interact_opt()
    })?;
    let Some(picked) = picked else {
        return Ok(Action::Quit);
    };
    let optional = |text: String| (!text.trim().is_empty()).then(|| text.trim().to_string());
    Ok(match picked {
        0 => Action::Pwd,
        1 => Action::List(optional(keyed(|| {
            Input::<String>::with_theme(theme)
                .with_prompt("Folder to list (Enter: this one)")
                .allow_empty(true)
                .interact_text()
        })?)),
        2 => Action::Get {
            remote: ask(theme, "File on the server", Some(SAMPLE_FILE))?,
            local: None,
        },
        3 => Action::Put {
            local: ask(theme, "Local file to upload", None)?,
            remote: None,
        },
        4 => Action::Cd(ask(theme, "Folder", Some(SAMPLE_FOLDER))?),
        5 => Action::Up,
        6 => Action::Mkdir(ask(theme, "New folder", None)?),
        7 => Action::Rename {
            from: ask(theme, "Rename which file", None)?,
            to: ask(theme, "New name", None)?,
        },
        8 => Action::Delete(ask(theme, "File to delete", None)?),
        9 => Action::Rmdir(ask(theme, "Folder to delete", None)?),
        10 => Action::Resume {
            remote: ask(theme, "File on the server", Some(SAMPLE_FILE))?,
            local: None,
        },
        11 => Action::Type(match client.file_type() {
            FileType::Binary => FileType::Ascii,
            FileType::Ascii => FileType::Binary,
        }),
        12 => {
            let modes = [
                DataMode::Passive,
                DataMode::ExtendedPassive,
                DataMode::Active,
            ];
            let labels: Vec<&str> = modes.iter().map(|m| m.describe()).collect();
            let current = modes.iter().position(|m| *m == client.mode()).unwrap_or(0);
            let chosen = keyed(|| {
                Select::with_theme(theme)
                    .with_prompt("Who opens the data connection?")
                    .items(&labels)
                    .default(current)
                    .interact()
            })?;
            Action::Mode(modes[chosen])
        }
        13 => Action::Compare(ask(theme, "Text file on the server", Some(SAMPLE_FILE))?),
        14 => Action::Mlsd(optional(keyed(|| {
            Input::<String>::with_theme(theme)
                .with_prompt("Folder to list (Enter: this one)")
                .allow_empty(true)
                .interact_text()
        })?)),
        15 => Action::Raw(ask(theme, "Command line (e.g. SYST, HELP, STAT)", None)?),
        _ => Action::Quit,
    })
}

/// Report an error that ends the client, and the exit code for it.
fn fail(narrator: &Narrator, error: &ClientError) -> ExitCode {
    narrator.error(error);
    ExitCode::FAILURE
}
