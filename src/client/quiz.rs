//! `--quiz`: before each reply arrives, the student predicts it (RFC 959 §4.2.1, the meaning of
//! each digit), then sees the real reply, whether the guess was right and why.
//!
//! A guess is a first digit (`1`–`5`: started, done, go on, failed for now, failed) or a whole
//! code (`331`). A digit is right when the reply's first digit matches; a code only when it is
//! the very code. `-` skips a reply. At a terminal the client asks; `--quiz-answers 2,3,2,…`
//! gives the guesses in order instead (for tests, and for a teacher's worked example), and once
//! they run out the remaining replies are not asked. The score is shown when the client ends:
//! `quiz: 7 of 9 right`.
//!
//! The quiz hooks into [`super::wire`], between sending a command and reading its reply, so
//! every reply of every mode (the menu, a script, the walkthrough) is a question.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use dialoguer::Input;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};

use super::error::{ClientError, meaning};
use super::narrate::Narrator;
use super::terminal::keyed;
use crate::reply::ReplyCode;

/// The quiz of one run, shared by every control connection it opens (the walkthrough opens
/// two).
pub type SharedQuiz = Rc<RefCell<Quiz>>;

/// The choice shown with each question: what each first digit means, in a few words.
pub const CHOICES: &str = "1 started · 2 done · 3 go on · 4 failed, try later · 5 failed";

/// One prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// The first digit, 1 to 5.
    Class(u8),
    /// A whole three-digit code.
    Code(u16),
    /// No guess for this reply.
    Skip,
}

impl Guess {
    /// Read one guess: `1`–`5`, a code from 100 to 599, or `-` (skip).
    ///
    /// ```
    /// use localftp::client::quiz::Guess;
    /// assert_eq!(Guess::parse("3"), Ok(Guess::Class(3)));
    /// assert_eq!(Guess::parse(" 226 "), Ok(Guess::Code(226)));
    /// assert_eq!(Guess::parse("-"), Ok(Guess::Skip));
    /// assert!(Guess::parse("7").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Guess, String> {
        let text = text.trim();
        match text {
            "-" | "" => return Ok(Guess::Skip),
            "1" | "2" | "3" | "4" | "5" => return Ok(Guess::Class(text.as_bytes()[0] - b'0')),
            _ => {}
        }
        match text.parse::<u16>() {
            Ok(code) if text.len() == 3 && (100..600).contains(&code) => Ok(Guess::Code(code)),
            _ => Err(format!(
                "{text:?} is not a guess: give a first digit 1-5, a code such as 331, or - to skip"
            )),
        }
    }

    /// Read a comma-separated list of guesses (`--quiz-answers`).
    pub fn parse_list(text: &str) -> Result<Vec<Guess>, String> {
        text.split(',').map(Guess::parse).collect()
    }
}

/// The state of the quiz: where the guesses come from, and the score.
#[derive(Debug)]
pub struct Quiz {
    /// `Some`: the scripted guesses still to use; `None`: ask at the terminal.
    scripted: Option<VecDeque<Guess>>,
    colour: bool,
    asked: u32,
    right: u32,
    ran_out: bool,
}

impl Quiz {
    /// A quiz that asks at the terminal.
    pub fn interactive(colour: bool) -> SharedQuiz {
        Rc::new(RefCell::new(Quiz {
            scripted: None,
            colour,
            asked: 0,
            right: 0,
            ran_out: false,
        }))
    }

    /// A quiz that takes its guesses from a list, in order.
    pub fn scripted(guesses: Vec<Guess>) -> SharedQuiz {
        Rc::new(RefCell::new(Quiz {
            scripted: Some(guesses.into()),
            colour: false,
            asked: 0,
            right: 0,
            ran_out: false,
        }))
    }

    /// Ask for a prediction of `what` (e.g. "the reply to USER"); `None` when there is none.
    pub fn ask(&mut self, narrator: &Narrator, what: &str) -> Result<Option<Guess>, ClientError> {
        let guess = match &mut self.scripted {
            Some(guesses) => match guesses.pop_front() {
                Some(guess) => {
                    narrator.quiz(&format!("predict {what} ({CHOICES}, or a code)"));
                    narrator.quiz(&format!("your guess: {}", shown(guess)));
                    guess
                }
                None => {
                    if !std::mem::replace(&mut self.ran_out, true) {
                        narrator.quiz("no guesses left in --quiz-answers: the rest is not asked");
                    }
                    return Ok(None);
                }
            },
            None => {
                narrator.quiz(&format!("predict {what}"));
                narrator.quiz(&format!("{CHOICES}; or a whole code; Enter skips"));
                let theme: Box<dyn Theme> = match self.colour {
                    true => Box::new(ColorfulTheme::default()),
                    false => Box::new(SimpleTheme),
                };
                let text = keyed(|| {
                    Input::<String>::with_theme(theme.as_ref())
                        .with_prompt("Your guess")
                        .allow_empty(true)
                        .validate_with(|text: &String| Guess::parse(text).map(|_| ()))
                        .interact_text()
                })?;
                Guess::parse(&text).unwrap_or(Guess::Skip)
            }
        };
        Ok((guess != Guess::Skip).then_some(guess))
    }

