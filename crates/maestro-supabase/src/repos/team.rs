//! The repositories of team members (custom members and built-in overrides) and orderings.

use async_trait::async_trait;
use maestro_domain::model::{EntityType, JsonObject, Ordering, TeamMember};
use maestro_domain::ports::{Mutator, OrderingRepo, TeamMemberRepo};
use maestro_domain::{DomainError, Result};
use serde_json::{Value, json};

use super::table::{MAX_ATTEMPTS, Table, backoff};
use crate::client::PostgrestClient;
use crate::error::PostgrestError;
use crate::query::Query;
use crate::rows::{ORDERINGS, OVERRIDES_TABLE, TEAM_MEMBERS};

/// Custom members in `public.team_members` (key: project, id) and the override objects of the
/// built-in members in `public.team_member_overrides` (`data` jsonb).
pub struct SupabaseTeamMemberRepo {
    table: Table<TeamMember>,
}

impl SupabaseTeamMemberRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self {
            table: Table::new(client, &TEAM_MEMBERS),
        }
    }

    fn client(&self) -> &PostgrestClient {
        &self.table.client
    }

    fn override_error(id: &str, e: PostgrestError) -> DomainError {
        match DomainError::from(e) {
            DomainError::NotFound { .. } => DomainError::not_found("Team member override", id),
            other => other,
        }
    }

    /// The override row `(data, version)`.
    async fn override_row(&self, project_id: &str, id: &str) -> Result<Option<(JsonObject, i64)>> {
        let q = Query::new()
            .eq("project_id", project_id)
            .eq("id", id)
            .select("data,version");
        let rows = self
            .client()
            .select(OVERRIDES_TABLE, &q)
            .await
            .map_err(|e| Self::override_error(id, e))?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let version = row.get("version").and_then(Value::as_i64).unwrap_or(0);
        match row.get_mut("data").map(Value::take) {
            Some(Value::Object(data)) => Ok(Some((data, version))),
            _ => Err(DomainError::Internal(format!(
                "override '{project_id}/{id}' is not a JSON object"
            ))),
        }
    }
}

#[async_trait]
impl TeamMemberRepo for SupabaseTeamMemberRepo {
    async fn create(&self, member: TeamMember) -> Result<TeamMember> {
        self.table
            .create(&member, &member.id)
            .await
            .map_err(|e| match e {
                DomainError::Conflict(_) => DomainError::Conflict(format!(
                    "Team member with id '{}' already exists in project '{}'",
                    member.id, member.project_id
                )),
                other => other,
            })
    }

    async fn get(&self, project_id: &str, id: &str) -> Result<Option<TeamMember>> {
        self.table
            .get(&[("project_id", project_id), ("id", id)])
            .await
    }

    async fn list(&self, project_id: &str) -> Result<Vec<TeamMember>> {
        self.table
            .list(Query::new().eq("project_id", project_id))
            .await
    }

    async fn update<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, TeamMember>,
    ) -> Result<TeamMember> {
        self.table
            .update(
                &[("project_id", project_id), ("id", id)],
                change,
                |m: &TeamMember| m.id == id && m.project_id == project_id,
            )
            .await
    }

    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        self.table
            .delete(&[("project_id", project_id), ("id", id)])
            .await
    }

    async fn get_override(&self, project_id: &str, id: &str) -> Result<Option<JsonObject>> {
        Ok(self
            .override_row(project_id, id)
            .await?
            .map(|(data, _)| data))
    }

    async fn update_override<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, JsonObject>,
    ) -> Result<JsonObject> {
        for attempt in 0..MAX_ATTEMPTS {
            match self.override_row(project_id, id).await? {
                None => {
                    let mut next = JsonObject::new();
                    change(&mut next)?;
                    let row = json!({"project_id": project_id, "id": id, "data": next});
                    match self
                        .client()
                        .insert(OVERRIDES_TABLE, &row, &Query::new().select("data"))
                        .await
                    {
                        Ok(_) => return Ok(next),
                        // Somebody created it first: start over from theirs.
                        Err(e) if e.is_conflict() => backoff(attempt).await,
                        Err(e) => return Err(Self::override_error(id, e)),
                    }
                }
                Some((current, version)) => {
                    let mut next = current.clone();
                    change(&mut next)?;
                    if next == current {
                        return Ok(next);
                    }
                    let q = Query::new()
                        .eq("project_id", project_id)
                        .eq("id", id)
                        .eq("version", version)
                        .select("data");
                    let rows = self
                        .client()
                        .update(OVERRIDES_TABLE, &q, &json!({"data": next}))
                        .await
                        .map_err(|e| Self::override_error(id, e))?;
                    if !rows.is_empty() {
                        return Ok(next);
                    }
                    match self.override_row(project_id, id).await? {
                        Some((_, v)) if v == version => {
                            return Err(DomainError::Forbidden(format!(
                                "not allowed to change the override of '{id}'"
                            )));
                        }
                        _ => backoff(attempt).await,
                    }
                }
            }
        }
        Err(DomainError::Conflict(format!(
            "override '{project_id}/{id}' kept changing; gave up after {MAX_ATTEMPTS} attempts"
        )))
    }

    async fn delete_override(&self, project_id: &str, id: &str) -> Result<bool> {
        let q = Query::new()
            .eq("project_id", project_id)
            .eq("id", id)
            .select("id");
        let rows = self
            .client()
            .delete(OVERRIDES_TABLE, &q)
            .await
            .map_err(|e| Self::override_error(id, e))?;
        Ok(!rows.is_empty())
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.table
            .delete_where(Query::new().eq("project_id", project_id))
            .await?;
        self.client()
            .delete(
                OVERRIDES_TABLE,
                &Query::new().eq("project_id", project_id).select("id"),
            )
            .await
            .map_err(|e| Self::override_error(project_id, e))?;
        Ok(())
    }
}

/// UI orderings in `public.orderings` (key: project, entity type); `save` is an upsert.
pub struct SupabaseOrderingRepo {
    table: Table<Ordering>,
}

impl SupabaseOrderingRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self {
            table: Table::new(client, &ORDERINGS),
        }
    }
}

#[async_trait]
impl OrderingRepo for SupabaseOrderingRepo {
    async fn get(&self, project_id: &str, entity_type: EntityType) -> Result<Option<Ordering>> {
        self.table
            .get(&[
                ("project_id", project_id),
                ("entity_type", entity_type.as_str()),
            ])
            .await
    }

    async fn save(&self, ordering: Ordering) -> Result<Ordering> {
        let row = ORDERINGS.to_row(&ordering)?;
        let rows = self
            .table
            .client
            .upsert(
                ORDERINGS.table,
                &row,
                "project_id,entity_type",
                &Query::new().select(&ORDERINGS.select(false)),
            )
            .await
            .map_err(DomainError::from)?;
        match rows.into_iter().next() {
            Some(row) => ORDERINGS.decode(row),
            None => Ok(ordering),
        }
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.table
            .delete_where(Query::new().eq("project_id", project_id))
            .await
            .map(drop)
    }
}
