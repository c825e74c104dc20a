//! LESSONS.md, proven: the course cannot drift away from the code it teaches.
//!
//! The course makes three promises, and the tests here keep them. Three helper modules do the
//! reading and running: [`index`] finds what `src/` defines (reading code with [`scanner`]),
//! [`blocks`] reads LESSONS.md, and [`harness`] runs the lessons' commands and compares what
//! they print.
//!
//! **Every code name it mentions exists.** A *code name* is an inline code span of LESSONS.md
//! (outside fenced blocks) that is a Rust path with `::` (`jail::resolve`, `Perm::letter`,
//! `server::session::Session::run`) or a name ending in `()` (`parse()`). Each one is looked up
//! in the files under `src/` ([`index::SourceIndex::resolve`] says how), and a span that names
//! a file (`src/server/jail.rs`) must name one that exists. Paths into other crates (`std::…`,
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

mod blocks;
mod harness;
mod index;
mod scanner;

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use blocks::{Step, code_name, file_name, inline_spans, lessons, marked_blocks, shell_blocks};
use harness::{Played, Terminals};
use index::SourceIndex;

/// The repository's root: LESSONS.md and src/ are read from here at run time.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn lessons_text() -> String {
    fs::read_to_string(repo().join("LESSONS.md")).expect("LESSONS.md exists at the repository root")
}

fn source_index() -> SourceIndex {
    SourceIndex::load(&repo().join("src"))
}

/// Whether a code span of LESSONS.md names something that exists: code in `src/`, or a file.
/// `None` if it is neither a code name nor a file name.
fn check_span(index: &SourceIndex, span: &str) -> Option<Result<(), String>> {
    if let Some(name) = code_name(span) {
        return Some(index.resolve(name));
    }
    let file = file_name(span)?;
    let exists = repo().join(file.trim_end_matches('/')).exists();
    Some(if exists {
        Ok(())
    } else {
        Err("no such file".into())
    })
}

