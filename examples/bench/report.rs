//! The results: each measure's rows, filled round by round, printed as a markdown table with
//! the median and the range, then the ratios of the FTP figures to their references, and a
//! note for every failed or skipped round.

use crate::measures::{Measure, RowSpec};

/// The ratios printed after the table: an FTP figure over the same figure with no FTP, each
/// the first row of its measure. A ratio is taken per round, from the two figures of that
/// round, and the median of those is shown: the rounds interleave the two, so each ratio
/// compares figures taken under the same load.
const RATIOS: [(Measure, Measure, &str); 2] = [
    (Measure::Retr, Measure::RawSendfile, "RETR ÷ raw sendfile"),
    (
        Measure::Stor,
        Measure::DiskFsync,
        "STOR (fsync) ÷ disk fsync",
    ),
];

/// One row: its values over the rounds that passed.
struct Row {
    spec: RowSpec,
    values: Vec<f64>,
}

/// One measure's rows and what went wrong in it.
struct Group {
    measure: Measure,
    rows: Vec<Row>,
    /// The rounds that passed, in the order of every row's `values`.
    passed: Vec<usize>,
    rounds: usize,
    failures: Vec<(usize, String)>,
    skipped: Option<String>,
}

/// The whole table.
#[derive(Default)]
pub struct Report {
    groups: Vec<Group>,
}

impl Report {
    /// Add a measure's rows; returns its index for [`Report::record`].
    pub fn add(&mut self, measure: Measure, rows: Vec<RowSpec>) -> usize {
        self.groups.push(Group {
            measure,
            rows: rows
                .into_iter()
                .map(|spec| Row {
                    spec,
                    values: Vec::new(),
                })
                .collect(),
            passed: Vec::new(),
            rounds: 0,
            failures: Vec::new(),
            skipped: None,
        });
        self.groups.len() - 1
    }

    /// Mark a measure as not run, and say why.
    pub fn skip(&mut self, group: usize, why: String) {
        self.groups[group].skipped = Some(why);
    }

    /// Whether a measure is skipped.
    pub fn is_skipped(&self, group: usize) -> bool {
        self.groups[group].skipped.is_some()
    }

    /// Record one round of a measure: its values, or why it failed.
    pub fn record(&mut self, group: usize, round: usize, outcome: Result<Vec<f64>, String>) {
        let group = &mut self.groups[group];
        group.rounds += 1;
        match outcome {
            Ok(values) if values.len() == group.rows.len() => {
                for (row, value) in group.rows.iter_mut().zip(values) {
                    row.values.push(value);
                }
                group.passed.push(round);
            }
            Ok(values) => group.failures.push((
                round,
                format!(
                    "{} values for {} rows (a bug in the bench)",
                    values.len(),
                    group.rows.len()
                ),
            )),
            Err(why) => group.failures.push((round, why)),
        }
    }

    /// One round's values with their units, for the progress lines: `1,234 MB/s, 0.160 s/GiB`.
    pub fn describe(&self, group: usize, values: &[f64]) -> String {
        let rows = &self.groups[group].rows;
        let shown: Vec<String> = rows
            .iter()
            .zip(values)
            .map(|(row, value)| {
                let unit = row.spec.unit.trim_end_matches([' ', '↑', '↓']);
                format!("{} {unit}", number(*value))
            })
            .collect();
        shown.join(", ")
    }

    /// Whether any round of any measure failed.
    pub fn failed(&self) -> bool {
        self.groups.iter().any(|g| !g.failures.is_empty())
    }

    /// `top ÷ bottom` for every round in which both passed, from the first row of each;
    /// `None` when either measure was not run.
    fn ratios(&self, top: Measure, bottom: Measure) -> Option<Vec<f64>> {
        let first = |measure: Measure| {
            let group = self.groups.iter().find(|g| g.measure == measure)?;
            let row = group.rows.first()?;
            Some(group.passed.iter().copied().zip(row.values.iter().copied()))
        };
        let bottoms: Vec<(usize, f64)> = first(bottom)?.collect();
        let ratios: Vec<f64> = first(top)?
            .filter_map(|(round, value)| {
                let (_, under) = bottoms.iter().find(|(r, _)| *r == round)?;
                Some(value / under)
            })
            .collect();
        (!ratios.is_empty()).then_some(ratios)
    }

    /// The markdown table, then the notes.
    pub fn print(&self) {
        println!("| measure | median | unit | min – max | rounds | check |");
        println!("|---|---:|---|---|---:|---|");
        for group in &self.groups {
            let check = if group.skipped.is_some() {
                "skipped"
            } else if group.failures.is_empty() {
                "ok"
            } else {
                "FAIL"
            };
            for row in &group.rows {
                let (median, range) = match summary(&row.values) {
                    Some((median, min, max)) => {
                        (number(median), format!("{} – {}", number(min), number(max)))
                    }
                    None => ("—".to_string(), "—".to_string()),
                };
                let rounds = if group.failures.is_empty() {
                    row.values.len().to_string()
                } else {
                    format!("{} of {}", row.values.len(), group.rounds)
                };
                println!(
                    "| {} | {median} | {} | {range} | {rounds} | {check} |",
                    row.spec.label, row.spec.unit
                );
            }
        }
        let ratios: Vec<String> = RATIOS
            .iter()
            .filter_map(|&(top, bottom, label)| {
                let ratios = self.ratios(top, bottom)?;
                let (median, min, max) = summary(&ratios)?;
                Some(format!(
                    "- {label}: {} (the median over {} round(s) of that round's ratio; {} – {})",
                    number(median),
                    ratios.len(),
                    number(min),
                    number(max)
                ))
            })
            .collect();
        if !ratios.is_empty() {
            println!();
            for ratio in ratios {
                println!("{ratio}");
            }
        }
        let mut notes = Vec::new();
        for group in &self.groups {
            let name = group.measure.name();
            if let Some(why) = &group.skipped {
                notes.push(format!("- {name}: skipped: {why}"));
            }
            for (round, why) in &group.failures {
                notes.push(format!("- {name}, round {round}: FAIL: {why}"));
            }
        }
        if !notes.is_empty() {
            println!();
            for note in notes {
                println!("{note}");
            }
        }
    }
}

/// Median, minimum and maximum; `None` for no values.
pub fn summary(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = match n {
        0 => return None,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    Some((median, sorted[0], sorted[n - 1]))
}

/// Three significant figures or so: `1,234`, `56.7`, `8.90`, `0.123`; whole numbers as such.
pub fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        let digits = format!("{:.0}", value.abs());
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if value < 0.0 {
            grouped.insert(0, '-');
        }
        grouped
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}