    /// Compare the guess with the reply that came, count it, and say why the reply is what it
    /// is. `verb` is the command it answers (empty for the greeting).
    pub fn judge(&mut self, narrator: &Narrator, guess: Guess, code: u16, verb: &str) {
        self.asked += 1;
        let class = code / 100;
        let (right, said) = match guess {
            Guess::Class(digit) => (u16::from(digit) == class, format!("{digit}yz")),
            Guess::Code(guessed) => (guessed == code, guessed.to_string()),
            Guess::Skip => return,
        };
        let why = why(verb, code);
        if right {
            self.right += 1;
            narrator.quiz(&format!("right: {code} ({class}yz): {why}"));
        } else {
            let near = match guess {
                Guess::Code(guessed) if guessed / 100 == class => ", the first digit was right",
                _ => "",
            };
            narrator.quiz(&format!(
                "not this time: you said {said}{near}; it is {code} ({class}yz, {}): {why}",
                ReplyCode::class_of(code)
            ));
        }
    }

    /// Right answers and questions asked, once anything was asked.
    pub fn tally(&self) -> Option<(u32, u32)> {
        (self.asked > 0).then_some((self.right, self.asked))
    }

    /// The score line, once anything was asked: `7 of 9 right`.
    pub fn score(&self) -> Option<String> {
        (self.asked > 0).then(|| format!("{} of {} right", self.right, self.asked))
    }
}

/// With a quiz: ask for a prediction of `what`.
pub fn ask(
    quiz: Option<&SharedQuiz>,
    narrator: &Narrator,
    what: &str,
) -> Result<Option<Guess>, ClientError> {
    match quiz {
        Some(quiz) => quiz.borrow_mut().ask(narrator, what),
        None => Ok(None),
    }
}

/// With a quiz and a guess: say whether the guess was right.
pub fn judge(
    quiz: Option<&SharedQuiz>,
    narrator: &Narrator,
    guess: Option<Guess>,
    code: u16,
    verb: &str,
) {
    if let (Some(quiz), Some(guess)) = (quiz, guess) {
        quiz.borrow_mut().judge(narrator, guess, code, verb);
    }
}

fn shown(guess: Guess) -> String {
    match guess {
        Guess::Class(digit) => format!("{digit} (a {digit}yz reply)"),
        Guess::Code(code) => code.to_string(),
        Guess::Skip => "- (skipped)".into(),
    }
}

/// Why `code` is the answer to `verb`: the reasoning for the usual cases, else the code's
/// meaning from the shared table.
///
/// ```
/// use localftp::client::quiz::why;
/// assert!(why("USER", 331).contains("password"));
/// assert!(why("FOO", 500).contains("does not know"));
/// ```
pub fn why(verb: &str, code: u16) -> String {
    let reason = match (verb, code) {
        ("", 220) => "the server speaks first, and says it is ready for USER",
        ("USER", 331) => "USER only names the account: the password must follow, so 'go on'",
        ("USER", 230) => "this account needs no password: logged in at once",
        ("PASS", 230) => "PASS completes the login started by USER",
        ("PASS", 530) => "the password was wrong, so the login failed for good (5yz)",
        ("PWD", 257) => "PWD answers at once with the current folder in quotes",
        ("TYPE" | "PBSZ" | "PROT" | "PORT" | "EPRT", 200) => {
            "it only changes a setting, so it is done at once"
        }
        ("PASV", 227) => "PASV is answered at once with the address to connect to",
        ("EPSV", 229) => "EPSV is answered at once with the port to connect to",
        ("LIST" | "NLST" | "MLSD" | "RETR" | "STOR" | "APPE", 125 | 150) => {
            "a transfer first says 'started' (1yz); its verdict comes after the data"
        }
        (_, 226) => "the data connection is closed and the transfer complete",
        ("CWD" | "CDUP" | "DELE" | "RMD" | "RNTO", 250) => "the folder or file action is done",
        ("MKD", 257) => "MKD answers with the path of the new folder",
        ("RNFR" | "REST", 350) => "it waits for the next command (RNTO, or RETR), so 'go on'",
        ("SIZE", 213) => "SIZE answers at once with the size in bytes",
        (_, 550) => "the file or folder does not exist, or may not be used: refused for good",
        ("QUIT", 221) => "the server says goodbye and closes the control connection",
        ("AUTH", 234) => "the server agrees to TLS; the handshake follows",
        ("FEAT", 211) => "FEAT lists the extensions, on several lines",
        _ => return meaning(code).to_string(),
    };
    reason.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_codes_are_scored_at_their_own_precision() {
        let narrator = Narrator::plain();
        let mut quiz = Quiz {
            scripted: None,
            colour: false,
            asked: 0,
            right: 0,
            ran_out: false,
        };
        quiz.judge(&narrator, Guess::Class(3), 331, "USER");
        quiz.judge(&narrator, Guess::Code(230), 230, "PASS");
        quiz.judge(&narrator, Guess::Code(200), 226, "");
        quiz.judge(&narrator, Guess::Class(2), 550, "CWD");
        assert_eq!(quiz.score().as_deref(), Some("2 of 4 right"));
    }

    #[test]
    fn lists_of_guesses_parse_or_say_what_is_wrong() {
        assert_eq!(
            Guess::parse_list("2,3,230,-"),
            Ok(vec![
                Guess::Class(2),
                Guess::Class(3),
                Guess::Code(230),
                Guess::Skip
            ])
        );
        assert!(Guess::parse_list("2,x").unwrap_err().contains("\"x\""));
        assert!(Guess::parse("600").is_err());
        assert!(Guess::parse("0").is_err());
    }

    #[test]
    fn scripted_guesses_run_out_quietly() {
        let quiz = Quiz::scripted(vec![Guess::Class(2)]);
        let narrator = Narrator::plain();
        let first = quiz.borrow_mut().ask(&narrator, "the greeting").unwrap();
        assert_eq!(first, Some(Guess::Class(2)));
        assert_eq!(quiz.borrow_mut().ask(&narrator, "x").unwrap(), None);
        assert_eq!(quiz.borrow().score(), None);
    }
}
