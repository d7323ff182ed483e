//! [`MemoryOrderingRepo`].

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{EntityType, Ordering};
use maestro_domain::ports::OrderingRepo;

/// UI orderings keyed by (projectId, entityType); `save` replaces.
#[derive(Default)]
pub struct MemoryOrderingRepo {
    orderings: RwLock<HashMap<(String, EntityType), Ordering>>,
}

impl MemoryOrderingRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl OrderingRepo for MemoryOrderingRepo {
    async fn get(&self, project_id: &str, entity_type: EntityType) -> Result<Option<Ordering>> {
        // Plain inserts and removals cannot leave the map inconsistent: recover from poison.
        let orderings = self
            .orderings
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(orderings
            .get(&(project_id.to_owned(), entity_type))
            .cloned())
    }

    async fn save(&self, ordering: Ordering) -> Result<Ordering> {
        let key = (ordering.project_id.clone(), ordering.entity_type);
        self.orderings
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, ordering.clone());
        Ok(ordering)
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.orderings
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(project, _), _| project != project_id);
        Ok(())
    }
}
