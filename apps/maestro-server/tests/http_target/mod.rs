//! A [`matrix::Target`](super::matrix::Target) over HTTP: one or more running instances of the
//! real binary on Supabase (requests alternate between them), six users of the test database
//! with their JWTs, and the session-token key the instances were started with. Used by the
//! access matrix and the fleet simulation.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::matrix;
use super::support;

pub struct HttpTarget {
    bases: Vec<String>,
    next: AtomicUsize,
    http: reqwest::Client,
    api_token: String,
    users: BTreeMap<&'static str, support::User>,
    tokens: maestro_http::session_token::SessionTokens,
}

impl HttpTarget {
    /// `bases` (e.g. `http://127.0.0.1:PORT`), with fresh users alice … frank.
    pub fn new(env: &support::Env, bases: Vec<String>, api_token: &str, session_key: &str) -> Self {
        Self {
            bases,
            next: AtomicUsize::new(0),
            http: reqwest::Client::new(),
            api_token: api_token.to_string(),
            users: ["alice", "bob", "carol", "dave", "erin", "frank"]
                .into_iter()
                .map(|n| (n, env.user(n)))
                .collect(),
            tokens: maestro_http::session_token::SessionTokens::new(
                session_key.as_bytes().to_vec(),
            ),
        }
    }
}

impl matrix::Target for HttpTarget {
    async fn send(
        &self,
        bearer: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> matrix::Reply {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.bases[i]));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        matrix::Reply {
            status,
            body: r.json::<Value>().await.unwrap_or(Value::Null),
        }
    }
    fn server_token(&self) -> String {
        self.api_token.clone()
    }
    fn user_token(&self, name: &str) -> String {
        self.users[name].jwt.clone()
    }
    fn user_id(&self, name: &str) -> String {
        self.users[name].id.clone()
    }
    fn user_email(&self, name: &str) -> String {
        self.users[name].email.clone()
    }
    fn mint(&self, session: &str, project: &str) -> String {
        self.tokens.mint(session, project).unwrap()
    }
    fn name(&self) -> String {
        self.bases[0].clone()
    }
}
