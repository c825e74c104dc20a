//! LESSONS.md, proven: the course cannot drift away from the code it teaches.
//!
//! The course makes two promises, and each test here keeps one of them.
//!
//! **Every code name it mentions exists.** A *code name* is an inline code span of LESSONS.md
//! (outside fenced blocks) that is a Rust path with `::` (`jail::resolve`, `Perm::letter`,
//! `server::session::Session::run`) or a name ending in `()` (`parse()`). Each one is looked up
//! in the files under `src/` ([`SourceIndex::resolve`] says how), and a span that names a file
//! (`src/server/jail.rs`) must name one that exists. Paths into other crates (`std::…`,
//! `suppaftp::…`) are not looked up. Every lesson also has a `**Code to read:**` list whose
//! entries each start with a code name.
//!
//! **Every command it marks prints what it says.** Three HTML comments, invisible to a reader,
//! mark the blocks that are run and checked, in the order a student meets them:
//!
//! - `<!-- terminal 1 -->` before a `sh` block holding `[RUST_LOG=…] cargo run --example server
//!   [-- FLAGS]`: the server program is (re)started with those flags, on a free port, in a
//!   scratch folder laid out like a checkout (`data/`, and `target/student/` for terminal 2).
//! - `<!-- terminal 2 -->` before a `sh` block: the block runs in `bash` in `target/student/`,
//!   with standard error merged into standard output as a terminal shows them. `cargo run
//!   --example client -- ARGS` runs the client program with `--port <the server's port>` added,
//!   `pgrep` names the server's process, and the port `2122` in scripts becomes the server's port.
//! - `<!-- output -->` before a `text` block: these lines must appear in what the last terminal 2
//!   block printed; `<!-- log -->`: in what the server has logged so far. A block shows one
//!   stretch of lines; a line `...` stands for lines left out. Blank lines and runs of spaces
//!   do not count. What changes from run to run is not compared: ports (`127.0.0.1:41234`), the
//!   two port numbers of `(127,0,0,1,p1,p2)`, the numbers on a line that does the port
//!   arithmetic (`p1 × 256 + p2`), durations (`0.001 s`), session numbers (`#3`), log
//!   timestamps, and the date and size columns of a listing. `<!-- output: numbers vary -->`
//!   leaves every number out of the comparison. The port arithmetic itself is then redone
//!   here, on every output, from the numbers the client printed.
//!
//! Every lesson has at least one checked output, so every part of the course is run.
//!
//! **Every client demo is one of those.** A `sh` block in which a client talks to the server
//! (the guided client, curl or lftp with an `ftp://` address, Python's ftplib, `/dev/tcp`) must
//! be a `<!-- terminal 2 -->` block followed by the output or log it promises, so that a demo
//! that quietly shows nothing (a curl that never sends the command the lesson is about, say)
//! fails here. The one exception is marked `<!-- interactive -->`: the menu, which needs a
//! person at the keyboard (`client_pty` drives it through tmux instead).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::client_cli::client_binary;
use crate::support::server_binary;

/// The repository's root: LESSONS.md and src/ are read from here at run time.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn lessons_text() -> String {
    fs::read_to_string(repo().join("LESSONS.md")).expect("LESSONS.md exists at the repository root")
}

// ---------------------------------------------------------------------------------------------
// 1. Code names
// ---------------------------------------------------------------------------------------------

/// Crates whose paths a lesson may name without their being looked up in `src/`.
const OTHER_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "suppaftp",
    "socket2",
    "libc",
    "rustix",
    "tokio",
    "mio",
    "clap",
    "log",
    "env_logger",
    "argon2",
    "dialoguer",
    "indicatif",
    "ctrlc",
];

/// What the code of `src/` defines, read the way rustfmt lays it out: items start in column 0,
/// and the members of an `impl`, `struct`, `enum` or `trait` block are indented by four spaces
/// (so anything in a `mod tests` block, or inside a function body, is not an item).
struct SourceIndex {
    /// Each module's path (`["server", "jail"]`; the crate root is `[]`) and the names of the
    /// items defined at its top level.
    modules: Vec<(Vec<String>, HashSet<String>)>,
    /// A type's members: the methods and associated constants of every `impl` block for it
    /// anywhere in `src/`, its variants (an enum) or its fields (a struct).
    members: HashMap<String, HashSet<String>>,
}

/// The name at the start of `text`: letters, digits and underscores.
fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// `pub `, `pub(crate) `, `pub(super) ` and `pub(in …) ` taken off the front.
fn without_visibility(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("pub") else {
        return text;
    };
    if let Some(rest) = rest.strip_prefix(' ') {
        return rest;
    }
    match rest.strip_prefix('(').and_then(|r| r.split_once(") ")) {
        Some((_, after)) => after,
        None => text,
    }
}

