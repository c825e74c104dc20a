//! A session drawn as a sequence diagram (SVG): the picture of Lessons 8–10.
//!
//! Four vertical lifelines: the client's control and data ends on the left, the server's data
//! and control ends on the right. Time runs down the page. Each command is an arrow from the
//! client's control end to the server's, each reply an arrow back; refusals (4xx and 5xx) are
//! red and marked. Each data connection is a lane between the two data ends, drawn from the
//! moment it opens to the moment it closes, with an arrow for the bytes it carried.
//!
//! The steps come from the same records the transcript writes ([`Step`]), either live (the
//! teacher's board) or read back from a transcript's `.jsonl` file ([`steps_from_jsonl`]). The
//! SVG is plain text with no script and no external reference, so it opens in any browser and
//! pastes into slides.

use std::fmt::Write as _;

use super::events::DataEvent;

/// One thing that happened in a session, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A command line from the client (the password masked).
    Command(String),
    /// A reply's first line, with its code.
    Reply(u16, String),
    /// An event on the data connection.
    Data(DataEvent),
}

/// The x positions of the four lifelines, and the picture's width.
const CLIENT_CONTROL: u32 = 90;
const CLIENT_DATA: u32 = 250;
const SERVER_DATA: u32 = 650;
const SERVER_CONTROL: u32 = 810;
const WIDTH: u32 = 900;
/// Where the first step is drawn, and the height of each step's row.
const TOP: u32 = 110;
const ROW: u32 = 30;
/// Labels longer than this are cut, with an ellipsis.
const LABEL: usize = 80;

