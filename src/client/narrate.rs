//! What the student sees: each command sent, each reply received, and one line saying what
//! the reply code means (from [`crate::reply::ReplyCode::explain`], the table the server uses).
//!
//! Every line starts with a marker, so a transcript can be read, and grepped, like RFC 959's
//! own examples:
//!
//! ```text
//! == Stage 2: login (RFC 959 §4.1.1, USER and PASS)
//! C: USER user                          <- a command, exactly as sent (a password masked)
//! S: 331 Username okay, need password.  <- a reply line, exactly as received
//!    (331) user name received: now send the password with PASS
//!    [data] ...                         <- what happens on the second (data) connection
//!    ...                                <- any other remark
//!    note: ... (RFC 959 §4.2)           <- the server departs from the RFCs or common practice
//!    quiz: ...                          <- `--quiz`: the question, the guess, right or wrong
//!    > ...                              <- `--walkthrough`: the explanation of a step
//! ```
//!
//! Colour and progress bars are for people: they are off when standard output is not a
//! terminal (a pipe, a file, a test) and with `--plain`. Output errors (a closed pipe) are
//! ignored, so `client ... | head` cannot crash the client.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use dialoguer::console::{Style, Term};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::error::{ClientError, meaning};
use super::lines::ReceivedReply;

/// Writes the annotated transcript to standard output (errors to standard error).
#[derive(Debug, Clone)]
pub struct Narrator {
    colour: bool,
    progress: bool,
    /// Which side closed the last data connection, for the 226 that follows (see
    /// [`Narrator::closed_by`]); shared by the clones, and taken by the next 226.
    closer: Arc<AtomicU8>,
    /// The terminal's width, to wrap explanations to; `None` when standard output is not a
    /// terminal (a transcript keeps one line per remark, for grep).
    width: Option<usize>,
}

/// Which side closed a data connection: in stream mode the sender's close marks the end of
/// the data (RFC 959 §3.4.1), so exactly one side does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Closer {
    /// A download or a listing: the server sent, and closed.
    Server = 1,
    /// An upload: the client sent, and closed.
    Client = 2,
}

impl Narrator {
    /// A narrator for this process's standard output: colour and progress bars only when it is
    /// a terminal and `plain` was not asked for.
    pub fn new(plain: bool) -> Narrator {
        let term = Term::stdout();
        let fancy = !plain && term.is_term();
        Narrator {
            colour: fancy,
            progress: fancy,
            closer: Arc::default(),
            width: term
                .is_term()
                .then(|| usize::from(term.size().1))
                .filter(|w| *w >= 20),
        }
    }

    /// A narrator that never uses colour or progress bars.
    pub fn plain() -> Narrator {
        Narrator {
            colour: false,
            progress: false,
            closer: Arc::default(),
            width: None,
        }
    }

    /// Whether colour is on (the menu uses the same choice for its theme).
    pub fn colour(&self) -> bool {
        self.colour
    }

    /// A heading for one step of the flow: a stage of the seed, or a menu action.
    pub fn stage(&self, title: &str) {
        self.line(&format!("\n== {title}"), Style::new().bold());
    }

    /// A command as it goes on the wire, without its CRLF. The caller masks passwords.
    pub fn command(&self, line: &str) {
        self.line(&format!("C: {line}"), Style::new().cyan().bold());
    }

    /// A reply: every line exactly as received, then what its code means.
    pub fn reply(&self, reply: &ReceivedReply) {
        let style = if reply.code >= 400 {
            Style::new().red()
        } else {
            Style::new().green()
        };
        for line in &reply.lines {
            self.line(&format!("S: {line}"), style.clone());
        }
        self.explain(reply.code);
    }

    /// Say which side closed the data connection: the 226 that follows says it too.
    pub fn closed_by(&self, closer: Closer) {
        self.closer.store(closer as u8, Ordering::SeqCst);
    }

    /// The one-line meaning of a reply code. A 226 after a transfer says which side closed
    /// the data connection; the shared table's sentence cannot know.
    pub fn explain(&self, code: u16) {
        let closer = match code {
            226 => self.closer.swap(0, Ordering::SeqCst),
            _ => 0,
        };
        let text = match closer {
            c if c == Closer::Server as u8 => {
                "the transfer is complete: the server sent everything and closed the data \
                 connection to mark the end"
            }
            c if c == Closer::Client as u8 => {
                "the transfer is complete: the client's close of the data connection marked \
                 the end, and the server has every byte"
            }
            _ => meaning(code),
        };
        self.line(&format!("   ({code}) {text}"), Style::new().dim());
    }

    /// A remark that is neither a command nor a reply.
    pub fn note(&self, text: &str) {
        self.line(&format!("   {text}"), Style::new());
    }

    /// A protocol note (see [`super::notes`]): one line, with the RFC section it is about.
    pub fn protocol(&self, text: &str, rfc: &str) {
        self.line(
            &format!("   note: {text} ({rfc})"),
            Style::new().yellow().bold(),
        );
    }

    /// A line of the quiz (see [`super::quiz`]).
    pub fn quiz(&self, text: &str) {
        self.line(&format!("   quiz: {text}"), Style::new().blue().bold());
    }

    /// A step of the walkthrough: its heading (see [`super::walkthrough`]).
    pub fn step(&self, title: &str) {
        self.line(&format!("\n## {title}"), Style::new().bold().underlined());
    }

