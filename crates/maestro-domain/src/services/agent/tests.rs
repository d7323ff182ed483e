use super::*;
use crate::model::{JsonObject, SkillKind};
use crate::ports::{MockManifestGenerator, MockModalPages, MockPresence, MockSkillCatalog};
use crate::services::testing::*;

struct Host {
    presence: MockPresence,
    manifests: MockManifestGenerator,
    modals: MockModalPages,
    skills: MockSkillCatalog,
}

impl Host {
    fn new() -> Self {
        Self {
            presence: MockPresence::new(),
            manifests: MockManifestGenerator::new(),
            modals: MockModalPages::new(),
            skills: MockSkillCatalog::new(),
        }
    }

    fn service(self, m: Mocks) -> AgentService {
        AgentService::new(
            &m.services(),
            AgentPorts {
                presence: Arc::new(self.presence),
                manifests: Arc::new(self.manifests),
                modals: Arc::new(self.modals),
                skills: Arc::new(self.skills),
            },
        )
    }
}

fn skill(id: &str, kind: SkillKind) -> Skill {
    Skill {
        id: id.into(),
        name: id.into(),
        description: String::new(),
        version: "1.0.0".into(),
        kind,
        attributes: JsonObject::new(),
        instructions: String::new(),
        has_references: false,
        reference_count: 0,
    }
}

#[tokio::test]
async fn heartbeat_registers_presence_with_the_sessions_project() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    let mut h = Host::new();
    h.presence
        .expect_heartbeat()
        .withf(|b, ttl| {
            b.session_id == "sess_1"
                && b.project_id == "proj_1"
                && b.last_seen == NOW
                && *ttl == HEARTBEAT_TTL
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let beat = h.service(m).heartbeat("sess_1").await.unwrap();
    assert_eq!(beat.expires_at, NOW + 15_000);
}

#[tokio::test]
async fn heartbeat_of_unknown_session_is_404_and_touches_no_presence() {
    let mut m = Mocks::new();
    m.sessions.expect_get().returning(|_| Ok(None));
    let mut h = Host::new();
    h.presence.expect_heartbeat().never();
    let e = h.service(m).heartbeat("sess_x").await.unwrap_err();
    assert_eq!(e.code(), "NOT_FOUND");
}

#[tokio::test]
async fn show_modal_validates_in_order_then_stores_and_emits() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    let events = m.capture_events();
    let mut h = Host::new();
    h.modals
        .expect_save()
        .withf(|p| {
            p.session_id == "sess_1"
                && p.modal_id == "m1"
                && p.html == "<p>hi</p>"
                && p.title == DEFAULT_MODAL_TITLE
        })
        .times(1)
        .returning(|_| Ok("/data/modals/m1.html".into()));
    let svc = h.service(m);
    for (input, field) in [
        (ShowModal::default(), "modalId"),
        (
            ShowModal {
                modal_id: Some("m1".into()),
                ..Default::default()
            },
            "html",
        ),
        (
            ShowModal {
                modal_id: Some("../x".into()),
                html: Some("h".into()),
                ..Default::default()
            },
            "modalId",
        ),
    ] {
        let e = svc.show_modal("sess_1", input).await.unwrap_err();
        assert_eq!(e.code(), "VALIDATION_ERROR");
        assert!(format!("{e:?}").contains(field), "{e:?}");
    }
    let id = svc
        .show_modal(
            "sess_1",
            ShowModal {
                modal_id: Some("m1".into()),
                html: Some("<p>hi</p>".into()),
                title: Some(String::new()),
                file_path: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(id, "m1");
    assert_eq!(events.names(), ["session:modal"]);
    let data = events.data(0);
    assert_eq!(data["title"], DEFAULT_MODAL_TITLE);
    assert_eq!(data["filePath"], "/data/modals/m1.html");
    assert_eq!(data["projectId"], "proj_1");
}

#[tokio::test]
async fn modal_callbacks_need_the_session_that_showed_it() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    let events = m.capture_events();
    let mut h = Host::new();
    h.modals
        .expect_shown_by()
        .returning(|s, id| Ok(s == "sess_1" && id == "m1"));
    // Each accepted answer ends the page's wait; refused ones touch nothing.
    h.modals
        .expect_settle()
        .withf(|s, id| s == "sess_1" && id == "m1")
        .times(2)
        .returning(|_, _| Ok(()));
    let svc = h.service(m);
    let e = svc
        .modal_action("sess_2", "m1", Some("ok".into()), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "NOT_FOUND");
    let e = svc.close_modal("sess_1", "../m1").await.unwrap_err();
    assert_eq!(e.code(), "NOT_FOUND");
    let e = svc
        .modal_action("sess_1", "m1", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "VALIDATION_ERROR");
    assert!(events.names().is_empty());
    svc.modal_action("sess_1", "m1", Some("ok".into()), None)
        .await
        .unwrap();
    svc.close_modal("sess_1", "m1").await.unwrap();
    assert_eq!(
        events.names(),
        ["session:modal_action", "session:modal_closed"]
    );
    assert_eq!(events.data(0)["data"], serde_json::json!({}));
}

#[tokio::test]
async fn delete_session_cleans_up_even_when_a_clean_up_fails() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.sessions.expect_delete().times(1).returning(|_| Ok(true));
    let events = m.capture_events();
    let mut h = Host::new();
    h.presence
        .expect_remove()
        .times(1)
        .returning(|_| Err(DomainError::Unavailable("redis down".into())));
    h.manifests.expect_discard().times(1).returning(|_| Ok(()));
    h.modals
        .expect_remove_session()
        .withf(|s| s == "sess_1")
        .times(1)
        .returning(|_| Ok(()));
    h.service(m).delete_session("sess_1").await.unwrap();
    assert_eq!(events.names(), ["session:deleted"]);
}