/// The name an item line defines, and whether it opens a block of members:
/// `pub fn parse(` → `parse`; `pub enum Perm {` → `Perm`.
fn item_name(line: &str) -> Option<&str> {
    let mut rest = without_visibility(line);
    for qualifier in ["const fn ", "async fn ", "unsafe fn "] {
        if let Some(after) = rest.strip_prefix(qualifier) {
            rest = after;
            return Some(ident(rest)).filter(|name| !name.is_empty());
        }
    }
    for keyword in [
        "fn ", "struct ", "enum ", "trait ", "const ", "static ", "type ", "mod ", "union ",
    ] {
        if let Some(after) = rest.strip_prefix(keyword) {
            let after = after.strip_prefix("mut ").unwrap_or(after);
            return Some(ident(after)).filter(|name| !name.is_empty());
        }
    }
    None
}

/// The type an `impl` header is for: `impl fmt::Display for ReplyCode` → `ReplyCode`.
fn impl_target(header: &str) -> String {
    let mut text = header.trim_start_matches("impl").trim();
    // Generic parameters right after `impl`: `impl<'a, T: X<Y>>`.
    if text.starts_with('<') {
        let mut depth = 0;
        for (i, c) in text.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        text = text[i + 1..].trim_start();
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let text = text.split(" where").next().unwrap_or(text);
    let text = text.trim_end_matches('{').trim();
    let target = match text.rsplit_once(" for ") {
        Some((_, target)) => target,
        None => text,
    };
    let path = target.split('<').next().unwrap_or(target).trim();
    path.rsplit("::").next().unwrap_or(path).to_string()
}

/// What kind of block a column-0 line opened.
enum Block {
    /// `impl`, `trait`: members are methods and constants.
    Impl(String),
    /// `enum`: members are variants.
    Enum(String),
    /// `struct`: members are fields.
    Struct(String),
    /// Anything else (`mod tests`, a function body, a `const` table).
    Other,
}

impl SourceIndex {
    /// Read every `.rs` file under `src/`.
    fn load() -> SourceIndex {
        let mut index = SourceIndex {
            modules: Vec::new(),
            members: HashMap::new(),
        };
        let src = repo().join("src");
        let mut files = Vec::new();
        collect_rs_files(&src, &mut files);
        for file in files {
            let relative = file.strip_prefix(&src).unwrap().with_extension("");
            let mut module: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("lib" | "mod" | "main")
            ) {
                module.pop();
            }
            let text = fs::read_to_string(&file).unwrap();
            let items = index.read_items(&text);
            index.modules.push((module, items));
        }
        index
    }

    /// The top-level items of one file; the members of its blocks go into `self.members`.
    fn read_items(&mut self, text: &str) -> HashSet<String> {
        let mut items = HashSet::new();
        let mut block: Option<Block> = None;
        let mut header: Option<String> = None;
        for line in text.lines() {
            // An `impl` header that rustfmt wrapped: gather it up to its `{`.
            if let Some(so_far) = header.as_mut() {
                so_far.push(' ');
                so_far.push_str(line.trim());
                if line.trim_end().ends_with('{') {
                    block = Some(Block::Impl(impl_target(so_far)));
                    header = None;
                }
                continue;
            }
            if line == "}" {
                block = None;
                continue;
            }
            if let Some(open) = &block {
                if let Some(member) = line.strip_prefix("    ") {
                    self.read_member(open, member);
                }
                continue;
            }
            if line.starts_with(' ') || line.is_empty() {
                continue;
            }
            if line.starts_with("impl") {
                if line.trim_end().ends_with('{') {
                    block = Some(Block::Impl(impl_target(line)));
                } else if !line.trim_end().ends_with(';') && !line.trim_end().ends_with("{}") {
                    // (`impl Error for E {}` is whole on its line.)
                    header = Some(line.to_string());
                }
                continue;
            }
            let Some(name) = item_name(line) else {
                continue;
            };
            items.insert(name.to_string());
            if line.trim_end().ends_with('{') {
                let kind = without_visibility(line);
                block = Some(if kind.starts_with("enum ") {
                    Block::Enum(name.to_string())
                } else if kind.starts_with("struct ") {
                    Block::Struct(name.to_string())
                } else if kind.starts_with("trait ") {
                    Block::Impl(name.to_string())
                } else {
                    Block::Other
                });
            }
        }
        items
    }

    /// One line four spaces into a block: a method, constant, variant or field.
    fn read_member(&mut self, block: &Block, line: &str) {
        if line.starts_with([' ', '/', '#', '}']) || line.is_empty() {
            return;
        }
        let (owner, name) = match block {
            Block::Impl(owner) => (owner, item_name(line)),
            Block::Enum(owner) => {
                let name = ident(line);
                let is_variant = name.starts_with(|c: char| c.is_ascii_uppercase());
                (owner, Some(name).filter(|_| is_variant))
            }
            Block::Struct(owner) => {
                let rest = without_visibility(line);
                let name = ident(rest);
                let is_field = rest[name.len()..].starts_with(':') && !name.is_empty();
                (owner, Some(name).filter(|_| is_field))
            }
            Block::Other => return,
        };
        if let Some(name) = name {
            self.members
                .entry(owner.clone())
                .or_default()
                .insert(name.to_string());
        }
    }

    /// Find a code name in `src/`.
    ///
    /// The longest run of leading segments that names a module is the module (a module may be
    /// named by the end of its path: `jail` is `server::jail`, `commands::info` is
    /// `server::commands::info`); what follows must be defined in it: an item (`jail::resolve`),
    /// or a type and one of its members (`registry::Registry::admit`, `command::Command::Pwd`).
    /// A path that starts with no module (`Perm::letter`, `parse()`) may be defined in any
    /// module. A member is a method or constant of any `impl` block for the type, in any file,
    /// a variant of the enum, or a field of the struct. A `crate::` or `localftp::` in front is
    /// ignored.
    fn resolve(&self, code_name: &str) -> Result<(), String> {
        let path = code_name.strip_suffix("()").unwrap_or(code_name);
        let mut segments: Vec<&str> = path.split("::").collect();
        if matches!(segments.first(), Some(&("crate" | "localftp"))) {
            segments.remove(0);
        }
        if segments.is_empty() {
            return Err("an empty path".into());
        }
        for split in (1..=segments.len()).rev() {
            let (module, rest) = segments.split_at(split);
            let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
            let candidates: Vec<_> = self
                .modules
                .iter()
                .filter(|(path, _)| path.ends_with(&module))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            if rest.is_empty()
                || candidates
                    .iter()
                    .any(|(_, items)| self.defines(items, rest))
            {
                return Ok(());
            }
            return Err(self.why_missing(&candidates, rest, &module.join("::")));
        }
        let everywhere: Vec<_> = self.modules.iter().collect();
        if everywhere
            .iter()
            .any(|(_, items)| self.defines(items, &segments))
        {
            Ok(())
        } else {
            Err(self.why_missing(&everywhere, &segments, "src/"))
        }
    }

    /// The sentence for a name that [`SourceIndex::resolve`] did not find in `modules`.
    fn why_missing(
        &self,
        modules: &[&(Vec<String>, HashSet<String>)],
        rest: &[&str],
        place: &str,
    ) -> String {
        match rest {
            [owner, member] if modules.iter().any(|(_, items)| items.contains(*owner)) => {
                format!("`{owner}` has no method, constant, variant or field `{member}`")
            }
            _ => format!("`{place}` does not define `{}`", rest.join("::")),
        }
    }

    /// Whether a module with `items` defines `rest`: an item, or an item and its member.
    fn defines(&self, items: &HashSet<String>, rest: &[&str]) -> bool {
        match rest {
            [item] => items.contains(*item),
            [owner, member] => {
                items.contains(*owner)
                    && self
                        .members
                        .get(*owner)
                        .is_some_and(|members| members.contains(*member))
            }
            _ => false,
        }
    }
}

