//! A drill's verdict: one row per expectation (what was expected, what was observed, how long it
//! took, passed or not) and the table printed from them. Pure.

use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub expectation: String,
    pub expected: String,
    pub observed: String,
    pub took: Duration,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub scenario: String,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn new(scenario: &str) -> Report {
        Report {
            scenario: scenario.to_owned(),
            rows: Vec::new(),
        }
    }

    pub fn row(
        &mut self,
        expectation: &str,
        expected: impl Into<String>,
        observed: impl Into<String>,
        took: Duration,
        passed: bool,
    ) -> bool {
        self.rows.push(Row {
            expectation: expectation.to_owned(),
            expected: expected.into(),
            observed: observed.into(),
            took,
            passed,
        });
        passed
    }

    /// Every row passed (and there is at least one).
    pub fn passed(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(|r| r.passed)
    }

    /// The verdict table, with a last line `drill SCENARIO passed|FAILED (k of n rows)`.
    pub fn table(&self) -> String {
        let headers = ["", "expectation", "expected", "observed", "time"];
        let cells: Vec<[String; 5]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    if r.passed { "ok" } else { "FAIL" }.to_owned(),
                    r.expectation.clone(),
                    r.expected.clone(),
                    r.observed.clone(),
                    format!("{} ms", r.took.as_millis()),
                ]
            })
            .collect();
        let mut widths = headers.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, row: &[String]| {
            let mut text = String::new();
            for (i, (c, w)) in row.iter().zip(widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let _ = write!(text, "{c:<w$}");
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut out, &headers.map(str::to_owned));
        line(&mut out, &widths.map(|w| "-".repeat(w)));
        for row in &cells {
            line(&mut out, row);
        }
        let ok = self.rows.iter().filter(|r| r.passed).count();
        let _ = writeln!(
            out,
            "drill {} {} ({ok} of {} rows passed)",
            self.scenario,
            if self.passed() { "passed" } else { "FAILED" },
            self.rows.len()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_row_fails_the_drill_and_the_table_says_so() {
        let mut r = Report::new("device-silence");
        assert!(!r.passed(), "no rows: nothing was checked");
        r.row(
            "down within its deadline",
            "down ≤ 2600 ms",
            "down after 640 ms",
            Duration::from_millis(640),
            true,
        );
        assert!(r.passed());
        r.row("one alert", "1", "2", Duration::from_millis(5), false);
        assert!(!r.passed());
        let table = r.table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("      expectation"), "{table}");
        assert!(
            lines[2].starts_with("ok    down within its deadline  down ≤ 2600 ms"),
            "{table}"
        );
        assert!(lines[3].starts_with("FAIL  one alert"), "{table}");
        assert_eq!(lines[4], "drill device-silence FAILED (1 of 2 rows passed)");
    }
}