/// The SVG of `steps`, headed by `title`.
///
/// ```
/// use localftp::server::diagram::{Step, svg};
/// let picture = svg("a session", &[
///     Step::Command("USER alice".into()),
///     Step::Reply(331, "331 Username ok, send password.".into()),
/// ]);
/// assert!(picture.starts_with("<svg"));
/// assert_eq!(picture.matches("class=\"arrow ").count(), 2);
/// ```
pub fn svg(title: &str, steps: &[Step]) -> String {
    let height = TOP + ROW * steps.len() as u32 + 40;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"monospace\" font-size=\"13\">\n\
         <title>{}</title>\n\
         <defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"10\" \
         markerHeight=\"10\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"context-stroke\"/></marker></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
        escape(title),
        WIDTH / 2,
        escape(title)
    );
    heads(&mut out, height);
    lanes(&mut out, steps);
    for (row, step) in steps.iter().enumerate() {
        let y = TOP + ROW * row as u32;
        match step {
            Step::Command(line) => {
                arrow(&mut out, "command", y, true, &format!("C: {line}"), false)
            }
            Step::Reply(code, line) => {
                let refused = *code >= 400;
                let label = if refused {
                    format!("✗ S: {line}")
                } else {
                    format!("S: {line}")
                };
                arrow(&mut out, "reply", y, false, &label, refused);
            }
            Step::Data(event) => data(&mut out, y, event),
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The two participants and the four lifelines.
fn heads(out: &mut String, height: u32) {
    for (x, name) in [
        ((CLIENT_CONTROL + CLIENT_DATA) / 2, "Client"),
        ((SERVER_DATA + SERVER_CONTROL) / 2, "Server"),
    ] {
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"40\" width=\"200\" height=\"28\" rx=\"4\" fill=\"#eef\" \
             stroke=\"#336\"/><text x=\"{x}\" y=\"59\" text-anchor=\"middle\">{name}</text>",
            x - 100
        );
    }
    for (x, label, dash) in [
        (CLIENT_CONTROL, "control", ""),
        (CLIENT_DATA, "data", " stroke-dasharray=\"4 4\""),
        (SERVER_DATA, "data", " stroke-dasharray=\"4 4\""),
        (SERVER_CONTROL, "control", ""),
    ] {
        let _ = writeln!(
            out,
            "<text x=\"{x}\" y=\"86\" text-anchor=\"middle\" fill=\"#555\">{label}</text>\
             <line class=\"lifeline\" x1=\"{x}\" y1=\"92\" x2=\"{x}\" y2=\"{}\" stroke=\"#999\"{dash}/>",
            height - 20
        );
    }
}

/// One shaded lane per data connection, from its opening to its end.
fn lanes(out: &mut String, steps: &[Step]) {
    let mut opened: Option<u32> = None;
    let mut number = 0;
    for (row, step) in steps.iter().enumerate() {
        let y = TOP + ROW * row as u32;
        match step {
            Step::Data(DataEvent::Open { .. }) => opened = Some(y),
            Step::Data(DataEvent::Done { .. } | DataEvent::Stopped { .. }) => {
                if let Some(start) = opened.take() {
                    number += 1;
                    let _ = writeln!(
                        out,
                        "<rect class=\"lane\" x=\"{CLIENT_DATA}\" y=\"{}\" width=\"{}\" \
                         height=\"{}\" fill=\"#f4f8e8\" stroke=\"#9a6\"/>\
                         <text x=\"{}\" y=\"{}\" fill=\"#586\" \
                         font-size=\"11\">data connection {number}</text>",
                        start - 20,
                        SERVER_DATA - CLIENT_DATA,
                        y - start + 28,
                        CLIENT_DATA + 4,
                        start - 6
                    );
                }
            }
            _ => {}
        }
    }
}

/// A control-connection arrow: client to server (`rightwards`) or back.
fn arrow(out: &mut String, kind: &str, y: u32, rightwards: bool, label: &str, refused: bool) {
    let (from, to) = if rightwards {
        (CLIENT_CONTROL, SERVER_CONTROL)
    } else {
        (SERVER_CONTROL, CLIENT_CONTROL)
    };
    let (class, colour) = match (kind, refused) {
        (_, true) => (format!("arrow {kind} refusal"), "#c00"),
        ("command", _) => (format!("arrow {kind}"), "#124"),
        _ => (format!("arrow {kind}"), "#262"),
    };
    let _ = writeln!(
        out,
        "<g class=\"{class}\"><line x1=\"{from}\" y1=\"{y}\" x2=\"{to}\" y2=\"{y}\" \
         stroke=\"{colour}\" stroke-width=\"1.5\" marker-end=\"url(#head)\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{colour}\">{}</text></g>",
        WIDTH / 2,
        y - 5,
        escape(&cut(label))
    );
}

/// A data-connection event, drawn between the two data ends.
fn data(out: &mut String, y: u32, event: &DataEvent) {
    let middle = (CLIENT_DATA + SERVER_DATA) / 2;
    let (class, shape, label) = match event {
        DataEvent::Listening { port, .. } => (
            "data listen",
            format!("<circle cx=\"{SERVER_DATA}\" cy=\"{y}\" r=\"5\" fill=\"#586\"/>"),
            format!("server listens on port {port}"),
        ),
        DataEvent::Open { .. } => (
            "data open",
            format!(
                "<line x1=\"{CLIENT_DATA}\" y1=\"{y}\" x2=\"{SERVER_DATA}\" y2=\"{y}\" \
                 stroke=\"#586\" stroke-dasharray=\"6 3\" marker-start=\"url(#head)\" \
                 marker-end=\"url(#head)\"/>"
            ),
            "TCP connection opens".to_string(),
        ),
        DataEvent::Tls => (
            "data tls",
            String::new(),
            "TLS handshake on the data connection".to_string(),
        ),
        DataEvent::Done { bytes, received } => {
            let (from, to) = if *received {
                (CLIENT_DATA, SERVER_DATA)
            } else {
                (SERVER_DATA, CLIENT_DATA)
            };
            (
                "data bytes",
                format!(
                    "<line x1=\"{from}\" y1=\"{y}\" x2=\"{to}\" y2=\"{y}\" stroke=\"#586\" \
                     stroke-width=\"4\" marker-end=\"url(#head)\"/>"
                ),
                format!("{bytes} bytes, then close"),
            )
        }
        DataEvent::Stopped { why } => (
            "data stopped refusal",
            format!(
                "<line x1=\"{CLIENT_DATA}\" y1=\"{y}\" x2=\"{SERVER_DATA}\" y2=\"{y}\" \
                 stroke=\"#c00\" stroke-width=\"2\"/>"
            ),
            format!("✗ stopped: {why}"),
        ),
    };
    let colour = if class.contains("refusal") {
        "#c00"
    } else {
        "#364"
    };
    let _ = writeln!(
        out,
        "<g class=\"{class}\">{shape}<text x=\"{middle}\" y=\"{}\" text-anchor=\"middle\" \
         fill=\"{colour}\" font-size=\"12\">{}</text></g>",
        y - 5,
        escape(&cut(&label))
    );
}

/// `label`, cut to [`LABEL`] characters.
fn cut(label: &str) -> String {
    match label.char_indices().nth(LABEL) {
        Some((at, _)) => format!("{}…", &label[..at]),
        None => label.to_string(),
    }
}

/// Text made safe inside an SVG element or attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The steps of a transcript's `.jsonl` file (`--transcript`): its command, reply and data
/// records, in order; `why` records and lines that are not records are skipped.
///
/// ```
/// use localftp::server::diagram::{Step, steps_from_jsonl};
/// let text = "{\"seq\":1,\"kind\":\"reply\",\"text\":\"220 Hi\"}\n\
///             {\"seq\":2,\"kind\":\"command\",\"text\":\"USER \\\"x\\\"\"}\n";
/// assert_eq!(steps_from_jsonl(text), [
///     Step::Reply(220, "220 Hi".into()),
///     Step::Command("USER \"x\"".into()),
/// ]);
/// ```
pub fn steps_from_jsonl(text: &str) -> Vec<Step> {
    text.lines()
        .filter_map(|line| {
            let kind = json_field(line, "kind")?;
            let text = json_field(line, "text")?;
            match kind.as_str() {
                "command" => Some(Step::Command(text)),
                "reply" => reply_step(&text),
                "data" => DataEvent::parse(&text).map(Step::Data),
                _ => None,
            }
        })
        .collect()
}

/// A reply's step: its code and first line.
pub fn reply_step(wire: &str) -> Option<Step> {
    let first = wire.split("\r\n").next().unwrap_or(wire);
    let code = first.get(..3)?.parse().ok()?;
    Some(Step::Reply(code, first.to_string()))
}

/// The string value of `"name":"..."` in one line of JSON, unescaped (the escapes
/// `trace::json_string` writes).
fn json_field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("\"{name}\":\""))? + name.len() + 4;
    let mut value = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_has_a_lane_an_arrow_per_line_and_marked_refusals() {
        let steps = vec![
            Step::Reply(220, "220 Selamat datang".into()),
            Step::Command("PASV".into()),
            Step::Data(DataEvent::Listening {
                port: 50000,
                at: "127.0.0.1".into(),
            }),
            Step::Reply(227, "227 Entering Passive Mode (127,0,0,1,195,80).".into()),
            Step::Command("RETR baca_saya.txt".into()),
            Step::Data(DataEvent::Open {
                peer: "127.0.0.1".into(),
            }),
            Step::Reply(150, "150 Opening".into()),
            Step::Data(DataEvent::Done {
                bytes: 139,
                received: false,
            }),
            Step::Reply(226, "226 Transfer complete".into()),
            Step::Command("CWD <nope>".into()),
            Step::Reply(550, "550 \"/<nope>\": no such folder.".into()),
        ];
        let picture = svg("alice & budi", &steps);
        assert_eq!(picture.matches("class=\"arrow command\"").count(), 3);
        assert_eq!(picture.matches("class=\"arrow reply").count(), 5);
        assert_eq!(picture.matches("class=\"arrow reply refusal\"").count(), 1);
        assert_eq!(picture.matches("class=\"lane\"").count(), 1);
        assert!(picture.contains("139 bytes, then close"));
        assert!(picture.contains("alice &amp; budi"));
        assert!(picture.contains("CWD &lt;nope&gt;"));
        assert!(!picture.contains("<nope>"));
    }

    #[test]
    fn long_labels_are_cut() {
        let long = "x".repeat(200);
        assert_eq!(cut(&long).chars().count(), LABEL + 1);
        assert_eq!(cut("short"), "short");
    }
}
