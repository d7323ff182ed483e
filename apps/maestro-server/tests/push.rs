//! Web Push end to end without the internet (issue 27): the real binary, devices subscribed
//! over REST, agents played over REST, and a push service stand-in on loopback that verifies
//! each request's VAPID signature and decrypts its body with the device's own keys.
//!
//! - needs-input and approvals reach every device whose owner may see the project, with
//!   `TTL`, `Urgency: high`, one `Topic` per session and the answers as actions;
//! - a revoked API key's device, a muted project and a device of another project hear
//!   nothing; a `410` drops the subscription; a `503` is retried;
//! - subscriptions are validated (https only, no private addresses) and belong to their
//!   caller.
#![allow(clippy::unwrap_used)]

mod local;
mod private_redis;
mod push_service;

use std::process::Child;

use maestro_testkit::poll::until_async;
use push_service::PushServiceStandIn;
use reqwest::Method;
use serde_json::{Value, json};

struct Server {
    base: String,
    http: reqwest::Client,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start(push: &PushServiceStandIn) -> Self {
        let port = private_redis::free_port();
        let dir = tempfile::tempdir().unwrap();
        let child = local::command(port, dir.path())
            .env("PUSH_ENDPOINT_ALLOWLIST", &push.origin)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        local::wait_up(&http, &base).await;
        let s = Self {
            base,
            http,
            child,
            _dir: dir,
        };
        let (_, config) = s.call(Method::GET, "/api/auth/config", None, None).await;
        push.expect_vapid_key(config["push"]["publicKey"].as_str().unwrap());
        s
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, v) = self.call(method, path, None, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {status} {v}");
        v
    }

    /// A project with one session; their ids.
    async fn project_with_session(&self, name: &str) -> (String, String) {
        let p = self
            .ok(Method::POST, "/api/projects", json!({"name": name}))
            .await;
        let pid = p["id"].as_str().unwrap().to_string();
        let s = self
            .ok(
                Method::POST,
                "/api/sessions",
                json!({"projectId": pid, "taskIds": [], "name": format!("{name} agent")}),
            )
            .await;
        (pid, s["id"].as_str().unwrap().to_string())
    }

    /// The agent of `sid` asks a question (again: its earlier one is cleared first).
    async fn ask(&self, sid: &str, message: &str, options: &[&str]) {
        let path = format!("/api/sessions/{sid}");
        self.ok(
            Method::PATCH,
            &path,
            json!({"needsInput": {"active": false}}),
        )
        .await;
        self.ok(
            Method::PATCH,
            &path,
            json!({"needsInput": {"active": true, "message": message, "options": options}}),
        )
        .await;
    }

    async fn subscribe(&self, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call(Method::POST, "/api/push/subscriptions", token, Some(body))
            .await
    }
}

