//! `maestro-client` against the real binary: the client has a method for every route of the
//! server's route table, and every method works end to end (token mode, FileSystem storage).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use maestro_client::requests::*;
use maestro_client::{Client, ROUTES};
use maestro_domain::model::{
    AgentMode, EntityType, MailMessageType, NeedsInput, SessionStatus, TaskPriority,
    TaskSessionStatus, TaskStatus, UpdateSource,
};
use serde_json::json;

const TOKEN: &str = "client-test-token-0123456789abcdef0123";

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start() -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let skills = dir.path().join("skills/demo");
    std::fs::create_dir_all(&skills).unwrap();
    std::fs::write(
        skills.join("SKILL.md"),
        "---\nname: demo\ndescription: A demo skill\n---\nDo the demo.\n",
    )
    .unwrap();
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/maestro-http/tests/fixtures/fake-maestro.sh");
    let child = Command::new(env!("CARGO_BIN_EXE_maestro-server"))
        .env("PORT", port.to_string())
        .env("DATA_DIR", dir.path().join("data"))
        .env("SESSION_DIR", dir.path().join("sessions"))
        .env("SKILLS_DIR", dir.path().join("skills"))
        .env("MAESTRO_CLI_PATH", cli)
        .env("MAESTRO_API_TOKEN", TOKEN)
        .env("LOG_LEVEL", "error")
        .env_remove("AUTH_MODE")
        .env_remove("REDIS_ENABLED")
        .env_remove("SUPABASE_ENABLED")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let probe = Client::builder(&base).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while probe.health().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        base,
        _dir: dir,
    }
}

