use super::*;
use crate::services::testing::*;
use serde_json::json;

fn member(id: &str, status: TeamMemberStatus) -> TeamMember {
    TeamMember {
        id: id.into(),
        project_id: "proj_1".into(),
        name: "Ann".into(),
        role: "Reviewer".into(),
        avatar: "A".into(),
        identity: String::new(),
        model: None,
        agent_tool: None,
        mode: None,
        skill_ids: vec![],
        is_default: false,
        status,
        capabilities: None,
        command_permissions: None,
        workflow_template_id: None,
        custom_workflow: None,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        extra: JsonObject::new(),
    }
}

fn with_project(m: &mut Mocks) {
    m.projects
        .expect_get()
        .returning(|id| Ok(Some(project(id))));
}

#[tokio::test]
async fn list_puts_five_defaults_first_with_stable_timestamps_then_custom() {
    let mut m = Mocks::new();
    with_project(&mut m);
    m.team_members
        .expect_get_override()
        .returning(|_, _| Ok(None));
    m.team_members
        .expect_list()
        .returning(|_| Ok(vec![member("tm_9_x", TeamMemberStatus::Active)]));
    let svc = m.services();
    let list = svc.team_members.list("proj_1").await.unwrap();
    let ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tm_proj_1_simple_worker",
            "tm_proj_1_coordinator",
            "tm_proj_1_batch_coordinator",
            "tm_proj_1_dag_coordinator",
            "tm_proj_1_recruiter",
            "tm_9_x"
        ]
    );
    assert_eq!(list[0].created_at, "1970-01-01T00:00:01.000Z");
    let again = svc.team_members.list("proj_1").await.unwrap();
    assert_eq!(again[0].updated_at, list[0].updated_at);
}

#[tokio::test]
async fn override_keys_are_laid_over_the_default() {
    let mut m = Mocks::new();
    with_project(&mut m);
    m.team_members.expect_get_override().returning(|_, _| {
        Ok(Some(
            json!({"model": "opus", "projectId": "proj_1", "updatedAt": "2026-05-05T00:00:00.000Z", "isDefault": false})
                .as_object()
                .unwrap()
                .clone(),
        ))
    });
    let got = m
        .services()
        .team_members
        .get("proj_1", "tm_proj_1_coordinator")
        .await
        .unwrap();
    assert_eq!(got.model.as_deref(), Some("opus"));
    assert_eq!(got.updated_at, "2026-05-05T00:00:00.000Z");
    assert!(got.is_default);
    assert_eq!(got.name, "Coordinator");
}

#[tokio::test]
async fn members_of_unknown_projects_are_not_stored() {
    let mut m = Mocks::new();
    m.projects.expect_get().returning(|_| Ok(None));
    m.team_members.expect_create().never();
    let e = m
        .services()
        .team_members
        .create(NewTeamMember {
            project_id: Some("proj_gone".into()),
            name: Some("a".into()),
            role: Some("r".into()),
            avatar: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), "NOT_FOUND");
}

