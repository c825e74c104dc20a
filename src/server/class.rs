//! A class roster (`--class FILE`): one account per student, from a file the teacher writes.
//!
//! The roster has one student a line, `name` or `name,password`; `#` starts a comment:
//!
//! ```text
//! # Class 10B, Tuesday
//! alice
//! budi,kopi-susu-7
//! citra
//! ```
//!
//! Each student gets the seed's letters (`elradfmw`) and a home `<root>/<name>`, which the server
//! fills like the seed's `data/` when it is new. A student without a password on the roster
//! gets a generated one. The server keeps only its Argon2 hash, in a file beside the roster
//! (`roster.accounts`, in the format of a `--users` file), and writes the password itself once,
//! into a printable handout (`roster-handout.md`) for the teacher to hand out.
//!
//! Starting again with the same roster changes nothing: the hashes file keeps each generated
//! password, the handout keeps the text of it, and the homes keep their files. A new line adds
//! one student; a removed line removes the account (its folder stays on disk).

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::users::{User, UsersError, hash_password, parse_users_file};

/// Every student's letters: the seed's user's.
pub const STUDENT_PERMS: &str = crate::seed::SEED_PERMS;

/// The characters of a generated password: lower-case letters and digits, without the ones a
/// student misreads on paper (`0`/`o`, `1`/`l`/`i`).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Why a class could not be loaded, or its handout written.
#[derive(Debug)]
pub enum ClassError {
    /// The roster file could not be read (missing, no permission, not UTF-8).
    ReadRoster {
        /// The roster.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line of the roster at `path` is wrong; `source` says which line, and how.
    Roster {
        /// The roster.
        path: PathBuf,
        /// The line and what is wrong with it.
        source: Box<ClassError>,
    },
    /// A roster line has a comma first, so no name.
    EmptyName {
        /// The line's number, from 1.
        line: usize,
    },
    /// A roster name cannot be a folder name on every system: it has a character other than
    /// letters, digits, `.`, `_` and `-`, or starts with `.`.
    NotAFolderName {
        /// The line's number, from 1.
        line: usize,
        /// The name.
        name: String,
    },
    /// A roster name is longer than 64 characters.
    LongName {
        /// The line's number, from 1.
        line: usize,
        /// The name.
        name: String,
    },
    /// A name is on the roster a second time.
    Twice {
        /// The line's number (of the second one), from 1.
        line: usize,
        /// The name.
        name: String,
    },
    /// The hashes file of an earlier start exists but could not be read.
    ReadAccounts {
        /// The hashes file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The hashes file of an earlier start is not a valid users file.
    Accounts {
        /// The hashes file.
        path: PathBuf,
        /// What is wrong with it (and on which line).
        source: UsersError,
    },
    /// The operating system's random source failed while a password was generated.
    Random,
    /// A generated password could not be hashed.
    Password(UsersError),
    /// The hashes file or the handout could not be written ([`Class::write`]), once the server
    /// listens.
    WriteHandout {
        /// The handout.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl fmt::Display for ClassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassError::ReadRoster { path, source } => write!(
                f,
                "cannot read the class roster {}: {source}",
                path.display()
            ),
            ClassError::Roster { path, source } => {
                write!(f, "class roster {}: {source}", path.display())
            }
            ClassError::EmptyName { line } => write!(f, "line {line}: the name is empty"),
            ClassError::NotAFolderName { line, name } => write!(
                f,
                "line {line}: {name:?} cannot be a folder name: use letters, digits, '.', '_' and \
                 '-', not starting with '.'"
            ),
            ClassError::LongName { line, name } => {
                write!(f, "line {line}: {name:?} is longer than 64 characters")
            }
            ClassError::Twice { line, name } => {
                write!(f, "line {line}: {name:?} is on the roster twice")
            }
            ClassError::ReadAccounts { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ClassError::Accounts { path, source } => write!(f, "{}: {source}", path.display()),
            ClassError::Random => f.write_str("the system's random source failed"),
            ClassError::Password(e) => write!(f, "{e}"),
            ClassError::WriteHandout { path, source } => write!(
                f,
                "cannot write the class handout {}: {source}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ClassError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClassError::ReadRoster { source, .. }
            | ClassError::ReadAccounts { source, .. }
            | ClassError::WriteHandout { source, .. } => Some(source),
            ClassError::Roster { source, .. } => Some(&**source),
            ClassError::Accounts { source, .. } | ClassError::Password(source) => Some(source),
            ClassError::EmptyName { .. }
            | ClassError::NotAFolderName { .. }
            | ClassError::LongName { .. }
            | ClassError::Twice { .. }
            | ClassError::Random => None,
        }
    }
}

/// One line of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    /// The user name, which is also the home folder's name.
    pub name: String,
    /// The password the roster gives, if it gives one.
    pub password: Option<String>,
}

/// Read a roster's text (see the module doc). A name must be usable as a folder name on every
/// system: letters, digits, `.`, `_` and `-`, not starting with `.`; each name once.
///
/// ```
/// use localftp::server::class::parse_roster;
/// let students = parse_roster("# 10B\nalice\nbudi, kopi,susu\n\n").unwrap();
/// assert_eq!(students[0].name, "alice");
/// assert_eq!(students[0].password, None);
/// assert_eq!(students[1].password.as_deref(), Some("kopi,susu")); // only the first comma splits
/// assert!(parse_roster("../etc").is_err());
/// assert!(parse_roster("ann\nann").is_err());
/// ```
pub fn parse_roster(text: &str) -> Result<Vec<Student>, ClassError> {
    let mut students: Vec<Student> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, password) = match line.split_once(',') {
            Some((name, password)) => (name.trim(), Some(password.trim())),
            None => (line, None),
        };
        let line_no = number + 1;
        check_name(name, line_no)?;
        if students.iter().any(|student| student.name == name) {
            return Err(ClassError::Twice {
                line: line_no,
                name: name.to_string(),
            });
        }
        students.push(Student {
            name: name.to_string(),
            password: password.filter(|p| !p.is_empty()).map(str::to_string),
        });
    }
    Ok(students)
}

