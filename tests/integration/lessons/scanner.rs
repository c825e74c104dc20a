//! Reading Rust code a line at a time without a parser: which brackets are open, and where
//! strings, characters and comments are.
//!
//! The source indexer ([`super::index`]) needs to know, at the start of each line, how deep the
//! line is nested: an item of a file starts at depth 0, a method of an `impl` block at depth 1,
//! and a line inside a string or a comment is not code at all. Counting `(`, `[` and `{` gives
//! the depth, but only if the brackets inside `"a {"`, `'{'`, `r#"…"#`, `// {` and `/* { */`
//! are not counted, which is all [`Scanner`] takes care of. A `'` starts a character only if it
//! is closed one character later (`'x'`) or starts an escape (`'\n'`); otherwise it is a
//! lifetime or a label (`'a`, `'outer:`).

/// Where the scanner is between two characters of code.
#[derive(Default, Clone, Copy)]
enum Inside {
    #[default]
    Code,
    /// A string: `"…"`, `b"…"`.
    Str,
    /// A raw string closed by `"` and this many `#`: `r#"…"#`.
    RawStr(usize),
    /// A block comment, nested this deep: `/* … */`.
    Comment(usize),
}

/// What a line did at depth 0.
pub enum Event {
    /// A `{` opened a block.
    Open,
    /// A `}` closed the block.
    Close,
    /// A `;` ended an item (`mod jail;`, `const N: u8 = 1;`).
    End,
}

/// Reads code a line at a time, counting the brackets (`(`, `[`, `{`) that are still open and
/// skipping what is in strings, character literals and comments.
#[derive(Default)]
pub struct Scanner {
    /// How many brackets are open where the scanner stopped (at the end of the last line).
    pub depth: usize,
    inside: Inside,
}

impl Scanner {
    /// Whether the next line starts in code (not inside a string or a block comment).
    pub fn in_code(&self) -> bool {
        matches!(self.inside, Inside::Code)
    }

    /// Read one line; say what it opened, closed or ended at depth 0.
    pub fn scan(&mut self, line: &str) -> Vec<Event> {
        let chars: Vec<char> = line.chars().collect();
        let at = |i: usize| chars.get(i).copied().unwrap_or('\n');
        let mut events = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match self.inside {
                Inside::Str => match c {
                    '\\' => i += 1,
                    '"' => self.inside = Inside::Code,
                    _ => {}
                },
                Inside::RawStr(hashes) => {
                    if c == '"' && (i..i + hashes).all(|k| at(k) == '#') {
                        i += hashes;
                        self.inside = Inside::Code;
                    }
                }
                Inside::Comment(nested) => {
                    if c == '*' && at(i) == '/' {
                        i += 1;
                        self.inside = match nested {
                            1 => Inside::Code,
                            _ => Inside::Comment(nested - 1),
                        };
                    } else if c == '/' && at(i) == '*' {
                        i += 1;
                        self.inside = Inside::Comment(nested + 1);
                    }
                }
                Inside::Code => match c {
                    '/' if at(i) == '/' => break,
                    '/' if at(i) == '*' => {
                        i += 1;
                        self.inside = Inside::Comment(1);
                    }
                    '"' => self.inside = Inside::Str,
                    // A character ('x', '\n', '\u{7f}'), or else a lifetime or label ('a).
                    '\'' if at(i) == '\\' => {
                        i = (i + 2..chars.len()).find(|&k| at(k) == '\'').unwrap_or(i) + 1;
                    }
                    '\'' if at(i + 1) == '\'' => i += 2,
                    // A word; `r`, `br` and `cr` before `"` or `#"` start a raw string.
                    c if c.is_alphabetic() || c == '_' => {
                        let start = i - 1;
                        while at(i).is_alphanumeric() || at(i) == '_' {
                            i += 1;
                        }
                        let word: String = chars[start..i].iter().collect();
                        let hashes = (i..chars.len()).take_while(|&k| at(k) == '#').count();
                        if ["r", "br", "cr"].contains(&word.as_str()) && at(i + hashes) == '"' {
                            i += hashes + 1;
                            self.inside = Inside::RawStr(hashes);
                        }
                    }
                    '(' | '[' | '{' => {
                        if c == '{' && self.depth == 0 {
                            events.push(Event::Open);
                        }
                        self.depth += 1;
                    }
                    ')' | ']' | '}' => {
                        self.depth = self.depth.saturating_sub(1);
                        if c == '}' && self.depth == 0 {
                            events.push(Event::Close);
                        }
                    }
                    ';' if self.depth == 0 => events.push(Event::End),
                    _ => {}
                },
            }
        }
        events
    }
}
