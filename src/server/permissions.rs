//! The permission letters, as pyftpdlib spells them, and which command needs which.
//!
//! pyftpdlib's `DummyAuthorizer.add_user(..., perm="elradfmw")` gives a user a string of letters;
//! each letter allows a family of commands. localftp keeps the same letters so the seed's
//! configuration means the same thing here:
//!
//! | letter | allows | commands |
//! |--------|--------|----------|
//! | `e` | change folder | CWD, CDUP |
//! | `l` | list, and read file facts | LIST, NLST, MLSD, MLST, STAT path, SIZE, MDTM |
//! | `r` | retrieve (download) | RETR |
//! | `a` | append, resume an upload | APPE, and STOR after REST |
//! | `d` | delete | DELE, RMD |
//! | `f` | rename | RNFR, RNTO |
//! | `m` | make folder | MKD |
//! | `w` | write (upload) | STOR, STOU |
//! | `M` | change mode | SITE CHMOD |
//! | `T` | change modification time | MFMT |
//! | `S` | see who is connected (localftp's own letter) | SITE WHO |
//!
//! [`required`] reads the letter column of the command table (`verbs::Verb::facts`), an
//! exhaustive `match`: a new command without a row there does not compile. A missing letter is
//! answered `550` with the letter named.

use std::fmt;

use super::command::{Command, SiteCommand};

/// One permission letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    /// `e`: change the current folder.
    ChangeDir,
    /// `l`: list folders and read file facts.
    List,
    /// `r`: download files.
    Retrieve,
    /// `a`: append to files (APPE, resumed uploads).
    Append,
    /// `d`: delete files and folders.
    Delete,
    /// `f`: rename files and folders.
    Rename,
    /// `m`: make folders.
    MakeDir,
    /// `w`: upload files.
    Store,
    /// `M`: change a file's mode bits (SITE CHMOD).
    Chmod,
    /// `T`: change a file's modification time (MFMT).
    SetTime,
    /// `S`: see the live sessions (SITE WHO). Not one of pyftpdlib's letters: localftp's own,
    /// since a list of who is connected is for a teacher, not for every user.
    Sessions,
}

impl Perm {
    /// Every letter, in pyftpdlib's order.
    pub const ALL: [Perm; 11] = [
        Perm::ChangeDir,
        Perm::List,
        Perm::Retrieve,
        Perm::Append,
        Perm::Delete,
        Perm::Rename,
        Perm::MakeDir,
        Perm::Store,
        Perm::Chmod,
        Perm::SetTime,
        Perm::Sessions,
    ];

    /// The letter itself.
    pub fn letter(self) -> char {
        match self {
            Perm::ChangeDir => 'e',
            Perm::List => 'l',
            Perm::Retrieve => 'r',
            Perm::Append => 'a',
            Perm::Delete => 'd',
            Perm::Rename => 'f',
            Perm::MakeDir => 'm',
            Perm::Store => 'w',
            Perm::Chmod => 'M',
            Perm::SetTime => 'T',
            Perm::Sessions => 'S',
        }
    }

    /// What the letter allows, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Perm::ChangeDir => "change folder (CWD, CDUP)",
            Perm::List => "list folders and read file facts (LIST, NLST, MLSD, MLST, SIZE, MDTM)",
            Perm::Retrieve => "download files (RETR)",
            Perm::Append => "append to files and resume uploads (APPE, REST+STOR)",
            Perm::Delete => "delete files and folders (DELE, RMD)",
            Perm::Rename => "rename files and folders (RNFR, RNTO)",
            Perm::MakeDir => "make folders (MKD)",
            Perm::Store => "upload files (STOR, STOU)",
            Perm::Chmod => "change file modes (SITE CHMOD)",
            Perm::SetTime => "change modification times (MFMT)",
            Perm::Sessions => "see who is connected (SITE WHO)",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }

    fn from_letter(letter: char) -> Option<Perm> {
        Perm::ALL.into_iter().find(|perm| perm.letter() == letter)
    }
}

/// A set of permission letters, e.g. the seed's `elradfmw`.
///
/// ```
/// use localftp::server::permissions::{Perm, Perms};
/// let perms: Perms = "elr".parse().unwrap();
/// assert!(perms.allows(Perm::Retrieve));
/// assert!(!perms.allows(Perm::Store));
/// assert_eq!(perms.to_string(), "elr");
/// assert!("elrx".parse::<Perms>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Perms(u16);

