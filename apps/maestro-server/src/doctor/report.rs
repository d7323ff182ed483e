//! The report: each check's outcome, the table people read and the JSON scripts read.

use serde::Serialize;

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub(super) fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub(super) fn skip(name: &'static str, why: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Skip,
            detail: why.into(),
            fix: None,
        }
    }

    pub(super) fn fail(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub(super) fn warn(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Every check, in a fixed order.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// No check failed.
    pub fn passed(&self) -> bool {
        self.count(Status::Fail) == 0
    }

    /// `{ok, failed, warnings, checks: [{name, status, detail, fix?}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.passed(),
            "failed": self.count(Status::Fail),
            "warnings": self.count(Status::Warn),
            "checks": self.checks,
        })
    }

    /// The table people read.
    pub fn render(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let indent = " ".repeat(width + 9);
        let mut out = format!(
            "maestro-server doctor: {} checks, {} failed, {} warnings\n\n",
            self.checks.len(),
            self.count(Status::Fail),
            self.count(Status::Warn)
        );
        for c in &self.checks {
            let mut lines = c.detail.lines();
            out.push_str(&format!(
                " {:<5} {:<width$}  {}\n",
                c.status.label(),
                c.name,
                lines.next().unwrap_or("")
            ));
            for l in lines {
                out.push_str(&format!("{indent}{l}\n"));
            }
            if let Some(fix) = &c.fix {
                out.push_str(&format!("{indent}fix: {fix}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_table_shows_fixes_under_their_check() {
        let report = Report {
            checks: vec![
                Check::ok("config", "every variable is valid"),
                Check::fail("redis", "cannot reach Redis", "start Redis"),
            ],
        };
        let text = report.render();
        assert!(text.contains("2 checks, 1 failed, 0 warnings"), "{text}");
        assert!(text.contains(" FAIL  redis   cannot reach Redis"), "{text}");
        assert!(text.contains("fix: start Redis"), "{text}");
        assert!(!report.passed());
        assert_eq!(report.to_json()["failed"], 1);
    }
}