/// Why `name`, on roster line `line`, cannot be a student's name (and so a folder's), if it
/// cannot.
fn check_name(name: &str, line: usize) -> Result<(), ClassError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() {
        return Err(ClassError::EmptyName { line });
    }
    if name.starts_with('.') || !name.chars().all(allowed) {
        let name = name.into();
        return Err(ClassError::NotAFolderName { line, name });
    }
    if name.len() > 64 {
        let name = name.into();
        return Err(ClassError::LongName { line, name });
    }
    Ok(())
}

/// A roster turned into accounts, with what must be written beside it once the server listens.
#[derive(Debug)]
pub struct Class {
    /// One account per student.
    pub users: Vec<User>,
    /// The hashes file (`roster.accounts`).
    pub accounts_file: PathBuf,
    /// The printable handout (`roster-handout.md`).
    pub handout_file: PathBuf,
    /// Each student's name and the password to print (`None`: generated by an earlier run
    /// whose handout is gone, so the server no longer knows it).
    rows: Vec<(String, Option<String>)>,
    /// The hashes file's new text.
    accounts_text: String,
    /// How many passwords this start generated.
    pub generated: usize,
}

impl Class {
    /// Read the roster at `roster`, with the hashes and handout of an earlier start if there
    /// are any, and make each student's account with a home in `root`. Generates the missing
    /// passwords; writes nothing (see [`Class::write`]).
    pub fn load(roster: &Path, root: &Path) -> Result<Class, ClassError> {
        let text = fs::read_to_string(roster).map_err(|source| ClassError::ReadRoster {
            path: roster.to_path_buf(),
            source,
        })?;
        let students = parse_roster(&text).map_err(|e| ClassError::Roster {
            path: roster.to_path_buf(),
            source: Box::new(e),
        })?;
        let accounts_file = roster.with_extension("accounts");
        let stem = roster
            .file_stem()
            .map_or("class".into(), |stem| stem.to_string_lossy());
        let handout_file = roster.with_file_name(format!("{stem}-handout.md"));
        let known = match fs::read_to_string(&accounts_file) {
            Ok(text) => parse_users_file(&text, root).map_err(|source| ClassError::Accounts {
                path: accounts_file.clone(),
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(ClassError::ReadAccounts {
                    path: accounts_file,
                    source,
                });
            }
        };
        let printed = fs::read_to_string(&handout_file)
            .map(|text| handout_passwords(&text))
            .unwrap_or_default();
        let perms = STUDENT_PERMS.parse().expect("the seed's letters are valid");
        let mut class = Class {
            users: Vec::new(),
            accounts_file,
            handout_file,
            rows: Vec::new(),
            accounts_text: "# localftp: the Argon2 hashes of the generated class passwords \
                            (written by --class; the passwords are in the handout)\n"
                .to_string(),
            generated: 0,
        };
        for student in students {
            let home = root.join(&student.name);
            if let Some(password) = student.password {
                class
                    .users
                    .push(User::new(&student.name, &password, perms, home));
                class.rows.push((student.name, Some(password)));
                continue;
            }
            let (user, shown) = match known.iter().find(|user| user.name == student.name) {
                // Generated earlier: the same hash, and the password the old handout printed.
                Some(user) => (user.clone(), printed.get(&student.name).cloned()),
                None => {
                    let password = generate_password()?;
                    let hash = hash_password(&password).map_err(ClassError::Password)?;
                    let user = User::new(&student.name, &hash, perms, &home)
                        .hashed()
                        .map_err(ClassError::Password)?;
                    class.generated += 1;
                    (user, Some(password))
                }
            };
            let mut user = user;
            user.home = home;
            user.perms = perms;
            writeln!(
                class.accounts_text,
                "{}:{}:{STUDENT_PERMS}:{}",
                user.name,
                user.password_hash().unwrap_or_default(),
                user.name
            )
            .expect("writing to a String");
            class.users.push(user);
            class.rows.push((student.name, shown));
        }
        Ok(class)
    }

    /// Write the hashes file and the handout, for students to reach the server at
    /// `host`:`port`. Each file is written whole and then renamed into place, so a crash never
    /// leaves half a handout.
    pub fn write(&self, host: &str, port: u16) -> io::Result<()> {
        write_whole(&self.accounts_file, &self.accounts_text)?;
        write_whole(&self.handout_file, &self.handout(host, port))
    }

    /// The handout's Markdown: a table the teacher prints and cuts into one slip per student.
    fn handout(&self, host: &str, port: u16) -> String {
        let mut text = format!(
            "# localftp class handout\n\n\
             Keep this page private: it holds the passwords. Give each student their own row.\n\n\
             Server: `{host}`, port `{port}`. Each student logs in with their user and password \
             and finds their own folder, with `baca_saya.txt` and `Folder_Tes/`, at `/`.\n\n\
             | user | password | host | port | what to type |\n\
             |------|----------|------|------|--------------|\n"
        );
        for (name, password) in &self.rows {
            let password = match password {
                Some(password) => password.replace('|', "\\|"),
                None => UNKNOWN_PASSWORD.to_string(),
            };
            writeln!(
                text,
                "| {name} | {password} | {host} | {port} | \
                 `cargo run --example client -- --host {host} --port {port} --user {name}` |"
            )
            .expect("writing to a String");
        }
        text
    }
}

/// What the handout prints for a password generated by an earlier start whose handout was lost.
const UNKNOWN_PASSWORD: &str =
    "(lost: delete this student's line from the .accounts file and restart for a new one)";

/// The passwords an earlier handout printed, by user name.
fn handout_passwords(text: &str) -> HashMap<String, String> {
    let mut passwords = HashMap::new();
    for line in text.lines() {
        let Some(row) = line.strip_prefix("| ") else {
            continue;
        };
        let mut cells = row.splitn(3, " | ");
        if let (Some(name), Some(password), Some(_)) = (cells.next(), cells.next(), cells.next())
            && name != "user"
            && password != UNKNOWN_PASSWORD
        {
            passwords.insert(name.to_string(), password.to_string());
        }
    }
    passwords
}

/// A new password: three groups of four characters from [`PASSWORD_ALPHABET`], about 59 bits,
/// from the operating system's random source (through rustls's crypto provider, which the
/// server has anyway).
fn generate_password() -> Result<String, ClassError> {
    let random = rustls::crypto::ring::default_provider().secure_random;
    let mut password = String::new();
    while password.len() < 14 {
        if password.len() % 5 == 4 {
            password.push('-');
            continue;
        }
        let mut byte = [0u8];
        random.fill(&mut byte).map_err(|_| ClassError::Random)?;
        // Only bytes below the largest multiple of the alphabet's size: every character
        // equally likely.
        let size = PASSWORD_ALPHABET.len();
        if usize::from(byte[0]) < 256 - 256 % size {
            password.push(char::from(PASSWORD_ALPHABET[usize::from(byte[0]) % size]));
        }
    }
    Ok(password)
}

/// Write `text` to `path` through a temporary file beside it, renamed over `path` at the end.
fn write_whole(path: &Path, text: &str) -> io::Result<()> {
    let temporary = path.with_extension("localftp-new");
    fs::write(&temporary, text)?;
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_readable_and_differ() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 14, "{a}");
        assert_eq!(a.matches('-').count(), 2, "{a}");
        assert!(
            a.bytes()
                .all(|c| c == b'-' || PASSWORD_ALPHABET.contains(&c)),
            "{a}"
        );
    }

    #[test]
    fn bad_roster_lines_name_their_line() {
        for (text, needle) in [
            ("ann\n\nann", "line 3"),
            ("a/b", "folder name"),
            (".hidden", "folder name"),
            ("ann,pw\n,pw", "empty"),
            ("C:", "folder name"),
        ] {
            let err = parse_roster(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_second_load_keeps_generated_passwords_and_adds_new_students() {
        let dir = tempfile::tempdir().unwrap();
        let roster = dir.path().join("roster.txt");
        let root = dir.path().join("class");
        fs::write(&roster, "alice\nbudi,kopi\n").unwrap();
        let first = Class::load(&roster, &root).unwrap();
        assert_eq!(first.generated, 1);
        first.write("127.0.0.1", 2122).unwrap();
        let handout = fs::read_to_string(dir.path().join("roster-handout.md")).unwrap();
        let alice = handout_passwords(&handout)["alice"].clone();
        assert!(first.users[0].password_matches(&alice));
        assert!(
            !fs::read_to_string(&first.accounts_file)
                .unwrap()
                .contains(&alice)
        );

        fs::write(&roster, "alice\nbudi,kopi\ncitra\n").unwrap();
        let second = Class::load(&roster, &root).unwrap();
        assert_eq!(second.generated, 1, "only citra is new");
        assert!(second.users[0].password_matches(&alice));
        assert!(second.users[1].password_matches("kopi"));
        assert_eq!(second.users[2].home, root.join("citra"));
        second.write("127.0.0.1", 2122).unwrap();
        let handout = fs::read_to_string(dir.path().join("roster-handout.md")).unwrap();
        assert_eq!(handout_passwords(&handout)["alice"], alice);
        assert!(second.users[2].password_matches(&handout_passwords(&handout)["citra"]));
    }
}
