//! [`SupabaseStorage`]: a [`BlobStore`] on Supabase Storage's REST API (`/storage/v1`).
//!
//! | operation | request |
//! |---|---|
//! | bucket check / create | `GET /bucket/{id}`, else `POST /bucket {id, name, public: false}` (once per store) |
//! | put | `POST /object/{bucket}/{key}` with `x-upsert: true`, raw body |
//! | get | `GET /object/authenticated/{bucket}/{key}` |
//! | delete | `DELETE /object/{bucket}/{key}` |
//!
//! Requests carry `apikey` and `Authorization: Bearer …` (the service-role key, or a user's
//! JWT so Storage RLS applies). "Not found" is recognised both as HTTP 404 and as Storage's
//! older HTTP 400 with `{"statusCode": "404"}`.

use std::time::Duration;

use async_trait::async_trait;
use maestro_domain::{DomainError, Result};
use reqwest::Method;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::error::PostgrestError;
use maestro_domain::ports::{BlobStore, validate_blob_key as validate_key};

/// A private bucket of a Supabase project's Storage.
#[derive(Debug)]
pub struct SupabaseStorage {
    http: reqwest::Client,
    base: String,
    apikey: String,
    bearer: String,
    bucket: String,
    bucket_ready: OnceCell<()>,
}

fn not_found(e: &PostgrestError) -> bool {
    e.status == 404
        || (e.status == 400
            && (e.code() == Some("404")
                || e.code() == Some("NoSuchKey")
                || e.message.to_ascii_lowercase().contains("not found")))
}

fn duplicate(e: &PostgrestError) -> bool {
    e.status == 409
        || e.code() == Some("409")
        || e.message.to_ascii_lowercase().contains("already exists")
}

impl SupabaseStorage {
    /// `storage_url` is `https://<ref>.supabase.co/storage/v1`; `apikey` and `bearer` as for
    /// PostgREST (the service-role key in both for server work).
    pub fn new(storage_url: &str, apikey: &str, bearer: &str, bucket: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            base: storage_url.trim_end_matches('/').to_owned(),
            apikey: apikey.to_owned(),
            bearer: bearer.to_owned(),
            bucket: bucket.to_owned(),
            bucket_ready: OnceCell::new(),
        }
    }

    /// With the service-role key.
    pub fn service(storage_url: &str, service_role_key: &str, bucket: &str) -> Self {
        Self::new(storage_url, service_role_key, service_role_key, bucket)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
        json_body: Option<serde_json::Value>,
        upsert: bool,
    ) -> std::result::Result<Vec<u8>, PostgrestError> {
        let mut req = self
            .http
            .request(method, format!("{}/{path}", self.base))
            .header("apikey", &self.apikey)
            .header("authorization", format!("Bearer {}", self.bearer));
        if upsert {
            req = req.header("x-upsert", "true");
        }
        if let Some((bytes, content_type)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        if let Some(j) = json_body {
            req = req.json(&j);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| PostgrestError::transport(&e))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| PostgrestError::transport(&e))?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(PostgrestError::from_response(
                status.as_u16(),
                &String::from_utf8_lossy(&bytes),
            ))
        }
    }

    /// Creates the bucket (private) unless it exists. Done once per store, before the first
    /// upload.
    pub async fn ensure_bucket(&self) -> Result<()> {
        self.bucket_ready
            .get_or_try_init(|| async {
                let path = format!("bucket/{}", self.bucket);
                match self.call(Method::GET, &path, None, None, false).await {
                    Ok(_) => return Ok(()),
                    Err(e) if not_found(&e) => {}
                    Err(e) => return Err(storage_error(e)),
                }
                let body = json!({"id": self.bucket, "name": self.bucket, "public": false});
                match self
                    .call(Method::POST, "bucket", None, Some(body), false)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if duplicate(&e) => Ok(()),
                    Err(e) => Err(storage_error(e)),
                }
            })
            .await
            .map(|_| ())
    }

    fn object_path(&self, prefix: &str, key: &str) -> Result<String> {
        validate_key(key)?;
        Ok(format!("object/{prefix}{}/{key}", self.bucket))
    }
}

fn storage_error(e: PostgrestError) -> DomainError {
    // Storage often answers 400 with the real status in the body's `statusCode`.
    let status = match (e.status, e.code().and_then(|c| c.parse::<u16>().ok())) {
        (400, Some(inner)) => inner,
        (s, _) => s,
    };
    match status {
        401 => DomainError::Unauthorized(format!("Supabase Storage: {e}")),
        403 => DomainError::Forbidden(format!("Supabase Storage: {e}")),
        0 | 500.. => DomainError::Unavailable(format!("Supabase Storage: {e}")),
        _ => DomainError::Internal(format!("Supabase Storage: {e}")),
    }
}

#[async_trait]
impl BlobStore for SupabaseStorage {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()> {
        let path = self.object_path("", key)?;
        self.ensure_bucket().await?;
        self.call(Method::POST, &path, Some((bytes, content_type)), None, true)
            .await
            .map(drop)
            .map_err(storage_error)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.object_path("authenticated/", key)?;
        match self.call(Method::GET, &path, None, None, false).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(storage_error(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let path = self.object_path("", key)?;
        match self.call(Method::DELETE, &path, None, None, false).await {
            Ok(_) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(storage_error(e)),
        }
    }
}
