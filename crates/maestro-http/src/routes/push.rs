//! `/api/push/subscriptions`: the caller's devices that receive Web Push (issue 27). A body is
//! the browser's `PushSubscription` JSON (`{endpoint, expirationTime, keys: {p256dh, auth}}`),
//! plus the device's `mutedProjects` and `quietHours`; posting the same endpoint again updates
//! it. Every principal may register devices; what each hears is decided per push.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use maestro_domain::model::{PushKeys, QuietHours};
use maestro_domain::services::NewPushSubscription;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::answers::PushSubscriptionView;
use crate::error::ApiResult;
use crate::extract::{Body, Query};
use crate::routes::Api;
use crate::scope::Scoped;

pub(super) fn routes(api: Api) -> Api {
    api.add(
        Method::GET,
        "/api/push/subscriptions",
        "push",
        "List the caller's devices that receive Web Push",
        get(list),
    ).ok::<Vec<PushSubscriptionView>>(200)
    .add(
        Method::POST,
        "/api/push/subscriptions",
        "push",
        "Register a device for Web Push (the browser's PushSubscription JSON, plus mutedProjects and quietHours); the same endpoint again updates it (200)",
        axum::routing::post(subscribe),
    ).body::<SubscribeBody>().ok::<PushSubscriptionView>(201)
    .example(json!({
        "endpoint": "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bH…",
        "expirationTime": null,
        "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"},
        "mutedProjects": [],
        "quietHours": {"start": "22:00", "end": "07:00", "utcOffsetMinutes": 60}
    }))
    .add(
        Method::DELETE,
        "/api/push/subscriptions",
        "push",
        "Stop pushing to one of the caller's devices: its endpoint in the body ({endpoint}) or the query (?endpoint=); idempotent, {success, removed}",
        axum::routing::delete(unsubscribe),
    ).query::<EndpointQuery>().ok::<Value>(200)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "PushSubscribeRequest")]
struct SubscribeBody {
    endpoint: Option<String>,
    /// Ignored: push services tell when a subscription is gone.
    #[allow(dead_code)]
    expiration_time: Option<Value>,
    keys: Option<PushKeys>,
    muted_projects: Option<Vec<String>>,
    quiet_hours: Option<QuietHours>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "PushEndpointQuery")]
struct EndpointQuery {
    endpoint: Option<String>,
}

async fn list(s: Scoped) -> ApiResult<Json<Vec<PushSubscriptionView>>> {
    let subs = s.push_service()?.list(s.principal()).await?;
    Ok(Json(subs.iter().map(PushSubscriptionView::from).collect()))
}

async fn subscribe(
    s: Scoped,
    Body(b): Body<SubscribeBody>,
) -> ApiResult<(StatusCode, Json<PushSubscriptionView>)> {
    let (sub, created) = s
        .push_service()?
        .subscribe(
            s.principal(),
            NewPushSubscription {
                endpoint: b.endpoint,
                keys: b.keys,
                muted_projects: b.muted_projects,
                quiet_hours: b.quiet_hours,
            },
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(PushSubscriptionView::from(&sub))))
}

async fn unsubscribe(
    s: Scoped,
    Query(q): Query<EndpointQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let from_body = || {
        serde_json::from_slice::<EndpointQuery>(&body)
            .ok()
            .and_then(|b| b.endpoint)
    };
    let endpoint = q
        .endpoint
        .or_else(from_body)
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| {
            maestro_domain::DomainError::invalid_field("endpoint", "endpoint is required")
        })?;
    let removed = s
        .push_service()?
        .unsubscribe(s.principal(), &endpoint)
        .await?;
    Ok(Json(json!({ "success": true, "removed": removed })))
}