/// Waits until `device` has received `n` pushes.
async fn pushes(push: &PushServiceStandIn, device: &str, n: usize) -> Vec<push_service::Received> {
    until_async(&format!("{n} push(es) received by {device}"), || async {
        !push.errors().is_empty() || push.received_by(device).len() >= n
    })
    .await;
    assert!(
        push.errors().is_empty(),
        "the push service refused: {:?}",
        push.errors()
    );
    push.received_by(device)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_input_and_approvals_reach_the_device_signed_and_encrypted() {
    let push = PushServiceStandIn::start().await;
    let s = Server::start(&push).await;
    let phone = push.device("phone");
    let (status, sub) = s.subscribe(None, phone.subscription()).await;
    assert_eq!(status, 201, "{sub}");
    assert_eq!(sub["endpoint"], phone.endpoint);
    let (pid, sid) = s.project_with_session("push").await;

    s.ask(&sid, "Deploy to staging or prod?", &["staging", "prod"])
        .await;
    let got = pushes(&push, "phone", 1).await;
    let p = &got[0].payload;
    assert_eq!(p["kind"], "needs_input");
    assert_eq!(p["title"], "push agent needs input");
    assert_eq!(p["body"], "Deploy to staging or prod?");
    assert_eq!(p["projectId"], pid.as_str());
    assert_eq!(p["sessionId"], sid.as_str());
    assert_eq!(p["options"], json!(["staging", "prod"]));
    assert_eq!(
        p["actions"][0],
        json!({"action": "answer:0", "title": "staging"})
    );
    assert_eq!(p["actions"][1]["action"], "reply");
    assert_eq!(got[0].urgency.as_deref(), Some("high"));
    assert_eq!(got[0].ttl, Some(86_400));
    let topic = got[0].topic.clone().expect("a Topic");
    assert!(
        topic.len() <= 32
            && topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );

    s.ok(
        Method::POST,
        &format!("/api/sessions/{sid}/modal"),
        json!({"modalId": "m-approve", "title": "Run the migration?", "html": "<button>ok</button>"}),
    )
    .await;
    let got = pushes(&push, "phone", 2).await;
    let p = &got[1].payload;
    assert_eq!(p["kind"], "modal");
    assert_eq!(p["modalId"], "m-approve");
    assert_eq!(p["body"], "Run the migration?");
    assert_eq!(p["actions"][0]["action"], "approve");
    assert_eq!(p["actions"][1]["action"], "deny");
    assert_eq!(
        got[1].topic.as_deref(),
        Some(topic.as_str()),
        "one topic per session"
    );

    // Mail between agents is not the person's; mail to the person is.
    let (_, other) = s.project_with_session("push-mail").await;
    let mail = |to: &str| json!({"projectId": pid, "fromSessionId": sid, "toSessionId": to, "type": "query", "subject": "Lunch?", "body": {}});
    let _ = other;
    s.ok(Method::POST, "/api/mail", mail(&sid)).await;
    s.ok(Method::POST, "/api/mail", mail("mobile-user")).await;
    let got = pushes(&push, "phone", 3).await;
    assert_eq!(got[2].payload["kind"], "mail");
    assert_eq!(got[2].payload["title"], "Mail from push agent");
    assert_eq!(got.len(), 3, "mail to an agent is not pushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_keys_muted_projects_and_other_projects_hear_nothing() {
    let push = PushServiceStandIn::start().await;
    let s = Server::start(&push).await;
    let (pid, sid) = s.project_with_session("rights").await;
    let (other_pid, _) = s.project_with_session("elsewhere").await;
    let key_of = async |project: &str, name: &str| {
        let v = s
            .ok(
                Method::POST,
                &format!("/api/projects/{project}/api-keys"),
                json!({"name": name}),
            )
            .await;
        (
            v["key"].as_str().unwrap().to_string(),
            v["id"].as_str().unwrap().to_string(),
        )
    };
    let (key, key_id) = key_of(&pid, "agent phone").await;
    let (other_key, _) = key_of(&other_pid, "other phone").await;

    let owner = push.device("owner");
    let keyed = push.device("keyed");
    let other = push.device("other");
    let muted = push.device("muted");
    assert_eq!(s.subscribe(None, owner.subscription()).await.0, 201);
    assert_eq!(s.subscribe(Some(&key), keyed.subscription()).await.0, 201);
    assert_eq!(
        s.subscribe(Some(&other_key), other.subscription()).await.0,
        201
    );
    let mut m = muted.subscription();
    m["mutedProjects"] = json!([pid]);
    assert_eq!(s.subscribe(None, m).await.0, 201);

    s.ask(&sid, "first", &[]).await;
    pushes(&push, "owner", 1).await;
    pushes(&push, "keyed", 1).await;

    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/projects/{pid}/api-keys/{key_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200);
    s.ask(&sid, "second", &[]).await;
    pushes(&push, "owner", 2).await;
    // A third question: when the owner has had it, the sender is done with the second too.
    s.ask(&sid, "third", &[]).await;
    pushes(&push, "owner", 3).await;
    assert_eq!(
        push.received_by("keyed").len(),
        1,
        "a revoked key hears nothing more"
    );
    assert!(
        push.received_by("other").is_empty(),
        "another project's key hears nothing"
    );
    assert!(
        push.received_by("muted").is_empty(),
        "a muted project is silent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_drops_the_subscription_and_unavailable_is_retried() {
    let push = PushServiceStandIn::start().await;
    let s = Server::start(&push).await;
    let (_, sid) = s.project_with_session("gone").await;
    let gone = push.device("gone");
    let flaky = push.device("flaky");
    push.answer("gone", &[410]);
    push.answer("flaky", &[503]);
    assert_eq!(s.subscribe(None, gone.subscription()).await.0, 201);
    assert_eq!(s.subscribe(None, flaky.subscription()).await.0, 201);
    s.ask(&sid, "anyone?", &[]).await;
    // The 503 is tried again (after about half a second) and then accepted.
    let got = pushes(&push, "flaky", 2).await;
    assert_eq!(got[0].payload, got[1].payload, "the same note again");
    pushes(&push, "gone", 1).await;
    until_async("the 410 subscription dropped", || async {
        let (_, list) = s
            .call(Method::GET, "/api/push/subscriptions", None, None)
            .await;
        let endpoints: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["endpoint"].as_str().unwrap().to_string())
            .collect();
        endpoints == [flaky.endpoint.clone()]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_checked_and_belong_to_their_caller() {
    let push = PushServiceStandIn::start().await;
    let s = Server::start(&push).await;
    let phone = push.device("phone");
    let with_endpoint = |endpoint: &str| {
        let mut v = phone.subscription();
        v["endpoint"] = json!(endpoint);
        v
    };
    for bad in [
        with_endpoint("http://push.example.com/x"),
        with_endpoint("https://127.0.0.1/x"),
        with_endpoint("https://169.254.169.254/latest"),
        with_endpoint("https://[::1]/x"),
        with_endpoint("https://localhost/x"),
        json!({"endpoint": phone.endpoint}),
        json!({"endpoint": phone.endpoint, "keys": {"p256dh": "AAAA", "auth": phone.auth}}),
        {
            let mut v = phone.subscription();
            v["quietHours"] = json!({"start": "25:00", "end": "07:00"});
            v
        },
    ] {
        let (status, body) = s.subscribe(None, bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {body}");
        assert!(
            body["message"].is_string() || body["error"].is_string(),
            "{body}"
        );
    }
    // The same device again is an update.
    assert_eq!(s.subscribe(None, phone.subscription()).await.0, 201);
    let mut quiet = phone.subscription();
    quiet["quietHours"] = json!({"start": "22:00", "end": "07:00", "utcOffsetMinutes": 60});
    let (status, v) = s.subscribe(None, quiet).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["quietHours"]["start"], "22:00");

    // An API key's caller neither sees nor removes the local user's device.
    let (pid, _) = s.project_with_session("owner").await;
    let key = s
        .ok(
            Method::POST,
            &format!("/api/projects/{pid}/api-keys"),
            json!({"name": "k"}),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, list) = s
        .call(Method::GET, "/api/push/subscriptions", Some(&key), None)
        .await;
    assert_eq!(list, json!([]));
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/push/subscriptions", s.base),
        [("endpoint", &phone.endpoint)],
    )
    .unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let (status, v) = s.call(Method::DELETE, &path, Some(&key), None).await;
    assert_eq!(
        (status, v["removed"].clone()),
        (200, json!(false)),
        "not the key's device"
    );
    let (_, list) = s
        .call(Method::GET, "/api/push/subscriptions", None, None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "still there");
    let (status, v) = s
        .call(
            Method::DELETE,
            "/api/push/subscriptions",
            None,
            Some(json!({"endpoint": phone.endpoint})),
        )
        .await;
    assert_eq!((status, v["removed"].clone()), (200, json!(true)));
    let (_, list) = s
        .call(Method::GET, "/api/push/subscriptions", None, None)
        .await;
    assert_eq!(list, json!([]));
}

/// Questions asked one after another are each pushed once, in order; prints how long each
/// took from the agent's request to the push service's receipt (docs/BENCHMARKS.md, "Web
/// Push"; a figure, not a bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_question_is_pushed_once_in_order_with_its_latency() {
    const N: usize = 200;
    let push = PushServiceStandIn::start().await;
    let s = Server::start(&push).await;
    let phone = push.device("phone");
    assert_eq!(s.subscribe(None, phone.subscription()).await.0, 201);
    let (_, sid) = s.project_with_session("latency").await;
    let path = format!("/api/sessions/{sid}");
    let mut took = Vec::with_capacity(N);
    for i in 0..N {
        s.ok(
            Method::PATCH,
            &path,
            json!({"needsInput": {"active": false}}),
        )
        .await;
        let asked = std::time::Instant::now();
        s.ok(
            Method::PATCH,
            &path,
            json!({"needsInput": {"active": true, "message": format!("q{i}")}}),
        )
        .await;
        let got = pushes(&push, "phone", i + 1).await;
        took.push(got[i].at.duration_since(asked));
    }
    let bodies: Vec<String> = push
        .received_by("phone")
        .iter()
        .map(|r| r.payload["body"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..N).map(|i| format!("q{i}")).collect();
    assert_eq!(bodies, expected);
    took.sort();
    let pct = |p: usize| took[(took.len() * p / 100).min(took.len() - 1)];
    println!(
        "push latency (question request sent → push received by the stand-in, {N} questions, {} build): p50 {:?} p95 {:?} p99 {:?} max {:?}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        pct(50),
        pct(95),
        pct(99),
        took[took.len() - 1]
    );
}