#[test]
fn every_server_route_has_a_client_method() {
    let server: BTreeSet<(String, String)> = maestro_http::routes::api()
        .operations
        .iter()
        .map(|op| (op.method.as_str().to_string(), op.path.to_string()))
        .collect();
    let client: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.verb.as_str().to_string(), r.path.to_string()))
        .collect();
    let missing: Vec<_> = server.difference(&client).collect();
    let unknown: Vec<_> = client.difference(&server).collect();
    assert!(
        missing.is_empty(),
        "routes without a maestro-client method: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "maestro-client routes the server does not serve: {unknown:?}"
    );
    assert_eq!(ROUTES.len(), client.len(), "a route listed twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_works_against_the_real_binary() {
    let s = start().await;
    let c = Client::builder(&s.base).token(TOKEN).build().unwrap();

    // Without the token: 401 with the server's code.
    let anon = c.with_token(None);
    let e = anon.list_projects().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    assert!(e.code().is_some());

    // Meta.
    assert_eq!(c.health().await.unwrap()["status"], "ok");
    assert_eq!(c.health_live().await.unwrap()["status"], "ok");
    let ready = c.health_ready().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["dataDir"]["ok"], true, "{ready}");
    assert!(c.ws_status().await.unwrap()["connectedClients"].is_number());
    assert_eq!(anon.auth_config().await.unwrap().auth_mode, "token");
    assert!(c.openapi().await.unwrap()["paths"].is_object());

    // Projects.
    let p = c
        .create_project(&ProjectInput {
            name: Some("Client".into()),
            working_dir: Some("/tmp/client".into()),
            description: None,
        })
        .await
        .unwrap();
    assert_eq!(p.name, "Client");
    assert_eq!(c.get_project(&p.id).await.unwrap().id, p.id);
    let renamed = c
        .update_project(
            &p.id,
            &ProjectInput {
                name: Some("Client 2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Client 2");
    assert!(
        c.list_projects()
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == p.id)
    );
    let e = c.get_project("proj_missing").await.unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(404), Some("NOT_FOUND")),
        "{e}"
    );

    // Members need Supabase accounts: a clear 403 on FileSystem storage.
    let e = c.list_members(&p.id).await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    let e = c
        .add_member(
            &p.id,
            &AddMember {
                user_id: Some("u1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    assert_eq!(
        c.set_member_role(&p.id, "u1", "viewer")
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
    assert_eq!(
        c.remove_member(&p.id, "u1").await.unwrap_err().status(),
        Some(403)
    );

    // Tasks.
    let mut new = NewTask::new(&p.id, "Root");
    new.priority = Some(TaskPriority::High);
    let root = c.create_task(&new).await.unwrap();
    let child = c
        .create_task(&NewTask {
            parent_id: Some(root.id.clone()),
            ..NewTask::new(&p.id, "Child")
        })
        .await
        .unwrap();
    assert_eq!(c.get_task(&child.id).await.unwrap().title, "Child");
    let kids = c.task_children(&root.id).await.unwrap();
    assert_eq!(kids.len(), 1);
    let roots = c
        .list_tasks(&TaskQuery {
            project_id: Some(p.id.clone()),
            parent_id: Some(None),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        roots.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [root.id.as_str()]
    );
    let t = c
        .update_task(
            &root.id,
            &TaskPatch {
                status: Some(TaskStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(t.status, TaskStatus::InProgress);
    let in_progress = c
        .list_tasks(&TaskQuery {
            project_id: Some(p.id.clone()),
            status: Some(TaskStatus::InProgress),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(in_progress.len(), 1);
    let e = c.create_task(&NewTask::new(&p.id, "")).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");

    // Sessions.
    let session = c
        .create_session(&NewSession {
            project_id: p.id.clone(),
            task_ids: vec![root.id.clone()],
            name: Some("Worker".into()),
            status: Some(SessionStatus::Working),
            ..Default::default()
        })
        .await
        .unwrap();
    let other = c
        .create_session(&NewSession {
            project_id: p.id.clone(),
            name: Some("Coordinator".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(c.get_session(&session.id).await.unwrap().name, "Worker");

    // Claims: one holder, fenced writes, release.
    let claim = c
        .claim_task(
            &root.id,
            &ClaimTask {
                session_id: Some(session.id.clone()),
                ttl_ms: Some(60_000),
            },
        )
        .await
        .unwrap();
    assert!(!claim.renewed);
    let rival = c
        .claim_task(
            &root.id,
            &ClaimTask {
                session_id: Some(other.id.clone()),
                ttl_ms: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(rival.code(), Some("TASK_CLAIMED"));
    assert_eq!(
        rival.api().unwrap().details.as_ref().unwrap()["heldBy"],
        session.id.as_str()
    );
    let fenced = c
        .update_task(
            &root.id,
            &TaskPatch {
                description: Some("fenced".into()),
                fencing_token: Some(claim.fencing_token),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(fenced.claimed_by.as_deref(), Some(session.id.as_str()));
    let released = c
        .release_task_claim(&root.id, Some(&session.id))
        .await
        .unwrap();
    assert_eq!(released.claimed_by, None);
    let stale = c
        .update_task(
            &root.id,
            &TaskPatch {
                description: Some("late".into()),
                fencing_token: Some(claim.fencing_token),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some("STALE_FENCING_TOKEN"));
    let active = c
        .list_sessions(&SessionQuery {
            project_id: Some(p.id.clone()),
            active: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(active.len(), 2);
    let by_task = c
        .list_sessions(&SessionQuery {
            task_id: Some(root.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_task.len(), 1);
    let asking = c
        .update_session(
            &session.id,
            &SessionPatch {
                needs_input: Some(NeedsInput {
                    options: None,
                    active: true,
                    message: Some("Proceed?".into()),
                    since: None,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(asking.needs_input.is_some_and(|n| n.active));
    let with_event = c
        .add_session_event(
            &session.id,
            &SessionEventInput {
                kind: "tool_call".into(),
                data: Some(json!({"tool": "grep"})),
            },
        )
        .await
        .unwrap();
    assert!(!with_event.events.is_empty());
    let with_timeline = c
        .add_session_timeline(
            &session.id,
            &SessionTimelineInput {
                message: "Started".into(),
                task_id: Some(root.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!with_timeline.timeline.is_empty());
    c.add_session_doc(
        &session.id,
        &DocInput {
            title: "Plan".into(),
            file_path: "docs/plan.md".into(),
            content: Some("# Plan".into()),
            task_id: Some(root.id.clone()),
        },
    )
    .await
    .unwrap();
    assert_eq!(c.session_docs(&session.id).await.unwrap().len(), 1);
    let task_docs = c.task_docs(&root.id).await.unwrap();
    assert_eq!(task_docs[0].session_id, session.id);
    let ack = c
        .add_task_timeline(
            &root.id,
            &TaskTimelineInput {
                session_id: session.id.clone(),
                message: "Halfway".into(),
                kind: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(ack.kind, "progress");
    let reported = c
        .update_task(
            &root.id,
            &TaskPatch {
                update_source: Some(UpdateSource::Session),
                session_id: Some(session.id.clone()),
                session_status: Some(TaskSessionStatus::Working),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(reported.id, root.id);
    let linked = c.link_session_task(&session.id, &child.id).await.unwrap();
    assert!(linked.task_ids.contains(&child.id));
    let unlinked = c.unlink_session_task(&session.id, &child.id).await.unwrap();
    assert!(!unlinked.task_ids.contains(&child.id));
    let modal = c
        .show_modal(
            &session.id,
            &ShowModal {
                modal_id: "pick".into(),
                html: "<p>Pick one</p>".into(),
                title: Some("Choice".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The person's inbox: the agent waiting (it asked above) and the approval it shows.
    let inbox = c.person_inbox(None).await.unwrap();
    assert!(
        inbox
            .waiting
            .iter()
            .any(|w| w.source.session_id == session.id)
    );
    assert_eq!(inbox.approvals.len(), 1);
    assert_eq!(inbox.approvals[0].modal.title, "Choice");
    let action = c
        .modal_action(
            &session.id,
            &modal.modal_id,
            &ModalAction {
                action: "pick".into(),
                data: Some(json!({"choice": 1})),
            },
        )
        .await
        .unwrap();
    assert_eq!(action.modal_id, modal.modal_id);
    c.close_modal(&session.id, &modal.modal_id).await.unwrap();
    assert!(
        c.person_inbox(Some(1)).await.unwrap().approvals.is_empty(),
        "answered"
    );
    let beat = c.heartbeat(&session.id).await.unwrap();
    assert_eq!(beat.ttl_ms, 15_000);
    assert!(
        c.presence()
            .await
            .unwrap()
            .iter()
            .any(|e| e.session_id == session.id)
    );
    let spawned = c
        .spawn_session(&SpawnRequest {
            project_id: p.id.clone(),
            task_ids: vec![child.id.clone()],
            mode: Some(AgentMode::Execute),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(spawned.session.status, SessionStatus::Spawning);
    assert_eq!(spawned.session_id, spawned.session.id);

    // Mail.
    let sent = c
        .send_mail(&SendMail {
            project_id: p.id.clone(),
            from_session_id: other.id.clone(),
            to_session_id: Some(session.id.clone()),
            to_team_member_id: None,
            reply_to_mail_id: None,
            kind: MailMessageType::Directive,
            subject: "Go".into(),
            body: None,
        })
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    let inbox = c
        .inbox(
            &session.id,
            &InboxQuery {
                project_id: p.id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(inbox.len(), 1);
    let waited = c
        .wait_mail(
            &session.id,
            &WaitQuery {
                project_id: p.id.clone(),
                timeout_ms: Some(1_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(waited.len(), 1, "unread mail answers a wait at once");
    assert_eq!(c.get_mail(&sent[0].id).await.unwrap().subject, "Go");
    assert!(c.delete_mail(&sent[0].id).await.unwrap().success);
    let e = c
        .wait_mail(
            &session.id,
            &WaitQuery {
                project_id: p.id.clone(),
                timeout_ms: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");

    // Skills, orderings, templates.
    let skills = c.list_skills().await.unwrap();
    assert_eq!(skills.len(), 1, "{skills:?}");
    let id = skills[0]["id"].as_str().unwrap().to_string();
    assert_eq!(c.get_skill(&id).await.unwrap()["id"], id.as_str());
    c.skills_for_mode(AgentMode::Execute).await.unwrap();
    c.reload_skill(&id).await.unwrap();
    let order = vec![child.id.clone(), root.id.clone()];
    c.save_ordering(EntityType::Task, &p.id, &order)
        .await
        .unwrap();
    assert_eq!(
        c.get_ordering(EntityType::Task, &p.id)
            .await
            .unwrap()
            .ordered_ids,
        order
    );
    let templates = c.list_workflow_templates(None).await.unwrap();
    assert!(!templates.is_empty());
    let first = &templates[0];
    assert_eq!(
        c.get_workflow_template(&first.id).await.unwrap().id,
        first.id
    );
    assert!(
        c.list_workflow_templates(Some(AgentMode::Coordinate))
            .await
            .unwrap()
            .iter()
            .all(|t| t.mode == AgentMode::Coordinate)
    );

    // Team members.
    let m = c
        .create_team_member(&NewTeamMember {
            project_id: p.id.clone(),
            name: "Reviewer".into(),
            role: "review".into(),
            avatar: "R".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        c.list_team_members(&p.id)
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == m.id)
    );
    assert_eq!(
        c.get_team_member(&p.id, &m.id).await.unwrap().name,
        "Reviewer"
    );
    let m2 = c
        .update_team_member(
            &m.id,
            &TeamMemberPatch {
                project_id: p.id.clone(),
                name: Some("Senior reviewer".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(m2.name, "Senior reviewer");
    c.archive_team_member(&p.id, &m.id).await.unwrap();
    c.unarchive_team_member(&p.id, &m.id).await.unwrap();
    let e = c.delete_team_member(&p.id, &m.id).await.unwrap_err();
    assert_eq!(e.code(), Some("BUSINESS_RULE_ERROR"), "{e}");
    c.archive_team_member(&p.id, &m.id).await.unwrap();
    assert!(c.delete_team_member(&p.id, &m.id).await.unwrap().success);
    let builtin = c.list_team_members(&p.id).await.unwrap();
    if let Some(b) = builtin.iter().find(|x| x.id != m.id) {
        c.reset_team_member(&p.id, &b.id).await.unwrap();
    }

    // API keys: shown once, then usable as the project's principal, then revoked.
    let key = c
        .create_api_key(
            &p.id,
            &NewApiKey {
                name: Some("ci agent".into()),
                team_member_id: None,
            },
        )
        .await
        .unwrap();
    assert!(key.key.starts_with("mak1."));
    let listed = c.list_api_keys(&p.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    let agent = c.with_token(Some(key.key.clone()));
    assert_eq!(agent.get_task(&root.id).await.unwrap().id, root.id);
    c.revoke_api_key(&p.id, &key.info.id).await.unwrap();
    assert_eq!(
        agent.get_task(&root.id).await.unwrap_err().status(),
        Some(401)
    );

    // The person answers: a response mail from mobile-user, and the question is cleared.
    let replied = c.reply_to_session(&session.id, "Yes").await.unwrap();
    assert_eq!(replied["mail"]["body"], json!({"answer": "Yes"}));
    assert_eq!(replied["session"]["needsInput"]["active"], false);

    // Web Push devices: registered, listed, removed (delivery: tests/push.rs).
    let device = NewPushSubscription {
        endpoint: "https://push.example.com/send/client-test".into(),
        keys: maestro_domain::model::PushKeys {
            p256dh: format!("BA{}", "A".repeat(85)),
            auth: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        },
        muted_projects: Some(vec![p.id.clone()]),
        quiet_hours: None,
    };
    let sub = c.subscribe_push(&device).await.unwrap();
    assert_eq!(sub.muted_projects, vec![p.id.clone()]);
    assert_eq!(c.list_push_subscriptions().await.unwrap(), vec![sub]);
    c.unsubscribe_push(&device.endpoint).await.unwrap();
    assert!(c.list_push_subscriptions().await.unwrap().is_empty());

    // Deletes.
    assert!(c.delete_session(&other.id).await.unwrap().success);
    assert!(c.delete_task(&root.id).await.unwrap().success);
    assert_eq!(
        c.get_task(&child.id).await.unwrap_err().status(),
        Some(404),
        "descendants go with their parent"
    );
    let e = c.delete_project(&p.id).await.unwrap_err();
    assert_eq!(
        e.code(),
        Some("BUSINESS_RULE_ERROR"),
        "sessions remain: {e}"
    );
    for left in [&session.id, &spawned.session_id] {
        c.delete_session(left).await.unwrap();
    }
    assert!(c.delete_project(&p.id).await.unwrap().success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_gets_the_projects_live_events_and_acks() {
    let s = start().await;
    let c = Client::builder(&s.base).token(TOKEN).build().unwrap();
    let p = c
        .create_project(&ProjectInput {
            name: Some("Live".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let q = c
        .create_project(&ProjectInput {
            name: Some("Elsewhere".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut sub = c.subscribe(&p.id).await.unwrap();
    let snapshot = sub
        .emit_with_ack("state:sync", json!({}), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(snapshot["success"], true, "{snapshot}");
    c.create_task(&NewTask::new(&q.id, "Not for us"))
        .await
        .unwrap();
    let t = c.create_task(&NewTask::new(&p.id, "For us")).await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("an event within 10 s")
        .expect("the connection is open");
    assert_eq!(e.name, "task:created");
    assert_eq!(
        e.data["data"]["id"],
        t.id.as_str(),
        "only the project's events: {e:?}"
    );

    // A bad token or an unknown project is refused at the handshake.
    let bad = c.with_token(Some("wrong-token".into()));
    assert!(bad.subscribe(&p.id).await.is_err());
    assert!(c.subscribe("proj_missing").await.is_err());
}