#[test]
fn every_code_name_in_the_lessons_exists_in_the_source() {
    let index = source_index();
    let mut missing = Vec::new();
    let mut checked = 0;
    for span in inline_spans(&lessons_text()) {
        let Some(result) = check_span(&index, &span.text) else {
            continue;
        };
        checked += 1;
        if let Err(why) = result {
            let (line, lesson, text) = (span.line, &span.lesson, &span.text);
            missing.push(format!("  LESSONS.md:{line} ({lesson}): `{text}`: {why}"));
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
    let index = source_index();
    for name in [
        "server::session::Session::run",
        "jail::paths::resolve",
        "Perm::letter",
        "ReplyCode::explain",
        "command::Command::Unknown",
        "server::config::Config::max_connections",
        "verbs::Verb::facts",
        "server::commands::info",
        "parse()",
        "Config::default",
    ] {
        assert_eq!(index.resolve(name), Ok(()), "{name} should resolve");
    }
    for name in [
        "server::session::Session::runs",
        "jail::paths::resolved",
        "Perm::letters",
        "ReplyCode::Explain",
        "command::Command::Unknwn",
        "server::config::Config::max_conections",
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

/// The index follows brackets, not rustfmt's layout: a block that closes in `};`, an item
/// indented, `fn` and `}` inside a raw string, braces in characters, strings and comments.
#[test]
fn the_source_index_reads_code_not_its_layout() {
    let source = r##"
pub const SLICE: Option<u8> = if cfg!(windows) {
    Some(1)
} else {
    None
};
pub fn after_a_block_that_ends_in_a_semicolon() {}

pub struct Oops;
impl std::error::Error for Oops {}
  pub struct Indented {
      pub field: u8,
    }

const HELP: &str = r#"
fn not_an_item() {
}
"#;

pub enum Brace {
    Open = b'{' as isize,
    Close,
}

impl<'a> Brace
where
    Self: 'a,
{
    // a brace in a comment: {
    pub fn shown(&self) -> char {
        '}'
    }
    const LAST: &str = "}";
}

mod tests {
    fn hidden() {}
}
"##;
    let mut index = SourceIndex::default();
    index.add(vec!["demo".into()], source);
    for name in [
        "demo::SLICE",
        "demo::after_a_block_that_ends_in_a_semicolon",
        "Oops",
        "Indented::field",
        "Brace::Open",
        "Brace::Close",
        "Brace::shown",
        "Brace::LAST",
    ] {
        assert_eq!(index.resolve(name), Ok(()), "{name} should resolve");
    }
    for name in ["demo::not_an_item", "demo::hidden", "Brace::Self"] {
        assert!(index.resolve(name).is_err(), "{name} should not resolve");
    }
}

#[test]
fn every_lesson_has_code_to_read_and_a_checked_output() {
    let doc = lessons_text();
    let index = source_index();
    let lessons = lessons(&doc);
    let mut problems = Vec::new();
    for lesson in &lessons {
        let title = lesson.title;
        if !lesson.has_code_to_read {
            problems.push(format!("{title}: no **Code to read:** list"));
        }
        if lesson.code_to_read.is_empty() {
            problems.push(format!("{title}: the Code to read list is empty"));
        }
        for entry in &lesson.code_to_read {
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
        if !lesson.has_output {
            problems.push(format!("{title}: no checked output (<!-- output -->)"));
        }
    }
    assert!(lessons.len() >= 15, "only {} lessons found", lessons.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Following the course leaves the checkout clean: every folder a lesson's server writes into
/// (`--transcript DIR`, from the top of the checkout) is one that git ignores.
#[test]
fn the_folders_lessons_write_into_are_ignored_by_git() {
    let mut folders = Vec::new();
    for block in marked_blocks(&lessons_text()) {
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
            Ok(status) if status.code() == Some(128) => {
                eprintln!("skipped: not a git checkout, so git cannot say what it ignores");
                return;
            }
            Ok(status) => assert!(
                status.success(),
                "LESSONS.md:{line}: the server writes into {folder}/, which git does not ignore"
            ),
            Err(_) => {
                eprintln!("skipped: git is not installed");
                return;
            }
        }
    }
}

/// What in a shell block shows a client talking to the server.
const CLIENT_DEMOS: &[&str] = &["--example client", "ftp://", "ftplib", "lftp ", "/dev/tcp"];

#[test]
fn every_client_demo_is_run_and_its_promise_checked() {
    let mut unchecked = Vec::new();
    for block in shell_blocks(&lessons_text()) {
        let is_demo = CLIENT_DEMOS.iter().any(|demo| block.body.contains(demo));
        let checked = block.marker == "<!-- terminal 2 -->" && block.promises_output;
        if is_demo && !checked && block.marker != "<!-- interactive -->" {
            unchecked.push(format!("LESSONS.md:{}: {}", block.line, block.first));
        }
    }
    assert!(
        unchecked.is_empty(),
        "client demos that are not run, or whose output is not checked (mark them \
         <!-- terminal 2 --> and follow them with <!-- output --> or <!-- log -->):\n{}",
        unchecked.join("\n")
    );
}

#[test]
fn the_lessons_commands_print_what_the_lessons_show() {
    let blocks = marked_blocks(&lessons_text());
    let mut terminals = Terminals::new();
    let mut failures = Vec::new();
    let mut checked_parts: HashSet<&str> = HashSet::new();
    for block in &blocks {
        match terminals.play(block) {
            Played::Done => {}
            Played::OutputChecked => {
                checked_parts.insert(&block.part);
            }
            Played::Failed(why) => failures.push(why),
        }
    }
    let python = terminals.python;
    drop(terminals);
    assert!(
        failures.is_empty(),
        "{} checked blocks of LESSONS.md differ from what the programs print:\n\n{}",
        failures.len(),
        failures.join("\n\n==========\n\n")
    );
    let parts: HashSet<&str> = blocks.iter().map(|b| b.part.as_str()).collect();
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
