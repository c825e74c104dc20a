//! `--walkthrough`: the seed's whole flow, played one explained step at a time; the lesson in
//! one command (RFC 959 §5.4, the command-reply sequences; the seed's workflow document, stages
//! 1 to 3 and its error cases).
//!
//! | step | what happens | the replies |
//! |------|--------------|-------------|
//! | 1 | stage 1: the control connection | `220` |
//! | 2 | stage 2: login | `331`, `230` |
//! | 3 | a wrong password, on a second connection | `331`, `530` |
//! | 4 | PWD | `257` |
//! | 5 | LIST over a data connection, with PASV's arithmetic | `200`, `227`, `150`/`125`, `226` |
//! | 6 | RETR `baca_saya.txt` | `200`, `227`, `150`/`125`, `226` |
//! | 7 | STOR it back under another name | `227`, `150`/`125`, `226` |
//! | 8 | CWD `Folder_Tes`, PWD, CDUP | `250`, `257`, `250` |
//! | 9 | CWD to a folder that does not exist | `550` |
//! | 10 | RETR a file that does not exist | `550` |
//! | 11 | a port where no server listens | connection refused |
//! | 12 | QUIT | `221` |
//!
//! At a terminal it pauses for Enter before each step; without one (a pipe, a test) it runs
//! straight through. It needs no prompt: the flags, or the seed's host, port, user and
//! password (`12345`). It ends with exit code 0 when every step went as the seed describes,
//! failures included, and 1 otherwise.

use std::io::{self, BufRead, IsTerminal, Write};
use std::net::TcpListener;
use std::process::ExitCode;

use super::error::ClientError;
use super::narrate::Narrator;
use super::quiz::SharedQuiz;
use super::tls::Tls;
use super::{Client, DEFAULT_HOST, DEFAULT_PASSWORD, DEFAULT_USER, Options};
use crate::seed::{SAMPLE_FILE, SAMPLE_FOLDER, SEED_PORT};

/// The name the downloaded file is uploaded under in step 7.
const UPLOAD_NAME: &str = "copy_of_baca_saya.txt";

/// Names that do not exist on the seed's server, for the 550 steps.
const MISSING_FOLDER: &str = "Folder_Yang_Tidak_Ada";
const MISSING_FILE: &str = "tidak_ada.txt";

const STEPS: usize = 12;

/// Play the walkthrough (the flags were checked: `--tls` applies to both connections).
pub fn play(options: &Options, narrator: Narrator, quiz: Option<SharedQuiz>) -> ExitCode {
    let host = options.host.clone().unwrap_or_else(|| DEFAULT_HOST.into());
    let port = options.port.unwrap_or(SEED_PORT);
    let user = options.user.clone().unwrap_or_else(|| DEFAULT_USER.into());
    let password = options
        .password
        .clone()
        .unwrap_or_else(|| DEFAULT_PASSWORD.into());
    let mut walk = Walk {
        narrator: narrator.clone(),
        pause: io::stdin().is_terminal(),
        step: 0,
        surprises: Vec::new(),
    };
    walk.narrator.lesson(&format!(
        "the seed's whole flow against {host}:{port} as {user}, in {STEPS} steps{}",
        if walk.pause {
            "; Enter goes on to the next step"
        } else {
            ""
        }
    ));
    let connect = || {
        let tls = Tls::for_host(options, &host)?;
        Client::connect(
            &host,
            port,
            options.timeout,
            narrator.clone(),
            tls,
            quiz.clone(),
        )
    };

    walk.step(
        "stage 1, the control connection",
        &[
            "the client opens a TCP connection to the server's port: SYN, SYN-ACK, ACK (the \
             three-way handshake, done by the two kernels)",
            "commands and replies travel on it as lines of text; the server speaks first, with \
             a 220 greeting (the seed: ftp.connect(FTP_HOST, FTP_PORT))",
        ],
    );
    let mut client = match connect() {
        Ok(client) => client,
        Err(error) => return walk.stop(&error),
    };
    client.mode = options.mode;
    client.report_quiz = !options.no_report;
    walk.step(
        "stage 2, login",
        &[
            "USER names the account and is answered 331, 'go on': the password must follow",
            "PASS completes the login with 230; in plain FTP the password crosses the network \
             as clear text (FTPS, --tls, encrypts it)",
        ],
    );
    if let Err(error) = client.login(&user, &password) {
        return walk.stop(&error);
    }
    if client.is_tls()
        && let Err(error) = client.protect_data()
    {
        return walk.stop(&error);
    }
    walk.step(
        "stage 2, with a wrong password (a second connection)",
        &[
            "a second control connection, so the first stays logged in: the same USER, then a \
             wrong password",
            "the server answers 530, a permanent failure: ftplib raises error_perm, and this \
             client says so in one sentence",
        ],
    );
    match connect() {
        Ok(mut second) => {
            let result = second.login(&user, "not-the-password");
            walk.expect_refusal(result, 530, "the wrong password");
            // Not logged in: the score goes with the first connection's QUIT.
            second.report_quiz = false;
            let _ = second.quit();
        }
        Err(error) => walk.surprise(&error),
    }

    walk.step(
        "stage 3, PWD: where am I?",
        &[
            "PWD is answered 257 with the folder in quotes: / is the user's home, not the \
           server's disk (a chroot jail)",
        ],
    );
    let result = client.pwd();
    walk.expect_ok(result);
    walk.step(
        "stage 3, LIST: the second connection",
        &[
            "files and listings never travel on the control connection: each one gets a data \
             connection of its own",
            "PASV asks the server to listen; its 227 gives six numbers h1,h2,h3,h4,p1,p2, and \
             the port is p1 × 256 + p2",
            "the client connects there, sends LIST, reads the lines until the server closes the \
             data connection, and the server confirms with 226",
        ],
    );
    let result = client.list(None);
    walk.expect_ok(result);
    walk.step(
        &format!("stage 3, RETR: download {SAMPLE_FILE}"),
        &[
            "TYPE I first: binary, every byte as stored (the seed's retrbinary and \"wb\")",
            "then the same dance as LIST: PASV, connect, RETR, bytes, close, 226",
        ],
    );
    let result = client.get(SAMPLE_FILE, None);
    walk.expect_ok(result);
    walk.step(
        &format!("stage 3, STOR: upload it back as {UPLOAD_NAME}"),
        &[
            "now the client sends and the server receives; the client closes the data connection \
           to say 'that was the last byte' (stream mode), and the server answers 226",
        ],
    );
    let result = client.put(SAMPLE_FILE, Some(UPLOAD_NAME));
    walk.expect_ok(result);
    walk.step(
        &format!("stage 3, CWD: into {SAMPLE_FOLDER} and back"),
        &["CWD changes the folder (250), PWD shows it, CDUP goes back up"],
    );
    let result = client
        .cd(SAMPLE_FOLDER)
        .and_then(|()| client.pwd())
        .and_then(|()| client.up());
    walk.expect_ok(result);

    walk.step(
        "error case: CWD to a folder that does not exist",
        &[
            "the server checks the folder and refuses with 550, a permanent failure; the session \
           goes on",
        ],
    );
    let result = client.cd(MISSING_FOLDER);
    walk.expect_refusal(result, 550, "the missing folder");
    walk.step(
        "error case: RETR a file that does not exist",
        &[
            "the data connection is set up first, then RETR is refused with 550; the unused data \
           connection is closed and no local file is left behind",
        ],
    );
    let result = client.get(MISSING_FILE, None);
    walk.expect_refusal(result, 550, "the missing file");
    walk.step(
        "error case: no server on the port",
        &[
            "a port on this machine where nothing listens: the kernel answers the SYN with a \
           reset, and the connection is refused before any FTP is spoken",
        ],
    );
    match free_port() {
        Some(closed) => match Client::connect(
            "127.0.0.1",
            closed,
            options.timeout,
            narrator.clone(),
            None,
            None,
        ) {
            Err(error @ ClientError::Connect { .. }) => {
                walk.narrator
                    .lesson(&format!("as the seed expects: {error}"));
            }
            Err(error) => walk.surprise(&error),
            Ok(_) => walk
                .surprises
                .push(format!("something answered on port {closed}")),
        },
        None => walk.narrator.lesson("(skipped: no free port to try)"),
    }

    walk.step(
        "QUIT",
        &["QUIT is answered 221, and the server closes the control connection"],
    );
    let result = client.quit();
    walk.expect_ok(result);
    walk.finish()
}

