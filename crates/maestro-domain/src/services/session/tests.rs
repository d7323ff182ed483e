use super::*;
use crate::services::testing::*;

fn session_cell(m: &mut Mocks, s: Session) -> Cell<Session> {
    let cell = Cell::new(s);
    let (a, b) = (cell.clone(), cell.clone());
    m.sessions
        .expect_get()
        .returning(move |_| Ok(Some(a.get())));
    m.sessions
        .expect_update()
        .returning(move |_, f| b.update(f));
    cell
}

fn task_cell(m: &mut Mocks, t: Task) -> Cell<Task> {
    let cell = Cell::new(t);
    let (a, b) = (cell.clone(), cell.clone());
    m.tasks.expect_get().returning(move |_| Ok(Some(a.get())));
    m.tasks.expect_update().returning(move |_, f| b.update(f));
    cell
}

fn status(s: SessionStatus) -> SessionPatch {
    SessionPatch {
        status: Some(s),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_requires_task_ids_then_project() {
    let m = Mocks::new();
    let s = m.services();
    let err = s
        .sessions
        .create(NewSession {
            project_id: Some("proj_1".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "taskIds is required");
    let err = s
        .sessions
        .create(NewSession {
            task_ids: Some(vec![]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Project ID is required");
}

#[tokio::test]
async fn create_rejects_unsafe_client_id() {
    let m = Mocks::new();
    let err = m
        .services()
        .sessions
        .create(NewSession {
            id: Some("../../etc".into()),
            project_id: Some("proj_1".into()),
            task_ids: Some(vec![]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_ERROR");
}

#[tokio::test]
async fn create_with_existing_id_is_conflict() {
    let mut m = Mocks::new();
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
    m.sessions
        .expect_create()
        .returning(|_| Err(DomainError::Conflict("exists".into())));
    let err = m
        .services()
        .sessions
        .create(NewSession {
            id: Some("sess_cli".into()),
            project_id: Some("proj_1".into()),
            task_ids: Some(vec![]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "CONFLICT");
    assert_eq!(err.to_string(), "Session with id 'sess_cli' already exists");
}

#[tokio::test]
async fn create_links_tasks_with_timeline_and_emits_in_order() {
    let mut m = Mocks::new();
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
    let t = task_cell(&mut m, task("task_1", "proj_1"));
    m.sessions.expect_create().returning(Ok);
    let events = m.capture_events();
    let s = m
        .services()
        .sessions
        .create(NewSession {
            project_id: Some("proj_1".into()),
            task_id: Some("task_1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(s.name, "Unnamed Session");
    assert_eq!(s.status, SessionStatus::Idle);
    assert_eq!(s.hostname, "testhost");
    let kinds: Vec<&str> = s.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["session_started", "task_started"]);
    assert_eq!(s.timeline[0].message.as_deref(), Some("Session created"));
    assert_eq!(t.get().session_ids, std::slice::from_ref(&s.id));
    assert_eq!(events.names(), ["session:created", "task:session_added"]);
}

#[tokio::test]
async fn create_with_task_of_other_project_is_refused() {
    let mut m = Mocks::new();
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
    m.tasks
        .expect_get()
        .returning(|id| Ok(Some(task(id, "proj_2"))));
    m.sessions.expect_create().never();
    let err = m
        .services()
        .sessions
        .create(NewSession {
            project_id: Some("proj_1".into()),
            task_ids: Some(vec!["task_1".into()]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BUSINESS_RULE_ERROR");
}

#[tokio::test]
async fn active_filter_keeps_only_live_statuses() {
    let mut m = Mocks::new();
    m.sessions
        .expect_list()
        .withf(|f| {
            f.statuses
                == Some(vec![
                    SessionStatus::Spawning,
                    SessionStatus::Idle,
                    SessionStatus::Working,
                ])
        })
        .times(1)
        .returning(|_| Ok(vec![]));
    m.services()
        .sessions
        .list(&SessionQuery {
            active: true,
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn stopped_never_overwrites_completed_or_failed() {
    for terminal in [SessionStatus::Completed, SessionStatus::Failed] {
        let mut m = Mocks::new();
        let mut s = session("sess_1", "proj_1", &[]);
        s.status = terminal;
        let cell = session_cell(&mut m, s);
        let events = m.capture_events();
        let out = m
            .services()
            .sessions
            .update("sess_1", status(SessionStatus::Stopped))
            .await
            .unwrap();
        assert_eq!(out.status, terminal);
        assert_eq!(cell.get().status, terminal);
        assert!(events.names().is_empty());
    }
}

#[tokio::test]
async fn completed_at_stamped_on_first_terminal_entry_and_cleared_on_resume() {
    let mut m = Mocks::new();
    let cell = session_cell(&mut m, session("sess_1", "proj_1", &[]));
    m.capture_events();
    let s = m.services();
    let out = s
        .sessions
        .update("sess_1", status(SessionStatus::Completed))
        .await
        .unwrap();
    assert_eq!(out.completed_at, Some(NOW));
    s.context().ports.clock.now_ms();
    let out = s
        .sessions
        .update("sess_1", status(SessionStatus::Working))
        .await
        .unwrap();
    assert_eq!(out.completed_at, None);
    assert_eq!(cell.get().completed_at, None);
}

#[tokio::test]
async fn terminal_status_propagates_to_working_task_entries_with_events_in_order() {
    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &["task_1"]));
    let mut t = task("task_1", "proj_1");
    t.task_session_statuses
        .insert("sess_1".into(), TaskSessionStatus::Working);
    let tc = task_cell(&mut m, t);
    let events = m.capture_events();
    m.services()
        .sessions
        .update("sess_1", status(SessionStatus::Failed))
        .await
        .unwrap();
    assert_eq!(
        tc.get().task_session_statuses["sess_1"],
        TaskSessionStatus::Failed
    );
    assert_eq!(
        events.names(),
        ["task:updated", "session:updated", "notify:session_failed"]
    );
}

#[tokio::test]
async fn stopped_maps_to_failed_and_completed_entries_are_left_alone() {
    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &["task_1"]));
    let mut t = task("task_1", "proj_1");
    t.task_session_statuses
        .insert("sess_1".into(), TaskSessionStatus::Blocked);
    let tc = task_cell(&mut m, t);
    m.capture_events();
    m.services()
        .sessions
        .update("sess_1", status(SessionStatus::Stopped))
        .await
        .unwrap();
    assert_eq!(
        tc.get().task_session_statuses["sess_1"],
        TaskSessionStatus::Failed
    );

    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &["task_1"]));
    let mut t = task("task_1", "proj_1");
    t.task_session_statuses
        .insert("sess_1".into(), TaskSessionStatus::Skipped);
    let tc = task_cell(&mut m, t);
    let events = m.capture_events();
    m.services()
        .sessions
        .update("sess_1", status(SessionStatus::Completed))
        .await
        .unwrap();
    assert_eq!(
        tc.get().task_session_statuses["sess_1"],
        TaskSessionStatus::Skipped
    );
    assert_eq!(
        events.names(),
        ["session:updated", "notify:session_completed"]
    );
}

#[tokio::test]
async fn patch_merges_env_appends_lists_and_replaces_needs_input() {
    let mut m = Mocks::new();
    let mut s = session("sess_1", "proj_1", &[]);
    s.env.insert("A".into(), "1".into());
    session_cell(&mut m, s);
    let events = m.capture_events();
    let out = m
        .services()
        .sessions
        .update(
            "sess_1",
            SessionPatch {
                env: Some(BTreeMap::from([("B".to_string(), "2".to_string())])),
                events: Some(vec![SessionEvent {
                    id: "e1".into(),
                    timestamp: 1,
                    kind: "x".into(),
                    data: None,
                }]),
                needs_input: Some(NeedsInput {
                    options: None,
                    active: true,
                    message: Some("help?".into()),
                    since: Some(2),
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.env.len(), 2);
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.last_activity, NOW);
    assert_eq!(events.names(), ["session:updated", "notify:needs_input"]);
    assert_eq!(events.data(1)["message"], "help?");
}

/// Issue 27: a session that ends — completed, failed or stopped — is no longer waiting for
/// input; the question is kept, only `active` drops. Even a patch that raises the flag in the
/// same breath as ending the session does not leave it waiting, and nothing notifies.
#[tokio::test]
async fn an_ended_session_is_no_longer_waiting_for_input() {
    for status in [
        SessionStatus::Completed,
        SessionStatus::Failed,
        SessionStatus::Stopped,
    ] {
        let mut m = Mocks::new();
        let mut s = session("sess_1", "proj_1", &[]);
        s.needs_input = Some(NeedsInput {
            options: None,
            active: true,
            message: Some("which branch?".into()),
            since: Some(1),
        });
        session_cell(&mut m, s);
        let events = m.capture_events();
        let out = m
            .services()
            .sessions
            .update(
                "sess_1",
                SessionPatch {
                    status: Some(status),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let asked = out.needs_input.unwrap();
        assert!(!asked.active, "{status:?}");
        assert_eq!(asked.message.as_deref(), Some("which branch?"));
        assert!(!events.names().contains(&"notify:needs_input"));
    }
    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let events = m.capture_events();
    let out = m
        .services()
        .sessions
        .update(
            "sess_1",
            SessionPatch {
                status: Some(SessionStatus::Completed),
                needs_input: Some(NeedsInput {
                    options: None,
                    active: true,
                    message: Some("too late".into()),
                    since: Some(2),
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!out.needs_input.unwrap().active);
    assert!(!events.names().contains(&"notify:needs_input"));
}

#[tokio::test]
async fn needs_input_notifies_only_on_rising_edge() {
    let mut m = Mocks::new();
    let mut s = session("sess_1", "proj_1", &[]);
    s.needs_input = Some(NeedsInput {
        options: None,
        active: true,
        message: None,
        since: None,
    });
    session_cell(&mut m, s);
    let events = m.capture_events();
    let svc = m.services();
    svc.sessions
        .add_timeline(
            "sess_1",
            TimelineInput {
                message: Some("again".into()),
                kind: Some("needs_input".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(events.names(), ["session:updated"]);
}

#[tokio::test]
async fn needs_input_timeline_entry_via_patch_raises_flag_and_notifies() {
    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let events = m.capture_events();
    let out = m
        .services()
        .sessions
        .update(
            "sess_1",
            SessionPatch {
                timeline: Some(vec![TimelineEvent {
                    id: "evt-1".into(),
                    kind: "needs_input".into(),
                    timestamp: 7,
                    message: Some("ok?".into()),
                    task_id: None,
                    metadata: None,
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(out.needs_input.unwrap().active);
    assert_eq!(events.names(), ["session:updated", "notify:needs_input"]);
}

#[tokio::test]
async fn progress_timeline_emits_updated_then_progress() {
    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let events = m.capture_events();
    let out = m
        .services()
        .sessions
        .add_timeline(
            "sess_1",
            TimelineInput {
                message: Some("50%".into()),
                task_id: Some("task_1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.timeline.last().unwrap().kind, "progress");
    assert_eq!(events.names(), ["session:updated", "notify:progress"]);
    assert_eq!(events.data(1)["taskId"], "task_1");
}

#[tokio::test]
async fn unknown_timeline_types_are_stored_verbatim_and_over_long_refused() {
    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &[]));
    m.capture_events();
    let svc = m.services();
    let out = svc
        .sessions
        .add_timeline(
            "sess_1",
            TimelineInput {
                message: Some("m".into()),
                kind: Some("task_status_changed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.timeline.last().unwrap().kind, "task_status_changed");
    let err = svc
        .sessions
        .add_timeline(
            "sess_1",
            TimelineInput {
                message: Some("m".into()),
                kind: Some("x".repeat(101)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_ERROR");
}

#[tokio::test]
async fn add_doc_appends_doc_and_timeline_entry() {
    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let events = m.capture_events();
    let out = m
        .services()
        .sessions
        .add_doc(
            "sess_1",
            DocInput {
                title: Some("Plan".into()),
                file_path: Some("/p.md".into()),
                task_id: Some("task_1".into()),
                content: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(out.docs[0].added_by.as_deref(), Some("sess_1"));
    let entry = out.timeline.last().unwrap();
    assert_eq!(entry.message.as_deref(), Some("Doc added: Plan"));
    assert_eq!(entry.metadata.as_ref().unwrap()["docId"], out.docs[0].id);
    assert_eq!(events.names(), ["session:updated"]);
}

#[tokio::test]
async fn add_doc_requires_title_and_file_path_and_caps_content() {
    let m = Mocks::new();
    let svc = m.services();
    let err = svc
        .sessions
        .add_doc("sess_1", DocInput::default())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "title is required");
    let err = svc
        .sessions
        .add_doc(
            "sess_1",
            DocInput {
                title: Some("t".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "filePath is required");
    let err = svc
        .sessions
        .add_doc(
            "sess_1",
            DocInput {
                title: Some("t".into()),
                file_path: Some("f".into()),
                content: Some("x".repeat(MAX_DOC_CONTENT + 1)),
                task_id: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_ERROR");
}

#[tokio::test]
async fn add_event_requires_type_and_caps_growth() {
    let mut m = Mocks::new();
    let mut s = session("sess_1", "proj_1", &[]);
    s.events = (0..MAX_SESSION_EVENTS)
        .map(|i| SessionEvent {
            id: format!("e{i}"),
            timestamp: 0,
            kind: "k".into(),
            data: None,
        })
        .collect();
    session_cell(&mut m, s);
    m.capture_events();
    let svc = m.services();
    let err = svc
        .sessions
        .add_event("sess_1", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "type is required");
    let out = svc
        .sessions
        .add_event("sess_1", Some("file_modified"), Some(json!({"file": "a"})))
        .await
        .unwrap();
    assert_eq!(out.events.len(), MAX_SESSION_EVENTS);
    assert_eq!(out.events[0].id, "e1");
    assert_eq!(out.events.last().unwrap().kind, "file_modified");
}

#[tokio::test]
async fn disconnected_agent_fails_its_session_once() {
    let mut m = Mocks::new();
    let cell = session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let events = m.capture_events();
    let svc = m.services();
    let failed = svc
        .sessions
        .mark_disconnected("sess_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, SessionStatus::Failed);
    assert_eq!(
        failed.timeline.last().unwrap().metadata.as_ref().unwrap()["reason"],
        "agent_disconnected"
    );
    assert!(
        svc.sessions
            .mark_disconnected("sess_1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(cell.get().status, SessionStatus::Failed);
    assert_eq!(events.names(), ["session:updated", "notify:session_failed"]);
}

#[tokio::test]
async fn disconnect_of_finished_session_changes_nothing() {
    let mut m = Mocks::new();
    let mut s = session("sess_1", "proj_1", &[]);
    s.status = SessionStatus::Completed;
    session_cell(&mut m, s);
    let events = m.capture_events();
    assert!(
        m.services()
            .sessions
            .mark_disconnected("sess_1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(events.names().is_empty());
}

#[tokio::test]
async fn delete_unlinks_tasks_and_emits_removed_then_deleted() {
    let mut m = Mocks::new();
    m.sessions
        .expect_get()
        .returning(|id| Ok(Some(session(id, "proj_1", &["task_1"]))));
    let mut t = task("task_1", "proj_1");
    t.session_ids = vec!["sess_1".into()];
    t.task_session_statuses
        .insert("sess_1".into(), TaskSessionStatus::Working);
    let tc = task_cell(&mut m, t);
    m.sessions.expect_delete().times(1).returning(|_| Ok(true));
    m.sessions.expect_update().never();
    let events = m.capture_events();
    m.services().sessions.delete("sess_1").await.unwrap();
    assert!(tc.get().session_ids.is_empty());
    assert!(tc.get().task_session_statuses.is_empty());
    assert_eq!(events.names(), ["task:session_removed", "session:deleted"]);
    assert_eq!(events.data(1)["projectId"], "proj_1");
}

#[tokio::test]
async fn link_adds_both_sides_once_and_always_logs() {
    let mut m = Mocks::new();
    let sc = session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let tc = task_cell(&mut m, task("task_1", "proj_1"));
    let events = m.capture_events();
    let svc = m.services();
    svc.sessions.link_task("sess_1", "task_1").await.unwrap();
    svc.sessions.link_task("sess_1", "task_1").await.unwrap();
    assert_eq!(sc.get().task_ids, ["task_1"]);
    assert_eq!(tc.get().session_ids, ["sess_1"]);
    assert_eq!(sc.get().timeline.len(), 2);
    assert_eq!(
        events.names()[..2],
        ["session:task_added", "task:session_added"]
    );
}

#[tokio::test]
async fn unlink_removes_both_sides_and_emits_in_order() {
    let mut m = Mocks::new();
    let sc = session_cell(&mut m, session("sess_1", "proj_1", &["task_1"]));
    let mut t = task("task_1", "proj_1");
    t.session_ids = vec!["sess_1".into()];
    let tc = task_cell(&mut m, t);
    let events = m.capture_events();
    let out = m
        .services()
        .sessions
        .unlink_task("sess_1", "task_1")
        .await
        .unwrap();
    assert!(out.task_ids.is_empty());
    assert!(tc.get().session_ids.is_empty());
    let last = sc.get().timeline.last().cloned().unwrap();
    assert_eq!(last.kind, "task_completed");
    assert_eq!(last.message.as_deref(), Some("Removed task from session"));
    assert_eq!(
        events.names(),
        ["session:task_removed", "task:session_removed"]
    );
}

#[tokio::test]
async fn patch_task_ids_keeps_both_sides_in_sync() {
    let mut m = Mocks::new();
    let sc = session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let tc = task_cell(&mut m, task("task_1", "proj_1"));
    let events = m.capture_events();
    m.services()
        .sessions
        .update(
            "sess_1",
            SessionPatch {
                task_ids: Some(vec!["task_1".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sc.get().task_ids, ["task_1"]);
    assert_eq!(tc.get().session_ids, ["sess_1"]);
    assert_eq!(
        events.names(),
        [
            "session:task_added",
            "task:session_added",
            "session:updated"
        ]
    );
}

#[tokio::test]
async fn repeated_task_ids_link_once() {
    let mut m = Mocks::new();
    let sc = session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let tc = task_cell(&mut m, task("task_1", "proj_1"));
    let events = m.capture_events();
    m.services()
        .sessions
        .update(
            "sess_1",
            SessionPatch {
                task_ids: Some(vec!["task_1".into(), "task_1".into(), "task_1".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sc.get().task_ids, ["task_1"]);
    assert_eq!(tc.get().session_ids, ["sess_1"]);
    assert_eq!(
        events.names(),
        [
            "session:task_added",
            "task:session_added",
            "session:updated"
        ]
    );
    let started = sc
        .get()
        .timeline
        .iter()
        .filter(|e| e.kind == "task_started")
        .count();
    assert_eq!(started, 1, "one link, one timeline entry");
}

#[tokio::test]
async fn link_entries_respect_the_timeline_cap() {
    let mut m = Mocks::new();
    let mut full = session("sess_1", "proj_1", &[]);
    full.timeline = (0..MAX_TIMELINE_ENTRIES)
        .map(|i| TimelineEvent {
            id: format!("evt_{i}"),
            kind: "progress".into(),
            timestamp: i as i64,
            message: None,
            task_id: None,
            metadata: None,
        })
        .collect();
    let sc = session_cell(&mut m, full);
    task_cell(&mut m, task("task_1", "proj_1"));
    m.capture_events();
    let svc = m.services();
    for ids in [vec!["task_1".to_string()], vec![]] {
        svc.sessions
            .update(
                "sess_1",
                SessionPatch {
                    task_ids: Some(ids),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let timeline = sc.get().timeline;
        assert_eq!(timeline.len(), MAX_TIMELINE_ENTRIES);
        assert_eq!(
            timeline[0].id,
            if sc.get().task_ids.is_empty() {
                "evt_2"
            } else {
                "evt_1"
            }
        );
    }
}

/// Issue 27: a question may offer answers (additive `needsInput.options`), kept as sent;
/// too many, empty or overlong ones are refused before anything is stored.
#[tokio::test]
async fn needs_input_options_are_kept_and_validated() {
    let mut m = Mocks::new();
    session_cell(&mut m, session("sess_1", "proj_1", &[]));
    let events = m.capture_events();
    let asked = |options: Vec<String>| SessionPatch {
        needs_input: Some(NeedsInput {
            options: Some(options),
            active: true,
            message: Some("Which cache?".into()),
            since: Some(1),
        }),
        ..Default::default()
    };
    let services = m.services();
    let out = services
        .sessions
        .update("sess_1", asked(vec!["Redis".into(), "LRU".into()]))
        .await
        .unwrap();
    assert_eq!(
        out.needs_input.unwrap().options,
        Some(vec!["Redis".to_string(), "LRU".to_string()])
    );
    assert_eq!(events.names(), ["session:updated", "notify:needs_input"]);
    for bad in [
        vec!["x".to_string(); NeedsInput::MAX_OPTIONS + 1],
        vec![" ".to_string()],
        vec!["y".repeat(NeedsInput::MAX_OPTION_CHARS + 1)],
    ] {
        let e = services
            .sessions
            .update("sess_1", asked(bad))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "VALIDATION_ERROR");
    }
}
