//! The domain's access decorators (`maestro_domain::access::guard`) forward faithfully: the
//! in-memory repositories, guarded for a signed-in user who owns every project, pass the same
//! contract suites as the bare ones. (What the guard refuses is the access matrix's business:
//! `crates/maestro-http/tests/roles.rs` and the fleet simulation.)

use std::sync::Arc;

use maestro_domain::access::{Access, Grantee, guard};
use maestro_domain::model::{ProjectMember, ProjectRole, UserRef};
use maestro_domain::ports::{
    MailRepo, MemberRepo, OrderingRepo, ProjectRepo, SessionRepo, TaskRepo, TeamMemberRepo,
};
use maestro_domain::services::Repositories;

/// A member store in which user `owner` owns every project.
struct OwnerOfAll;

#[async_trait::async_trait]
impl MemberRepo for OwnerOfAll {
    async fn list(&self, project_id: &str) -> maestro_domain::Result<Vec<ProjectMember>> {
        Ok(vec![owner(project_id)])
    }
    async fn get(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> maestro_domain::Result<Option<ProjectMember>> {
        Ok((user_id == "owner").then(|| owner(project_id)))
    }
    async fn put(&self, member: ProjectMember) -> maestro_domain::Result<ProjectMember> {
        Ok(member)
    }
    async fn remove(&self, _: &str, _: &str) -> maestro_domain::Result<bool> {
        Ok(false)
    }
    async fn user_by_email(&self, _: &str) -> maestro_domain::Result<Option<UserRef>> {
        Ok(None)
    }
    async fn user_by_id(&self, _: &str) -> maestro_domain::Result<Option<UserRef>> {
        Ok(None)
    }
}

fn owner(project_id: &str) -> ProjectMember {
    ProjectMember {
        project_id: project_id.to_string(),
        user_id: "owner".into(),
        role: ProjectRole::Owner,
        email: None,
        added_at: 0,
    }
}

/// Fresh in-memory repositories, guarded for the owner of every project.
fn guarded() -> Repositories {
    guard(
        maestro_memory::repositories(),
        Access::new(Grantee::User("owner".into()), Arc::new(OwnerOfAll)),
    )
}

maestro_testkit::project_repo_contract!(|| async {
    crate::guarded().projects as Arc<dyn ProjectRepo>
});
maestro_testkit::task_repo_contract!(|| async { crate::guarded().tasks as Arc<dyn TaskRepo> });
maestro_testkit::session_repo_contract!(|| async {
    crate::guarded().sessions as Arc<dyn SessionRepo>
});
maestro_testkit::mail_repo_contract!(|| async { crate::guarded().mail as Arc<dyn MailRepo> });
maestro_testkit::team_member_repo_contract!(|| async {
    crate::guarded().team_members as Arc<dyn TeamMemberRepo>
});
maestro_testkit::ordering_repo_contract!(|| async {
    crate::guarded().orderings as Arc<dyn OrderingRepo>
});
