//! What the checks read in LESSONS.md: code spans, marked blocks, shell blocks and lessons.
//!
//! Everything here is plain line-by-line reading of Markdown; nothing is run and nothing is
//! looked up. A *code span* is text between backticks outside fenced blocks; [`code_name`] and
//! [`file_name`] say whether one names code or a file. A *marked block* is a fenced block right
//! after one of the hidden comments `<!-- terminal 1 -->`, `<!-- terminal 2 -->`,
//! `<!-- output -->`, `<!-- output: numbers vary -->` or `<!-- log -->`; [`marked_blocks`] turns
//! them into [`Step`]s, in the order a student meets them. [`shell_blocks`] lists every `sh`
//! block with the marker before it, and [`lessons`] each lesson's title and reading list.

use super::index::ident;

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

/// A code span that is a code name by the convention: `a::b::c`, optionally with `()`, or
/// `name()`. Spans in other crates return `None`, as do spans that are not Rust paths.
pub fn code_name(span: &str) -> Option<&str> {
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
pub fn file_name(span: &str) -> Option<&str> {
    let looks_like_path = ["src/", "tests/", "examples/"]
        .iter()
        .any(|prefix| span.starts_with(prefix))
        && span
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
    looks_like_path.then_some(span)
}

/// One inline code span of LESSONS.md, with where it is.
pub struct Span {
    pub text: String,
    pub line: usize,
    pub lesson: String,
}

/// Every inline code span outside fenced blocks, with its line number and lesson.
pub fn inline_spans(doc: &str) -> Vec<Span> {
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

/// One lesson (a `### Lesson …` section) as the reading-list check sees it.
pub struct Lesson<'a> {
    pub title: &'a str,
    /// Whether it has a `**Code to read:**` line.
    pub has_code_to_read: bool,
    /// The `- ` entries of the list after that line.
    pub code_to_read: Vec<&'a str>,
    /// Whether it has an `<!-- output` marker.
    pub has_output: bool,
}

/// Every `### Lesson` section, in order.
pub fn lessons(doc: &str) -> Vec<Lesson<'_>> {
    let mut lessons = Vec::new();
    for section in doc.split("\n### ").skip(1) {
        let title = section.lines().next().unwrap_or_default();
        if !title.starts_with("Lesson") {
            continue;
        }
        let mut lines = section
            .lines()
            .skip_while(|l| l.trim() != "**Code to read:**");
        let has_code_to_read = lines.next().is_some();
        let code_to_read = lines
            .skip_while(|l| l.trim().is_empty())
            .take_while(|l| l.starts_with("- "))
            .collect();
        lessons.push(Lesson {
            title,
            has_code_to_read,
            code_to_read,
            has_output: section.contains("<!-- output"),
        });
    }
    lessons
}

/// One `sh` block, marked or not.
pub struct ShellBlock {
    /// The line number of its first line (the line after the fence).
    pub line: usize,
    /// Its first line, trimmed.
    pub first: String,
    pub body: String,
    /// The line before the fence, trimmed: `<!-- terminal 2 -->`, `<!-- interactive -->`, ….
    pub marker: String,
    /// Whether an `<!-- output -->`, `<!-- output: numbers vary -->` or `<!-- log -->` marker
    /// follows before the next `sh` block.
    pub promises_output: bool,
}

/// Every fenced `sh` block, in order.
pub fn shell_blocks(doc: &str) -> Vec<ShellBlock> {
    let lines: Vec<&str> = doc.lines().collect();
    let fence_at = |from: usize, fence: &str| {
        (from..lines.len())
            .find(|&j| lines[j].trim() == fence)
            .unwrap_or(lines.len())
    };
    let mut blocks = Vec::new();
    let mut i = fence_at(0, "```sh");
    while i < lines.len() {
        let end = fence_at(i + 1, "```");
        let next_shell = fence_at(end + 1, "```sh");
        let after = lines.get(end + 1..next_shell).unwrap_or_default();
        blocks.push(ShellBlock {
            line: i + 2,
            first: lines.get(i + 1).map_or("", |l| l.trim()).to_string(),
            body: lines[i + 1..end].join("\n"),
            marker: i.checked_sub(1).map_or("", |k| lines[k].trim()).to_string(),
            promises_output: after.iter().any(|line| {
                matches!(
                    line.trim(),
                    "<!-- output -->" | "<!-- output: numbers vary -->" | "<!-- log -->"
                )
            }),
        });
        i = next_shell;
    }
    blocks
}

/// One marked block of LESSONS.md.
#[derive(Debug)]
pub enum Step {
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
pub struct Marked {
    pub step: Step,
    pub line: usize,
    pub part: String,
    pub lesson: String,
}

/// The marked blocks, in order. A marker must be followed by a fenced block of the right kind.
pub fn marked_blocks(doc: &str) -> Vec<Marked> {
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
    // The guided client splits its actions the way a shell splits the simple quoting the
    // lessons use.
    let words = localftp::client::action::words(body.trim())
        .unwrap_or_else(|e| panic!("LESSONS.md:{line}: {e}"));
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
