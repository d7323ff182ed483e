//! `maestroctl` end to end: the real binary against a real `maestro-server` (token mode,
//! FileSystem storage) on a free port.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use maestro_domain::model::{Project, Session, SessionStatus};
use serde_json::Value;
use support::{Home, Proxy, TOKEN, eventually, json, server, stderr};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_login_whoami_and_logout() {
    let srv = server(&[]).await;
    let home = Home::new();
    // A wrong token is refused by the server and not stored.
    let bad = home.run_with_input(
        &srv.base,
        &["auth", "login", "--with-token"],
        "wrong-token\n",
    );
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("401"), "{}", stderr(&bad));
    assert!(!home.auth_file().exists());

    let ok = home.run_with_input(
        &srv.base,
        &["--json", "auth", "login", "--with-token"],
        &format!("{TOKEN}\n"),
    );
    let summary = json(&ok);
    assert_eq!(summary["kind"], "token");
    assert_eq!(summary["server"], srv.base.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.auth_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let stored: Value = serde_json::from_slice(&std::fs::read(home.auth_file()).unwrap()).unwrap();
    assert_eq!(stored["token"], TOKEN);

    let who = json(&home.run(&srv.base, &["--json", "auth", "whoami"]));
    assert_eq!(who["accepted"], true, "{who}");
    assert_eq!(who["source"], "stored");

    // The stored credential is used by every command: create and list a project.
    let created = json(&home.run(&srv.base, &["--json", "project", "create", "Ctl"]));
    let listed = json(&home.run(&srv.base, &["--json", "project", "list"]));
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == created["id"]),
        "{listed}"
    );
    let human = home.run(&srv.base, &["project", "list"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("Ctl"));

    // It is never sent to another server.
    let other = support::server(&[]).await;
    let elsewhere = home.run(&other.base, &["project", "list"]);
    assert_eq!(elsewhere.status.code(), Some(1));
    assert!(stderr(&elsewhere).contains("401"), "{}", stderr(&elsewhere));

    let out = json(&home.run(&srv.base, &["--json", "auth", "logout"]));
    assert_eq!(out["loggedOut"], true);
    assert!(!home.auth_file().exists());
    let after = home.run(&srv.base, &["auth", "whoami"]);
    assert_eq!(
        after.status.code(),
        Some(2),
        "not signed in is a usage error"
    );
}

/// `heartbeat` keeps a session alive past the 15 s TTL; once it is stopped (SIGTERM, exit 0)
/// the server fails the session when its presence lapses.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_keeps_a_session_alive_and_stopping_it_fails_the_session() {
    let srv = server(&[]).await;
    let (p, t, s) = srv.fixture("beat").await;
    let home = Home::new();
    let token = srv.session_token(&s.id, &p.id);
    let mut child = home
        .cmd(&srv.base)
        .args(["heartbeat", "--session", &s.id, "--interval", "2s"])
        .env("MAESTRO_SESSION_TOKEN", &token)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let admin = srv.admin();
    eventually(Duration::from_secs(10), "the first heartbeat", || async {
        admin
            .presence()
            .await
            .unwrap()
            .iter()
            .any(|e| e.session_id == s.id)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(18)).await;
    let alive = admin.get_session(&s.id).await.unwrap();
    assert!(
        alive.status.is_active(),
        "still alive past the TTL: {}",
        alive.status
    );
    assert!(
        admin
            .presence()
            .await
            .unwrap()
            .iter()
            .any(|e| e.session_id == s.id)
    );

    // The session claims its task; the claim goes when the session fails.
    let claim = json(
        &home
            .cmd(&srv.base)
            .args([
                "--json",
                "task",
                "claim",
                &t.id,
                "--ttl",
                "10m",
                "--session",
                &s.id,
            ])
            .env("MAESTRO_SESSION_TOKEN", &token)
            .output()
            .unwrap(),
    );
    assert_eq!(claim["sessionId"], s.id.as_str());
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(
        maestro_testkit::poll::PATIENCE,
        tokio::task::spawn_blocking(move || child.wait().unwrap()),
    )
    .await
    .expect("heartbeat stops on SIGTERM")
    .unwrap();
    assert!(status.success(), "stops cleanly: {status}");
    eventually(Duration::from_secs(25), "the session failed", || async {
        admin.get_session(&s.id).await.unwrap().status == SessionStatus::Failed
    })
    .await;
    eventually(Duration::from_secs(5), "the claim released", || async {
        admin.get_task(&t.id).await.unwrap().claimed_by.is_none()
    })
    .await;
}

