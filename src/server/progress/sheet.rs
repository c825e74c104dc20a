//! The grade sheet (`--report`): [`Progress`] as CSV, a row per account and a column per
//! stage, as a spreadsheet opens it.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::{Progress, Stage};

impl Progress {
    /// The grade sheet: a CSV row per account, a column per stage (1 done, 0 not), the quiz
    /// score, bytes moved, and the first and last activity (UTC, ISO 8601).
    ///
    /// ```
    /// use localftp::server::progress::Progress;
    /// let progress = Progress::new(["alice", "budi"]);
    /// progress.quiz("alice", 7, 9);
    /// let csv = progress.csv();
    /// assert!(csv.starts_with("account,connected,greeting,"));
    /// assert!(csv.lines().nth(1).unwrap().starts_with("alice,0,0,0,0,0,0,0,0,0,0,7,9,0,"));
    /// assert_eq!(csv.lines().count(), 3);
    /// ```
    pub fn csv(&self) -> String {
        let mut out = String::from("account,connected");
        for stage in Stage::ALL {
            let _ = write!(out, ",{}", stage.name());
        }
        out.push_str(",quiz_right,quiz_asked,bytes,first_activity,last_activity\n");
        for row in self.rows() {
            let _ = write!(out, "{},{}", csv_field(&row.account), row.connected);
            for stage in Stage::ALL {
                let _ = write!(out, ",{}", u8::from(row.done(stage)));
            }
            let (right, asked) = match row.quiz {
                Some((right, asked)) => (right.to_string(), asked.to_string()),
                None => (String::new(), String::new()),
            };
            let time =
                |t: Option<SystemTime>| t.map(crate::server::clock::iso8601).unwrap_or_default();
            let _ = writeln!(
                out,
                ",{right},{asked},{},{},{}",
                row.bytes,
                time(row.first),
                time(row.last)
            );
        }
        out
    }
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