#[tokio::test]
async fn create_requires_project_and_non_blank_fields_and_trims() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.team_members.expect_create().returning(Ok);
    let events = m.capture_events();
    let svc = m.services();
    let err = svc
        .team_members
        .create(NewTeamMember {
            name: Some("a".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Project ID is required");
    let err = svc
        .team_members
        .create(NewTeamMember {
            project_id: Some("proj_1".into()),
            name: Some("a".into()),
            role: Some(" ".into()),
            avatar: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Team member role is required");
    let out = svc
        .team_members
        .create(NewTeamMember {
            project_id: Some("proj_1".into()),
            name: Some(" Ann ".into()),
            role: Some("R".into()),
            avatar: Some("A".into()),
            identity: Some("  me ".into()),
            model: Some(String::new()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(out.name, "Ann");
    assert_eq!(out.identity, "me");
    assert_eq!(out.model, None);
    assert!(!out.is_default);
    assert_eq!(out.status, TeamMemberStatus::Active);
    assert!(out.created_at.ends_with('Z'));
    assert_eq!(events.names(), ["team_member:created"]);
}

#[tokio::test]
async fn defaults_cannot_be_deleted_archived_or_unarchived() {
    let mut m = Mocks::new();
    with_project(&mut m);
    m.team_members
        .expect_get_override()
        .returning(|_, _| Ok(None));
    let svc = m.services();
    let id = "tm_proj_1_recruiter";
    assert_eq!(
        svc.team_members
            .delete("proj_1", id)
            .await
            .unwrap_err()
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        svc.team_members
            .archive("proj_1", id)
            .await
            .unwrap_err()
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        svc.team_members
            .unarchive("proj_1", id)
            .await
            .unwrap_err()
            .code(),
        "FORBIDDEN"
    );
    let patch = TeamMemberPatch {
        status: Some(TeamMemberStatus::Archived),
        ..Default::default()
    };
    assert_eq!(
        svc.team_members
            .update("proj_1", id, patch)
            .await
            .unwrap_err()
            .code(),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn custom_member_must_be_archived_before_delete() {
    let mut m = Mocks::new();
    m.team_members
        .expect_get()
        .returning(|_, id| Ok(Some(member(id, TeamMemberStatus::Active))));
    m.team_members.expect_delete().never();
    let err = m
        .services()
        .team_members
        .delete("proj_1", "tm_1_a")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BUSINESS_RULE_ERROR");
}

#[tokio::test]
async fn archived_custom_member_is_deleted_with_event() {
    let mut m = Mocks::new();
    m.team_members
        .expect_get()
        .returning(|_, id| Ok(Some(member(id, TeamMemberStatus::Archived))));
    m.team_members.expect_delete().returning(|_, _| Ok(true));
    let events = m.capture_events();
    m.services()
        .team_members
        .delete("proj_1", "tm_1_a")
        .await
        .unwrap();
    assert_eq!(events.names(), ["team_member:deleted"]);
}

#[tokio::test]
async fn archive_and_unarchive_emit_once_and_are_idempotent() {
    let mut m = Mocks::new();
    let cell = Cell::new(member("tm_1_a", TeamMemberStatus::Active));
    let (a, b) = (cell.clone(), cell.clone());
    m.team_members
        .expect_get()
        .returning(move |_, _| Ok(Some(a.get())));
    m.team_members
        .expect_update()
        .returning(move |_, _, f| b.update(f));
    let events = m.capture_events();
    let svc = m.services();
    let out = svc.team_members.archive("proj_1", "tm_1_a").await.unwrap();
    assert_eq!(out.status, TeamMemberStatus::Archived);
    svc.team_members.archive("proj_1", "tm_1_a").await.unwrap();
    svc.team_members
        .unarchive("proj_1", "tm_1_a")
        .await
        .unwrap();
    svc.team_members
        .unarchive("proj_1", "tm_1_a")
        .await
        .unwrap();
    assert_eq!(
        events.names(),
        ["team_member:archived", "team_member:updated"]
    );
}

#[tokio::test]
async fn patch_status_on_custom_member_goes_through_archive() {
    let mut m = Mocks::new();
    let cell = Cell::new(member("tm_1_a", TeamMemberStatus::Active));
    let (a, b) = (cell.clone(), cell.clone());
    m.team_members
        .expect_get()
        .returning(move |_, _| Ok(Some(a.get())));
    m.team_members
        .expect_update()
        .returning(move |_, _, f| b.update(f));
    let events = m.capture_events();
    let out = m
        .services()
        .team_members
        .update(
            "proj_1",
            "tm_1_a",
            TeamMemberPatch {
                name: Some(" Bea ".into()),
                status: Some(TeamMemberStatus::Archived),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.name, "Bea");
    assert_eq!(out.status, TeamMemberStatus::Archived);
    assert_eq!(events.names(), ["team_member:archived"]);
}

#[tokio::test]
async fn patch_on_default_writes_override_with_project_and_updated_at() {
    let mut m = Mocks::new();
    with_project(&mut m);
    let store = Cell::new(JsonObject::new());
    let (a, b) = (store.clone(), store.clone());
    m.team_members.expect_get_override().returning(move |_, _| {
        let o = a.get();
        Ok(if o.is_empty() { None } else { Some(o) })
    });
    m.team_members
        .expect_update_override()
        .returning(move |_, _, f| b.update(f));
    let events = m.capture_events();
    let out = m
        .services()
        .team_members
        .update(
            "proj_1",
            "tm_proj_1_simple_worker",
            TeamMemberPatch {
                model: Some("opus".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.model.as_deref(), Some("opus"));
    let saved = store.get();
    assert_eq!(saved["model"], "opus");
    assert_eq!(saved["projectId"], "proj_1");
    assert!(saved.contains_key("updatedAt"));
    assert!(!saved.contains_key("name"));
    assert_eq!(events.names(), ["team_member:updated"]);
}

#[tokio::test]
async fn blank_name_in_patch_is_rejected() {
    let m = Mocks::new();
    let err = m
        .services()
        .team_members
        .update(
            "proj_1",
            "tm_1_a",
            TeamMemberPatch {
                avatar: Some("  ".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Team member avatar cannot be empty");
}

#[tokio::test]
async fn reset_of_custom_member_is_not_found_as_default() {
    let m = Mocks::new();
    let err = m
        .services()
        .team_members
        .reset("proj_1", "tm_1_a")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Default team member with id 'tm_1_a' not found"
    );
}

#[tokio::test]
async fn reset_drops_override_and_emits_pristine_default() {
    let mut m = Mocks::new();
    with_project(&mut m);
    m.team_members
        .expect_delete_override()
        .times(1)
        .returning(|_, _| Ok(true));
    m.team_members
        .expect_get_override()
        .returning(|_, _| Ok(None));
    let events = m.capture_events();
    let out = m
        .services()
        .team_members
        .reset("proj_1", "tm_proj_1_dag_coordinator")
        .await
        .unwrap();
    assert_eq!(out.name, "DAG Coordinator");
    assert_eq!(events.names(), ["team_member:updated"]);
}

#[tokio::test]
async fn unknown_member_is_not_found() {
    let mut m = Mocks::new();
    m.team_members.expect_get().returning(|_, _| Ok(None));
    let err = m
        .services()
        .team_members
        .get("proj_1", "tm_1_zz")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Team member with id 'tm_1_zz' not found");
}
