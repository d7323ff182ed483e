use std::sync::Arc;

use super::*;
use crate::model::{Project, Task};
use crate::ports::{MockMemberRepo, MockProjectRepo, MockTaskRepo, TaskFilter};
use crate::services::testing::{apply, project, task};

const SHARED: &str = "proj_shared";
const OTHER: &str = "proj_other";

/// `viewer`, `editor` and `owner` are on `SHARED` with those roles; nobody is on `OTHER`.
fn members() -> Arc<dyn MemberRepo> {
    let mut m = MockMemberRepo::new();
    m.expect_get().returning(|p, u| {
        let role = match (p, u) {
            (SHARED, "viewer") => ProjectRole::Viewer,
            (SHARED, "editor") => ProjectRole::Editor,
            (SHARED, "owner") => ProjectRole::Owner,
            _ => return Ok(None),
        };
        Ok(Some(ProjectMember {
            project_id: p.into(),
            user_id: u.into(),
            role,
            email: None,
            added_at: 1,
        }))
    });
    m.expect_put().returning(Ok);
    Arc::new(m)
}

fn user(id: &str) -> Arc<Access> {
    Access::new(Grantee::User(id.into()), members())
}

fn session_token() -> Arc<Access> {
    Access::new(
        Grantee::Session {
            session_id: "sess_1".into(),
            project_id: SHARED.into(),
        },
        members(),
    )
}

fn api_key() -> Arc<Access> {
    Access::new(
        Grantee::ApiKey {
            key_id: "ak_1".into(),
            project_id: SHARED.into(),
        },
        members(),
    )
}

/// The HTTP status the edge maps a result to.
fn status(r: Result<()>) -> u16 {
    match r {
        Ok(()) => 200,
        Err(e) => code_status(&e),
    }
}

fn code_status(e: &DomainError) -> u16 {
    match e.code() {
        "NOT_FOUND" => 404,
        "FORBIDDEN" => 403,
        other => panic!("unexpected {other}: {e}"),
    }
}

#[tokio::test]
async fn the_role_table_of_the_module_doc() {
    let needs = [Need::Read, Need::Write, Need::EditProject, Need::Own];
    let cases: [(&str, Arc<Access>, [u16; 4]); 6] = [
        ("viewer", user("viewer"), [200, 403, 403, 403]),
        ("editor", user("editor"), [200, 200, 200, 403]),
        ("owner", user("owner"), [200, 200, 200, 200]),
        ("stranger", user("stranger"), [404, 404, 404, 404]),
        ("session token", session_token(), [200, 200, 403, 403]),
        ("API key", api_key(), [200, 200, 403, 403]),
    ];
    for (who, access, expected) in cases {
        for (need, want) in needs.iter().zip(expected) {
            assert_eq!(
                status(access.require(SHARED, *need).await),
                want,
                "{who} {need:?}"
            );
        }
        assert_eq!(
            status(access.require(OTHER, Need::Read).await),
            404,
            "{who} on another project"
        );
    }
    assert!(user("stranger").require_create_project().is_ok());
    assert_eq!(status(session_token().require_create_project()), 403);
    assert_eq!(status(api_key().require_create_project()), 403);
}

#[tokio::test]
async fn roles_are_looked_up_once_per_project() {
    let mut m = MockMemberRepo::new();
    m.expect_get().times(1).returning(|_, _| Ok(None));
    let access = Access::new(Grantee::User("u".into()), Arc::new(m));
    for _ in 0..3 {
        assert!(!access.can_read(SHARED).await.unwrap());
    }
}

fn tasks() -> MockTaskRepo {
    let mut t = MockTaskRepo::new();
    t.expect_get().returning(|id| {
        Ok(match id {
            "t_shared" => Some(task(id, SHARED)),
            "t_other" => Some(task(id, OTHER)),
            _ => None,
        })
    });
    t.expect_list()
        .returning(|_| Ok(vec![task("t_shared", SHARED), task("t_other", OTHER)]));
    t
}

