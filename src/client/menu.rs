//! The two ways to drive the client: the dialoguer menu for a student at a terminal, and the
//! same actions as words for scripts and tests. Both end in [`Client::perform`].
//!
//! Scripts name one action per command-line argument, or one per line on standard input
//! (blank lines and `#` comments are skipped); the syntax is [`SCRIPT_HELP`]:
//!
//! ```text
//! client --user user --password 12345 pwd ls "get baca_saya.txt" "put notes.txt"
//! printf 'pwd\nls\nget baca_saya.txt\n' | client --password 12345
//! ```
//!
//! The client never waits for a prompt when standard input is not a terminal: a missing
//! password is then an error (exit code 2). Exit codes: 0 when every step worked, 1 when one
//! failed (the others still ran), 2 for a mistake in the actions or flags, 130 after Ctrl-C.

use std::io::{self, IsTerminal, Read, Write};
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use dialoguer::console::Term;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Input, Password, Select};

use super::data::DataMode;
use super::error::ClientError;
use super::narrate::Narrator;
use super::{Client, DEFAULT_HOST, DEFAULT_USER, FileType, Flow, Options};
use crate::server::{SAMPLE_FILE, SAMPLE_FOLDER, SEED_PORT};

/// The action words, for `--help` and the docs.
pub const SCRIPT_HELP: &str = "\
ACTIONS (one per argument, or one per line on standard input; quote names with spaces):
  pwd                      PWD: show the current folder
  ls [FOLDER]              LIST the folder (also: list, dir)
  get REMOTE [LOCAL]       RETR: download (also: retr)
  put LOCAL [REMOTE]       STOR: upload (also: stor)
  cd FOLDER                CWD: change folder (also: cwd)
  up                       CDUP: go to the parent folder (also: cdup)
  mkdir FOLDER             MKD: make a folder (also: mkd)
  rename FROM TO           RNFR + RNTO (also: mv)
  rm FILE                  DELE: delete a file (also: delete, dele)
  rmdir FOLDER             RMD: delete a folder (also: rmd)
  resume REMOTE [LOCAL]    REST + RETR: continue LOCAL.part (also: reget)
  ascii | binary           TYPE A | TYPE I
  passive | epsv | active  open data connections with PASV, EPSV or PORT
  raw COMMAND...           send the rest of the line as one command, exactly as written
  quit                     QUIT (sent anyway after the last action)";

/// One menu action, as the menu picks it or a script names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `pwd`
    Pwd,
    /// `ls [FOLDER]`
    List(Option<String>),
    /// `get REMOTE [LOCAL]`
    Get {
        /// The file on the server.
        remote: String,
        /// The local name (default: the remote name).
        local: Option<String>,
    },
    /// `put LOCAL [REMOTE]`
    Put {
        /// The local file.
        local: String,
        /// The name on the server (default: the local name).
        remote: Option<String>,
    },
    /// `cd FOLDER`
    Cd(String),
    /// `up`
    Up,
    /// `mkdir FOLDER`
    Mkdir(String),
    /// `rename FROM TO`
    Rename {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `rm FILE`
    Delete(String),
    /// `rmdir FOLDER`
    Rmdir(String),
    /// `resume REMOTE [LOCAL]`
    Resume {
        /// The file on the server.
        remote: String,
        /// The local name (default: the remote name); `LOCAL.part` is continued.
        local: Option<String>,
    },
    /// `ascii` or `binary`
    Type(FileType),
    /// `passive`, `epsv` or `active`
    Mode(DataMode),
    /// `raw COMMAND...`
    Raw(String),
    /// `quit`
    Quit,
}