/// The walkthrough's progress, and what did not go as the seed describes.
struct Walk {
    narrator: Narrator,
    pause: bool,
    step: usize,
    surprises: Vec<String>,
}

impl Walk {
    /// Start the next step: wait for Enter (at a terminal), then its heading and explanation.
    fn step(&mut self, title: &str, lesson: &[&str]) {
        self.step += 1;
        if self.pause && self.step > 1 {
            print!("\n   (Enter: step {} of {STEPS}) ", self.step);
            let _ = io::stdout().flush();
            let _ = io::stdin().lock().read_line(&mut String::new());
        }
        self.narrator
            .step(&format!("Step {} of {STEPS}: {title}", self.step));
        for line in lesson {
            self.narrator.lesson(line);
        }
    }

    fn expect_ok(&mut self, result: Result<(), ClientError>) {
        if let Err(error) = result {
            self.surprise(&error);
        }
    }

    /// An error case: the step should fail with `code`.
    fn expect_refusal(&mut self, result: Result<(), ClientError>, code: u16, what: &str) {
        match result {
            Err(ClientError::Refused {
                code: got, text, ..
            }) if got == code => {
                self.narrator
                    .lesson(&format!("as the seed expects, {what} gets {code}: {text}"));
            }
            Err(error) => self.surprise(&error),
            Ok(()) => self
                .surprises
                .push(format!("{what} was accepted, not refused with {code}")),
        }
    }

    fn surprise(&mut self, error: &ClientError) {
        self.narrator.error(error);
        self.surprises.push(error.to_string());
    }

    /// A step failed in a way that ends the session: stop here.
    fn stop(mut self, error: &ClientError) -> ExitCode {
        self.surprise(error);
        self.narrator.lesson(&format!(
            "the walkthrough stops at step {} of {STEPS}: the session cannot go on",
            self.step
        ));
        ExitCode::FAILURE
    }

    fn finish(self) -> ExitCode {
        self.narrator.step("The end");
        if self.surprises.is_empty() {
            self.narrator.lesson(&format!(
                "all {STEPS} steps went as the seed describes, the error cases included"
            ));
            ExitCode::SUCCESS
        } else {
            self.narrator.lesson(&format!(
                "{} step(s) did not go as the seed describes: {}",
                self.surprises.len(),
                self.surprises.join("; ")
            ));
            ExitCode::FAILURE
        }
    }
}

/// A loopback port where nothing listens (one the kernel just handed out and took back).
fn free_port() -> Option<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    listener.local_addr().ok().map(|a| a.port())
}
