use super::*;
use crate::services::testing::*;

fn new_task(project: &str, title: &str) -> NewTask {
    NewTask {
        project_id: Some(project.into()),
        title: Some(title.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_requires_project_id_first() {
    let m = Mocks::new();
    let err = m
        .services()
        .tasks
        .create(NewTask {
            title: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Project ID is required");
}

#[tokio::test]
async fn create_requires_title_before_project_lookup() {
    let mut m = Mocks::new();
    m.projects.expect_get().never();
    let err = m
        .services()
        .tasks
        .create(new_task("proj_1", "  "))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Task title is required");
}

#[tokio::test]
async fn create_requires_existing_project() {
    let mut m = Mocks::new();
    m.projects.expect_get().returning(|_| Ok(None));
    let err = m
        .services()
        .tasks
        .create(new_task("proj_1", "T"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Project with id 'proj_1' not found");
}

#[tokio::test]
async fn create_requires_existing_parent() {
    let mut m = Mocks::new();
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
    m.tasks.expect_get().returning(|_| Ok(None));
    let mut input = new_task("proj_1", "T");
    input.parent_id = Some("task_p".into());
    let err = m.services().tasks.create(input).await.unwrap_err();
    assert_eq!(err.to_string(), "Parent task with id 'task_p' not found");
}

#[tokio::test]
async fn create_sets_defaults_and_emits_created() {
    let mut m = Mocks::new();
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
    m.tasks.expect_create().returning(Ok);
    let events = m.capture_events();
    let t = m
        .services()
        .tasks
        .create(new_task("proj_1", "  Build it "))
        .await
        .unwrap();
    assert_eq!(t.title, "Build it");
    assert_eq!(t.status, TaskStatus::Todo);
    assert_eq!(t.priority, TaskPriority::Medium);
    assert_eq!(t.parent_id, None);
    assert_eq!((t.started_at, t.completed_at), (None, None));
    assert!(t.session_ids.is_empty() && t.reference_task_ids.is_empty());
    assert_eq!(events.names(), ["task:created"]);
}

fn user_patch(status: TaskStatus) -> TaskPatch {
    TaskPatch {
        status: Some(status),
        ..Default::default()
    }
}

fn mocks_with_task(t: Task) -> (Mocks, Cell<Task>) {
    let mut m = Mocks::new();
    let cell = Cell::new(t);
    let (c1, c2) = (cell.clone(), cell.clone());
    m.tasks.expect_get().returning(move |_| Ok(Some(c1.get())));
    m.tasks.expect_update().returning(move |_, f| c2.update(f));
    (m, cell)
}

#[tokio::test]
async fn in_progress_sets_started_at_once() {
    let mut t = task("task_1", "proj_1");
    t.started_at = Some(5);
    let (mut m, _) = mocks_with_task(t);
    m.capture_events();
    let t = m
        .services()
        .tasks
        .update("task_1", user_patch(TaskStatus::InProgress))
        .await
        .unwrap();
    assert_eq!(t.started_at, Some(5));

    let (mut m, _) = mocks_with_task(task("task_1", "proj_1"));
    m.capture_events();
    let t = m
        .services()
        .tasks
        .update("task_1", user_patch(TaskStatus::InProgress))
        .await
        .unwrap();
    assert_eq!(t.started_at, Some(NOW));
}

#[tokio::test]
async fn completed_at_is_set_once_and_kept_on_reopen() {
    let (mut m, cell) = mocks_with_task(task("task_1", "proj_1"));
    let events = m.capture_events();
    let s = m.services();
    let t = s
        .tasks
        .update("task_1", user_patch(TaskStatus::Completed))
        .await
        .unwrap();
    assert_eq!(t.completed_at, Some(NOW));
    assert_eq!(events.names(), ["task:updated", "notify:task_completed"]);
    let t = s
        .tasks
        .update("task_1", user_patch(TaskStatus::InProgress))
        .await
        .unwrap();
    // MODEL.md §Task, as the original: never cleared, never moved.
    assert_eq!(t.completed_at, Some(NOW));
    assert_eq!(cell.get().completed_at, Some(NOW));
    let t = s
        .tasks
        .update("task_1", user_patch(TaskStatus::Completed))
        .await
        .unwrap();
    assert_eq!(t.completed_at, Some(NOW));
}

#[tokio::test]
async fn user_status_changes_emit_their_notify_event_once() {
    for (status, name) in [
        (TaskStatus::Cancelled, "notify:task_failed"),
        (TaskStatus::InReview, "notify:task_in_review"),
        (TaskStatus::Blocked, "notify:task_blocked"),
    ] {
        let (mut m, _) = mocks_with_task(task("task_1", "proj_1"));
        let events = m.capture_events();
        let s = m.services();
        s.tasks.update("task_1", user_patch(status)).await.unwrap();
        s.tasks.update("task_1", user_patch(status)).await.unwrap();
        assert_eq!(events.names(), ["task:updated", name, "task:updated"]);
    }
}

#[tokio::test]
async fn blank_title_is_rejected() {
    let (m, _) = mocks_with_task(task("task_1", "proj_1"));
    let err = m
        .services()
        .tasks
        .update(
            "task_1",
            TaskPatch {
                title: Some(" ".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Task title cannot be empty");
}

#[tokio::test]
async fn user_mode_merges_task_session_statuses_and_notifies_changed_keys() {
    let mut t = task("task_1", "proj_1");
    t.task_session_statuses
        .insert("sess_a".into(), TaskSessionStatus::Working);
    let (mut m, _) = mocks_with_task(t);
    let events = m.capture_events();
    let t = m
        .services()
        .tasks
        .update(
            "task_1",
            TaskPatch {
                task_session_statuses: Some(BTreeMap::from([(
                    "sess_b".to_string(),
                    TaskSessionStatus::Failed,
                )])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(t.task_session_statuses.len(), 2);
    assert_eq!(
        events.names(),
        ["task:updated", "notify:task_session_failed"]
    );
}

fn session_patch(session: &str, status: TaskSessionStatus) -> TaskPatch {
    TaskPatch {
        update_source: Some(UpdateSource::Session),
        session_id: Some(session.into()),
        session_status: Some(status),
        status: Some(TaskStatus::Cancelled),
        title: Some("ignored".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn session_mode_sets_only_its_entry_and_ignores_other_fields() {
    let mut t = task("task_1", "proj_1");
    t.session_ids = vec!["sess_1".into()];
    let (mut m, _) = mocks_with_task(t);
    m.sessions
        .expect_get()
        .returning(|id| Ok(Some(session(id, "proj_1", &["task_1"]))));
    let events = m.capture_events();
    let t = m
        .services()
        .tasks
        .update(
            "task_1",
            session_patch("sess_1", TaskSessionStatus::Completed),
        )
        .await
        .unwrap();
    assert_eq!(
        t.task_session_statuses.get("sess_1"),
        Some(&TaskSessionStatus::Completed)
    );
    assert_eq!(t.status, TaskStatus::Todo);
    assert_eq!(t.title, "Task task_1");
    assert_eq!(
        events.names(),
        ["task:updated", "notify:task_session_completed"]
    );
}

#[tokio::test]
async fn session_mode_without_status_is_a_silent_no_op() {
    let (mut m, cell) = mocks_with_task(task("task_1", "proj_1"));
    m.sessions
        .expect_get()
        .returning(|id| Ok(Some(session(id, "proj_1", &["task_1"]))));
    let events = m.capture_events();
    let mut p = session_patch("sess_1", TaskSessionStatus::Working);
    p.session_status = None;
    let t = m.services().tasks.update("task_1", p).await.unwrap();
    assert_eq!(t.updated_at, 1_000);
    assert_eq!(cell.get().updated_at, 1_000);
    assert!(events.names().is_empty());
}

#[tokio::test]
async fn session_mode_with_unknown_session_is_not_found_and_changes_nothing() {
    let (mut m, cell) = mocks_with_task(task("task_1", "proj_1"));
    m.sessions.expect_get().returning(|_| Ok(None));
    let err = m
        .services()
        .tasks
        .update(
            "task_1",
            session_patch("sess_x", TaskSessionStatus::Working),
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Session with id 'sess_x' not found");
    assert!(cell.get().task_session_statuses.is_empty());
}

#[tokio::test]
async fn session_mode_auto_links_an_unlinked_session_first() {
    let (mut m, _) = mocks_with_task(task("task_1", "proj_1"));
    let sess = Cell::new(session("sess_1", "proj_1", &[]));
    let (s1, s2) = (sess.clone(), sess.clone());
    m.sessions
        .expect_get()
        .returning(move |_| Ok(Some(s1.get())));
    m.sessions
        .expect_update()
        .returning(move |_, f| s2.update(f));
    let events = m.capture_events();
    let t = m
        .services()
        .tasks
        .update(
            "task_1",
            session_patch("sess_1", TaskSessionStatus::Working),
        )
        .await
        .unwrap();
    assert_eq!(t.session_ids, ["sess_1"]);
    assert_eq!(sess.get().task_ids, ["task_1"]);
    assert_eq!(sess.get().timeline[0].kind, "task_started");
    assert_eq!(
        events.names(),
        ["session:task_added", "task:session_added", "task:updated"]
    );
}

#[tokio::test]
async fn session_mode_refuses_cross_project_auto_link() {
    let (mut m, _) = mocks_with_task(task("task_1", "proj_1"));
    m.sessions
        .expect_get()
        .returning(|id| Ok(Some(session(id, "proj_other", &[]))));
    let err = m
        .services()
        .tasks
        .update(
            "task_1",
            session_patch("sess_1", TaskSessionStatus::Working),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BUSINESS_RULE_ERROR");
}

#[tokio::test]
async fn delete_removes_descendants_deepest_first_and_unlinks_sessions() {
    let mut m = Mocks::new();
    let mut child = task("task_c", "proj_1");
    child.parent_id = Some("task_p".into());
    let mut grandchild = task("task_g", "proj_1");
    grandchild.parent_id = Some("task_c".into());
    grandchild.session_ids = vec!["sess_1".into()];
    m.tasks
        .expect_get()
        .returning(|id| Ok(Some(task(id, "proj_1"))));
    let (c, g) = (child.clone(), grandchild.clone());
    m.tasks.expect_list().returning(move |f| {
        Ok(match f.parent_id.clone().flatten().as_deref() {
            Some("task_p") => vec![c.clone()],
            Some("task_c") => vec![g.clone()],
            _ => vec![],
        })
    });
    m.sessions
        .expect_update()
        .returning(|id, f| apply(session(id, "proj_1", &["task_g"]), f));
    let deleted = Arc::new(std::sync::Mutex::new(Vec::new()));
    let d = deleted.clone();
    m.tasks.expect_delete().returning(move |id| {
        d.lock().unwrap().push(id.to_string());
        Ok(true)
    });
    let events = m.capture_events();
    m.services().tasks.delete("task_p").await.unwrap();
    assert_eq!(*deleted.lock().unwrap(), ["task_g", "task_c", "task_p"]);
    assert_eq!(
        events.names(),
        [
            "session:task_removed",
            "task:session_removed",
            "task:deleted",
            "task:deleted",
            "task:deleted"
        ]
    );
}

#[tokio::test]
async fn docs_keep_untargeted_and_own_docs_sorted_by_added_at() {
    let mut m = Mocks::new();
    m.tasks
        .expect_get()
        .returning(|id| Ok(Some(task(id, "proj_1"))));
    m.sessions.expect_list().returning(|_| {
        let mut s = session("sess_1", "proj_1", &["task_1"]);
        let doc = |id: &str, task: Option<&str>, at| DocEntry {
            id: id.into(),
            title: id.into(),
            file_path: "/f".into(),
            content: None,
            task_id: task.map(str::to_string),
            added_at: at,
            added_by: None,
        };
        s.docs = vec![
            doc("d3", Some("task_1"), 30),
            doc("d1", None, 10),
            doc("dx", Some("task_other"), 5),
        ];
        Ok(vec![s])
    });
    let docs = m.services().tasks.docs("task_1").await.unwrap();
    let ids: Vec<&str> = docs.iter().map(|d| d.doc.id.as_str()).collect();
    assert_eq!(ids, ["d1", "d3"]);
    assert_eq!(docs[0].session_name, "Session sess_1");
}

#[tokio::test]
async fn children_of_missing_task_is_not_found() {
    let mut m = Mocks::new();
    m.tasks.expect_get().returning(|_| Ok(None));
    let err = m.services().tasks.children("task_x").await.unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
}

#[tokio::test]
async fn task_timeline_requires_message_and_session() {
    let m = Mocks::new();
    let s = m.services();
    let err = s
        .tasks
        .add_timeline("task_1", Some("s"), None, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "message is required");
    let err = s
        .tasks
        .add_timeline("task_1", None, Some("m"), None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "sessionId is required");
}

/// A refused PATCH changes nothing: a blank title in session mode is refused before the
/// reporting session is auto-linked (the mocks expect no update of either record).
#[tokio::test]
async fn a_refused_session_patch_links_nothing() {
    let mut m = Mocks::new();
    m.tasks
        .expect_get()
        .returning(|_| Ok(Some(task("task_1", "proj_1"))));
    m.sessions
        .expect_get()
        .returning(|_| Ok(Some(session("sess_1", "proj_1", &[]))));
    let mut patch = session_patch("sess_1", TaskSessionStatus::Working);
    patch.title = Some("  ".into());
    let err = m
        .services()
        .tasks
        .update("task_1", patch)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Task title cannot be empty");
}

/// A stale fencing token with `sessionIds` is refused before any link or unlink.
#[tokio::test]
async fn a_stale_fence_with_session_ids_links_nothing() {
    let mut t = task("task_1", "proj_1");
    t.claim_fencing_token = Some(7);
    t.claimed_by = Some("sess_0".into());
    let mut m = Mocks::new();
    m.tasks.expect_get().returning(move |_| Ok(Some(t.clone())));
    let err = m
        .services()
        .tasks
        .update(
            "task_1",
            TaskPatch {
                session_ids: Some(vec!["sess_1".into()]),
                fencing_token: Some(6),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::StaleFence { .. }), "{err:?}");
}

/// A fenced PATCH by an agent's credential is one atomic update of the task and no read
/// beforehand: on a remote store, one read and one write.
#[tokio::test]
async fn a_fenced_patch_by_an_api_key_is_one_update_and_no_read() {
    let mut t = task("task_1", "proj_1");
    t.claim_fencing_token = Some(7);
    t.claimed_by = Some("sess_0".into());
    let mut m = Mocks::new();
    let cell = Cell::new(t);
    let c = cell.clone();
    m.tasks.expect_get().never();
    m.tasks
        .expect_update()
        .times(1)
        .returning(move |_, f| c.update(f));
    m.capture_events();
    let services = m.services();
    let access = crate::access::access_for(
        &crate::ports::Principal::ApiKey {
            key_id: "ak_1".into(),
            project_id: "proj_1".into(),
            team_member_id: None,
        },
        None,
    )
    .unwrap()
    .unwrap();
    let repos = services.ports().repositories();
    let agent = services.restricted(repos, access);
    let done = agent
        .tasks
        .update(
            "task_1",
            TaskPatch {
                description: Some("fenced".into()),
                fencing_token: Some(7),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.description, "fenced");
    assert_eq!(cell.get().description, "fenced");
}
