//! The Supabase Storage adapter against a small axum fake of the documented routes
//! (`/storage/v1/bucket`, `/storage/v1/object/...`), and the session-docs decorator on it.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maestro_domain::DomainError;
use maestro_domain::model::{DocEntry, Session};
use maestro_domain::ports::SessionRepo;
use maestro_memory::MemorySessionRepo;
use maestro_supabase::{BLOB_DOCS_KEY, BlobDocsSessionRepo, BlobStore, SupabaseStorage};
use maestro_testkit::fixtures::{now_ms, session, unique_id};
use serde_json::{Value, json};

const TOKEN: &str = "service-role-token";

#[derive(Default)]
struct Fake {
    buckets: HashSet<String>,
    objects: HashMap<(String, String), (Vec<u8>, String)>,
    bucket_creations: usize,
}

type Shared = Arc<Mutex<Fake>>;

/// Storage's error shape (HTTP 400 with the real status in `statusCode`, as Storage does).
fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"statusCode": code, "error": message, "message": message})),
    )
        .into_response()
}

/// The refusal of a request without `apikey` or with the wrong bearer token.
fn refused(h: &HeaderMap) -> Option<Response> {
    let bearer = h.get("authorization").and_then(|v| v.to_str().ok());
    if h.get("apikey").is_none() || bearer != Some(&format!("Bearer {TOKEN}")) {
        return Some(storage_error(
            StatusCode::BAD_REQUEST,
            "403",
            "invalid signature",
        ));
    }
    None
}

async fn get_bucket(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = refused(&h) {
        return r;
    }
    if s.lock().unwrap().buckets.contains(&id) {
        axum::Json(json!({"id": id, "name": id, "public": false})).into_response()
    } else {
        storage_error(StatusCode::BAD_REQUEST, "404", "Bucket not found")
    }
}

async fn create_bucket(
    State(s): State<Shared>,
    h: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(r) = refused(&h) {
        return r;
    }
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(body["public"], json!(false), "buckets are private");
    let mut f = s.lock().unwrap();
    if !f.buckets.insert(id.clone()) {
        return storage_error(
            StatusCode::BAD_REQUEST,
            "409",
            "The resource already exists",
        );
    }
    f.bucket_creations += 1;
    axum::Json(json!({"name": id})).into_response()
}

