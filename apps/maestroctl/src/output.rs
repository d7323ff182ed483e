//! What commands print: the server's JSON with `--json`, aligned tables otherwise; progress
//! (spinners, bars) on standard error only when it is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use comfy_table::{ContentArrangement, Table, presets};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::{CtlError, Result};

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    /// Standard error is a terminal: progress and hints may be drawn there.
    pub interactive: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            interactive: std::io::stderr().is_terminal(),
        }
    }

    /// `value` as pretty JSON with `--json`; `human()` otherwise.
    pub fn show<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) -> Result<()> {
        if self.json {
            println!("{}", to_json(value, true)?);
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{}", text.trim_end_matches('\n'));
            }
        }
        Ok(())
    }

    /// One JSON value per line (streams: events, heartbeats).
    pub fn json_line<T: Serialize>(&self, value: &T) -> Result<()> {
        println!("{}", to_json(value, false)?);
        Ok(())
    }

    /// A note for a person at a terminal: on standard error, and only when it is one.
    pub fn hint(&self, text: &str) {
        if self.interactive {
            eprintln!("{text}");
        }
    }

    /// A line on stderr, also when it is not a terminal (what a log of the command must
    /// show: a dropped connection, a replay, a gap).
    pub fn notice(&self, text: &str) {
        eprintln!("{text}");
    }

    /// A spinner with `message` on a terminal; hidden otherwise.
    pub fn spinner(&self, message: String) -> ProgressBar {
        if !self.interactive {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A bar counting `len` steps on a terminal, when there is more than one; hidden otherwise.
    pub fn bar(&self, len: usize, message: &'static str) -> ProgressBar {
        if !self.interactive || len < 2 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}") {
            bar.set_style(style.progress_chars("#>-"));
        }
        bar.set_message(message);
        bar
    }
}

fn to_json<T: Serialize>(value: &T, pretty: bool) -> Result<String> {
    let r = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    r.map_err(|e| CtlError::Failed(format!("cannot print JSON: {e}")))
}

/// An aligned table without borders; `empty` when there are no rows.
pub fn table<const N: usize>(headers: [&str; N], rows: Vec<[String; N]>, empty: &str) -> String {
    if rows.is_empty() {
        return empty.to_string();
    }
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers);
    for r in rows {
        t.add_row(r);
    }
    // The preset pads every cell with one space on each side; trim the margin it leaves.
    t.lines()
        .map(|l| l.trim_end().strip_prefix(' ').unwrap_or(&l).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `key: value` lines, aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How long ago `ms` (epoch milliseconds) was: `12s ago`, `5m ago`, `3h ago`, `2d ago`.
pub fn ago(ms: i64) -> String {
    let s = (now_ms() - ms).max(0) / 1000;
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(
            ["ID", "TITLE"],
            vec![
                ["t1".into(), "One".into()],
                ["task_22".into(), "Two".into()],
            ],
            "none",
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        let col = lines[0].find("TITLE").unwrap();
        assert_eq!(lines[1].find("One"), Some(col), "{t}");
        assert_eq!(lines[2].find("Two"), Some(col), "{t}");
        assert_eq!(table(["A"], vec![], "none"), "none");
    }

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(clip("héllo wörld", 5), "héll…");
        assert_eq!(clip("a\nb", 5), "a b");
    }
}
