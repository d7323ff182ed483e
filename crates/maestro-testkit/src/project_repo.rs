//! Contract of [`ProjectRepo`] (the repository guarantees every other repository shares).
//!
//! Cases use unique ids and look only at their own records in global listings.

use std::sync::Arc;

use maestro_domain::model::Project;
use maestro_domain::ports::ProjectRepo;
use serde_json::json;

use crate::fixtures::{now_ms, project, unique_id};
use crate::support::{assert_conflict, assert_not_found, assert_refused, ids, refusal};

/// Every case.
pub const ALL_CASES: &[&str] = crate::__project_repo_cases!(names);

pub async fn create_then_get_round_trips(repo: Arc<dyn ProjectRepo>) {
    let mut p = project(&unique_id("proj"), now_ms());
    p.extra
        .insert("unknownKey".into(), json!({"deep": [1, 2, {"x": null}]}));
    let created = repo.create(p.clone()).await.unwrap();
    assert_eq!(created, p);
    let mut got = repo.get(&p.id).await.unwrap().expect("created project");
    assert_eq!(got, p);
    // Reads are owned snapshots.
    got.name = "changed by the caller".into();
    got.extra.clear();
    assert_eq!(repo.get(&p.id).await.unwrap().as_ref(), Some(&p));
    let listed = repo.list().await.unwrap();
    assert_eq!(listed.iter().filter(|x| **x == p).count(), 1);
}

pub async fn get_missing_is_none(repo: Arc<dyn ProjectRepo>) {
    assert_eq!(repo.get(&unique_id("proj")).await.unwrap(), None);
}

pub async fn duplicate_create_conflicts(repo: Arc<dyn ProjectRepo>) {
    let p = project(&unique_id("proj"), now_ms());
    repo.create(p.clone()).await.unwrap();
    let mut other = p.clone();
    other.name = "Second".into();
    assert_conflict(repo.create(other).await);
    assert_eq!(repo.get(&p.id).await.unwrap(), Some(p.clone()));
    let listed = repo.list().await.unwrap();
    assert_eq!(listed.iter().filter(|x| x.id == p.id).count(), 1);
}

pub async fn update_applies_and_returns_the_record(repo: Arc<dyn ProjectRepo>) {
    let p = project(&unique_id("proj"), now_ms());
    repo.create(p.clone()).await.unwrap();
    let updated = repo
        .update(&p.id, &|x: &mut Project| {
            x.name = "Renamed".into();
            x.updated_at += 5;
            Ok(())
        })
        .await
        .unwrap();
    let mut expected = p.clone();
    expected.name = "Renamed".into();
    expected.updated_at += 5;
    assert_eq!(updated, expected);
    assert_eq!(repo.get(&p.id).await.unwrap(), Some(expected));
}

pub async fn update_missing_is_not_found(repo: Arc<dyn ProjectRepo>) {
    let id = unique_id("proj");
    assert_not_found(repo.update(&id, &|_: &mut Project| Ok(())).await);
    assert_eq!(repo.get(&id).await.unwrap(), None);
}

pub async fn update_error_leaves_record_unchanged(repo: Arc<dyn ProjectRepo>) {
    let p = project(&unique_id("proj"), now_ms());
    repo.create(p.clone()).await.unwrap();
    let result = repo
        .update(&p.id, &|x: &mut Project| {
            x.name = "half-done".into();
            x.extra.clear();
            Err(refusal())
        })
        .await;
    assert_refused(result);
    assert_eq!(repo.get(&p.id).await.unwrap(), Some(p));
}

pub async fn update_without_change_returns_record(repo: Arc<dyn ProjectRepo>) {
    let p = project(&unique_id("proj"), now_ms());
    repo.create(p.clone()).await.unwrap();
    let same = repo.update(&p.id, &|_: &mut Project| Ok(())).await.unwrap();
    assert_eq!(same, p);
    assert_eq!(repo.get(&p.id).await.unwrap(), Some(p));
}

pub async fn delete_returns_true_then_false(repo: Arc<dyn ProjectRepo>) {
    let p = project(&unique_id("proj"), now_ms());
    repo.create(p.clone()).await.unwrap();
    assert!(repo.delete(&p.id).await.unwrap());
    assert_eq!(repo.get(&p.id).await.unwrap(), None);
    assert!(!repo.delete(&p.id).await.unwrap());
    assert!(!repo.list().await.unwrap().iter().any(|x| x.id == p.id));
    // The id is free again.
    repo.create(p.clone()).await.unwrap();
    assert_eq!(repo.get(&p.id).await.unwrap(), Some(p));
}

pub async fn list_is_sorted_by_creation_then_id(repo: Arc<dyn ProjectRepo>) {
    let base = unique_id("proj");
    let t = now_ms();
    // Created out of order; two share a creation time (tie broken by id).
    let specs = [
        ("d", t + 30),
        ("b", t + 10),
        ("c2", t + 20),
        ("c1", t + 20),
        ("a", t),
    ];
    for (suffix, at) in specs {
        repo.create(project(&format!("{base}_{suffix}"), at))
            .await
            .unwrap();
    }
    let listed = repo.list().await.unwrap();
    let mine: Vec<&Project> = listed
        .iter()
        .filter(|p| p.id.starts_with(&format!("{base}_")))
        .collect();
    let expected: Vec<String> = ["a", "b", "c1", "c2", "d"]
        .iter()
        .map(|s| format!("{base}_{s}"))
        .collect();
    assert_eq!(ids(mine, |p| &p.id), expected);
    let keys: Vec<_> = listed
        .iter()
        .map(|p| (p.created_at, p.id.clone()))
        .collect();
    assert!(keys.is_sorted(), "listing is not sorted by (createdAt, id)");
}

pub async fn concurrent_updates_are_not_lost(repo: Arc<dyn ProjectRepo>) {
    let p = project(&unique_id("proj"), now_ms());
    repo.create(p.clone()).await.unwrap();
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let repo = Arc::clone(&repo);
            let id = p.id.clone();
            tokio::spawn(async move {
                let key = format!("k{i}");
                repo.update(&id, &|x: &mut Project| {
                    x.extra.insert(key.clone(), json!(i));
                    Ok(())
                })
                .await
                .unwrap();
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let got = repo.get(&p.id).await.unwrap().unwrap();
    for i in 0..50 {
        assert_eq!(
            got.extra.get(&format!("k{i}")),
            Some(&json!(i)),
            "update {i} lost"
        );
    }
    assert_eq!(got.extra["legacyField"], json!("kept"));
}
