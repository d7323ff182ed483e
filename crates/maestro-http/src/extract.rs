//! Request extractors that turn every client mistake into a 4xx with the error shape
//! (DEFECTS K2): missing body = `{}`, malformed JSON and wrong types = 400 with the field path,
//! non-JSON content = 415, oversized = 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use maestro_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Part};

/// A JSON body. Unknown keys are ignored unless `T` denies them.
#[derive(Debug)]
pub struct Body<T>(pub T);

/// A JSON body of a strict (mail) route: errors are E3 `Invalid request body`.
#[derive(Debug)]
pub struct StrictBody<T>(pub T);

/// Path parameters. A parameter that cannot be decoded (e.g. invalid UTF-8 after
/// percent-decoding) is a 400 with the error shape (E3 `Invalid URL parameters`), not axum's
/// plain-text rejection.
#[derive(Debug)]
pub struct Path<T>(pub T);

/// A query string parsed into `T` (400 on wrong types).
#[derive(Debug)]
pub struct Query<T>(pub T);

/// A query string of a strict (mail) route: errors are E3 `Invalid query parameters`.
#[derive(Debug)]
pub struct StrictQuery<T>(pub T);

fn field_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> FieldError {
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    FieldError::new(path, humanize(&e.inner().to_string()))
}

/// serde's messages, said for people: no parser positions, no backticks, the given value and
/// what is allowed (`'done' is not allowed; expected one of: todo, in_progress, …`).
pub fn humanize(message: &str) -> String {
    let msg = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    };
    let unquote = |s: &str| s.trim().trim_matches('`').to_string();
    if let Some(rest) = msg.strip_prefix("unknown variant ")
        && let Some((given, expected)) = rest.split_once(", expected ")
    {
        let allowed = expected
            .trim_start_matches("one of ")
            .split(',')
            .map(unquote)
            .collect::<Vec<_>>()
            .join(", ");
        return format!(
            "'{}' is not allowed; expected one of: {allowed}",
            unquote(given)
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ")
        && let Some((given, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "expected {}, got {}",
            expected.trim(),
            given.replace('`', "'")
        );
    }
    if let Some(field) = msg.strip_prefix("missing field ") {
        return format!("{} is required", unquote(field));
    }
    msg.replace('`', "'")
}

async fn read_json<T: DeserializeOwned, S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Result<T, FieldError>, ApiError> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let ct = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            ct == "application/json" || ct.ends_with("+json")
        });
    let limit = req
        .extensions()
        .get::<crate::state::BodyLimit>()
        .map_or(crate::state::DEFAULT_BODY_LIMIT, |l| l.0);
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit }
        } else {
            ApiError::bad_request(format!("could not read request body: {e}"), vec![])
        }
    })?;
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    if !empty && is_json == Some(false) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let text: &[u8] = if empty { b"{}" } else { &bytes };
    let de = &mut serde_json::Deserializer::from_slice(text);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let mut f = field_error(e);
        if f.path.is_empty() {
            f.path = "body".into();
        }
        f
    });
    Ok(value.and_then(|v| end_of_input(de).map(|()| v)))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_json(req, state).await? {
            Ok(v) => Ok(Body(v)),
            Err(f) => Err(ApiError::bad_request(
                format!("Invalid request body: {}: {}", f.path, f.message),
                vec![f],
            )),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for StrictBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_json(req, state).await? {
            Ok(v) => Ok(StrictBody(v)),
            Err(f) => Err(ApiError::Schema {
                part: Part::Body,
                details: vec![f],
            }),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) if e.status().is_client_error() => Err(ApiError::Schema {
                part: Part::Params,
                details: vec![FieldError::new("params", e.body_text())],
            }),
            Err(e) => Err(ApiError::Domain(maestro_domain::DomainError::Internal(
                e.body_text(),
            ))),
        }
    }
}

/// Rejects anything after the JSON value (`{} {}`), like `JSON.parse`.
fn end_of_input(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
) -> Result<(), FieldError> {
    de.end()
        .map_err(|e| FieldError::new("body", format!("unexpected data after the JSON value: {e}")))
}

fn parse_query<T: DeserializeOwned>(parts: &Parts) -> Result<T, FieldError> {
    let raw = parts.uri.query().unwrap_or("");
    let de = serde_urlencoded_de(raw);
    de.map_err(|e| FieldError::new("query", e))
}

/// Parses `a=1&b=x` into `T` through a JSON object of strings, numbers when `T` wants them.
fn serde_urlencoded_de<T: DeserializeOwned>(raw: &str) -> Result<T, String> {
    let pairs: Vec<(String, String)> = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{raw}").parse().map_err(|e| format!("{e}"))?,
    )
    .map_err(|e| e.body_text())?
    .0;
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        map.insert(k, serde_json::Value::String(v));
    }
    let value = serde_json::Value::Object(map);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        format!("{path}: {}", e.inner())
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts).map(Query).map_err(|f| {
            ApiError::bad_request(format!("Invalid query parameters: {}", f.message), vec![f])
        })
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts)
            .map(StrictQuery)
            .map_err(|f| ApiError::Schema {
                part: Part::Query,
                details: vec![f],
            })
    }
}

/// Numbers in query strings arrive as text; this deserialises either.
pub mod num {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrText {
        Num(i64),
        Text(String),
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<NumOrText>::deserialize(d)? {
            None => Ok(None),
            Some(NumOrText::Num(n)) => Ok(Some(n)),
            Some(NumOrText::Text(t)) if t.is_empty() => Ok(None),
            Some(NumOrText::Text(t)) => t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| Some(f as i64))
                .ok_or_else(|| D::Error::custom(format!("expected a number, got \"{t}\""))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::humanize;

    #[test]
    fn serde_messages_are_said_for_people() {
        assert_eq!(
            humanize(
                "unknown variant `done`, expected one of `todo`, `in_progress`, `completed` at line 1 column 103"
            ),
            "'done' is not allowed; expected one of: todo, in_progress, completed"
        );
        assert_eq!(
            humanize("invalid type: integer `5`, expected a string at line 1 column 10"),
            "expected a string, got integer '5'"
        );
        assert_eq!(humanize("missing field `title`"), "title is required");
        assert_eq!(
            humanize("trailing characters at line 1 column 3"),
            "trailing characters"
        );
    }
}
