//! [`PostgrestClient`]: a small typed PostgREST client on reqwest 0.12.
//!
//! Every request carries `apikey` and `Authorization: Bearer …`:
//! - [`PostgrestClient::service`]: the service-role key in both (server work; RLS bypassed);
//! - [`PostgrestClient::for_user`]: the anon key as `apikey` and a signed-in user's JWT as the
//!   bearer, so PostgREST runs the query as `authenticated` with that user's claims and RLS
//!   decides what the user sees and changes.
//!
//! Answers are JSON rows; failures are [`PostgrestError`]s (status + `{code, details, hint,
//! message}`). A semaphore bounds requests in flight per client (default 32), so a burst of
//! callers queues here instead of opening hundreds of connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::PostgrestError;
use crate::query::Query;

/// Requests in flight per client, by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;
/// Rows per page of [`PostgrestClient::select_all`], by default: Supabase's default
/// "Max rows" API setting. Must not exceed the project's setting.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

struct Inner {
    http: reqwest::Client,
    base: String,
    apikey: String,
    bearer: String,
    schema: Option<String>,
    permits: Arc<Semaphore>,
    page_size: usize,
    link: Arc<Link>,
}

/// Whether PostgREST could be reached, shared by every client derived from one.
#[derive(Default)]
struct Link {
    /// The last request failed before any answer (connection refused, reset, timed out).
    down: AtomicBool,
    /// Times an answer came after such a failure.
    reconnects: AtomicU64,
}

/// A PostgREST endpoint plus the credentials requests carry. Cheap to clone.
#[derive(Clone)]
pub struct PostgrestClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgrestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgrestClient")
            .field("base", &self.inner.base)
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

/// How rows are written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Insert,
    Upsert,
}

impl PostgrestClient {
    /// A client for the PostgREST root `rest_url` (on Supabase `https://<ref>.supabase.co/rest/v1`)
    /// sending `apikey` and `Authorization: Bearer <bearer>`.
    pub fn new(rest_url: &str, apikey: &str, bearer: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self::with_http(http, rest_url, apikey, bearer)
    }

