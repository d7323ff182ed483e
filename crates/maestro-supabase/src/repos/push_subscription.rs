//! [`SupabasePushSubscriptionRepo`]: `public.push_subscriptions`, the person's Web Push
//! devices. Meant for the service-role client: users have no privilege on the table.

use async_trait::async_trait;
use maestro_domain::model::{PushKeys, PushSubscription};
use maestro_domain::ports::PushSubscriptionRepo;
use maestro_domain::{DomainError, Result};
use serde_json::{Value, json};

use crate::client::PostgrestClient;
use crate::query::Query;

const TABLE: &str = "push_subscriptions";
const COLUMNS: &str =
    "id,endpoint,p256dh,auth,owner,muted_projects,quiet_hours,created_at,updated_at";

pub struct SupabasePushSubscriptionRepo {
    client: PostgrestClient,
}

impl SupabasePushSubscriptionRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self { client }
    }
}

fn to_row(s: &PushSubscription) -> Value {
    json!({
        "id": s.id,
        "endpoint": s.endpoint,
        "p256dh": s.keys.p256dh,
        "auth": s.keys.auth,
        "owner": s.owner,
        "muted_projects": s.muted_projects,
        "quiet_hours": s.quiet_hours,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}

fn from_row(r: &Value) -> Result<PushSubscription> {
    let bad = || DomainError::Internal(format!("unreadable push_subscriptions row: {r}"));
    let text = |c: &str| {
        r.get(c)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(bad)
    };
    let millis = |c: &str| r.get(c).and_then(Value::as_i64).ok_or_else(bad);
    Ok(PushSubscription {
        id: text("id")?,
        endpoint: text("endpoint")?,
        keys: PushKeys {
            p256dh: text("p256dh")?,
            auth: text("auth")?,
        },
        owner: parsed(r, "owner").ok_or_else(bad)?,
        muted_projects: parsed(r, "muted_projects").ok_or_else(bad)?,
        quiet_hours: parsed(r, "quiet_hours").ok_or_else(bad)?,
        created_at: millis("created_at")?,
        updated_at: millis("updated_at")?,
    })
}

/// Column `c` of row `r` as a `T` (a JSON column).
fn parsed<T: serde::de::DeserializeOwned>(r: &Value, c: &str) -> Option<T> {
    serde_json::from_value(r.get(c).cloned().unwrap_or(Value::Null)).ok()
}

#[async_trait]
impl PushSubscriptionRepo for SupabasePushSubscriptionRepo {
    async fn put(&self, sub: PushSubscription) -> Result<PushSubscription> {
        let rows = self
            .client
            .upsert(TABLE, &to_row(&sub), "id", &Query::new().select(COLUMNS))
            .await?;
        rows.first().map(from_row).unwrap_or(Ok(sub))
    }

    async fn get(&self, id: &str) -> Result<Option<PushSubscription>> {
        let q = Query::new().eq("id", id).select(COLUMNS);
        super::select_one(&self.client, TABLE, &q, from_row).await
    }

    async fn list(&self) -> Result<Vec<PushSubscription>> {
        let q = Query::new().order("created_at.asc,id.asc").select(COLUMNS);
        super::select_every(&self.client, TABLE, &q, from_row).await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        let q = Query::new().eq("id", id);
        Ok(!self.client.delete(TABLE, &q).await?.is_empty())
    }
}