/// `run -- sh -c 'exit 3'` exits 3 with the session failed; a successful command completes
/// it and sees its session in the environment; a forwarded SIGTERM reaches the child.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_reports_the_session_from_the_exit_status() {
    let srv = server(&[]).await;
    let home = Home::new();
    let admin = srv.admin();

    let (p, _t, s) = srv.fixture("fail").await;
    let out = run_sh(&home, &srv, &p, &s, "exit 3").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let failed = admin.get_session(&s.id).await.unwrap();
    assert_eq!(failed.status, SessionStatus::Failed);
    assert!(
        failed
            .timeline
            .iter()
            .any(|e| e.message.as_deref().unwrap_or("").contains("status 3")),
        "{:?}",
        failed.timeline
    );
    // An ended session is not run again.
    let again = run_sh(&home, &srv, &p, &s, "true").output().unwrap();
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));

    let (p2, _t2, s2) = srv.fixture("ok").await;
    let script = "echo \"$MAESTRO_SESSION_ID $MAESTRO_PROJECT_ID\"";
    let out = run_sh(&home, &srv, &p2, &s2, script).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} {}", s2.id, p2.id)
    );
    assert_eq!(
        admin.get_session(&s2.id).await.unwrap().status,
        SessionStatus::Completed
    );

    let (p3, _t3, s3) = srv.fixture("sig").await;
    // The script says when its trap is set; `maestroctl run` forwards signals from before it
    // starts the command.
    let ready = home.path().join("trap-set");
    let script = "trap 'exit 7' TERM; : > \"$READY\"; while :; do sleep 0.1; done";
    let child = run_sh(&home, &srv, &p3, &s3, script)
        .env("READY", &ready)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(60), "the session working", || async {
        admin.get_session(&s3.id).await.unwrap().status == SessionStatus::Working
    })
    .await;
    eventually(Duration::from_secs(60), "the trap set", || async {
        ready.exists()
    })
    .await;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = output_within(child, Duration::from_secs(30)).await;
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(
        admin.get_session(&s3.id).await.unwrap().status,
        SessionStatus::Failed
    );
}

/// Whether the server at `base` holds a mail wait (`maestro_mail_waits_pending` on /metrics).
async fn mail_waits_pending(base: &str) -> bool {
    let Ok(r) = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth(support::TOKEN)
        .send()
        .await
    else {
        return false;
    };
    let text = r.text().await.unwrap_or_default();
    maestro_testkit::poll::metric(&text, "maestro_mail_waits_pending") >= 1.0
}

/// `maestroctl run --session S -- sh -c SCRIPT` with the session's own token.
fn run_sh(
    home: &Home,
    srv: &support::Server,
    p: &Project,
    s: &Session,
    script: &str,
) -> std::process::Command {
    let mut cmd = home.cmd(&srv.base);
    cmd.args(["run", "--session", &s.id, "--", "sh", "-c", script])
        .env("MAESTRO_SESSION_TOKEN", srv.session_token(&s.id, &p.id));
    cmd
}

