use super::*;
use crate::ports::{Manifest, MockManifestGenerator};
use crate::services::testing::*;

fn input() -> SpawnInput {
    SpawnInput {
        project_id: Some("proj_1".into()),
        task_ids: Some(vec!["task_1".into()]),
        ..Default::default()
    }
}

fn settings() -> SpawnSettings {
    SpawnSettings {
        server_url: "http://localhost:3000".into(),
        data_dir: "/d".into(),
        session_dir: "/s".into(),
        flags: BTreeMap::new(),
    }
}

fn service(m: Mocks, generator: MockManifestGenerator) -> SpawnService {
    let svc = m.services();
    SpawnService::new(&svc, Arc::new(generator), settings())
}

async fn code_of(m: Mocks, i: SpawnInput) -> &'static str {
    let mut g = MockManifestGenerator::new();
    g.expect_generate().never();
    service(m, g).spawn(i).await.unwrap_err().code()
}

#[tokio::test]
async fn validation_codes_in_order() {
    let mut i = input();
    i.project_id = None;
    assert_eq!(code_of(Mocks::new(), i).await, "missing_project_id");
    let mut i = input();
    i.task_ids = Some(vec![]);
    assert_eq!(code_of(Mocks::new(), i).await, "invalid_task_ids");
    let mut i = input();
    i.spawn_source = Some("cli".into());
    assert_eq!(code_of(Mocks::new(), i).await, "invalid_spawn_source");
    let mut i = input();
    i.spawn_source = Some("session".into());
    assert_eq!(code_of(Mocks::new(), i).await, "missing_session_id");
}

#[tokio::test]
async fn parent_is_verified_even_for_ui_source() {
    let mut m = Mocks::new();
    m.sessions.expect_get().returning(|_| Ok(None));
    let mut i = input();
    i.session_id = Some("sess_parent".into());
    assert_eq!(code_of(m, i).await, "parent_session_not_found");
}

#[tokio::test]
async fn bad_mode_then_missing_task_then_missing_project() {
    let mut i = input();
    i.mode = Some("yolo".into());
    assert_eq!(code_of(Mocks::new(), i).await, "invalid_mode");

    let mut m = Mocks::new();
    m.tasks.expect_get().returning(|_| Ok(None));
    let err = {
        let mut g = MockManifestGenerator::new();
        g.expect_generate().never();
        service(m, g).spawn(input()).await.unwrap_err()
    };
    assert_eq!(err.code(), "task_not_found");

    let mut m = Mocks::new();
    m.tasks
        .expect_get()
        .returning(|id| Ok(Some(task(id, "proj_1"))));
    m.projects.expect_get().returning(|_| Ok(None));
    assert_eq!(code_of(m, input()).await, "project_not_found");
}

#[tokio::test]
async fn flag_like_model_is_refused() {
    let mut m = Mocks::new();
    m.tasks
        .expect_get()
        .returning(|id| Ok(Some(task(id, "proj_1"))));
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
    let mut i = input();
    i.model = Some("--output=/etc/x".into());
    assert_eq!(code_of(m, i).await, "invalid_argument");
}

#[tokio::test]
async fn manifest_failure_creates_nothing() {
    let mut m = Mocks::new();
    m.tasks
        .expect_get()
        .returning(|id| Ok(Some(task(id, "proj_1"))));
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
    m.sessions.expect_create().never();
    m.bus.expect_publish().never();
    let mut g = MockManifestGenerator::new();
    g.expect_generate().returning(|_| {
        Err(DomainError::spawn(
            Code::ManifestGenerationFailed,
            "cli exited 1",
        ))
    });
    let err = service(m, g).spawn(input()).await.unwrap_err();
    assert_eq!(err.code(), "manifest_generation_failed");
}

#[tokio::test]
async fn success_resolves_member_defaults_and_emits_in_order() {
    let mut m = Mocks::new();
    m.tasks.expect_get().returning(|id| {
        let mut t = task(id, "proj_1");
        t.reference_task_ids = vec!["task_r".into(), "task_r".into()];
        Ok(Some(t))
    });
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
    m.team_members
        .expect_get_override()
        .returning(|_, _| Ok(None));
    let store = Cell::new(None::<Session>);
    let (a, b, c) = (store.clone(), store.clone(), store.clone());
    m.sessions.expect_create().returning(move |s| {
        *a.0.lock().unwrap() = Some(s.clone());
        Ok(s)
    });
    m.sessions.expect_get().returning(move |_| Ok(b.get()));
    m.sessions.expect_update().returning(move |_, f| {
        let mut s = c.get().unwrap();
        f(&mut s)?;
        *c.0.lock().unwrap() = Some(s.clone());
        Ok(s)
    });
    m.tasks.expect_update().returning(|id, f| {
        let mut t = task(id, "proj_1");
        f(&mut t)?;
        Ok(t)
    });
    let events = m.capture_events();
    let mut g = MockManifestGenerator::new();
    g.expect_generate()
        .withf(|r| {
            r.mode == AgentMode::Coordinate
                && r.model.as_deref() == Some("sonnet")
                && r.reference_task_ids == ["task_r"]
                && r.team_member_id.as_deref() == Some("tm_proj_1_coordinator")
        })
        .times(1)
        .returning(|r| {
            Ok(Manifest {
                path: format!("/s/{}/manifest.json", r.session_id),
                content: json!({"ok": true}),
            })
        });
    let mut i = input();
    i.team_member_id = Some("tm_proj_1_coordinator".into());
    let out = service(m, g).spawn(i).await.unwrap();
    assert_eq!(out.session.status, SessionStatus::Spawning);
    assert_eq!(out.session.name, "Coordinate for task_1");
    assert_eq!(out.session.env["MAESTRO_MODE"], "coordinate");
    assert_eq!(out.session.env["GOOGLE_GENAI_USE_GCA"], "true");
    assert!(!out.session.env.contains_key("ANTHROPIC_API_KEY"));
    let meta = out.session.metadata.clone().unwrap();
    assert_eq!(meta["teamMemberId"], "tm_proj_1_coordinator");
    assert_eq!(meta["spawnSource"], "ui");
    assert_eq!(
        events.names(),
        ["session:updated", "session:spawn", "task:session_added"]
    );
    let spawn = events.data(1);
    assert_eq!(spawn["command"], "maestro orchestrator init");
    assert_eq!(spawn["_isSpawnCreated"], true);
    assert_eq!(spawn["parentSessionId"], Value::Null);
}