fn collect_rs_files(folder: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// A code span that is a code name by the convention: `a::b::c`, optionally with `()`, or
/// `name()`. Spans in other crates return `None`, as do spans that are not Rust paths.
fn code_name(span: &str) -> Option<&str> {
    let path = span.strip_suffix("()").unwrap_or(span);
    if !span.ends_with("()") && !path.contains("::") {
        return None;
    }
    let segments: Vec<&str> = path.split("::").collect();
    let is_path = segments.iter().all(|segment| {
        !segment.is_empty()
            && ident(segment) == *segment
            && !segment.starts_with(|c: char| c.is_ascii_digit())
    });
    if !is_path || OTHER_CRATES.contains(&segments[0]) {
        return None;
    }
    Some(span)
}

/// A code span that names a file or folder of the repository (`src/server/jail.rs`).
fn file_name(span: &str) -> Option<&str> {
    let looks_like_path = ["src/", "tests/", "examples/"]
        .iter()
        .any(|prefix| span.starts_with(prefix))
        && span
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
    looks_like_path.then_some(span)
}

/// One inline code span of LESSONS.md, with where it is.
struct Span {
    text: String,
    line: usize,
    lesson: String,
}

/// Every inline code span outside fenced blocks, with its line number and lesson.
fn inline_spans(doc: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut in_fence = false;
    let mut lesson = String::from("(before the first lesson)");
    for (number, line) in doc.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(title) = line
            .strip_prefix("### ")
            .or_else(|| line.strip_prefix("## "))
        {
            lesson = title.to_string();
        }
        // Between odd and even backticks: `a` b `c` → a, c.
        for (i, piece) in line.split('`').enumerate() {
            if i % 2 == 1 {
                spans.push(Span {
                    text: piece.to_string(),
                    line: number + 1,
                    lesson: lesson.clone(),
                });
            }
        }
    }
    spans
}