/// Mail sent by one `maestroctl` wakes a `mail wait` of another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_wait_wakes_on_mail_sent_by_another_process() {
    let srv = server(&[]).await;
    let (p, _t, receiver) = srv.fixture("mail").await;
    let sender = srv.session(&p.id, &[], "sender").await;
    let home = Home::new();
    let since = now_ms().to_string();
    let waiter = home
        .cmd(&srv.base)
        .args([
            "--json",
            "mail",
            "wait",
            "--timeout",
            "120s",
            "--since",
            &since,
        ])
        .env("MAESTRO_PROJECT_ID", &p.id)
        .env("MAESTRO_SESSION_ID", &receiver.id)
        .env(
            "MAESTRO_SESSION_TOKEN",
            srv.session_token(&receiver.id, &p.id),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The wait is registered on the server (its gauge) before the mail is sent: the wake-up
    // path runs, not the inbox read at the start of the wait.
    eventually(Duration::from_secs(60), "the wait registered", || {
        mail_waits_pending(&srv.base)
    })
    .await;
    let sent = json(
        &home
            .cmd(&srv.base)
            .args(["--json", "mail", "send", "--to", &receiver.id])
            .args(["--subject", "Ping", "--message", "hello"])
            .env("MAESTRO_PROJECT_ID", &p.id)
            .env("MAESTRO_SESSION_ID", &sender.id)
            .env(
                "MAESTRO_SESSION_TOKEN",
                srv.session_token(&sender.id, &p.id),
            )
            .output()
            .unwrap(),
    );
    assert_eq!(sent["subject"], "Ping");
    // Its own timeout is 120 s: an answer within 60 s was a wake-up.
    let out = output_within(waiter, Duration::from_secs(60)).await;
    let got = json(&out);
    assert_eq!(got.as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got[0]["id"], sent["id"]);
    assert_eq!(got[0]["body"]["message"], "hello");

    // A wait with nothing to receive ends at its timeout with `[]`.
    let empty = json(
        &home
            .cmd(&srv.base)
            .args(["--json", "mail", "wait", "--timeout", "1s"])
            .args(["--since", &now_ms().to_string()])
            .args([
                "--project",
                &p.id,
                "--session",
                &receiver.id,
                "--token",
                TOKEN,
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(empty, serde_json::json!([]));
}

/// A session token works on its own project and nowhere else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_acts_on_its_own_project_only() {
    let srv = server(&[]).await;
    let (p, t, s) = srv.fixture("mine").await;
    let (q, u, _) = srv.fixture("theirs").await;
    let home = Home::new();
    let token = srv.session_token(&s.id, &p.id);
    let ctl = |args: &[&str]| {
        home.cmd(&srv.base)
            .args(args)
            .env("MAESTRO_SESSION_TOKEN", &token)
            .env("MAESTRO_SESSION_ID", &s.id)
            .output()
            .unwrap()
    };
    let who = json(&ctl(&["--json", "auth", "whoami"]));
    assert_eq!(who["kind"], "session-token");
    assert_eq!(who["projectId"], p.id.as_str());

    let mine = json(&ctl(&["--json", "task", "list", "--project", &p.id]));
    assert_eq!(mine[0]["id"], t.id.as_str());
    let updated = json(&ctl(&[
        "--json",
        "task",
        "update",
        &t.id,
        "--status",
        "in_progress",
    ]));
    assert_eq!(updated["status"], "in_progress");
    let status = json(&ctl(&["--json", "session", "status", "working"]));
    assert_eq!(status["status"], "working");

    let theirs = json(&ctl(&["--json", "task", "list", "--project", &q.id]));
    assert_eq!(theirs, serde_json::json!([]), "nothing of another project");
    let get = ctl(&["task", "get", &u.id]);
    assert_eq!(get.status.code(), Some(1));
    assert!(stderr(&get).contains("404"), "{}", stderr(&get));
    let write = ctl(&["task", "update", &u.id, "--title", "Mine now"]);
    assert_eq!(write.status.code(), Some(1));
    let create = ctl(&["project", "create", "Escalate"]);
    assert_eq!(create.status.code(), Some(1));
    assert!(stderr(&create).contains("403"), "{}", stderr(&create));
    let members = ctl(&["project", "members", "--project", &p.id]);
    assert_eq!(members.status.code(), Some(1), "{}", stderr(&members));
}

/// `task claim|release` and fenced updates from the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_claims_from_the_command_line() {
    let srv = server(&[]).await;
    let (p, t, s) = srv.fixture("claims").await;
    let other = srv.session(&p.id, &[t.id.as_str()], "rival").await;
    let home = Home::new();
    let as_session = |sid: &str, args: &[&str]| {
        home.cmd(&srv.base)
            .args(args)
            .env("MAESTRO_SESSION_TOKEN", srv.session_token(sid, &p.id))
            .env("MAESTRO_SESSION_ID", sid)
            .output()
            .unwrap()
    };
    let claim = json(&as_session(&s.id, &["--json", "task", "claim", &t.id]));
    let token = claim["fencingToken"].as_u64().unwrap().to_string();
    let refused = as_session(&other.id, &["task", "claim", &t.id]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("TASK_CLAIMED"),
        "{}",
        stderr(&refused)
    );
    let fenced = json(&as_session(
        &s.id,
        &[
            "--json",
            "task",
            "update",
            &t.id,
            "--title",
            "Mine",
            "--fencing-token",
            &token,
        ],
    ));
    assert_eq!(fenced["title"], "Mine");
    let human = as_session(&s.id, &["task", "get", &t.id]);
    assert!(String::from_utf8_lossy(&human.stdout).contains(&s.id));
    json(&as_session(&s.id, &["--json", "task", "release", &t.id]));
    let stale = as_session(
        &s.id,
        &[
            "task",
            "update",
            &t.id,
            "--title",
            "Late",
            "--fencing-token",
            &token,
        ],
    );
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale).contains("STALE_FENCING_TOKEN"),
        "{}",
        stderr(&stale)
    );
    let taken = json(&as_session(&other.id, &["--json", "task", "claim", &t.id]));
    assert!(taken["fencingToken"].as_u64().unwrap() > token.parse::<u64>().unwrap());
}