    /// Like [`PostgrestClient::new`] on a caller-built reqwest client (proxies, TLS roots, …).
    pub fn with_http(http: reqwest::Client, rest_url: &str, apikey: &str, bearer: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                base: rest_url.trim_end_matches('/').to_owned(),
                apikey: apikey.to_owned(),
                bearer: bearer.to_owned(),
                schema: None,
                permits: Arc::new(Semaphore::new(DEFAULT_MAX_IN_FLIGHT)),
                page_size: DEFAULT_PAGE_SIZE,
                link: Arc::default(),
            }),
        }
    }

    /// Server work: the service-role key as `apikey` and bearer (bypasses RLS).
    pub fn service(rest_url: &str, service_role_key: &str) -> Self {
        Self::new(rest_url, service_role_key, service_role_key)
    }

    /// Acting for a signed-in user: the anon key as `apikey`, the user's access token as the
    /// bearer, so RLS applies to everything this client does.
    pub fn for_user(rest_url: &str, anon_key: &str, user_jwt: &str) -> Self {
        Self::new(rest_url, anon_key, user_jwt)
    }

    fn derive(&self, f: impl FnOnce(&mut Inner)) -> Self {
        let i = &self.inner;
        let mut inner = Inner {
            http: i.http.clone(),
            base: i.base.clone(),
            apikey: i.apikey.clone(),
            bearer: i.bearer.clone(),
            schema: i.schema.clone(),
            permits: Arc::clone(&i.permits),
            page_size: i.page_size,
            link: Arc::clone(&i.link),
        };
        f(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The same endpoint and connection pool, acting for the user of `user_jwt` with
    /// `anon_key` as `apikey`. Shares the in-flight limit with `self`.
    pub fn as_user(&self, anon_key: &str, user_jwt: &str) -> Self {
        self.derive(|i| {
            i.apikey = anon_key.to_owned();
            i.bearer = user_jwt.to_owned();
        })
    }

    /// Uses a schema other than the default one (`Accept-Profile` / `Content-Profile`).
    pub fn with_schema(&self, schema: &str) -> Self {
        self.derive(|i| i.schema = Some(schema.to_owned()))
    }

    /// At most `n` requests of this client (and those derived from it later) in flight.
    pub fn with_max_in_flight(&self, n: usize) -> Self {
        self.derive(|i| i.permits = Arc::new(Semaphore::new(n.max(1))))
    }

    /// Rows per page of [`PostgrestClient::select_all`].
    pub fn with_page_size(&self, n: usize) -> Self {
        self.derive(|i| i.page_size = n.max(1))
    }

    /// The PostgREST root URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// How many times PostgREST answered again after a request of this client (or of one
    /// derived from it) could not reach it.
    pub fn reconnects(&self) -> u64 {
        self.inner.link.reconnects.load(Ordering::Relaxed)
    }

    /// Records whether a request reached PostgREST.
    fn reached(&self, reached: bool) {
        let link = &self.inner.link;
        if reached {
            // A plain load first: the common case (up) writes nothing shared.
            if link.down.load(Ordering::Relaxed) && link.down.swap(false, Ordering::Relaxed) {
                link.reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::info!(url = %self.inner.base, "PostgREST reachable again");
            }
        } else {
            link.down.store(true, Ordering::Relaxed);
        }
    }

    fn headers(&self, write: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        put("apikey", &self.inner.apikey);
        put("authorization", &format!("Bearer {}", self.inner.bearer));
        put("accept", "application/json");
        if let Some(schema) = &self.inner.schema {
            put(
                if write {
                    "content-profile"
                } else {
                    "accept-profile"
                },
                schema,
            );
        }
        h
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Option<&Value>,
        prefer: Option<&str>,
    ) -> Result<Value, PostgrestError> {
        let qs = query.to_query_string();
        let url = if qs.is_empty() {
            format!("{}/{path}", self.inner.base)
        } else {
            format!("{}/{path}?{qs}", self.inner.base)
        };
        let writes = body.is_some() || method != Method::GET;
        let mut req = self
            .inner
            .http
            .request(method, &url)
            .headers(self.headers(writes));
        if let Some(p) = prefer {
            req = req.header("prefer", p);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| PostgrestError::protocol("client closed"))?;
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                // A request refused before it was sent (a bad URL) says nothing of the link.
                if !e.is_builder() {
                    self.reached(false);
                }
                return Err(PostgrestError::transport(&e));
            }
        };
        self.reached(true);
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| PostgrestError::transport(&e))?;
        if !status.is_success() {
            return Err(PostgrestError::from_response(status.as_u16(), &text));
        }
        if status == StatusCode::NO_CONTENT || text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| {
            PostgrestError::protocol(format!("PostgREST answered with invalid JSON: {e}"))
        })
    }

    fn rows(value: Value) -> Result<Vec<Value>, PostgrestError> {
        match value {
            Value::Array(rows) => Ok(rows),
            Value::Null => Ok(Vec::new()),
            other @ Value::Object(_) => Ok(vec![other]),
            other => Err(PostgrestError::protocol(format!(
                "expected rows, got {other}"
            ))),
        }
    }

    /// `GET /<table>?<query>`: one request (at most the server's max rows).
    pub async fn select(&self, table: &str, query: &Query) -> Result<Vec<Value>, PostgrestError> {
        Self::rows(self.send(Method::GET, table, query, None, None).await?)
    }

    /// Every row matching `query`, fetched page by page with `limit`/`offset` (`query` should
    /// carry a total `order`, so pages do not overlap).
    pub async fn select_all(
        &self,
        table: &str,
        query: &Query,
    ) -> Result<Vec<Value>, PostgrestError> {
        let page = self.inner.page_size;
        let mut out = Vec::new();
        loop {
            let q = query.clone().limit(page).offset(out.len());
            let rows = self.select(table, &q).await?;
            let n = rows.len();
            out.extend(rows);
            if n < page {
                return Ok(out);
            }
        }
    }

    /// [`PostgrestClient::select`] deserialised into `T`.
    pub async fn select_as<T: DeserializeOwned>(
        &self,
        table: &str,
        query: &Query,
    ) -> Result<Vec<T>, PostgrestError> {
        self.select(table, query)
            .await?
            .into_iter()
            .map(|row| {
                serde_json::from_value(row)
                    .map_err(|e| PostgrestError::protocol(format!("unexpected row shape: {e}")))
            })
            .collect()
    }

    async fn write(
        &self,
        table: &str,
        rows: &Value,
        query: &Query,
        mode: Write,
    ) -> Result<Vec<Value>, PostgrestError> {
        let prefer = match mode {
            Write::Insert => "return=representation",
            Write::Upsert => "return=representation,resolution=merge-duplicates",
        };
        Self::rows(
            self.send(Method::POST, table, query, Some(rows), Some(prefer))
                .await?,
        )
    }

    /// `POST /<table>` (one object or an array), returning the inserted rows. A duplicate key
    /// fails with code `23505` (HTTP 409).
    pub async fn insert(
        &self,
        table: &str,
        rows: &Value,
        query: &Query,
    ) -> Result<Vec<Value>, PostgrestError> {
        self.write(table, rows, query, Write::Insert).await
    }

    /// `POST /<table>?on_conflict=<columns>` with `resolution=merge-duplicates`.
    pub async fn upsert(
        &self,
        table: &str,
        rows: &Value,
        on_conflict: &str,
        query: &Query,
    ) -> Result<Vec<Value>, PostgrestError> {
        let q = query.clone().on_conflict(on_conflict);
        self.write(table, rows, &q, Write::Upsert).await
    }

    /// `PATCH /<table>?<filters>`, returning the changed rows (none when the filters, or RLS,
    /// match nothing).
    pub async fn update(
        &self,
        table: &str,
        query: &Query,
        patch: &Value,
    ) -> Result<Vec<Value>, PostgrestError> {
        Self::rows(
            self.send(
                Method::PATCH,
                table,
                query,
                Some(patch),
                Some("return=representation"),
            )
            .await?,
        )
    }

    /// `DELETE /<table>?<filters>`, returning the deleted rows.
    pub async fn delete(&self, table: &str, query: &Query) -> Result<Vec<Value>, PostgrestError> {
        Self::rows(
            self.send(
                Method::DELETE,
                table,
                query,
                None,
                Some("return=representation"),
            )
            .await?,
        )
    }

    /// `POST /rpc/<function>` with named arguments; the function's JSON result.
    pub async fn rpc(&self, function: &str, args: &Value) -> Result<Value, PostgrestError> {
        self.send(
            Method::POST,
            &format!("rpc/{function}"),
            &Query::new(),
            Some(args),
            None,
        )
        .await
    }

    /// Whether PostgREST answers and `table` is readable (for `/health`).
    pub async fn ping(&self, table: &str) -> Result<(), PostgrestError> {
        self.select(table, &Query::new().select("*").limit(0))
            .await
            .map(drop)
    }
}
