//! Test harness: the real router served on a real TCP socket (127.0.0.1:0), over the in-memory
//! or the FileSystem adapters, plus helpers for JSON requests, raw HTTP requests, bus events and
//! raw WebSocket clients.

#![allow(dead_code, clippy::unwrap_used)]

pub mod mobile;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use maestro_domain::ids::{RandomIds, SystemClock};
use maestro_domain::ports::ManifestGenerator;
use maestro_domain::ports::{BoxStream, BusMessage, EventBus, Presence};
use maestro_domain::services::{
    AgentPorts, AgentService, HostInfo, Ports, Services, SpawnService, SpawnSettings,
};
use maestro_fs::{FsConfig, FsStore};
use maestro_http::{AppState, AuthMode, HttpConfig, SecurityConfig, TokenAuth};
use maestro_local::{CliManifestGenerator, FsModalPages, FsSkillCatalog};
use maestro_memory::{MemoryEventBus, MemoryPresence};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Body limit of every test server (small, so "too large" is cheap to provoke).
pub const BODY_LIMIT: usize = 64 * 1024;

/// An origin on the allow-list of every test server.
pub const ALLOWED_ORIGIN: &str = "http://localhost:1420";

/// Provider secret put in the server's `spawn_secrets`; must never be stored or broadcast.
pub const SECRET_KEY: &str = "ANTHROPIC_API_KEY";
pub const SECRET_VALUE: &str = "sk-ant-test-secret-value";

/// Which adapters a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapters {
    Memory,
    Fs,
}

/// Which fake CLI generates spawn manifests (scripts in `tests/fixtures/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cli {
    /// Writes a manifest echoing its arguments and environment.
    Ok,
    /// Writes a partial file, prints to stderr and exits 1.
    Fail,
    /// Sleeps far past the generator timeout.
    Hang,
    /// Takes a second, then writes the manifest [`Cli::Ok`] writes.
    Slow,
    /// A program that does not exist.
    Missing,
}

impl Cli {
    fn script(self) -> PathBuf {
        let name = match self {
            Cli::Ok => "fake-maestro.sh",
            Cli::Fail => "fake-maestro-fail.sh",
            Cli::Hang => "fake-maestro-hang.sh",
            Cli::Slow => "fake-maestro-slow.sh",
            Cli::Missing => return PathBuf::from("/nonexistent/maestro-cli-for-tests"),
        };
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        ensure_executable(&path);
        path
    }
}

/// Restores the executable bit if a checkout lost it (mode change only; the content is never
/// rewritten, so no "text file busy" race with concurrent spawns).
fn ensure_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
    if meta.permissions().mode() & 0o111 != 0o111 {
        let mut p = meta.permissions();
        p.set_mode(0o755);
        std::fs::set_permissions(path, p).unwrap();
    }
}

/// How to build a [`TestServer`].
#[derive(Debug, Clone)]
pub struct Builder {
    adapters: Adapters,
    token: Option<String>,
    cli: Cli,
    cli_timeout: Duration,
    body_limit: usize,
    security: Option<SecurityConfig>,
    any_origin: bool,
    users: Vec<String>,
    event_log: maestro_domain::ports::Retention,
}

/// The bearer token of test user `id` on a server built with [`Builder::users`].
/// A Web Push service on in-memory subscriptions with a real sender (its own VAPID key, no
/// allow-list), and its sender loop for the caller to run or drop.
pub fn push_service(
    sessions: Arc<dyn maestro_domain::ports::SessionRepo>,
    api_keys: Option<Arc<dyn maestro_domain::ports::ApiKeyRepo>>,
) -> (
    maestro_domain::services::PushService,
    maestro_domain::services::PushDispatcher,
) {
    maestro_domain::services::PushService::new(
        maestro_domain::services::PushPorts {
            subscriptions: Arc::new(maestro_memory::MemoryPushSubscriptionRepo::new()),
            sender: Arc::new(
                maestro_webpush::WebPushSender::new(
                    maestro_webpush::VapidKeys::generate().unwrap(),
                    maestro_webpush::WebPushConfig::default(),
                )
                .unwrap(),
            ),
            sessions,
            members: None,
            api_keys,
            clock: Arc::new(SystemClock),
        },
        maestro_domain::services::RetryPolicy::default(),
    )
}

pub fn user_token(id: &str) -> String {
    format!("{USER_TOKEN_PREFIX}{id}")
}

