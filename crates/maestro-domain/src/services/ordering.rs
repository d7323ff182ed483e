//! UI orderings (API.md §9): no events, no project existence check.

use std::sync::Arc;

use crate::error::Result;
use crate::model::{EntityType, Ordering};
use crate::services::Context;
use crate::validate;

#[derive(Clone)]
pub struct OrderingService {
    ctx: Arc<Context>,
}

impl OrderingService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// The stored ordering, or `{orderedIds: [], updatedAt: 0}` when none was saved.
    pub async fn get(&self, project_id: &str, entity_type: EntityType) -> Result<Ordering> {
        validate::safe_id("projectId", project_id)?;
        Ok(self
            .ctx
            .ports
            .orderings
            .get(project_id, entity_type)
            .await?
            .unwrap_or_else(|| Ordering {
                project_id: project_id.to_string(),
                entity_type,
                ordered_ids: Vec::new(),
                updated_at: 0,
            }))
    }

    /// Replaces the ordering (ids stored verbatim) with `updatedAt` = now.
    pub async fn save(
        &self,
        project_id: &str,
        entity_type: EntityType,
        ordered_ids: Vec<String>,
    ) -> Result<Ordering> {
        validate::safe_id("projectId", project_id)?;
        self.ctx.require_project(project_id).await?;
        self.ctx
            .ports
            .orderings
            .save(Ordering {
                project_id: project_id.to_string(),
                entity_type,
                ordered_ids,
                updated_at: self.ctx.now(),
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing::*;

    #[tokio::test]
    async fn missing_ordering_is_synthesised() {
        let mut m = Mocks::new();
        m.orderings.expect_get().returning(|_, _| Ok(None));
        let o = m
            .services()
            .orderings
            .get("proj_1", EntityType::Session)
            .await
            .unwrap();
        assert_eq!(o.updated_at, 0);
        assert!(o.ordered_ids.is_empty());
        assert_eq!(o.entity_type, EntityType::Session);
    }

    #[tokio::test]
    async fn save_stamps_updated_at_and_stores_ids_verbatim() {
        let mut m = Mocks::new();
        m.records_exist("proj_1");
        m.orderings.expect_save().returning(Ok);
        m.bus.expect_publish().never();
        let o = m
            .services()
            .orderings
            .save(
                "proj_1",
                EntityType::Task,
                vec!["b".into(), "a".into(), "gone".into()],
            )
            .await
            .unwrap();
        assert_eq!(o.updated_at, NOW);
        assert_eq!(o.ordered_ids, ["b", "a", "gone"]);
    }

    #[tokio::test]
    async fn orderings_of_unknown_projects_are_not_stored() {
        let mut m = Mocks::new();
        m.projects.expect_get().returning(|_| Ok(None));
        m.orderings.expect_save().never();
        let e = m
            .services()
            .orderings
            .save("proj_gone", EntityType::Task, vec!["a".into()])
            .await
            .unwrap_err();
        assert_eq!(e.code(), "NOT_FOUND");
        assert_eq!(e.to_string(), "Project with id 'proj_gone' not found");
    }

    #[tokio::test]
    async fn traversal_project_id_is_refused_before_storage() {
        let mut m = Mocks::new();
        m.orderings.expect_get().never();
        let err = m
            .services()
            .orderings
            .get("..%2F..", EntityType::Task)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
    }
}