async fn upload(
    State(s): State<Shared>,
    h: HeaderMap,
    Path((bucket, key)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(r) = refused(&h) {
        return r;
    }
    let mut f = s.lock().unwrap();
    if !f.buckets.contains(&bucket) {
        return storage_error(StatusCode::BAD_REQUEST, "404", "Bucket not found");
    }
    let upsert = h.get("x-upsert").and_then(|v| v.to_str().ok()) == Some("true");
    let k = (bucket.clone(), key.clone());
    if f.objects.contains_key(&k) && !upsert {
        return storage_error(
            StatusCode::BAD_REQUEST,
            "409",
            "The resource already exists",
        );
    }
    let ct = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    f.objects.insert(k, (body.to_vec(), ct));
    axum::Json(
        json!({"Key": format!("{bucket}/{key}"), "Id": "00000000-0000-4000-a000-000000000000"}),
    )
    .into_response()
}

async fn download(
    State(s): State<Shared>,
    h: HeaderMap,
    Path((bucket, key)): Path<(String, String)>,
) -> Response {
    if let Some(r) = refused(&h) {
        return r;
    }
    match s.lock().unwrap().objects.get(&(bucket, key)) {
        Some((bytes, ct)) => ([("content-type", ct.clone())], bytes.clone()).into_response(),
        None => storage_error(StatusCode::BAD_REQUEST, "404", "Object not found"),
    }
}

async fn remove(
    State(s): State<Shared>,
    h: HeaderMap,
    Path((bucket, key)): Path<(String, String)>,
) -> Response {
    if let Some(r) = refused(&h) {
        return r;
    }
    match s.lock().unwrap().objects.remove(&(bucket, key)) {
        Some(_) => axum::Json(json!({"message": "Successfully deleted"})).into_response(),
        None => storage_error(StatusCode::NOT_FOUND, "404", "Object not found"),
    }
}

/// Starts the fake; its `/storage/v1` URL and its state.
async fn fake() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/storage/v1/bucket", post(create_bucket))
        .route("/storage/v1/bucket/{id}", get(get_bucket))
        .route(
            "/storage/v1/object/authenticated/{bucket}/{*key}",
            get(download),
        )
        .route(
            "/storage/v1/object/{bucket}/{*key}",
            post(upload).delete(remove),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/storage/v1"), state)
}

#[tokio::test]
async fn storage_puts_gets_and_deletes_objects() {
    let (url, state) = fake().await;
    let store = SupabaseStorage::service(&url, TOKEN, "maestro-docs");
    assert_eq!(store.get("a/b.md").await.unwrap(), None);
    store
        .put("a/b.md", b"first".to_vec(), "text/markdown")
        .await
        .unwrap();
    store
        .put("a/b.md", "zweite ✓".as_bytes().to_vec(), "text/markdown")
        .await
        .unwrap();
    store
        .put("c.txt", b"c".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        store.get("a/b.md").await.unwrap(),
        Some("zweite ✓".as_bytes().to_vec())
    );
    {
        let f = state.lock().unwrap();
        assert_eq!(f.bucket_creations, 1, "the bucket is created once");
        assert_eq!(
            f.objects[&("maestro-docs".into(), "a/b.md".into())].1,
            "text/markdown"
        );
    }
    assert!(store.delete("a/b.md").await.unwrap());
    assert!(!store.delete("a/b.md").await.unwrap());
    assert_eq!(store.get("a/b.md").await.unwrap(), None);
    assert!(matches!(
        store.get("../etc/passwd").await,
        Err(DomainError::Validation { .. })
    ));
    // Another store on the existing bucket does not create it again.
    let again = SupabaseStorage::service(&url, TOKEN, "maestro-docs");
    again
        .put("d.txt", b"d".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_eq!(state.lock().unwrap().bucket_creations, 1);
    assert_eq!(again.get("c.txt").await.unwrap(), Some(b"c".to_vec()));
}

#[tokio::test]
async fn storage_refuses_a_bad_token() {
    let (url, _) = fake().await;
    let store = SupabaseStorage::service(&url, "wrong", "maestro-docs");
    assert!(matches!(
        store.put("x", b"x".to_vec(), "text/plain").await,
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        store.get("x").await,
        Err(DomainError::Forbidden(_))
    ));
}

fn doc(id: &str, content: &str) -> DocEntry {
    DocEntry {
        id: id.into(),
        title: format!("Doc {id}"),
        file_path: format!("docs/{id}.md"),
        content: Some(content.into()),
        task_id: None,
        added_at: now_ms(),
        added_by: None,
    }
}

#[tokio::test]
async fn large_session_docs_live_in_storage_and_come_back() {
    let (url, state) = fake().await;
    let store: Arc<dyn BlobStore> = Arc::new(SupabaseStorage::service(&url, TOKEN, "maestro-docs"));
    let inner = Arc::new(MemorySessionRepo::new());
    let repo = BlobDocsSessionRepo::new(inner.clone(), store, 32);

    let big = "# Big\n".to_owned() + &"x".repeat(100) + " ünïcødé";
    let mut s: Session = session(&unique_id("sess"), &unique_id("proj"), now_ms());
    s.docs = vec![doc("doc_small", "small"), doc("doc_big", &big)];
    assert_eq!(repo.create(s.clone()).await.unwrap(), s);

    // Stored: the big content is gone from the record, a marker points at the object.
    let stored = inner.get(&s.id).await.unwrap().unwrap();
    assert_eq!(stored.docs[0].content.as_deref(), Some("small"));
    assert_eq!(stored.docs[1].content, None);
    assert!(stored.extra.contains_key(BLOB_DOCS_KEY));
    assert_eq!(state.lock().unwrap().objects.len(), 1);
    // Served back transparently.
    assert_eq!(repo.get(&s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(
        repo.list(&Default::default()).await.unwrap(),
        vec![s.clone()]
    );

    // An update sees the contents and may add another large doc.
    let bigger = big.repeat(3);
    let updated = repo
        .update(&s.id, &|x: &mut Session| {
            assert_eq!(x.docs[1].content.as_deref(), Some(big.as_str()));
            x.docs.push(doc("doc_bigger", &bigger));
            Ok(())
        })
        .await
        .unwrap();
    let mut expected = s.clone();
    expected.docs.push(doc("doc_bigger", &bigger));
    expected.docs[2].added_at = updated.docs[2].added_at;
    assert_eq!(updated, expected);
    assert_eq!(repo.get(&s.id).await.unwrap(), Some(expected));
    assert_eq!(state.lock().unwrap().objects.len(), 2);

    // Deleting the session deletes its objects.
    assert!(repo.delete(&s.id).await.unwrap());
    assert!(state.lock().unwrap().objects.is_empty());
    assert_eq!(repo.get(&s.id).await.unwrap(), None);
}

/// The `BlobStore` contract on `SupabaseStorage`, against the Storage stand-in above.
mod contract {
    use std::sync::Arc;

    use maestro_domain::ports::BlobStore;
    use maestro_supabase::SupabaseStorage;

    maestro_testkit::blob_store_contract!(|| async {
        let (url, _) = crate::fake().await;
        Arc::new(SupabaseStorage::service(&url, crate::TOKEN, "maestro-docs")) as Arc<dyn BlobStore>
    });
}
