//! Contract of [`MemberRepo`]: members of one project with their roles, and the user accounts
//! they are found by.
//!
//! Each case gets a [`MemberFixture`]: a project nobody is a member of yet, and at least three
//! user accounts the store knows (with emails).

use std::sync::Arc;

use maestro_domain::model::{ProjectMember, ProjectRole, UserRef};
use maestro_domain::ports::MemberRepo;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__member_repo_cases!(names);

/// What a [`member_repo_contract!`](crate::member_repo_contract) factory provides.
pub struct MemberFixture {
    pub repo: Arc<dyn MemberRepo>,
    /// An existing project without members.
    pub project_id: String,
    /// At least three accounts, each with an email.
    pub users: Vec<UserRef>,
}

/// `n` accounts with fresh ids and emails `<id>@example.test`, for stores that take their
/// users from the test (in-memory ones).
pub fn new_users(n: usize) -> Vec<UserRef> {
    (0..n)
        .map(|_| {
            let id = crate::fixtures::unique_id("user");
            UserRef {
                email: Some(format!("{id}@example.test")),
                id,
            }
        })
        .collect()
}

fn member(fx: &MemberFixture, user: usize, role: ProjectRole, added_at: i64) -> ProjectMember {
    ProjectMember {
        project_id: fx.project_id.clone(),
        user_id: fx.users[user].id.clone(),
        role,
        email: fx.users[user].email.clone(),
        added_at,
    }
}

pub async fn put_then_get_and_list_in_added_order(fx: MemberFixture) {
    assert!(fx.repo.list(&fx.project_id).await.unwrap().is_empty());
    fx.repo
        .put(member(&fx, 1, ProjectRole::Viewer, 2_000))
        .await
        .unwrap();
    fx.repo
        .put(member(&fx, 0, ProjectRole::Owner, 1_000))
        .await
        .unwrap();
    let got = fx
        .repo
        .get(&fx.project_id, &fx.users[1].id)
        .await
        .unwrap()
        .expect("member");
    assert_eq!(got.role, ProjectRole::Viewer);
    assert_eq!(got.email, fx.users[1].email);
    let listed: Vec<(String, ProjectRole)> = fx
        .repo
        .list(&fx.project_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id, m.role))
        .collect();
    assert_eq!(
        listed,
        [
            (fx.users[0].id.clone(), ProjectRole::Owner),
            (fx.users[1].id.clone(), ProjectRole::Viewer)
        ]
    );
    assert!(
        fx.repo
            .get(&fx.project_id, &fx.users[2].id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn put_again_changes_only_the_role(fx: MemberFixture) {
    fx.repo
        .put(member(&fx, 0, ProjectRole::Owner, 1_000))
        .await
        .unwrap();
    fx.repo
        .put(member(&fx, 1, ProjectRole::Viewer, 2_000))
        .await
        .unwrap();
    let changed = fx
        .repo
        .put(member(&fx, 1, ProjectRole::Editor, 9_000))
        .await
        .unwrap();
    assert_eq!(changed.role, ProjectRole::Editor);
    let listed = fx.repo.list(&fx.project_id).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let bob = listed.iter().find(|m| m.user_id == fx.users[1].id).unwrap();
    assert_eq!(bob.role, ProjectRole::Editor);
    assert_eq!(bob.added_at, 2_000, "added_at is kept");
    // The owner can be demoted too (rules about owners are the service's).
    fx.repo
        .put(member(&fx, 0, ProjectRole::Viewer, 1_000))
        .await
        .unwrap();
    let alice = fx
        .repo
        .get(&fx.project_id, &fx.users[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.role, ProjectRole::Viewer);
}

pub async fn remove_answers_whether_it_was_a_member(fx: MemberFixture) {
    fx.repo
        .put(member(&fx, 0, ProjectRole::Owner, 1_000))
        .await
        .unwrap();
    fx.repo
        .put(member(&fx, 1, ProjectRole::Editor, 2_000))
        .await
        .unwrap();
    assert!(
        fx.repo
            .remove(&fx.project_id, &fx.users[1].id)
            .await
            .unwrap()
    );
    assert!(
        !fx.repo
            .remove(&fx.project_id, &fx.users[1].id)
            .await
            .unwrap()
    );
    assert!(
        !fx.repo
            .remove(&fx.project_id, &fx.users[2].id)
            .await
            .unwrap()
    );
    assert!(
        fx.repo
            .remove(&fx.project_id, &fx.users[0].id)
            .await
            .unwrap()
    );
    assert!(fx.repo.list(&fx.project_id).await.unwrap().is_empty());
}

pub async fn users_are_found_by_id_and_exact_email(fx: MemberFixture) {
    let user = &fx.users[2];
    let email = user.email.clone().expect("fixture users have emails");
    let by_id = fx.repo.user_by_id(&user.id).await.unwrap().expect("by id");
    assert_eq!(by_id.id, user.id);
    let by_email = fx
        .repo
        .user_by_email(&email)
        .await
        .unwrap()
        .expect("by email");
    assert_eq!(by_email.id, user.id);
    assert!(
        fx.repo
            .user_by_email("nobody-at-all@example.invalid")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        fx.repo
            .user_by_id("00000000-0000-4000-8000-000000000000")
            .await
            .unwrap()
            .is_none()
    );
    assert!(fx.repo.user_by_id("not a uuid").await.unwrap().is_none());
}
