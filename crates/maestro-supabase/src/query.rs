//! [`Query`]: PostgREST query-string parameters (filters, `select`, `order`, paging), encoded
//! safely.
//!
//! Every key and value is percent-encoded byte by byte, keeping only the RFC 3986 unreserved
//! characters, so spaces travel as `%20` (never `+`, which postrust does not decode), and
//! `,` `(` `)` `"` `&` `=` `#` and non-ASCII text reach the server intact. Values that sit
//! inside PostgREST's own grammar — elements of `in.(…)`, of an array literal `cs.{…}`, and
//! operands inside `or=(…)` — are additionally double-quoted with `\` escapes, so a comma or a
//! parenthesis in a value is data, not syntax.

use std::fmt::Write as _;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~`.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one query-string component.
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

/// `"…"` with `\` before every `"` and `\`: a value inside PostgREST's grammar (and a
/// PostgreSQL array literal element).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One condition of a logic tree (`or=(…)`, `and(…)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Eq(String, String),
    Neq(String, String),
    IsNull(String),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    pub fn eq(column: &str, value: impl Into<String>) -> Self {
        Cond::Eq(column.to_owned(), value.into())
    }

    pub fn neq(column: &str, value: impl Into<String>) -> Self {
        Cond::Neq(column.to_owned(), value.into())
    }

    pub fn is_null(column: &str) -> Self {
        Cond::IsNull(column.to_owned())
    }

    fn render(&self, out: &mut String) {
        match self {
            Cond::Eq(c, v) => {
                let _ = write!(out, "{c}.eq.{}", quote(v));
            }
            Cond::Neq(c, v) => {
                let _ = write!(out, "{c}.neq.{}", quote(v));
            }
            Cond::IsNull(c) => {
                let _ = write!(out, "{c}.is.null");
            }
            Cond::And(items) | Cond::Or(items) => {
                out.push_str(if matches!(self, Cond::And(_)) {
                    "and("
                } else {
                    "or("
                });
                render_list(items, out);
                out.push(')');
            }
        }
    }
}

fn render_list(items: &[Cond], out: &mut String) {
    for (i, c) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        c.render(out);
    }
}

/// Query-string parameters of one PostgREST request, kept unencoded until
/// [`Query::to_query_string`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    params: Vec<(String, String)>,
}

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    /// A raw parameter (already in PostgREST syntax, not yet percent-encoded).
    pub fn param(mut self, key: &str, value: impl Into<String>) -> Self {
        self.params.push((key.to_owned(), value.into()));
        self
    }

    /// `select=<columns>`.
    pub fn select(self, columns: &str) -> Self {
        self.param("select", columns)
    }

    /// `column=eq.<value>` (the value is taken verbatim by the server).
    pub fn eq(self, column: &str, value: impl ToString) -> Self {
        let v = format!("eq.{}", value.to_string());
        self.param(column, v)
    }

    pub fn neq(self, column: &str, value: impl ToString) -> Self {
        let v = format!("neq.{}", value.to_string());
        self.param(column, v)
    }

    pub fn gt(self, column: &str, value: impl ToString) -> Self {
        let v = format!("gt.{}", value.to_string());
        self.param(column, v)
    }

    pub fn gte(self, column: &str, value: impl ToString) -> Self {
        let v = format!("gte.{}", value.to_string());
        self.param(column, v)
    }

    pub fn lt(self, column: &str, value: impl ToString) -> Self {
        let v = format!("lt.{}", value.to_string());
        self.param(column, v)
    }

    pub fn is_null(self, column: &str) -> Self {
        self.param(column, "is.null")
    }

    /// `column=in.("a","b")`, every element quoted.
    pub fn in_list<S: AsRef<str>>(self, column: &str, values: &[S]) -> Self {
        let list: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
        let v = format!("in.({})", list.join(","));
        self.param(column, v)
    }

    /// `column=cs.{"a","b"}`: an array column containing all of `values`.
    pub fn contains<S: AsRef<str>>(self, column: &str, values: &[S]) -> Self {
        let list: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
        let v = format!("cs.{{{}}}", list.join(","));
        self.param(column, v)
    }

    /// `or=(c1,c2,…)`.
    pub fn or(self, conditions: &[Cond]) -> Self {
        let mut v = String::from("(");
        render_list(conditions, &mut v);
        v.push(')');
        self.param("or", v)
    }

    /// `order=<spec>`, e.g. `created_at.asc,id.asc`.
    pub fn order(self, spec: &str) -> Self {
        self.param("order", spec)
    }

    pub fn limit(self, n: usize) -> Self {
        self.param("limit", n.to_string())
    }

    pub fn offset(self, n: usize) -> Self {
        self.param("offset", n.to_string())
    }

    /// `on_conflict=<columns>` (upserts).
    pub fn on_conflict(self, columns: &str) -> Self {
        self.param("on_conflict", columns)
    }

    /// Whether a parameter with this key is set.
    pub fn has(&self, key: &str) -> bool {
        self.params.iter().any(|(k, _)| k == key)
    }

    /// The percent-encoded query string (without `?`).
    pub fn to_query_string(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.params.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(&encode_component(k));
            out.push('=');
            out.push_str(&encode_component(v));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_non_ascii() {
        assert_eq!(encode_component("a b"), "a%20b");
        assert_eq!(encode_component("a+b,c(d)\"e\""), "a%2Bb%2Cc%28d%29%22e%22");
        assert_eq!(encode_component("ü✓"), "%C3%BC%E2%9C%93");
        assert_eq!(encode_component("safe-._~09AZaz"), "safe-._~09AZaz");
        assert_eq!(encode_component("&=#%"), "%26%3D%23%25");
    }

    #[test]
    fn quotes_inside_the_grammar() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        let q = Query::new()
            .eq("id", "x y")
            .in_list("status", &["a", "b,c"])
            .contains("session_ids", &["s(1)"])
            .or(&[
                Cond::eq("to", "me, you"),
                Cond::And(vec![Cond::is_null("to"), Cond::neq("from", "me")]),
            ]);
        assert_eq!(
            q.params,
            vec![
                ("id".into(), "eq.x y".into()),
                ("status".into(), r#"in.("a","b,c")"#.into()),
                ("session_ids".into(), r#"cs.{"s(1)"}"#.into()),
                (
                    "or".into(),
                    r#"(to.eq."me, you",and(to.is.null,from.neq."me"))"#.into()
                ),
            ]
        );
        assert!(q.to_query_string().starts_with("id=eq.x%20y&status=in.%28"));
    }
}