impl Action {
    /// Read one action from its words.
    ///
    /// ```
    /// use localftp::client::Action;
    /// assert_eq!(Action::parse("pwd"), Ok(Action::Pwd));
    /// assert_eq!(
    ///     Action::parse("get 'my file.txt' copy.txt"),
    ///     Ok(Action::Get { remote: "my file.txt".into(), local: Some("copy.txt".into()) })
    /// );
    /// assert_eq!(Action::parse("raw SITE  HELP"), Ok(Action::Raw("SITE  HELP".into())));
    /// assert!(Action::parse("fly away").is_err());
    /// ```
    pub fn parse(line: &str) -> Result<Action, String> {
        let line = line.trim();
        let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let verb = verb.to_ascii_lowercase();
        if verb == "raw" {
            let rest = rest.trim_start();
            return match rest.is_empty() {
                true => Err("raw needs a command line, e.g. `raw SYST`".into()),
                false => Ok(Action::Raw(rest.to_string())),
            };
        }
        let args = words(rest)?;
        let arity = |min: usize, max: usize, usage: &str| {
            if args.len() < min || args.len() > max {
                Err(format!("`{line}`: the form is `{usage}`"))
            } else {
                Ok(())
            }
        };
        let arg = |i: usize| args.get(i).cloned();
        let first = || args[0].clone();
        Ok(match verb.as_str() {
            "pwd" => arity(0, 0, "pwd").map(|()| Action::Pwd)?,
            "ls" | "list" | "dir" => arity(0, 1, "ls [FOLDER]").map(|()| Action::List(arg(0)))?,
            "get" | "retr" => arity(1, 2, "get REMOTE [LOCAL]").map(|()| Action::Get {
                remote: first(),
                local: arg(1),
            })?,
            "put" | "stor" => arity(1, 2, "put LOCAL [REMOTE]").map(|()| Action::Put {
                local: first(),
                remote: arg(1),
            })?,
            "cd" | "cwd" => arity(1, 1, "cd FOLDER").map(|()| Action::Cd(first()))?,
            "up" | "cdup" => arity(0, 0, "up").map(|()| Action::Up)?,
            "mkdir" | "mkd" => arity(1, 1, "mkdir FOLDER").map(|()| Action::Mkdir(first()))?,
            "rename" | "mv" => arity(2, 2, "rename FROM TO").map(|()| Action::Rename {
                from: first(),
                to: args[1].clone(),
            })?,
            "rm" | "delete" | "dele" => arity(1, 1, "rm FILE").map(|()| Action::Delete(first()))?,
            "rmdir" | "rmd" => arity(1, 1, "rmdir FOLDER").map(|()| Action::Rmdir(first()))?,
            "resume" | "reget" => {
                arity(1, 2, "resume REMOTE [LOCAL]").map(|()| Action::Resume {
                    remote: first(),
                    local: arg(1),
                })?
            }
            "ascii" => arity(0, 0, "ascii").map(|()| Action::Type(FileType::Ascii))?,
            "binary" | "bin" => arity(0, 0, "binary").map(|()| Action::Type(FileType::Binary))?,
            "passive" | "pasv" => {
                arity(0, 0, "passive").map(|()| Action::Mode(DataMode::Passive))?
            }
            "epsv" => arity(0, 0, "epsv").map(|()| Action::Mode(DataMode::ExtendedPassive))?,
            "active" | "port" => arity(0, 0, "active").map(|()| Action::Mode(DataMode::Active))?,
            "quit" | "bye" | "exit" => arity(0, 0, "quit").map(|()| Action::Quit)?,
            _ => {
                return Err(format!(
                    "`{line}` is not an action; the actions are:\n{SCRIPT_HELP}"
                ));
            }
        })
    }
}

/// Split on spaces, keeping 'quoted' or "quoted" words whole.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(current.take()),
            (None, c) => current.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in `{text}`"));
    }
    words.extend(current);
    Ok(words)
}

/// Set while the hidden password prompt has switched the terminal's echo off.
static SECRET_PROMPT: AtomicBool = AtomicBool::new(false);

/// Set while a menu or an input line is read key by key (see [`keyed`]).
static KEY_PROMPT: AtomicBool = AtomicBool::new(false);

