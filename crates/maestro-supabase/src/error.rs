//! [`PostgrestError`]: a failed PostgREST (or Storage) call, and its mapping to [`DomainError`].

use maestro_domain::DomainError;
use serde::Deserialize;

/// A PostgREST error: the HTTP status and the `{code, details, hint, message}` body
/// (<https://docs.postgrest.org/en/stable/references/errors.html>). `status` is 0 when no
/// answer arrived (connection refused, timeout).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct PostgrestError {
    pub status: u16,
    /// A PostgreSQL SQLSTATE (`23505`, `42501`, …) or a PostgREST code (`PGRST116`, …).
    pub code: Option<String>,
    pub message: String,
    pub details: Option<String>,
    pub hint: Option<String>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<serde_json::Value>,
    #[serde(default)]
    hint: Option<serde_json::Value>,
    /// Supabase Storage's error shape (`{statusCode, error, message}`).
    #[serde(default, rename = "statusCode")]
    status_code: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

fn text(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

impl PostgrestError {
    /// Parses an error answer: the PostgREST JSON body when there is one, else the raw text.
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<Body>(body) {
            Ok(b) => {
                let code = text(b.code).or_else(|| text(b.status_code.clone()));
                let message = b
                    .message
                    .or_else(|| text(b.error.clone()))
                    .unwrap_or_else(|| body.trim().to_owned());
                Self {
                    status,
                    code,
                    message,
                    details: text(b.details),
                    hint: text(b.hint),
                }
            }
            Err(_) => Self {
                status,
                code: None,
                message: if body.trim().is_empty() {
                    format!("HTTP {status}")
                } else {
                    body.trim().chars().take(500).collect()
                },
                details: None,
                hint: None,
            },
        }
    }

    /// A transport failure (no HTTP answer).
    pub fn transport(err: &reqwest::Error) -> Self {
        Self {
            status: 0,
            code: None,
            message: format!("PostgREST unreachable: {err}"),
            details: None,
            hint: None,
        }
    }

    /// An answer that is not what the protocol promises.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self {
            status: 0,
            code: Some("MAESTRO_PROTOCOL".into()),
            message: message.into(),
            details: None,
            hint: None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// `23505` or HTTP 409: a duplicate key.
    pub fn is_conflict(&self) -> bool {
        self.code() == Some("23505") || self.status == 409
    }

    fn describe(&self) -> String {
        let mut s = match (&self.code, self.status) {
            (Some(code), 0) => format!("{code}: {}", self.message),
            (Some(code), st) => format!("HTTP {st} {code}: {}", self.message),
            (None, 0) => self.message.clone(),
            (None, st) => format!("HTTP {st}: {}", self.message),
        };
        if let Some(d) = &self.details {
            s.push_str(&format!(" ({d})"));
        }
        if let Some(h) = &self.hint {
            s.push_str(&format!(" [hint: {h}]"));
        }
        s
    }
}

/// The mapping to the domain's error enum:
///
/// | PostgREST | DomainError |
/// |---|---|
/// | `23505`, HTTP 409 | `Conflict` |
/// | `42501` (RLS / privilege; PostgREST 403, postrust 401), HTTP 403 | `Forbidden` |
/// | HTTP 401 (`PGRST301`/`PGRST302`: bad or missing JWT) | `Unauthorized` |
/// | `PGRST116` (single object wanted, none or many found), `P0002`, HTTP 404 | `NotFound` |
/// | `PGRST202`/`PGRST205` (function/table not in the schema cache) | `Internal` (migrations missing) |
/// | `23502`, `23514`, `22xxx` (bad value) | `Validation` |
/// | no answer, HTTP 5xx, `57014` (statement timeout) | `Unavailable` |
/// | anything else | `Internal` |
impl From<PostgrestError> for DomainError {
    fn from(e: PostgrestError) -> Self {
        let code = e.code().unwrap_or("");
        let msg = e.to_string();
        match code {
            "23505" => return DomainError::Conflict(msg),
            "42501" => return DomainError::Forbidden(msg),
            "PGRST116" | "P0002" => {
                return DomainError::NotFound {
                    resource: "Record",
                    id: e.details.clone().unwrap_or_else(|| e.message.clone()),
                };
            }
            "PGRST202" | "PGRST205" | "42P01" | "42883" => {
                return DomainError::Internal(format!(
                    "{msg}; are the Supabase migrations applied?"
                ));
            }
            "57014" => return DomainError::Unavailable(msg),
            _ => {}
        }
        if code == "23502" || code == "23514" || code.starts_with("22") {
            return DomainError::validation(msg);
        }
        match e.status {
            409 => DomainError::Conflict(msg),
            403 => DomainError::Forbidden(msg),
            401 => DomainError::Unauthorized(msg),
            404 => DomainError::NotFound {
                resource: "Record",
                id: e.message,
            },
            0 | 502..=504 => DomainError::Unavailable(msg),
            s if s >= 500 => DomainError::Unavailable(msg),
            _ => DomainError::Internal(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_the_postgrest_body() {
        let e = PostgrestError::from_response(
            409,
            r#"{"code":"23505","details":"Key (id)=(x) already exists.","hint":null,"message":"duplicate key value violates unique constraint \"tasks_pkey\""}"#,
        );
        assert_eq!(e.code(), Some("23505"));
        assert_eq!(e.details.as_deref(), Some("Key (id)=(x) already exists."));
        assert!(e.hint.is_none());
        assert!(matches!(DomainError::from(e), DomainError::Conflict(_)));
    }

    #[test]
    fn maps_codes_and_statuses() {
        let map =
            |status, body: &str| DomainError::from(PostgrestError::from_response(status, body));
        assert!(matches!(
            map(
                401,
                r#"{"code":"42501","message":"new row violates row-level security policy"}"#
            ),
            DomainError::Forbidden(_)
        ));
        assert!(matches!(
            map(403, r#"{"code":"42501","message":"permission denied"}"#),
            DomainError::Forbidden(_)
        ));
        assert!(matches!(
            map(401, r#"{"code":"PGRST301","message":"JWSError"}"#),
            DomainError::Unauthorized(_)
        ));
        assert!(matches!(
            map(
                406,
                r#"{"code":"PGRST116","message":"JSON object requested, multiple (or no) rows returned"}"#
            ),
            DomainError::NotFound { .. }
        ));
        assert!(matches!(map(404, "not here"), DomainError::NotFound { .. }));
        assert!(matches!(
            map(
                404,
                r#"{"code":"PGRST205","message":"Could not find the table"}"#
            ),
            DomainError::Internal(_)
        ));
        assert!(matches!(
            map(400, r#"{"code":"23514","message":"check"}"#),
            DomainError::Validation { .. }
        ));
        assert!(matches!(map(503, ""), DomainError::Unavailable(_)));
        assert!(matches!(map(400, "{}"), DomainError::Internal(_)));
    }

    #[test]
    fn reads_the_storage_error_shape() {
        let e = PostgrestError::from_response(
            400,
            r#"{"statusCode":"404","error":"not_found","message":"Object not found"}"#,
        );
        assert_eq!(e.code(), Some("404"));
        assert_eq!(e.message, "Object not found");
    }
}