#[tokio::test]
async fn a_failed_delete_leaves_the_session_files_alone() {
    let mut m = Mocks::new();
    m.sessions.expect_get().returning(|_| Ok(None));
    let mut h = Host::new();
    h.presence.expect_remove().never();
    h.manifests.expect_discard().never();
    h.modals.expect_remove_session().never();
    let e = h.service(m).delete_session("sess_1").await.unwrap_err();
    assert_eq!(e.code(), "NOT_FOUND");
}

#[tokio::test]
async fn skills_for_mode_splits_mode_and_custom_skills() {
    let mut h = Host::new();
    h.skills.expect_list().returning(|| {
        Ok(vec![
            skill("orch", SkillKind::Mode),
            skill("worker", SkillKind::Custom),
        ])
    });
    h.skills.expect_get().returning(|_| Ok(None));
    let svc = h.service(Mocks::new());
    let ids = |v: Vec<Skill>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(svc.skills_for_mode("coordinate").await.unwrap()),
        ["orch"]
    );
    assert_eq!(
        ids(svc.skills_for_mode("execute").await.unwrap()),
        ["worker"]
    );
    let e = svc.skills_for_mode("worker").await.unwrap_err();
    assert_eq!(e.code(), "VALIDATION_ERROR");
    assert_eq!(svc.skill("nope").await.unwrap_err().code(), "NOT_FOUND");
}

#[tokio::test]
async fn pending_modals_skip_ended_sessions_and_name_their_project() {
    use crate::model::SessionStatus;
    use crate::ports::{ModalPage, PendingModal};
    let mut h = Host::new();
    h.modals
        .expect_pending()
        .withf(|ids| ids == ["sess_live".to_string()])
        .returning(|_| {
            Ok(vec![PendingModal {
                page: ModalPage {
                    session_id: "sess_live".into(),
                    modal_id: "m1".into(),
                    title: "Deploy?".into(),
                    html: "<p>ok?</p>".into(),
                    shown_at: 5,
                },
                location: "/data/modals/m1.html".into(),
            }])
        });
    let svc = h.service(Mocks::new());
    let live = session("sess_live", "proj_1", &[]);
    let mut ended = session("sess_done", "proj_1", &[]);
    ended.status = SessionStatus::Completed;
    let shown = svc.pending_modals(&[live, ended]).await.unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].project_id, "proj_1");
    assert_eq!(shown[0].title, "Deploy?");
    assert_eq!(shown[0].timestamp, 5);
    assert_eq!(shown[0].file_path, "/data/modals/m1.html");
    // Only ended sessions: the store is not asked.
    let mut h = Host::new();
    h.modals.expect_pending().never();
    let mut done = session("sess_done", "proj_1", &[]);
    done.status = SessionStatus::Failed;
    assert!(
        h.service(Mocks::new())
            .pending_modals(&[done])
            .await
            .unwrap()
            .is_empty()
    );
}
