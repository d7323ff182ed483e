//! `maestroctl auth login --email` against a server in `AUTH_MODE=supabase` (PostgreSQL with
//! the migrations behind postrust, users in `auth.users`) and a small test double of Supabase
//! Auth's two token grants (password, refresh_token) that signs HS256 access tokens with the
//! project's JWT secret. An expired stored access token is refreshed transparently, and the
//! rotated refresh token is saved.
//! Fails when `CI` is set and PostgreSQL or postrust is missing; skips loudly otherwise.
#![allow(clippy::unwrap_used, dead_code)]

#[path = "../../../crates/maestro-supabase/tests/support/mod.rs"]
mod pg;
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use support::{Home, json as parse, stderr};

const PASSWORD: &str = "correct horse battery staple";

/// The double's state: one user, the refresh tokens it will still accept, what it answered.
struct Gotrue {
    issuer: String,
    anon_key: String,
    user_id: String,
    email: String,
    live_refresh: Vec<String>,
    refreshes: usize,
    next: usize,
}

type Shared = Arc<Mutex<Gotrue>>;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An HS256 access token with Supabase's claims, expiring at `exp`.
fn access_token(issuer: &str, user_id: &str, email: &str, exp: i64) -> String {
    let claims = json!({
        "iss": issuer, "aud": "authenticated", "sub": user_id, "email": email,
        "role": "authenticated", "aal": "aal1", "iat": now() - 1, "exp": exp,
        "session_id": "ctl-test-session", "is_anonymous": false,
    });
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let input = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(pg::JWT_SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

async fn token(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut g = state.lock().unwrap();
    if headers.get("apikey").and_then(|v| v.to_str().ok()) != Some(g.anon_key.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "No API key found in request"})),
        );
    }
    let refused = |msg: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": msg})),
        )
    };
    match q.get("grant_type").map(String::as_str) {
        Some("password") => {
            if body["email"] != g.email.as_str() || body["password"] != PASSWORD {
                return refused("Invalid login credentials");
            }
        }
        Some("refresh_token") => {
            let given = body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let Some(i) = g.live_refresh.iter().position(|r| *r == given) else {
                return refused("Invalid Refresh Token: Refresh Token Not Found");
            };
            // Rotation: a refresh token is spent once used.
            g.live_refresh.remove(i);
            g.refreshes += 1;
        }
        _ => return refused("unsupported grant_type"),
    }
    g.next += 1;
    let refresh = format!("refresh-{}", g.next);
    g.live_refresh.push(refresh.clone());
    let exp = now() + 3600;
    let access = access_token(&g.issuer, &g.user_id, &g.email, exp);
    (
        StatusCode::OK,
        Json(json!({
            "access_token": access, "token_type": "bearer", "expires_in": 3600,
            "expires_at": exp, "refresh_token": refresh,
            "user": {"id": g.user_id, "email": g.email, "aud": "authenticated"},
        })),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supabase_sign_in_and_transparent_refresh() {
    let Some(env) = pg::env() else {
        return;
    };
    let carol = env.user("carol");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let auth_url = format!("http://{}", listener.local_addr().unwrap());
    let state: Shared = Arc::new(Mutex::new(Gotrue {
        issuer: format!("{auth_url}/auth/v1"),
        anon_key: env.anon_jwt.clone(),
        user_id: carol.id.clone(),
        email: carol.email.clone(),
        live_refresh: Vec::new(),
        refreshes: 0,
        next: 0,
    }));
    let app = axum::Router::new()
        .route("/auth/v1/token", post(token))
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let srv = support::server(
        &[
            ("--supabase-enabled", "true"),
            ("--auth-mode", "supabase"),
            ("--supabase-url", auth_url.as_str()),
            ("--supabase-rest-url", env.rest_url.as_str()),
            ("--supabase-service-role-key", env.service_jwt.as_str()),
            ("--supabase-anon-key", env.anon_jwt.as_str()),
            ("--supabase-jwt-secret", pg::JWT_SECRET),
        ]
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.to_string()])
        .collect::<Vec<_>>(),
    )
    .await;
    let home = Home::new();
    let login = [
        "--json",
        "auth",
        "login",
        "--email",
        &carol.email,
        "--password-stdin",
    ];

    let wrong = home.run_with_input(&srv.base, &login, "not the password\n");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("Invalid login credentials"),
        "{}",
        stderr(&wrong)
    );
    assert!(!home.auth_file().exists());

    let ok = parse(&home.run_with_input(&srv.base, &login, &format!("{PASSWORD}\n")));
    assert_eq!(ok["kind"], "supabase");
    assert_eq!(ok["email"], carol.email.as_str());
    let stored =
        || -> Value { serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap() };
    assert_eq!(stored()["refreshToken"], "refresh-1");

    let project = parse(&home.run(&srv.base, &["--json", "project", "create", "Carol's"]));
    let who = parse(&home.run(&srv.base, &["--json", "auth", "whoami"]));
    assert_eq!(who["accepted"], true, "{who}");
    assert_eq!(who["userId"], carol.id.as_str());
    let members = parse(&home.run(
        &srv.base,
        &[
            "--json",
            "project",
            "members",
            "--project",
            project["id"].as_str().unwrap(),
        ],
    ));
    assert_eq!(members[0]["userId"], carol.id.as_str(), "{members}");
    assert_eq!(members[0]["role"], "owner");

    // The stored access token has expired since: the server refuses it...
    let expired = access_token(
        &format!("{auth_url}/auth/v1"),
        &carol.id,
        &carol.email,
        now() - 120,
    );
    let mut cred = stored();
    cred["accessToken"] = json!(expired);
    cred["expiresAt"] = json!(now() - 120);
    std::fs::write(home.auth_file(), serde_json::to_vec(&cred).unwrap()).unwrap();
    let direct = home.run(&srv.base, &["project", "list", "--token", &expired]);
    assert_eq!(direct.status.code(), Some(1));
    assert!(stderr(&direct).contains("401"), "{}", stderr(&direct));
    // ...and the next command refreshes it first, and saves the rotated refresh token.
    let listed = parse(&home.run(&srv.base, &["--json", "project", "list"]));
    assert_eq!(listed[0]["id"], project["id"], "{listed}");
    assert_eq!(state.lock().unwrap().refreshes, 1);
    let now_stored = stored();
    assert_eq!(now_stored["refreshToken"], "refresh-2");
    assert_ne!(now_stored["accessToken"], json!(expired));
    assert!(now_stored["expiresAt"].as_i64().unwrap() > now() + 3000);
    // A fresh token is not refreshed again.
    parse(&home.run(&srv.base, &["--json", "project", "list"]));
    assert_eq!(state.lock().unwrap().refreshes, 1);

    // A refresh token Supabase no longer accepts: a clear message to sign in again.
    let mut cred = stored();
    cred["expiresAt"] = json!(now() - 1);
    cred["refreshToken"] = json!("refresh-1");
    std::fs::write(home.auth_file(), serde_json::to_vec(&cred).unwrap()).unwrap();
    let stale = home.run(&srv.base, &["project", "list"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(stderr(&stale).contains("auth login"), "{}", stderr(&stale));
}
