//! The menu's actions as words, for scripts and tests: `pwd`, `ls`, `get baca_saya.txt`.
//!
//! Scripts name one action per command-line argument, or one per line on standard input
//! (blank lines and `#` comments are skipped); the syntax is [`SCRIPT_HELP`]:
//!
//! ```text
//! client --user user --password 12345 pwd ls "get baca_saya.txt" "put notes.txt"
//! printf 'pwd\nls\nget baca_saya.txt\n' | client --password 12345
//! ```
//!
//! Parsing is pure (words in, an [`Action`] out), so a typo is found before connecting.

use super::FileType;
use super::data::DataMode;

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
  compare FILE             download FILE as TYPE I and as TYPE A; show the changed bytes in hex
  mlsd [FOLDER]            FEAT, then MLSD: the standard listing (LIST if the server has none)
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
    /// `compare FILE`
    Compare(String),
    /// `mlsd [FOLDER]`
    Mlsd(Option<String>),
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
            "compare" => arity(1, 1, "compare FILE").map(|()| Action::Compare(first()))?,
            "mlsd" => arity(0, 1, "mlsd [FOLDER]").map(|()| Action::Mlsd(arg(0)))?,
            "quit" | "bye" | "exit" => arity(0, 0, "quit").map(|()| Action::Quit)?,
            _ => {
                return Err(format!(
                    "`{line}` is not an action; the actions are:\n{SCRIPT_HELP}"
                ));
            }
        })
    }
}

/// Split on spaces, keeping 'quoted' or "quoted" words whole (an unclosed quote is an error).
///
/// ```
/// use localftp::client::action::words;
/// assert_eq!(words(r#"put "my file.txt" b"#).unwrap(), ["put", "my file.txt", "b"]);
/// assert!(words("get 'half").is_err());
/// ```
pub fn words(text: &str) -> Result<Vec<String>, String> {
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
            (
                "compare baca_saya.txt",
                Action::Compare("baca_saya.txt".into()),
            ),
            ("mlsd", Action::Mlsd(None)),
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