    /// A line of a walkthrough step's explanation.
    pub fn lesson(&self, text: &str) {
        self.line(&format!("   > {text}"), Style::new().italic());
    }

    /// An event on the data connection: opened, bytes moved, closed.
    pub fn data(&self, text: &str) {
        self.line(&format!("   [data] {text}"), Style::new().magenta());
    }

    /// Lines that travelled on the data connection (a listing), shown as they came.
    pub fn content(&self, text: &str) {
        self.line(&format!("   | {text}"), Style::new().yellow());
    }

    /// A failed step: one sentence on standard error.
    pub fn error(&self, error: &ClientError) {
        let text = format!("error: {error}");
        let text = if self.colour {
            Style::new().red().bold().apply_to(text).to_string()
        } else {
            text
        };
        let _ = io::stdout().flush();
        let _ = writeln!(io::stderr(), "{text}");
    }

    /// A progress bar for a transfer of `total` bytes (a spinner when the total is unknown),
    /// or `None` when bars are off. It shows bytes, rate and, with a total, the time left.
    pub fn progress_bar(&self, total: Option<u64>) -> Option<ProgressBar> {
        if !self.progress {
            return None;
        }
        let (bar, template) = match total {
            Some(total) => (
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout()),
                "   [data] {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout()),
                "   [data] {spinner} {bytes} {binary_bytes_per_sec}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Some(bar)
    }

    fn line(&self, text: &str, style: Style) {
        // Commands, replies and listing lines are shown exactly as they travelled; the
        // explanations around them are wrapped to the terminal.
        let exact = !text.starts_with("   ") || text.starts_with("   | ");
        let lines = match self.width {
            Some(width) if !exact => wrap(text, width),
            _ => vec![text.to_string()],
        };
        let mut out = io::stdout().lock();
        for line in lines {
            let line = if self.colour {
                style.apply_to(line).to_string()
            } else {
                line
            };
            let _ = writeln!(out, "{line}");
        }
    }
}

/// `text` cut at spaces into lines of at most `width` characters; the continuation lines are
/// indented like the text after the line's marker (`   (226) `, `   note: `, `   [data] `,
/// `   > `), so a remark stays one block at any width. A word longer than a line is left
/// whole.
///
/// ```
/// use localftp::client::narrate::wrap;
/// assert_eq!(
///     wrap("   note: one two three", 20),
///     ["   note: one two", "         three"]
/// );
/// ```
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    if text.chars().count() <= width {
        return vec![text.to_string()];
    }
    let spaces = text.len() - text.trim_start_matches(' ').len();
    let rest = &text[spaces..];
    let marker = rest.split(' ').next().unwrap_or("");
    let is_marker = matches!(marker, "note:" | "quiz:" | "[data]" | ">")
        || (marker.len() == 5 && marker.starts_with('(') && marker.ends_with(')'));
    let indent = if is_marker {
        spaces + marker.len() + 1
    } else {
        spaces
    };
    // Past half the width the indent would leave too little room: fall back to the spaces.
    let indent = if indent * 2 > width { spaces } else { indent };
    let mut lines = Vec::new();
    let mut line = text[..spaces].to_string();
    let mut line_len = spaces;
    let mut fresh = true;
    for word in rest.split(' ').filter(|w| !w.is_empty()) {
        let len = word.chars().count();
        if !fresh && line_len + 1 + len > width {
            lines.push(std::mem::take(&mut line));
            line = " ".repeat(indent);
            line_len = indent;
            fresh = true;
        }
        if !fresh {
            line.push(' ');
            line_len += 1;
        }
        line.push_str(word);
        line_len += len;
        fresh = false;
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_left_alone() {
        assert_eq!(wrap("   (226) done", 80), ["   (226) done"]);
    }

    #[test]
    fn continuation_lines_line_up_after_the_marker() {
        let text = "   (226) the transfer is complete: the server sent everything and closed the \
                    data connection to mark the end";
        let lines = wrap(text, 40);
        assert!(lines.len() > 1, "{lines:?}");
        for line in &lines {
            assert!(line.chars().count() <= 40, "{line:?}");
        }
        for line in &lines[1..] {
            assert!(
                line.starts_with("         ") && !line.starts_with("          "),
                "{line:?}"
            );
        }
        assert_eq!(
            lines.join(" ").split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_marker_sets_the_indent() {
        for (text, indent) in [
            ("   note: aaaa bbbb cccc dddd", 9),
            ("   [data] aaaa bbbb cccc dddd", 10),
            ("   > aaaa bbbb cccc dddd", 5),
            ("   quiz: aaaa bbbb cccc dddd", 9),
            ("   plain remark aaaa bbbb cccc", 3),
        ] {
            let lines = wrap(text, 20);
            assert!(lines.len() > 1, "{lines:?}");
            let second = &lines[1];
            let spaces = second.len() - second.trim_start().len();
            assert_eq!(spaces, indent, "{text:?}: {lines:?}");
        }
    }

    #[test]
    fn a_word_longer_than_the_line_stays_whole() {
        let lines = wrap("   note: 0123456789012345678901234567890 x", 20);
        assert_eq!(lines[0], "   note:");
        assert!(lines.contains(&"         0123456789012345678901234567890".to_string()));
    }
}
