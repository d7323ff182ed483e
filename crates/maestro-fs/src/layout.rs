//! Paths of the data directory (STORAGE.md §1). Every builder takes [`SafeId`]s, which can
//! only be made by validation, so no unchecked string ever becomes a path component.

use std::path::{Path, PathBuf};

use maestro_domain::model::EntityType;
use maestro_domain::validate::safe_id;

/// An id that passed [`maestro_domain::validate::is_safe_id`] (`^[A-Za-z0-9_-]{1,128}$`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SafeId<'a>(&'a str);

impl<'a> SafeId<'a> {
    /// Validates `id`; an unsafe id is a [`maestro_domain::DomainError::Validation`] naming
    /// `field`.
    pub(crate) fn new(field: &str, id: &'a str) -> maestro_domain::Result<Self> {
        safe_id(field, id)?;
        Ok(Self(id))
    }

    /// Like [`SafeId::new`] but as an `Option` (start-up scanning).
    pub(crate) fn check(id: &'a str) -> Option<Self> {
        maestro_domain::validate::is_safe_id(id).then_some(Self(id))
    }
}

/// Name of the lock file taken in `<DATA_DIR>`.
pub(crate) const LOCK_FILE: &str = "maestro-server.lock";
/// Folder (in `<DATA_DIR>`) receiving files moved aside by migrations.
pub(crate) const BACKUP_DIR: &str = ".backup";
/// Suffix of override files in a team-member project folder.
pub(crate) const OVERRIDE_SUFFIX: &str = ".override.json";

/// The directory tree under `<DATA_DIR>`.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

pub(crate) fn entity_dir_name(kind: EntityType) -> &'static str {
    kind.as_str()
}

fn json(id: SafeId<'_>) -> String {
    format!("{}.json", id.0)
}

impl Layout {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    pub(crate) fn backup_dir(&self, what: &str) -> PathBuf {
        self.root.join(BACKUP_DIR).join(what)
    }

    /// The directories created at start-up (STORAGE.md §1).
    pub(crate) fn startup_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.projects_dir(),
            self.tasks_dir(),
            self.sessions_dir(),
            self.mail_dir(),
            self.ordering_dir(EntityType::Task),
            self.ordering_dir(EntityType::Session),
            self.team_members_dir(),
        ]
    }

    pub(crate) fn projects_dir(&self) -> PathBuf {
        self.root.join("projects")
    }

    pub(crate) fn project_file(&self, id: SafeId<'_>) -> PathBuf {
        self.projects_dir().join(json(id))
    }

    pub(crate) fn tasks_dir(&self) -> PathBuf {
        self.root.join("tasks")
    }

    pub(crate) fn task_project_dir(&self, project_id: SafeId<'_>) -> PathBuf {
        self.tasks_dir().join(project_id.0)
    }

    pub(crate) fn task_file(&self, project_id: SafeId<'_>, id: SafeId<'_>) -> PathBuf {
        self.task_project_dir(project_id).join(json(id))
    }

    pub(crate) fn sessions_dir(&self) -> PathBuf {
        self.root.join("sessions")
    }

    pub(crate) fn session_file(&self, id: SafeId<'_>) -> PathBuf {
        self.sessions_dir().join(json(id))
    }

    pub(crate) fn mail_dir(&self) -> PathBuf {
        self.root.join("mail")
    }

    pub(crate) fn mail_file(&self, id: SafeId<'_>) -> PathBuf {
        self.mail_dir().join(json(id))
    }

    pub(crate) fn ordering_dir(&self, kind: EntityType) -> PathBuf {
        self.root.join("ordering").join(entity_dir_name(kind))
    }

    pub(crate) fn ordering_file(&self, kind: EntityType, project_id: SafeId<'_>) -> PathBuf {
        self.ordering_dir(kind).join(json(project_id))
    }

    pub(crate) fn api_keys_dir(&self) -> PathBuf {
        self.root.join("api-keys")
    }

    pub(crate) fn api_key_project_dir(&self, project_id: SafeId<'_>) -> PathBuf {
        self.api_keys_dir().join(project_id.0)
    }

    pub(crate) fn api_key_file(&self, project_id: SafeId<'_>, id: SafeId<'_>) -> PathBuf {
        self.api_key_project_dir(project_id).join(json(id))
    }

    pub(crate) fn push_subscriptions_dir(&self) -> PathBuf {
        self.root.join("push-subscriptions")
    }

    pub(crate) fn push_subscription_file(&self, id: SafeId<'_>) -> PathBuf {
        self.push_subscriptions_dir().join(json(id))
    }

    pub(crate) fn team_members_dir(&self) -> PathBuf {
        self.root.join("team-members")
    }

    pub(crate) fn team_member_project_dir(&self, project_id: SafeId<'_>) -> PathBuf {
        self.team_members_dir().join(project_id.0)
    }

    pub(crate) fn team_member_file(&self, project_id: SafeId<'_>, id: SafeId<'_>) -> PathBuf {
        self.team_member_project_dir(project_id).join(json(id))
    }

    pub(crate) fn override_file(&self, project_id: SafeId<'_>, id: SafeId<'_>) -> PathBuf {
        self.team_member_project_dir(project_id)
            .join(format!("{}{OVERRIDE_SUFFIX}", id.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_storage_spec() {
        let l = Layout::new(PathBuf::from("/d"));
        let p = SafeId::check("proj_1_a").unwrap();
        let t = SafeId::check("task_1_b").unwrap();
        assert_eq!(
            l.task_file(p, t),
            Path::new("/d/tasks/proj_1_a/task_1_b.json")
        );
        assert_eq!(
            l.ordering_file(EntityType::Session, p),
            Path::new("/d/ordering/session/proj_1_a.json")
        );
        let tm = SafeId::check("tm_proj_1_a_coordinator").unwrap();
        assert_eq!(
            l.override_file(p, tm),
            Path::new("/d/team-members/proj_1_a/tm_proj_1_a_coordinator.override.json")
        );
        assert!(SafeId::check("../x").is_none());
        assert!(SafeId::new("id", "a/b").is_err());
    }
}