/// `/mobile` sockets connected to the server at `base`.
async fn mobile_sockets(base: &str) -> u64 {
    let admin = maestro_client::Client::builder(base)
        .token(TOKEN)
        .build()
        .unwrap();
    admin.ws_status().await.unwrap()["socketIo"]["mobile"]
        .as_u64()
        .unwrap()
}

/// `child`'s output; a child still running after `within` is killed and the test fails,
/// instead of hanging.
async fn output_within(child: std::process::Child, within: Duration) -> std::process::Output {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    match tokio::time::timeout(within, waiting).await {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("the child did not finish within {within:?}");
        }
    }
}

/// `maestroctl --json events --filter task:created --count N` on `project`, once the server
/// counts its `/mobile` socket (which has joined the project's room by then).
async fn follow_created_tasks(
    home: &Home,
    base: &str,
    project: &str,
    count: usize,
) -> std::process::Child {
    let before = mobile_sockets(base).await;
    let follower = home
        .cmd(base)
        .args(["--json", "events", "--filter", "task:created"])
        .args(["--count", &count.to_string()])
        .args(["--project", project, "--token", TOKEN])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while mobile_sockets(base).await <= before {
        assert!(
            Instant::now() < deadline,
            "maestroctl events did not connect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    follower
}

/// `events` follows a project's live events (and only its own), as JSON lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_follow_the_project() {
    let srv = server(&[]).await;
    let (p, _t, _s) = srv.fixture("live").await;
    let (q, _u, _) = srv.fixture("other").await;
    let home = Home::new();
    let follower = follow_created_tasks(&home, &srv.base, &p.id, 1).await;
    let admin = srv.admin();
    admin
        .create_task(&maestro_client::requests::NewTask::new(&q.id, "Not ours"))
        .await
        .unwrap();
    let ours = admin
        .create_task(&maestro_client::requests::NewTask::new(&p.id, "Ours"))
        .await
        .unwrap();
    let out = output_within(follower, Duration::from_secs(30)).await;
    let line = json(&out);
    assert_eq!(line["event"], "task:created");
    assert_eq!(line["data"]["data"]["id"], ours.id.as_str(), "{line}");
}

/// When the connection drops, `events` reconnects and resumes after the last event it saw:
/// the tasks created meanwhile are printed, in order, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_resume_after_a_dropped_connection() {
    let srv = server(&[]).await;
    let proxy = Proxy::start(&srv.base).await;
    let (p, _t, _s) = srv.fixture("resume").await;
    let home = Home::new();
    let mut follower = follow_created_tasks(&home, &proxy.base, &p.id, 4).await;
    // Its lines as they come: the cut must follow the first, so that it resumes after it.
    let stdout = follower.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let admin = srv.admin();
    let create = |title: &'static str| {
        let admin = admin.clone();
        let p = p.id.clone();
        async move {
            admin
                .create_task(&maestro_client::requests::NewTask::new(&p, title))
                .await
                .unwrap();
        }
    };
    create("before").await;
    let (first, lines) = tokio::task::spawn_blocking(move || {
        (lines.recv_timeout(maestro_testkit::poll::PATIENCE), lines)
    })
    .await
    .unwrap();
    let first = first.expect("the follower printed the first event");
    proxy.cut();
    for title in ["while 1", "while 2", "while 3"] {
        create(title).await;
    }
    let out = output_within(follower, Duration::from_secs(60)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    reader.join().unwrap();
    let titles: Vec<String> = std::iter::once(first)
        .chain(lines.try_iter())
        .map(|l| serde_json::from_str::<Value>(&l).unwrap())
        .map(|v| v["data"]["data"]["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, ["before", "while 1", "while 2", "while 3"]);
    assert!(
        stderr(&out).contains("missed event(s) replayed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = home.run("http://127.0.0.1:9", &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("maestroctl") && text.contains("heartbeat"),
            "{shell}"
        );
    }
}

#[test]
fn usage_errors_say_what_is_missing() {
    let home = Home::new();
    let out = home.run("http://127.0.0.1:9", &["task", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("MAESTRO_PROJECT_ID"),
        "{}",
        stderr(&out)
    );
    let out = home.run("http://127.0.0.1:9", &["--project", "p", "task", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
}