impl Perms {
    /// Whether the set holds this letter.
    pub fn allows(self, perm: Perm) -> bool {
        self.0 & perm.bit() != 0
    }

    /// The letters in the set, in pyftpdlib's order.
    pub fn iter(self) -> impl Iterator<Item = Perm> {
        Perm::ALL.into_iter().filter(move |perm| self.allows(*perm))
    }
}

impl std::str::FromStr for Perms {
    type Err = String;

    fn from_str(letters: &str) -> Result<Perms, String> {
        letters.chars().try_fold(Perms(0), |set, letter| {
            Perm::from_letter(letter)
                .map(|perm| Perms(set.0 | perm.bit()))
                .ok_or_else(|| format!("unknown permission letter '{letter}' (known: elradfmwMTS)"))
        })
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.iter()
            .try_for_each(|perm| write!(f, "{}", perm.letter()))
    }
}

/// The letter a command needs, or `None` when it needs none: the letter column of the command
/// table (`verbs::Verb::facts`), an exhaustive `match`, so a new command without its row does
/// not compile.
///
/// One more rule depends on session state rather than the command alone, so it lives in the
/// STOR handler: a STOR after `REST n` (n > 0) resumes an upload and also needs `a`.
pub fn required(command: &Command) -> Option<Perm> {
    command.kind().and_then(|kind| kind.facts().letter)
}

/// The path a command's letter is checked on, as the client wrote it (resolved against the
/// current folder by the caller): `Some("")` for the current folder itself, `None` for a
/// command that names no path. Per-folder letters ([`FolderLetters`]) are looked up there.
pub fn target(command: &Command) -> Option<&str> {
    use Command::*;
    match command {
        Cwd(path) | Retr(path) | Stor(path) | Appe(path) | Rnfr(path) | Rnto(path) | Dele(path)
        | Rmd(path) | Mkd(path) | Size(path) | Mdtm(path) => Some(path),
        Stat(Some(path)) | Mfmt { path, .. } => Some(path),
        Site(SiteCommand::Chmod { path, .. }) => Some(path),
        List(args) | Nlst(args) => Some(args.path.as_deref().unwrap_or("")),
        Mlsd(path) | Mlst(path) => Some(path.as_deref().unwrap_or("")),
        Cdup => Some(".."),
        Stou => Some(""),
        _ => None,
    }
}

/// Letters that hold in one part of every home, in place of the user's own: the shared
/// folders' (`--share DIR=NAME:LETTERS`) and `--folder-perms PATH=LETTERS`, pyftpdlib's
/// `override_perm`. A rule covers its folder and everything under it; where two cover a path,
/// the longer (deeper) one wins.
///
/// ```
/// use localftp::server::permissions::{FolderLetters, Perms};
/// let rules = FolderLetters::new(vec![
///     ("/Folder_Tes".into(), "elr".parse().unwrap()),
///     ("/Folder_Tes/inbox".into(), "elrw".parse().unwrap()),
/// ]).unwrap();
/// let own: Perms = "elradfmw".parse().unwrap();
/// assert_eq!(rules.at(own, "/baca_saya.txt").to_string(), "elradfmw");
/// assert_eq!(rules.at(own, "/Folder_Tes/a.txt").to_string(), "elr");
/// assert_eq!(rules.at(own, "/Folder_Tes/inbox/a.txt").to_string(), "elrw");
/// assert_eq!(rules.at(own, "/Folder_Tes2").to_string(), "elradfmw"); // whole names only
/// ```
#[derive(Debug, Clone, Default)]
pub struct FolderLetters {
    /// Each rule's virtual folder (`/`-rooted, folded) and its letters.
    rules: Vec<(String, Perms)>,
}

impl FolderLetters {
    /// The rules, each a folder path as seen from a home (`Folder_Tes` or `/Folder_Tes`) and
    /// its letters. A path must be plain ASCII, so that no spelling a file system treats as the
    /// same name (another case, another Unicode form) can step around it.
    pub fn new(rules: Vec<(String, Perms)>) -> Result<FolderLetters, String> {
        let mut folded = Vec::new();
        for (path, letters) in rules {
            let virtual_path = super::jail::resolve("/", &path);
            if virtual_path == "/" || !path.is_ascii() {
                return Err(format!(
                    "{path:?}: per-folder letters need a folder inside the home, named in \
                     plain ASCII (e.g. Folder_Tes or /Materi)"
                ));
            }
            folded.push((virtual_path, letters));
        }
        // Deepest first: the first rule that covers a path is the one that holds there.
        folded.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
        Ok(FolderLetters { rules: folded })
    }

