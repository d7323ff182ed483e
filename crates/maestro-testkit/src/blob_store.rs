//! Contract of [`BlobStore`]: what the port's documentation guarantees, for every adapter.

use std::sync::Arc;

use maestro_domain::DomainError;
use maestro_domain::ports::BlobStore;

use crate::fixtures::unique_id;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__blob_store_cases!(names);

/// A key unique to the case, under a folder (keys are `/`-separated paths).
fn key(name: &str) -> String {
    format!("{}/{name}", unique_id("blob"))
}

pub async fn put_then_get_round_trips_the_bytes(store: Arc<dyn BlobStore>) {
    let k = key("doc.md");
    let bytes = "héllo ✓\n\0binary".as_bytes().to_vec();
    store.put(&k, bytes.clone(), "text/markdown").await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(bytes));
}

pub async fn get_of_a_missing_key_is_none(store: Arc<dyn BlobStore>) {
    assert_eq!(store.get(&key("never.md")).await.unwrap(), None);
}

pub async fn put_replaces_the_whole_content(store: Arc<dyn BlobStore>) {
    let k = key("doc.md");
    store
        .put(&k, vec![b'x'; 64 * 1024], "text/plain")
        .await
        .unwrap();
    store
        .put(&k, b"short".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(b"short".to_vec()));
}

pub async fn delete_says_whether_something_was_deleted(store: Arc<dyn BlobStore>) {
    let k = key("doc.md");
    store.put(&k, b"a".to_vec(), "text/plain").await.unwrap();
    assert!(store.delete(&k).await.unwrap());
    assert!(!store.delete(&k).await.unwrap());
    assert_eq!(store.get(&k).await.unwrap(), None);
}

pub async fn keys_are_independent(store: Arc<dyn BlobStore>) {
    let (a, b) = (key("a.md"), key("b.md"));
    store.put(&a, b"a".to_vec(), "text/plain").await.unwrap();
    store.put(&b, b"b".to_vec(), "text/plain").await.unwrap();
    assert!(store.delete(&a).await.unwrap());
    assert_eq!(store.get(&b).await.unwrap(), Some(b"b".to_vec()));
}

pub async fn invalid_keys_are_refused_before_any_io(store: Arc<dyn BlobStore>) {
    for bad in [
        "",
        "../etc/passwd",
        "a//b",
        "a/./b",
        "sp ace",
        "back\\slash",
    ] {
        for result in [
            store
                .put(bad, b"x".to_vec(), "text/plain")
                .await
                .map(|_| ()),
            store.get(bad).await.map(|_| ()),
            store.delete(bad).await.map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(DomainError::Validation { .. })),
                "key {bad:?}: {result:?}"
            );
        }
    }
}

/// A `get` concurrent with `put`s sees one whole content, never a mix.
pub async fn a_concurrent_get_sees_old_or_new_never_a_mix(store: Arc<dyn BlobStore>) {
    let k = key("doc.md");
    let (old, new) = (vec![b'o'; 256 * 1024], vec![b'n'; 200 * 1024]);
    store.put(&k, old.clone(), "text/plain").await.unwrap();
    let writer = {
        let (store, k, old, new) = (store.clone(), k.clone(), old.clone(), new.clone());
        tokio::spawn(async move {
            for i in 0..20 {
                let bytes = if i % 2 == 0 { new.clone() } else { old.clone() };
                store.put(&k, bytes, "text/plain").await.unwrap();
            }
        })
    };
    for _ in 0..20 {
        let got = store.get(&k).await.unwrap().expect("the key stays present");
        assert!(
            got == old || got == new,
            "a mixed read of {} bytes",
            got.len()
        );
    }
    writer.await.unwrap();
}