/// A token of test user `id` that expires at `exp_ms` (ms since the epoch).
pub fn expiring_user_token(id: &str, exp_ms: i64) -> String {
    format!("{USER_TOKEN_PREFIX}{id}@{exp_ms}")
}

const USER_TOKEN_PREFIX: &str = "test-user-token:";

/// An `Auth` adapter with user accounts, standing in for Supabase Auth on the in-memory and
/// FileSystem backends: `test-user-token:<id>` is user `<id>` (if registered), the API token
/// is the server credential, anything else is refused. (Real JWT verification is tested
/// against the Supabase adapter.)
struct TestUserAuth {
    users: Vec<String>,
    api_token: Option<String>,
}

#[async_trait::async_trait]
impl maestro_domain::ports::Auth for TestUserAuth {
    async fn authenticate<'a>(
        &self,
        bearer: Option<&'a str>,
    ) -> Result<maestro_domain::ports::Principal, maestro_domain::ports::AuthRejection> {
        use maestro_domain::ports::{AccessToken, AuthRejection, Principal};
        let token = bearer
            .filter(|b| !b.trim().is_empty())
            .ok_or(AuthRejection::Missing)?;
        if self.api_token.as_deref() == Some(token) {
            return Ok(Principal::Service);
        }
        // `<prefix><id>` or, expiring like a Supabase access token, `<prefix><id>@<exp ms>`.
        let Some(rest) = token.strip_prefix(USER_TOKEN_PREFIX) else {
            return Err(AuthRejection::Invalid("unknown test token".into()));
        };
        let (id, expires_at) = match rest.split_once('@') {
            Some((id, exp)) => (
                id,
                Some(
                    exp.parse::<i64>()
                        .map_err(|_| AuthRejection::Invalid("bad expiry".into()))?,
                ),
            ),
            None => (rest, None),
        };
        use maestro_domain::ports::Clock;
        if expires_at.is_some_and(|exp| exp <= SystemClock.now_ms()) {
            return Err(AuthRejection::Expired);
        }
        match self.users.iter().any(|u| u == id) {
            true => Ok(Principal::User {
                id: id.to_string(),
                email: Some(format!("{id}@example.test")),
                access_token: AccessToken(token.to_string()),
                expires_at,
            }),
            false => Err(AuthRejection::Invalid("unknown test token".into())),
        }
    }
}

impl Builder {
    pub fn new(adapters: Adapters) -> Self {
        Self {
            adapters,
            token: None,
            cli: Cli::Ok,
            cli_timeout: Duration::from_secs(10),
            body_limit: BODY_LIMIT,
            security: None,
            any_origin: false,
            users: Vec::new(),
            event_log: maestro_domain::ports::Retention::default(),
        }
    }

    /// How much of each project's event log the server keeps (resume tests).
    pub fn event_log(mut self, retention: maestro_domain::ports::Retention) -> Self {
        self.event_log = retention;
        self
    }

    /// Signed-in users (auth mode `supabase`, loopback not trusted): `ids` are accounts with
    /// emails `<id>@example.test`, authenticated by [`user_token`]; sharing works through the
    /// in-memory member store. The API token, if set, is still the server credential.
    pub fn users(mut self, ids: &[&str]) -> Self {
        self.users = ids.iter().map(|s| s.to_string()).collect();
        self
    }

    /// `CORS_ORIGINS=*` (on top of the usual allow-list).
    pub fn any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// Security settings (auth mode, hosts, proxies, connection limits); the auth mode is
    /// still `Token` when a token is set.
    pub fn security(mut self, security: SecurityConfig) -> Self {
        self.security = Some(security);
        self
    }