    /// Every rule: a folder and its letters, deepest first.
    pub fn rules(&self) -> impl Iterator<Item = (&str, Perms)> {
        self.rules
            .iter()
            .map(|(folder, letters)| (folder.as_str(), *letters))
    }

    /// The letters that hold at `virtual_path` for a user whose own are `own`.
    pub fn at(&self, own: Perms, virtual_path: &str) -> Perms {
        self.rules
            .iter()
            .find(|(folder, _)| covers(folder, virtual_path))
            .map_or(own, |(_, letters)| *letters)
    }

    /// A rule's folder strictly below `virtual_path`, if there is one. Renaming or removing
    /// `virtual_path` would move that folder out from under its letters, so the server
    /// refuses it.
    pub fn rule_below(&self, virtual_path: &str) -> Option<&str> {
        self.rules
            .iter()
            .map(|(folder, _)| folder.as_str())
            .find(|folder| covers(virtual_path, folder) && !covers(folder, virtual_path))
    }
}

/// Whether the folder `folder` is `path` or above it, comparing whole names; without regard to
/// case where the file system ignores it (`platform::CASE_INSENSITIVE_NAMES`).
fn covers(folder: &str, path: &str) -> bool {
    let same = |a: &str, b: &str| {
        if crate::platform::CASE_INSENSITIVE_NAMES {
            // Upper then lower case, per character: `ſ` (long s) is `S` is `s`, as an
            // upper-casing file system (NTFS) sees it.
            let fold = |s: &str| -> String {
                s.chars()
                    .flat_map(char::to_uppercase)
                    .flat_map(char::to_lowercase)
                    .collect()
            };
            fold(a) == fold(b)
        } else {
            a == b
        }
    };
    if folder == "/" {
        return true;
    }
    let mut path_names = path.split('/').filter(|s| !s.is_empty());
    folder
        .split('/')
        .filter(|s| !s.is_empty())
        .all(|name| path_names.next().is_some_and(|other| same(name, other)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::command::parse;

    #[test]
    fn the_seed_letters() {
        let perms: Perms = "elradfmw".parse().unwrap();
        for perm in Perm::ALL {
            let expected = !matches!(perm, Perm::Chmod | Perm::SetTime | Perm::Sessions);
            assert_eq!(perms.allows(perm), expected, "{perm:?}");
        }
        assert_eq!(perms.to_string(), "elradfmw");
    }

    #[test]
    fn letters_are_case_sensitive() {
        assert!("E".parse::<Perms>().is_err());
        assert!("M".parse::<Perms>().unwrap().allows(Perm::Chmod));
        assert!(!"m".parse::<Perms>().unwrap().allows(Perm::Chmod));
    }

    #[test]
    fn commands_map_to_pyftpdlib_letters() {
        let letter = |line: &str| required(&parse(line).unwrap()).map(Perm::letter);
        assert_eq!(letter("CWD x"), Some('e'));
        assert_eq!(letter("CDUP"), Some('e'));
        assert_eq!(letter("LIST"), Some('l'));
        assert_eq!(letter("NLST"), Some('l'));
        assert_eq!(letter("SIZE x"), Some('l'));
        assert_eq!(letter("MDTM x"), Some('l'));
        assert_eq!(letter("RETR x"), Some('r'));
        assert_eq!(letter("APPE x"), Some('a'));
        assert_eq!(letter("DELE x"), Some('d'));
        assert_eq!(letter("RMD x"), Some('d'));
        assert_eq!(letter("RNFR x"), Some('f'));
        assert_eq!(letter("RNTO x"), Some('f'));
        assert_eq!(letter("MKD x"), Some('m'));
        assert_eq!(letter("STOR x"), Some('w'));
        assert_eq!(letter("STOU"), Some('w'));
        assert_eq!(letter("SITE CHMOD 644 x"), Some('M'));
        assert_eq!(letter("MFMT 20200101000000 x"), Some('T'));
        assert_eq!(letter("PWD"), None);
        assert_eq!(letter("STAT"), None);
        assert_eq!(letter("STAT /"), Some('l'));
    }
}