#[test]
fn every_code_name_in_the_lessons_exists_in_the_source() {
    let doc = lessons_text();
    let index = SourceIndex::load();
    let mut missing = Vec::new();
    let mut checked = 0;
    for span in inline_spans(&doc) {
        if let Some(name) = code_name(&span.text) {
            checked += 1;
            if let Err(why) = index.resolve(name) {
                missing.push(format!(
                    "  LESSONS.md:{} ({}): `{name}`: {why}",
                    span.line, span.lesson
                ));
            }
        } else if let Some(file) = file_name(&span.text) {
            checked += 1;
            if !repo().join(file.trim_end_matches('/')).exists() {
                missing.push(format!(
                    "  LESSONS.md:{} ({}): `{file}`: no such file",
                    span.line, span.lesson
                ));
            }
        }
    }
    assert!(
        checked >= 100,
        "only {checked} code names found: is the convention still followed?"
    );
    assert!(
        missing.is_empty(),
        "LESSONS.md names code that src/ does not have ({} of {checked}):\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn the_lessons_name_checker_is_strict() {
    let index = SourceIndex::load();
    for name in [
        "server::session::Session::run",
        "jail::resolve",
        "Perm::letter",
        "ReplyCode::explain",
        "command::Command::Unknown",
        "server::Config::max_connections",
        "verbs::Verb::facts",
        "server::commands::info",
        "parse()",
        "Config::default",
    ] {
        assert_eq!(index.resolve(name), Ok(()), "{name} should resolve");
    }
    for name in [
        "server::session::Session::runs",
        "jail::resolved",
        "Perm::letters",
        "ReplyCode::Explain",
        "command::Command::Unknwn",
        "server::Config::max_conections",
        "verbs::Verb::fact",
        "jail::Perm",
        "server::nothing",
        "parsed()",
        // Names only defined inside `mod tests` are not part of the code a lesson can teach.
        "Session::the_seed_letters",
    ] {
        assert!(index.resolve(name).is_err(), "{name} should not resolve");
    }
    assert_eq!(code_name("std::thread::spawn"), None);
    assert_eq!(code_name("--bind ::1"), None);
    assert_eq!(code_name("Registry::admit"), Some("Registry::admit"));
}

#[test]
fn every_lesson_has_code_to_read_and_a_checked_output() {
    let doc = lessons_text();
    let index = SourceIndex::load();
    let mut problems = Vec::new();
    let mut lessons = 0;
    for section in doc.split("\n### ").skip(1) {
        let title = section.lines().next().unwrap_or_default();
        if !title.starts_with("Lesson") {
            continue;
        }
        lessons += 1;
        let mut lines = section
            .lines()
            .skip_while(|l| l.trim() != "**Code to read:**");
        if lines.next().is_none() {
            problems.push(format!("{title}: no **Code to read:** list"));
        }
        let entries: Vec<&str> = lines
            .skip_while(|l| l.trim().is_empty())
            .take_while(|l| l.starts_with("- "))
            .collect();
        if entries.is_empty() {
            problems.push(format!("{title}: the Code to read list is empty"));
        }
        for entry in entries {
            let first = entry.split('`').nth(1).unwrap_or_default();
            let known = match code_name(first) {
                Some(name) => index.resolve(name).is_ok(),
                None => file_name(first).is_some_and(|f| repo().join(f).exists()),
            };
            if !known {
                problems.push(format!(
                    "{title}: `{entry}` does not start with a code name that exists"
                ));
            }
        }
        if !section.contains("<!-- output") {
            problems.push(format!("{title}: no checked output (<!-- output -->)"));
        }
    }
    assert!(lessons >= 15, "only {lessons} lessons found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 2. Commands and their output
// ---------------------------------------------------------------------------------------------

/// One marked block of LESSONS.md.
#[derive(Debug)]
enum Step {
    /// Terminal 1: (re)start the server with these environment settings and flags.
    Server {
        env: Vec<(String, String)>,
        flags: Vec<String>,
    },
    /// Terminal 2: run this shell text.
    Run(String),
    /// The lines the last terminal 2 block must have printed.
    Output { text: String, numbers_vary: bool },
    /// The lines the server must have logged.
    Log(String),
}

/// A step and where it is.
#[derive(Debug)]
struct Marked {
    step: Step,
    line: usize,
    part: String,
    lesson: String,
}

/// The marked blocks, in order. A marker must be followed by a fenced block of the right kind.
fn marked_blocks(doc: &str) -> Vec<Marked> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut blocks = Vec::new();
    let (mut part, mut lesson) = (String::new(), String::new());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(title) = lines[i].strip_prefix("## ") {
            part = title.to_string();
        }
        if let Some(title) = lines[i].strip_prefix("### ") {
            lesson = title.to_string();
        }
        let marker = line
            .strip_prefix("<!-- ")
            .and_then(|rest| rest.strip_suffix(" -->"));
        let Some(marker) = marker else {
            i += 1;
            continue;
        };
        let fence = match marker {
            "terminal 1" | "terminal 2" => "```sh",
            "output" | "output: numbers vary" | "log" => "```text",
            _ => {
                i += 1;
                continue;
            }
        };
        let start = i + 1;
        assert_eq!(
            lines.get(start).map(|l| l.trim()),
            Some(fence),
            "LESSONS.md:{}: <!-- {marker} --> must be followed by a {fence} block",
            i + 1
        );
        let end = (start + 1..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .unwrap_or_else(|| panic!("LESSONS.md:{}: unclosed block", start + 1));
        let body = lines[start + 1..end].join("\n");
        let step = match marker {
            "terminal 1" => server_step(&body, start + 2),
            "terminal 2" => Step::Run(body),
            "log" => Step::Log(body),
            other => Step::Output {
                text: body,
                numbers_vary: other.ends_with("numbers vary"),
            },
        };
        blocks.push(Marked {
            step,
            line: start + 1,
            part: part.clone(),
            lesson: lesson.clone(),
        });
        i = end + 1;
    }
    blocks
}

/// `RUST_LOG=debug cargo run --example server -- --flag value` as environment and flags.
fn server_step(body: &str, line: usize) -> Step {
    let words = shell_words(body.trim());
    let start = words
        .iter()
        .position(|w| w == "cargo")
        .unwrap_or_else(|| panic!("LESSONS.md:{line}: a terminal 1 block runs `cargo run`"));
    let env = words[..start]
        .iter()
        .map(|w| {
            let (name, value) = w
                .split_once('=')
                .unwrap_or_else(|| panic!("LESSONS.md:{line}: {w:?} is not NAME=VALUE"));
            (name.to_string(), value.to_string())
        })
        .collect();
    let command = &words[start..];
    assert!(
        command.len() >= 4 && command[1..4] == ["run", "--example", "server"],
        "LESSONS.md:{line}: a terminal 1 block runs `cargo run --example server`: {body:?}"
    );
    let mut flags: Vec<String> = command[4..].to_vec();
    if flags.first().map(String::as_str) == Some("--") {
        flags.remove(0);
    }
    Step::Server { env, flags }
}

/// Split a command line into words as a shell would, for the simple quoting lessons use.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
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
    words.extend(current);
    words
}

/// The server program, started as terminal 1 starts it; killed when dropped.
struct ServerProgram {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl ServerProgram {
    fn start(checkout: &Path, env: &[(String, String)], flags: &[String]) -> ServerProgram {
        let mut command = Command::new(server_binary());
        command
            .args(flags)
            .args(["--port", "0"])
            .current_dir(checkout)
            .env("RUST_LOG", "info")
            .env("RUST_LOG_STYLE", "never")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the server program");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let listening = log.lock().unwrap().iter().find_map(|line| {
                let (_, address) = line.split_once("listening on ")?;
                address.trim().rsplit_once(':')?.1.parse::<u16>().ok()
            });
            if let Some(port) = listening {
                break port;
            }
            if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                panic!(
                    "the server program did not start with {flags:?}: {:?}",
                    log.lock().unwrap()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        ServerProgram { child, port, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for ServerProgram {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What terminal 2 runs before a block: `cargo run --example client|server` and `pgrep`
/// pointed at the server of this test.
const PRELUDE: &str = r#"
cargo() {
  if [ "$1 $2 $3" = "run --example client" ]; then
    shift 3; [ "$1" = "--" ] && shift
    case " $* " in *" --port "*) ;; *) set -- --port "$LESSON_PORT" "$@" ;; esac
    "$LESSON_CLIENT" --timeout 10 "$@"
  elif [ "$1 $2 $3" = "run --example server" ]; then
    shift 3; [ "$1" = "--" ] && shift
    case " $* " in *" --port "*) ;; *) set -- "$@" --port "$LESSON_PORT" ;; esac
    timeout 10 "$LESSON_SERVER" "$@"
  else
    echo "lessons.rs cannot run: cargo $*" >&2; return 127
  fi
}
pgrep() { echo "$LESSON_SERVER_PID"; }
"#;

/// Run one terminal 2 block; standard error goes where standard output goes, as in a terminal.
fn run_block(block: &str, folder: &Path, server: &ServerProgram) -> String {
    let script = format!(
        "{PRELUDE}\n{{\n{}\n}} 2>&1",
        block.replace("2122", &server.port.to_string())
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(folder)
        .env("LESSON_CLIENT", client_binary())
        .env("LESSON_SERVER", server_binary())
        .env("LESSON_PORT", server.port.to_string())
        .env("LESSON_SERVER_PID", server.child.id().to_string())
        .env("RUST_LOG_STYLE", "never")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so a block that hangs can be stopped with all it started.
        .process_group(0)
        .spawn()
        .expect("run bash");
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            return format!(
                "(the block did not finish within 120 s)\n{}",
                reader.join().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    reader.join().unwrap()
}

/// A line as compared: spaces collapsed, and what varies between runs replaced by `#`.
fn normalize(line: &str, numbers_vary: bool) -> String {
    let mut line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    // A log line's timestamp: [2025-11-25T23:47:45Z INFO  localftp::server] ...
    let bytes = line.as_bytes();
    if bytes.len() > 21
        && bytes[0] == b'['
        && bytes[5] == b'-'
        && bytes[11] == b'T'
        && let Some(space) = line.find(' ')
    {
        line = format!("[TIME{}", &line[space..]);
    }
    // A listing line, `| drwxr-xr-x 2 ftp ftp 4096 Nov 25 23:47 Folder_Tes`: its date and the
    // size of folders depend on when and where it runs; its kind and name do not.
    if let Some(entry) = line.strip_prefix("| ") {
        let kind = entry.chars().next().unwrap_or(' ');
        let name = entry.split(' ').next_back().unwrap_or_default();
        return format!("| {kind} … {name}");
    }
    let arithmetic = line.contains("p1");
    let chars: Vec<char> = line.chars().collect();
    // Each run of digits: where it starts and ends.
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    let text = |(start, end): (usize, usize)| chars[start..end].iter().collect::<String>();
    let mut varies = vec![false; runs.len()];
    for (n, &(start, end)) in runs.iter().enumerate() {
        let before = start.checked_sub(1).map(|i| chars[i]);
        let after = chars.get(end).copied();
        let after_text: String = chars[end..].iter().take(12).collect();
        varies[n] = numbers_vary
            // A port after an address (127.0.0.1:41234), or the minutes of a time.
            || before == Some(':')
            // A session number: [#3 127.0.0.1:41234].
            || before == Some('#')
            // Port arithmetic: every number but 256 and the digits of p1, p2, h1…h4.
            || (arithmetic
                && text(runs[n]) != "256"
                && !before.is_some_and(|c| c.is_ascii_alphabetic()))
            // A duration: 0.001 s (both runs of digits).
            || (after == Some('.')
                && runs.get(n + 1).is_some_and(|&(s, e)| {
                    s == end + 1 && chars[e..].iter().collect::<String>().starts_with(" s")
                }))
            || (before == Some('.') && after_text.starts_with(" s"));
        // The two port numbers of h1,h2,h3,h4,p1,p2 (PASV's reply, PORT's argument).
        if n >= 5 && (n - 5..n).all(|k| chars[runs[k].1] == ',' && runs[k + 1].0 == runs[k].1 + 1) {
            varies[n] = true;
            varies[n - 1] = true;
        }
    }
    let mut out = String::new();
    let mut last = 0;
    for (n, &(start, end)) in runs.iter().enumerate() {
        out.extend(&chars[last..start]);
        if varies[n] {
            out.push('#');
        } else {
            out.extend(&chars[start..end]);
        }
        last = end;
    }
    out.extend(&chars[last..]);
    out
}

/// Check that the stretches of `expected` (split at `...` lines) appear in `actual`, in order.
/// On failure, say which expected line was not printed, next to the line printed in its place.
fn compare(expected: &str, actual: &str, numbers_vary: bool) -> Result<(), String> {
    let keep = |text: &str| -> Vec<(String, String)> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| (normalize(l, numbers_vary), l.trim().to_string()))
            .collect()
    };
    let printed = keep(actual);
    let mut from = 0;
    let lines: Vec<&str> = expected.lines().collect();
    for stretch in lines.split(|l| l.trim() == "...") {
        let want = keep(&stretch.join("\n"));
        if want.is_empty() {
            continue;
        }
        // How many lines of the stretch match when it is laid over the output at `at`.
        let matching = |at: usize| {
            want.iter()
                .zip(&printed[at.min(printed.len())..])
                .take_while(|(w, p)| w.0 == p.0)
                .count()
        };
        if let Some(at) = (from..printed.len()).find(|&at| matching(at) == want.len()) {
            from = at + want.len();
            continue;
        }
        let best = (from..printed.len())
            .max_by_key(|&at| (matching(at), std::cmp::Reverse(at)))
            .unwrap_or(from);
        let missing = matching(best);
        let instead = printed
            .get(best + missing)
            .map_or("(the end of the output)", |p| p.1.as_str());
        return Err(format!(
            "a line the lesson shows was not printed{}:\n  lesson:  {}\n  printed: {instead}\n\n\
             --- the whole output ---\n{actual}",
            if missing > 0 {
                format!(" (after {missing} matching lines)")
            } else {
                String::new()
            },
            want[missing].1,
        ));
    }
    Ok(())
}

/// The port arithmetic the client shows, redone: every 227 reply's p1 and p2 give the port it
/// connects to, and every PORT command's p1 and p2 are its listening port divided by 256.
fn check_port_arithmetic(output: &str) -> Result<(), String> {
    let numbers = |text: &str| -> Vec<u32> {
        text.split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    let lines: Vec<&str> = output.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(reply) = line.strip_prefix("S: 227 ") {
            let n = numbers(reply);
            let port = n[4] * 256 + n[5];
            let shown = format!(
                "data port = p1 × 256 + p2 = {} × 256 + {} = {port}",
                n[4], n[5]
            );
            let connect = format!("opening a second TCP connection to 127.0.0.1:{port}");
            let after = &lines[i + 1..(i + 7).min(lines.len())];
            if !after.contains(&shown.as_str()) || !after.iter().any(|l| l.contains(&connect)) {
                return Err(format!(
                    "after {line:?}, expected {shown:?} and {connect:?}"
                ));
            }
        }
        if let Some(rest) = line.strip_prefix("port ") {
            if !rest.contains("p1 × 256 + p2") {
                continue;
            }
            // port N = p1 × 256 + p2 with p1 = N / 256 = A, p2 = N % 256 = B
            let after = |marker: &str| {
                rest.split_once(marker)
                    .map(|(_, tail)| numbers(tail))
                    .and_then(|n| n.first().copied())
                    .unwrap_or(u32::MAX)
            };
            let port = numbers(rest)[0];
            let (p1, p2) = (after("/ 256 = "), after("% 256 = "));
            let command = lines[i + 1..]
                .iter()
                .find(|l| l.starts_with("C: PORT "))
                .map(|l| numbers(l))
                .unwrap_or_default();
            if port / 256 != p1 || port % 256 != p2 || command[4..] != [p1, p2] {
                return Err(format!("wrong active-mode arithmetic in {line:?}"));
            }
        }
    }
    Ok(())
}

/// Following the course leaves the checkout clean: every folder a lesson's server writes into
/// (`--transcript DIR`, from the top of the checkout) is one that git ignores.
#[test]
fn the_folders_lessons_write_into_are_ignored_by_git() {
    let doc = lessons_text();
    let mut folders = Vec::new();
    for block in marked_blocks(&doc) {
        if let Step::Server { flags, .. } = &block.step {
            for pair in flags.windows(2) {
                if pair[0] == "--transcript" {
                    folders.push((block.line, pair[1].clone()));
                }
            }
        }
    }
    assert!(
        !folders.is_empty(),
        "no lesson writes transcripts any more?"
    );
    for (line, folder) in folders {
        let probe = format!("{folder}/user-1.txt");
        let ignored = Command::new("git")
            .args(["check-ignore", "-q", &probe])
            .current_dir(repo())
            .status();
        match ignored {
            Ok(status) if status.code() == Some(128) => return, // not a git checkout
            Ok(status) => assert!(
                status.success(),
                "LESSONS.md:{line}: the server writes into {folder}/, which git does not ignore"
            ),
            Err(_) => return, // no git here
        }
    }
}

/// What in a shell block shows a client talking to the server.
const CLIENT_DEMOS: &[&str] = &["--example client", "ftp://", "ftplib", "lftp ", "/dev/tcp"];

#[test]
fn every_client_demo_is_run_and_its_promise_checked() {
    let doc = lessons_text();
    let lines: Vec<&str> = doc.lines().collect();
    let mut unchecked = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "```sh" {
            i += 1;
            continue;
        }
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .unwrap_or(lines.len());
        let body = lines[i + 1..end].join("\n");
        let marker = i.checked_sub(1).map_or("", |k| lines[k].trim());
        if CLIENT_DEMOS.iter().any(|demo| body.contains(demo)) {
            // What follows, up to the next shell block: the promised output or log.
            let next_shell = (end + 1..lines.len())
                .find(|&j| lines[j].trim() == "```sh")
                .unwrap_or(lines.len());
            let promised = lines[end + 1..next_shell].iter().any(|line| {
                matches!(
                    line.trim(),
                    "<!-- output -->" | "<!-- output: numbers vary -->" | "<!-- log -->"
                )
            });
            let checked = marker == "<!-- terminal 2 -->" && promised;
            if !checked && marker != "<!-- interactive -->" {
                unchecked.push(format!("LESSONS.md:{}: {}", i + 2, lines[i + 1].trim()));
            }
        }
        i = end + 1;
    }
    assert!(
        unchecked.is_empty(),
        "client demos that are not run, or whose output is not checked (mark them \
         <!-- terminal 2 --> and follow them with <!-- output --> or <!-- log -->):\n{}",
        unchecked.join("\n")
    );
}

fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_lessons_commands_print_what_the_lessons_show() {
    let doc = lessons_text();
    let blocks = marked_blocks(&doc);
    // A scratch folder laid out like a checkout: data/ as shipped, and terminal 2's folder.
    let checkout = tempfile::tempdir().unwrap();
    let student = checkout.path().join("target").join("student");
    fs::create_dir_all(&student).unwrap();
    fs::create_dir_all(checkout.path().join("data")).unwrap();
    fs::copy(
        repo().join("data").join("baca_saya.txt"),
        checkout.path().join("data").join("baca_saya.txt"),
    )
    .unwrap();

    let python = available("python3");
    let curl = available("curl");
    let mut server: Option<ServerProgram> = None;
    let mut last_output: Option<String> = None;
    let mut failures = Vec::new();
    let mut checked_parts: HashSet<String> = HashSet::new();
    for block in &blocks {
        let place = format!("LESSONS.md:{} ({})", block.line, block.lesson);
        match &block.step {
            Step::Server { env, flags } => {
                drop(server.take());
                server = Some(ServerProgram::start(checkout.path(), env, flags));
            }
            Step::Run(text) => {
                if text.contains("python3") && !python {
                    eprintln!("note: python3 is missing; {place} and its output are skipped");
                    last_output = None;
                    continue;
                }
                if text.contains("curl ") && !curl {
                    eprintln!("note: curl is missing; {place} and its output are skipped");
                    last_output = None;
                    continue;
                }
                let running = server
                    .as_ref()
                    .unwrap_or_else(|| panic!("{place}: no terminal 1 block before it"));
                last_output = Some(run_block(text, &student, running));
            }
            Step::Output { text, numbers_vary } => {
                let Some(actual) = &last_output else {
                    continue; // its block was skipped
                };
                let result = compare(text, actual, *numbers_vary)
                    .and_then(|()| check_port_arithmetic(actual));
                match result {
                    Ok(()) => {
                        checked_parts.insert(block.part.clone());
                    }
                    Err(why) => failures.push(format!("{place}: {why}")),
                }
            }
            Step::Log(text) => {
                let running = server.as_ref().expect("a server is running");
                // The server logs a session's end a moment after the client has gone.
                let deadline = Instant::now() + Duration::from_secs(5);
                let result = loop {
                    let result = compare(text, &running.log(), false);
                    if result.is_ok() || Instant::now() > deadline {
                        break result;
                    }
                    thread::sleep(Duration::from_millis(50));
                };
                if let Err(why) = result {
                    failures.push(format!("{place} (server log): {why}"));
                }
            }
        }
    }
    drop(server);
    assert!(
        failures.is_empty(),
        "{} checked blocks of LESSONS.md differ from what the programs print:\n\n{}",
        failures.len(),
        failures.join("\n\n==========\n\n")
    );
    let parts: HashSet<String> = blocks.iter().map(|b| b.part.clone()).collect();
    if python {
        for part in &parts {
            assert!(
                checked_parts.contains(part),
                "{part}: no output of it was checked"
            );
        }
    }
    assert!(parts.len() >= 5, "expected Parts I to V, found {parts:?}");
}