    /// Requires `Authorization: Bearer <token>` (or `?token=`) everywhere but `/health`.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    pub fn cli(mut self, cli: Cli, timeout: Duration) -> Self {
        self.cli = cli;
        self.cli_timeout = timeout;
        self
    }

    pub async fn start(self) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let session_dir = dir.path().join("sessions");
        let skills_dir = dir.path().join("skills");
        for d in [&data_dir, &session_dir, &skills_dir] {
            std::fs::create_dir_all(d).unwrap();
        }
        let log = Arc::new(maestro_memory::MemoryEventLog::new(self.event_log));
        let bus: Arc<dyn EventBus> = Arc::new(maestro_domain::services::LoggedBus::new(
            Arc::new(MemoryEventBus::new()),
            log.clone(),
        ));
        let api_keys: Arc<dyn maestro_domain::ports::ApiKeyRepo>;
        let (ports, store) = match self.adapters {
            Adapters::Memory => {
                api_keys = Arc::new(maestro_memory::MemoryApiKeyRepo::new());
                (
                    Ports::new(
                        maestro_memory::repositories(),
                        bus,
                        Arc::new(SystemClock),
                        Arc::new(RandomIds),
                    ),
                    None,
                )
            }
            Adapters::Fs => {
                let store = FsStore::open(FsConfig::new(&data_dir)).await.unwrap();
                api_keys = store.api_keys();
                (
                    Ports {
                        projects: store.projects(),
                        tasks: store.tasks(),
                        sessions: store.sessions(),
                        mail: store.mail(),
                        team_members: store.team_members(),
                        orderings: store.orderings(),
                        bus,
                        clock: Arc::new(SystemClock),
                        ids: Arc::new(RandomIds),
                    },
                    Some(store),
                )
            }
        };
        let push_sessions = ports.sessions.clone();
        let services = Services::new(
            ports,
            HostInfo {
                hostname: "test-host".into(),
                platform: "linux".into(),
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_url = format!("http://{addr}");
        let manifests: Arc<dyn ManifestGenerator> = Arc::new(CliManifestGenerator {
            program: self.cli.script(),
            session_dir: session_dir.clone(),
            data_dir: data_dir.clone(),
            server_url: server_url.clone(),
            timeout: self.cli_timeout,
            env: maestro_local::child_env(&std::env::vars().collect::<BTreeMap<_, _>>()),
        });
        let spawn = SpawnService::new(
            &services,
            manifests.clone(),
            SpawnSettings {
                server_url,
                data_dir: data_dir.display().to_string(),
                session_dir: session_dir.display().to_string(),
                flags: BTreeMap::new(),
            },
        );
        let agents = AgentService::new(
            &services,
            AgentPorts {
                presence: Arc::new(MemoryPresence::new()) as Arc<dyn Presence>,
                manifests,
                modals: Arc::new(FsModalPages::new(data_dir.join("modals"))),
                skills: Arc::new(FsSkillCatalog::new(skills_dir.clone())),
            },
        );
        let config = HttpConfig {
            body_limit: self.body_limit,
            allowed_origins: vec![ALLOWED_ORIGIN.to_string(), "tauri://localhost".to_string()],
            allow_any_origin: self.any_origin,
            security: {
                let mut sec = self.security.clone().unwrap_or_default();
                if !self.users.is_empty() {
                    sec.auth_mode = AuthMode::Supabase;
                    sec.trust_loopback = false;
                } else if self.token.is_some() {
                    sec.auth_mode = AuthMode::Token;
                    sec.trust_loopback = false;
                }
                sec
            },
            spawn_secrets: BTreeMap::from([(SECRET_KEY.to_string(), SECRET_VALUE.to_string())]),
        };
        let auth: Arc<dyn maestro_domain::ports::Auth> = if self.users.is_empty() {
            Arc::new(TokenAuth::new(self.token.clone()))
        } else {
            Arc::new(TestUserAuth {
                users: self.users.clone(),
                api_token: self.token.clone(),
            })
        };
        // Web Push subscriptions (nothing is pushed here: the bus is not wrapped by the
        // PushingBus, so the sender is never asked).
        let (push, _dispatcher) = push_service(push_sessions, Some(api_keys.clone()));
        let mut state = AppState::builder(services, spawn, agents, auth, config)
            .push(push)
            .api_keys(api_keys)
            .event_log(log)
            .lock(Arc::new(maestro_memory::MemoryLock::new()))
            .idempotency(Arc::new(maestro_memory::MemoryIdempotency::new()));
        if !self.users.is_empty() {
            let members = maestro_memory::MemoryMemberRepo::new();
            for id in &self.users {
                members.add_user(maestro_domain::model::UserRef {
                    id: id.clone(),
                    email: Some(format!("{id}@example.test")),
                });
            }
            state = state.members(Arc::new(members));
        }
        let state = state.build();
        let events = EventLog::new(state.services().ports().bus.subscribe());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(maestro_http::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(t) = &self.token {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {t}").parse().unwrap(),
            );
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestServer {
            addr,
            state,
            http,
            events: std::sync::Mutex::new(events),
            data_dir,
            session_dir,
            skills_dir,
            stop: Some(stop),
            task,
            _store: store,
            _dir: dir,
        }
    }
}

/// A running server; shut down when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    http: reqwest::Client,
    /// Subscribed before the server accepted its first request.
    events: std::sync::Mutex<EventLog>,
    pub data_dir: PathBuf,
    pub session_dir: PathBuf,
    pub skills_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _store: Option<FsStore>,
    _dir: TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

/// A JSON response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn ok(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts the status and the error shape `{error: true, code, message}`.
    #[track_caller]
    pub fn err(self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_error_shape(&self.body);
        assert_eq!(
            self.body["code"], code,
            "unexpected code; body: {}",
            self.body
        );
        self.body
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// `{error: true, code: <string>, message: <non-empty string>}`.
#[track_caller]
pub fn assert_error_shape(body: &Value) {
    assert_eq!(body["error"], true, "error must be true: {body}");
    assert!(body["code"].is_string(), "code must be a string: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message must be a non-empty string: {body}"
    );
}

impl TestServer {
    pub async fn memory() -> Self {
        Builder::new(Adapters::Memory).start().await
    }

    pub async fn fs() -> Self {
        Builder::new(Adapters::Fs).start().await
    }

    pub async fn start(adapters: Adapters) -> Self {
        Builder::new(adapters).start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// A client that sends the server's token, if it has one.
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// A new subscription to the event bus (sees what is published from now on).
    pub fn events(&self) -> EventLog {
        EventLog::new(self.state.services().ports().bus.subscribe())
    }

    /// Event names published since the last call (or since start-up).
    pub fn take_events(&self) -> Vec<String> {
        self.events.lock().unwrap().names()
    }

    /// Events (name, data) published since the last call (or since start-up).
    pub fn take_event_data(&self) -> Vec<(String, Value)> {
        self.events.lock().unwrap().drain()
    }

    pub async fn req(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        self.req_as(None, method, path, body).await
    }

    /// A request with `Authorization: Bearer <bearer>` instead of the default token, if any;
    /// `Some("")`: without any `Authorization`.
    pub async fn req_as(
        &self,
        bearer: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        let mut rb = match bearer {
            Some("") => reqwest::Client::new().request(method, self.url(path)),
            _ => self.http.request(method, self.url(path)),
        };
        if let Some(t) = bearer.filter(|t| !t.is_empty()) {
            rb = rb.header(reqwest::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "response to {path} is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.req(reqwest::Method::POST, path, Some(body)).await
    }

    /// POST without any body.
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.req(reqwest::Method::POST, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.req(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.req(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.req(reqwest::Method::DELETE, path, None).await
    }

    /// Sends bytes exactly as given (no URL normalisation) and reads the whole response.
    pub async fn raw(&self, request: &[u8]) -> RawResp {
        raw_request(self.addr, request).await
    }

    /// A raw request with a path sent verbatim.
    pub async fn raw_json(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> RawResp {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes).await
    }

    // ---- fixtures ---------------------------------------------------------------------------

    pub async fn project(&self, name: &str) -> Value {
        self.post(
            "/api/projects",
            json!({"name": name, "workingDir": "/tmp/work", "description": "d"}),
        )
        .await
        .ok(201)
    }

    pub async fn task(&self, project_id: &str, title: &str) -> Value {
        self.post(
            "/api/tasks",
            json!({"projectId": project_id, "title": title}),
        )
        .await
        .ok(201)
    }

    pub async fn child_task(&self, project_id: &str, parent_id: &str, title: &str) -> Value {
        self.post(
            "/api/tasks",
            json!({"projectId": project_id, "title": title, "parentId": parent_id}),
        )
        .await
        .ok(201)
    }

    pub async fn session(&self, project_id: &str, task_ids: &[&str]) -> Value {
        self.post(
            "/api/sessions",
            json!({"projectId": project_id, "taskIds": task_ids, "name": "worker", "status": "working"}),
        )
        .await
        .ok(201)
    }

    /// A project with one task and one session on it; events drained.
    pub async fn basics(&self) -> (String, String, String) {
        let p = self.project("Basics").await;
        let pid = id(&p);
        let t = self.task(&pid, "First").await;
        let tid = id(&t);
        let s = self.session(&pid, &[&tid]).await;
        let sid = id(&s);
        self.take_events();
        (pid, tid, sid)
    }

    /// Writes `<skills_dir>/<dir>/SKILL.md`.
    /// Stores a project and sessions with fixed ids directly in the repositories (the API
    /// refuses mail, waits and orderings for records that do not exist).
    pub async fn seed(&self, project: &str, sessions: &[&str]) {
        let ports = self.state.services().ports();
        let now = maestro_domain::ports::Clock::now_ms(&SystemClock);
        let p: maestro_domain::model::Project = serde_json::from_value(json!({
            "id": project, "name": project, "workingDir": "/tmp/work",
            "createdAt": now, "updatedAt": now
        }))
        .unwrap();
        ports.projects.create(p).await.unwrap();
        for s in sessions {
            let session: maestro_domain::model::Session = serde_json::from_value(json!({
                "id": s, "projectId": project, "name": s, "status": "working",
                "startedAt": now, "lastActivity": now
            }))
            .unwrap();
            ports.sessions.create(session).await.unwrap();
        }
    }

    pub fn write_skill(&self, dir: &str, text: &str) {
        let d = self.skills_dir.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("SKILL.md"), text).unwrap();
    }

    /// Entries left in the spawn manifest directory.
    pub fn session_dir_entries(&self) -> Vec<String> {
        match std::fs::read_dir(&self.session_dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    // ---- WebSocket --------------------------------------------------------------------------

    /// Connects a raw WebSocket client and waits until its bus subscription is live (a
    /// ping/pong round trip happens after the server subscribed).
    pub async fn ws(&self, path: &str) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(self.ws_url(path))
            .await
            .unwrap();
        let mut ws = Ws { stream };
        ws.send(json!({"type": "ping"})).await;
        let pong = ws.next_json().await;
        assert_eq!(pong["type"], "pong", "{pong}");
        ws
    }

    /// Tries an upgrade with extra headers; `Err(status)` when the server refused it.
    pub async fn ws_with(&self, path: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
        let mut req = self.ws_url(path).into_client_request().unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((stream, _)) => Ok(Ws { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("unexpected WebSocket error: {e}"),
        }
    }
}

pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// Subscription to the bus.
pub struct EventLog {
    stream: BoxStream<BusMessage>,
}

impl EventLog {
    fn new(stream: BoxStream<BusMessage>) -> Self {
        Self { stream }
    }

    /// Everything already queued (events are queued before the response that caused them is
    /// written, so after a response this is deterministic).
    pub fn drain(&mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Some(Some(msg)) = self.stream.next().now_or_never() {
            match msg {
                BusMessage::Event(e) => out.push((e.name().to_string(), e.data())),
                BusMessage::Lagged(n) => panic!("test event log lagged by {n}"),
            }
        }
        out
    }

    pub fn names(&mut self) -> Vec<String> {
        self.drain().into_iter().map(|(n, _)| n).collect()
    }
}

/// A raw WebSocket client.
pub struct Ws {
    pub stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Ws {
    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// The next JSON text frame (5 s at most).
    pub async fn next_json(&mut self) -> Value {
        self.try_next_json(Duration::from_secs(5))
            .await
            .expect("no WebSocket frame within 5 s")
    }

    /// The next JSON text frame, or `None` after `wait`.
    pub async fn try_next_json(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?;
            match msg {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
                Some(Ok(Message::Close(_))) | None => return None,
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("WebSocket error: {e}"),
            }
        }
    }

    /// Frames until one whose `event` is `name`; returns (frames before it, that frame).
    pub async fn until_event(&mut self, name: &str) -> (Vec<Value>, Value) {
        let mut before = Vec::new();
        loop {
            let f = self.next_json().await;
            if f["event"] == name {
                return (before, f);
            }
            before.push(f);
        }
    }
}

/// A raw HTTP/1.1 response.
#[derive(Debug)]
pub struct RawResp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "raw body is not JSON ({e}): {}\n{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

async fn raw_request(addr: SocketAddr, request: &[u8]) -> RawResp {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    // The server may close early (e.g. on a too-large body); read what arrived.
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut body = buf[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    RawResp { status, head, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        let end = (start + size).min(data.len());
        out.extend_from_slice(&data[start..end]);
        data = data.get(end + 2..).unwrap_or(&[]);
    }
}
