//! [`SupabaseApiKeyRepo`]: `public.api_keys` (hashed keys). Meant for the service-role client:
//! users have no privilege on the table; the API-key service checks who may manage keys.

use async_trait::async_trait;
use maestro_domain::model::ApiKey;
use maestro_domain::ports::ApiKeyRepo;
use maestro_domain::{DomainError, Result};
use serde_json::{Value, json};

use crate::client::PostgrestClient;
use crate::query::Query;

const TABLE: &str = "api_keys";
const COLUMNS: &str = "project_id,id,name,team_member_id,hint,created_by,created_at,secret_hash";

pub struct SupabaseApiKeyRepo {
    client: PostgrestClient,
}

impl SupabaseApiKeyRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self { client }
    }
}

fn to_row(k: &ApiKey) -> Value {
    json!({
        "project_id": k.project_id,
        "id": k.id,
        "name": k.name,
        "team_member_id": k.team_member_id,
        "hint": k.hint,
        "created_by": k.created_by,
        "created_at": k.created_at,
        "secret_hash": k.secret_hash,
    })
}

fn from_row(r: &Value) -> Result<ApiKey> {
    let text = |c: &str| r.get(c).and_then(Value::as_str).map(str::to_string);
    let need = |c: &str| {
        text(c).ok_or_else(|| DomainError::Internal(format!("unreadable api_keys row: {r}")))
    };
    Ok(ApiKey {
        id: need("id")?,
        project_id: need("project_id")?,
        name: need("name")?,
        team_member_id: text("team_member_id"),
        hint: need("hint")?,
        created_by: text("created_by"),
        created_at: r
            .get("created_at")
            .and_then(Value::as_i64)
            .ok_or_else(|| DomainError::Internal(format!("unreadable api_keys row: {r}")))?,
        secret_hash: need("secret_hash")?,
    })
}

#[async_trait]
impl ApiKeyRepo for SupabaseApiKeyRepo {
    async fn create(&self, key: ApiKey) -> Result<ApiKey> {
        let rows = self
            .client
            .insert(TABLE, &to_row(&key), &Query::new().select(COLUMNS))
            .await
            .map_err(|e| {
                if e.is_conflict() {
                    DomainError::Conflict(format!("API key '{}' already exists", key.id))
                } else {
                    e.into()
                }
            })?;
        rows.first().map(from_row).unwrap_or(Ok(key))
    }

    async fn get(&self, project_id: &str, id: &str) -> Result<Option<ApiKey>> {
        let q = Query::new()
            .eq("project_id", project_id)
            .eq("id", id)
            .select(COLUMNS);
        super::select_one(&self.client, TABLE, &q, from_row).await
    }

    async fn list(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        let q = Query::new()
            .eq("project_id", project_id)
            .order("created_at.asc,id.asc")
            .select(COLUMNS);
        super::select_every(&self.client, TABLE, &q, from_row).await
    }

    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        let q = Query::new().eq("project_id", project_id).eq("id", id);
        Ok(!self.client.delete(TABLE, &q).await?.is_empty())
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.client
            .delete(TABLE, &Query::new().eq("project_id", project_id))
            .await?;
        Ok(())
    }
}