#[tokio::test]
async fn hidden_records_read_as_absent_and_listings_are_filtered() {
    let repos = guard(
        crate::services::testing::Mocks::new().repositories_with_tasks(tasks()),
        user("viewer"),
    );
    assert!(repos.tasks.get("t_shared").await.unwrap().is_some());
    assert!(repos.tasks.get("t_other").await.unwrap().is_none());
    let all: Vec<String> = repos
        .tasks
        .list(&TaskFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all, ["t_shared"]);
    let other = TaskFilter {
        project_id: Some(OTHER.into()),
        ..TaskFilter::default()
    };
    assert!(repos.tasks.list(&other).await.unwrap().is_empty());
}

#[tokio::test]
async fn refused_writes_never_reach_the_store() {
    // The mock has no `create`/`delete` expectations: reaching them would panic. An update is
    // decided inside the store's read-modify-write: the store runs the guarded mutator on the
    // record it read, and a refusal there aborts the write before the caller's change runs.
    let mut t = tasks();
    t.expect_update().returning(|id, f| {
        let project = if id == "t_shared" { SHARED } else { OTHER };
        apply(task(id, project), f).map(|_| panic!("a refused update was written"))
    });
    let repos = guard(
        crate::services::testing::Mocks::new().repositories_with_tasks(t),
        user("viewer"),
    );
    let noop = |_: &mut Task| -> crate::error::Result<()> {
        panic!("the caller's change ran for a refused update")
    };
    let e = repos.tasks.update("t_shared", &noop).await.unwrap_err();
    assert_eq!(code_status(&e), 403, "{e}");
    let e = repos.tasks.update("t_other", &noop).await.unwrap_err();
    assert_eq!(code_status(&e), 404, "{e}");
    assert!(e.to_string().contains("Task"), "{e}");
    let e = repos.tasks.create(task("t_new", SHARED)).await.unwrap_err();
    assert_eq!(code_status(&e), 403);
    assert!(
        !repos.tasks.delete("t_other").await.unwrap(),
        "hidden: nothing to delete"
    );
    assert_eq!(
        repos
            .tasks
            .delete("t_shared")
            .await
            .map(|_| ())
            .map_err(|e| code_status(&e))
            .unwrap_err(),
        403
    );
}

#[tokio::test]
async fn an_editor_writes_through() {
    let mut t = tasks();
    t.expect_update()
        .returning(|id, f| apply(task(id, SHARED), f));
    let repos = guard(
        crate::services::testing::Mocks::new().repositories_with_tasks(t),
        user("editor"),
    );
    let rename = |t: &mut Task| {
        t.title = "renamed".into();
        Ok(())
    };
    assert_eq!(
        repos.tasks.update("t_shared", &rename).await.unwrap().title,
        "renamed"
    );
}

#[tokio::test]
async fn a_new_project_makes_its_creator_owner_and_a_session_token_cannot_create_one() {
    let mut p = MockProjectRepo::new();
    p.expect_create().returning(Ok);
    let mut m = MockMemberRepo::new();
    m.expect_get().returning(|_, _| Ok(None));
    m.expect_put()
        .withf(|m| {
            m.user_id == "alice" && m.role == ProjectRole::Owner && m.project_id == "proj_new"
        })
        .times(1)
        .returning(Ok);
    let access = Access::new(Grantee::User("alice".into()), Arc::new(m));
    let mut mocks = crate::services::testing::Mocks::new();
    mocks.projects = p;
    let repos = guard(mocks.repositories(), access.clone());
    let created: Project = repos.projects.create(project("proj_new")).await.unwrap();
    assert_eq!(created.id, "proj_new");
    // Remembered: no second lookup needed to act as owner.
    assert!(access.require("proj_new", Need::Own).await.is_ok());

    let mut p = MockProjectRepo::new();
    p.expect_create().never();
    let mut mocks = crate::services::testing::Mocks::new();
    mocks.projects = p;
    let repos = guard(mocks.repositories(), session_token());
    assert_eq!(
        repos
            .projects
            .create(project("proj_x"))
            .await
            .map(|_| ())
            .map_err(|e| code_status(&e))
            .unwrap_err(),
        403
    );
}
