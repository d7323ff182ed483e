//! Supabase Auth (GoTrue): the password grant that signs in and the refresh-token grant that
//! keeps the session going. `POST {url}/auth/v1/token?grant_type=…` with the project's anon key
//! as `apikey`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{CtlError, Result};

/// A signed-in session as GoTrue answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSession {
    pub access_token: String,
    pub refresh_token: String,
    /// Epoch seconds.
    pub expires_at: i64,
    pub user_id: Option<String>,
    pub email: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    user: Option<User>,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Signs in with email and password.
pub async fn password_grant(
    http: &reqwest::Client,
    url: &str,
    anon_key: &str,
    email: &str,
    password: &str,
) -> Result<AuthSession> {
    token(
        http,
        url,
        anon_key,
        "password",
        json!({"email": email, "password": password}),
    )
    .await
}

/// Trades a refresh token for a new session (the old refresh token is spent).
pub async fn refresh(
    http: &reqwest::Client,
    url: &str,
    anon_key: &str,
    refresh_token: &str,
) -> Result<AuthSession> {
    token(
        http,
        url,
        anon_key,
        "refresh_token",
        json!({"refresh_token": refresh_token}),
    )
    .await
}

async fn token(
    http: &reqwest::Client,
    url: &str,
    anon_key: &str,
    grant: &str,
    body: Value,
) -> Result<AuthSession> {
    let endpoint = format!("{}/auth/v1/token", url.trim_end_matches('/'));
    let resp = http
        .post(&endpoint)
        .query(&[("grant_type", grant)])
        .header("apikey", anon_key)
        .bearer_auth(anon_key)
        .json(&body)
        .send()
        .await
        .map_err(|e| CtlError::Auth(format!("cannot reach Supabase Auth at {endpoint}: {e}")))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| CtlError::Auth(format!("Supabase Auth: {e}")))?;
    if !status.is_success() {
        return Err(CtlError::Auth(error_message(status.as_u16(), &bytes)));
    }
    let t: TokenAnswer = serde_json::from_slice(&bytes)
        .map_err(|e| CtlError::Auth(format!("unexpected Supabase Auth answer: {e}")))?;
    let now = now_secs();
    let expires_at = t
        .expires_at
        .or(t.expires_in.map(|s| now + s))
        .unwrap_or(now + 3600);
    let (user_id, email) = t.user.map(|u| (u.id, u.email)).unwrap_or_default();
    Ok(AuthSession {
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        expires_at,
        user_id,
        email,
    })
}

/// GoTrue's error message, whichever of its shapes it used
/// (`{error, error_description}` or `{code, error_code, msg}`).
fn error_message(status: u16, bytes: &[u8]) -> String {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let message = text("error_description")
        .or_else(|| text("msg"))
        .or_else(|| text("message"))
        .or_else(|| text("error"))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(bytes)
                .trim()
                .chars()
                .take(200)
                .collect()
        });
    format!("Supabase Auth refused ({status}): {message}")
}

pub fn now_secs() -> i64 {
    crate::output::now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_of_both_gotrue_shapes() {
        assert!(
            error_message(
                400,
                br#"{"error":"invalid_grant","error_description":"Invalid login credentials"}"#
            )
            .contains("Invalid login credentials")
        );
        assert!(
            error_message(
                400,
                br#"{"code":400,"error_code":"invalid_credentials","msg":"Bad creds"}"#
            )
            .contains("Bad creds")
        );
        assert!(error_message(502, b"Bad Gateway").contains("Bad Gateway"));
    }
}
