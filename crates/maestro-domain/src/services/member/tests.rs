use std::sync::Mutex;

use super::*;
use crate::ports::MockMemberRepo;
use crate::services::testing::*;

const P: &str = "proj_1";

fn member(user: &str, role: ProjectRole) -> ProjectMember {
    ProjectMember {
        project_id: P.into(),
        user_id: user.into(),
        role,
        email: Some(format!("{user}@example.test")),
        added_at: 1,
    }
}

/// A mock repository over a shared list, with users `alice`, `bob`, `carol` on record.
fn repo(initial: Vec<ProjectMember>) -> (MockMemberRepo, Arc<Mutex<Vec<ProjectMember>>>) {
    let rows = Arc::new(Mutex::new(initial));
    let mut m = MockMemberRepo::new();
    let r = rows.clone();
    m.expect_list()
        .returning(move |_| Ok(r.lock().unwrap().clone()));
    let r = rows.clone();
    m.expect_get()
        .returning(move |_, u| Ok(r.lock().unwrap().iter().find(|m| m.user_id == u).cloned()));
    let r = rows.clone();
    m.expect_put().returning(move |new| {
        let mut rows = r.lock().unwrap();
        rows.retain(|m| m.user_id != new.user_id);
        rows.push(new.clone());
        Ok(new)
    });
    let r = rows.clone();
    m.expect_remove().returning(move |_, u| {
        let mut rows = r.lock().unwrap();
        let before = rows.len();
        rows.retain(|m| m.user_id != u);
        Ok(rows.len() < before)
    });
    let known = |k: &str| ["alice", "bob", "carol"].contains(&k);
    m.expect_user_by_id().returning(move |id| {
        Ok(known(id).then(|| UserRef {
            id: id.into(),
            email: Some(format!("{id}@example.test")),
        }))
    });
    m.expect_user_by_email().returning(move |email| {
        let id = email.strip_suffix("@example.test").unwrap_or("");
        Ok(known(id).then(|| UserRef {
            id: id.into(),
            email: Some(email.into()),
        }))
    });
    (m, rows)
}

fn service(
    initial: Vec<ProjectMember>,
) -> (MemberService, Captured, Arc<Mutex<Vec<ProjectMember>>>) {
    let mut m = Mocks::new();
    m.records_exist(P);
    let events = m.capture_events();
    let (members, rows) = repo(initial);
    (
        MemberService::new(&m.services(), Arc::new(members)),
        events,
        rows,
    )
}

fn user(id: &str) -> Actor {
    Actor::User(id.into())
}

fn add(role: &str, email: &str) -> AddMember {
    AddMember {
        user_id: None,
        email: Some(email.into()),
        role: Some(role.into()),
    }
}

#[tokio::test]
async fn an_owner_shares_by_email_and_everybody_is_told() {
    let (svc, events, _) = service(vec![member("alice", ProjectRole::Owner)]);
    let bob = svc
        .add(&user("alice"), P, add("viewer", " Bob@Example.TEST "))
        .await
        .unwrap();
    assert_eq!(
        (bob.user_id.as_str(), bob.role),
        ("bob", ProjectRole::Viewer)
    );
    assert_eq!(events.names(), ["project:members_changed"]);
    let data = events.data(0);
    assert_eq!(data["action"], "added");
    assert_eq!(data["role"], "viewer");
    assert_eq!(data["projectId"], P);
    // Everybody on the project sees the list; strangers get 404, not 403.
    assert_eq!(svc.list(&user("bob"), P).await.unwrap().len(), 2);
    assert_eq!(
        svc.list(&user("mallory"), P).await.unwrap_err().code(),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn only_owners_manage_members() {
    let (svc, events, _) = service(vec![
        member("alice", ProjectRole::Owner),
        member("bob", ProjectRole::Editor),
    ]);
    let e = svc
        .add(&user("bob"), P, add("viewer", "carol@example.test"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "FORBIDDEN");
    let e = svc
        .set_role(&user("bob"), P, "bob", Some("owner"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "FORBIDDEN");
    let e = svc.remove(&user("bob"), P, "alice").await.unwrap_err();
    assert_eq!(e.code(), "FORBIDDEN");
    let e = svc
        .add(&user("mallory"), P, add("viewer", "carol@example.test"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "NOT_FOUND");
    assert!(events.names().is_empty());
    // The server's own credentials act as an owner.
    svc.add(&Actor::Unrestricted, P, add("editor", "carol@example.test"))
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_input_is_named() {
    let (svc, _, _) = service(vec![member("alice", ProjectRole::Owner)]);
    let alice = user("alice");
    for (input, field) in [
        (add("admin", "bob@example.test"), "role"),
        (
            AddMember {
                role: Some("viewer".into()),
                ..Default::default()
            },
            "userId",
        ),
        (
            AddMember {
                user_id: Some("bob".into()),
                email: Some("bob@example.test".into()),
                role: Some("viewer".into()),
            },
            "userId",
        ),
    ] {
        let e = svc.add(&alice, P, input).await.unwrap_err();
        assert_eq!(e.code(), "VALIDATION_ERROR");
        assert!(format!("{e:?}").contains(field), "{e:?}");
    }
    let e = svc
        .add(&alice, P, add("viewer", "nobody@example.test"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "NOT_FOUND");
    assert!(e.to_string().contains("nobody@example.test"), "{e}");
    let e = svc
        .add(&alice, P, add("viewer", "alice@example.test"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "CONFLICT");
}

#[tokio::test]
async fn the_last_owner_stays() {
    let (svc, events, rows) = service(vec![
        member("alice", ProjectRole::Owner),
        member("bob", ProjectRole::Viewer),
    ]);
    let alice = user("alice");
    assert_eq!(
        svc.remove(&alice, P, "alice").await.unwrap_err().code(),
        "CONFLICT"
    );
    assert_eq!(
        svc.set_role(&alice, P, "alice", Some("editor"))
            .await
            .unwrap_err()
            .code(),
        "CONFLICT"
    );
    // With a second owner, the first may step down.
    svc.set_role(&alice, P, "bob", Some("owner")).await.unwrap();
    svc.set_role(&alice, P, "alice", Some("editor"))
        .await
        .unwrap();
    let roles: Vec<(String, ProjectRole)> = rows
        .lock()
        .unwrap()
        .iter()
        .map(|m| (m.user_id.clone(), m.role))
        .collect();
    assert!(roles.contains(&("bob".into(), ProjectRole::Owner)));
    assert!(roles.contains(&("alice".into(), ProjectRole::Editor)));
    assert_eq!(events.names().len(), 2);
}

#[tokio::test]
async fn a_member_may_leave_and_unknown_members_are_404() {
    let (svc, events, _) = service(vec![
        member("alice", ProjectRole::Owner),
        member("bob", ProjectRole::Viewer),
    ]);
    svc.remove(&user("bob"), P, "bob").await.unwrap();
    assert_eq!(events.data(0)["action"], "removed");
    assert_eq!(events.data(0)["role"], serde_json::Value::Null);
    assert_eq!(
        svc.remove(&user("alice"), P, "bob")
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );
    assert_eq!(
        svc.set_role(&user("alice"), P, "carol", Some("viewer"))
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );
}