/// Run the guided client: connect, log in, then the menu or the script, then QUIT.
pub fn run(options: Options) -> ExitCode {
    install_ctrl_c();
    let narrator = Narrator::new(options.plain);
    let stdin_is_terminal = io::stdin().is_terminal();
    let menu = options.actions.is_empty() && stdin_is_terminal;
    // A script is read and checked before connecting: a typo costs no network round trip.
    let script = match script(&options, menu) {
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
    let login = match credentials(&options, menu, stdin_is_terminal, theme.as_ref()) {
        Ok(login) => login,
        Err(error) => {
            narrator.error(&error);
            return ExitCode::from(2);
        }
    };
    let mut client = match Client::connect(&login.host, login.port, options.timeout, narrator) {
        Ok(client) => client,
        Err(error) => return fail(&Narrator::new(options.plain), &error),
    };
    client.mode = options.mode;
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

/// Where to connect and as whom.
struct Login {
    host: String,
    port: u16,
    user: String,
    password: String,
}

/// Flags first; then, at a terminal, prompts (host, port and user only for the menu); never a
/// prompt when standard input is not a terminal.
fn credentials(
    options: &Options,
    menu: bool,
    stdin_is_terminal: bool,
    theme: &dyn Theme,
) -> Result<Login, ClientError> {
    let host = match (&options.host, menu) {
        (Some(host), _) => host.clone(),
        (None, true) => ask(theme, "Host", Some(DEFAULT_HOST))?,
        (None, false) => DEFAULT_HOST.to_string(),
    };
    let port = match (options.port, menu) {
        (Some(port), _) => port,
        (None, true) => keyed(|| {
            Input::<u16>::with_theme(theme)
                .with_prompt("Port")
                .default(SEED_PORT)
                .interact_text()
        })?,
        (None, false) => SEED_PORT,
    };
    let user = match (&options.user, menu) {
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

/// Ask for one line of text, with a default that Enter accepts.
fn ask(theme: &dyn Theme, prompt: &str, default: Option<&str>) -> Result<String, ClientError> {
    let mut input = Input::<String>::with_theme(theme).with_prompt(prompt);
    if let Some(default) = default {
        input = input.default(default.to_string());
    }
    keyed(|| input.interact_text())
}

/// Ask for the password without echoing it.
fn secret(theme: &dyn Theme) -> Result<String, ClientError> {
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
fn keyed<T>(prompt: impl FnOnce() -> dialoguer::Result<T>) -> Result<T, ClientError> {
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
        13 => Action::Raw(ask(theme, "Command line (e.g. SYST, HELP, STAT)", None)?),
        _ => Action::Quit,
    })
}

/// Report an error that ends the client, and the exit code for it.
fn fail(narrator: &Narrator, error: &ClientError) -> ExitCode {
    narrator.error(error);
    ExitCode::FAILURE
}

/// Ctrl-C ends the client at once, but tidily: a menu hides the cursor and the password
/// prompt turns echo off, and a plain SIGINT would leave the terminal that way. A download in
/// progress stays in its `.part` file, never under its final name.
fn install_ctrl_c() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_word_parses() {
        let cases = [
            ("ls", Action::List(None)),
            ("dir Folder_Tes", Action::List(Some("Folder_Tes".into()))),
            (
                "put notes.txt",
                Action::Put {
                    local: "notes.txt".into(),
                    remote: None,
                },
            ),
            ("cd Folder_Tes", Action::Cd("Folder_Tes".into())),
            ("up", Action::Up),
            ("mkdir new", Action::Mkdir("new".into())),
            (
                "mv a b",
                Action::Rename {
                    from: "a".into(),
                    to: "b".into(),
                },
            ),
            ("rm a", Action::Delete("a".into())),
            ("rmdir new", Action::Rmdir("new".into())),
            (
                "resume big.bin",
                Action::Resume {
                    remote: "big.bin".into(),
                    local: None,
                },
            ),
            ("ASCII", Action::Type(FileType::Ascii)),
            ("binary", Action::Type(FileType::Binary)),
            ("epsv", Action::Mode(DataMode::ExtendedPassive)),
            ("active", Action::Mode(DataMode::Active)),
            ("quit", Action::Quit),
        ];
        for (words, action) in cases {
            assert_eq!(Action::parse(words), Ok(action), "{words}");
        }
    }

    #[test]
    fn wrong_forms_say_the_right_form() {
        let error = Action::parse("get").unwrap_err();
        assert!(error.contains("get REMOTE [LOCAL]"), "{error}");
        assert!(Action::parse("rename onlyone").is_err());
        assert!(Action::parse("get 'unclosed").is_err());
        assert!(Action::parse("raw").is_err());
    }

    #[test]
    fn quotes_keep_spaces() {
        assert_eq!(
            words(r#"a "b c" 'd e' """#).unwrap(),
            ["a", "b c", "d e", ""]
        );
    }
}
