//! Contract of [`ApiKeyRepo`]: a project's hashed API keys.
//!
//! Each case gets an [`ApiKeyFixture`]: the repository and two existing projects without keys.

use std::sync::Arc;

use maestro_domain::DomainError;
use maestro_domain::model::ApiKey;
use maestro_domain::ports::ApiKeyRepo;

use crate::fixtures::unique_id;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__api_key_repo_cases!(names);

/// What an [`api_key_repo_contract!`](crate::api_key_repo_contract) factory provides.
pub struct ApiKeyFixture {
    pub repo: Arc<dyn ApiKeyRepo>,
    /// Two existing projects without keys.
    pub projects: [String; 2],
}

fn key(project_id: &str, created_at: i64, team_member: Option<&str>) -> ApiKey {
    let id = unique_id("ak");
    ApiKey {
        hint: format!("mak1.{project_id}.{id}.ab12…"),
        id,
        project_id: project_id.to_string(),
        name: format!("key made at {created_at}"),
        team_member_id: team_member.map(str::to_string),
        created_by: None,
        created_at,
        secret_hash: format!("{:064x}", created_at),
    }
}

pub async fn create_then_get_round_trips(fx: ApiKeyFixture) {
    let p = &fx.projects[0];
    let mut k = key(p, 1_000, Some("tm_builtin_worker"));
    k.created_by = Some("user-1".into());
    let stored = fx.repo.create(k.clone()).await.unwrap();
    assert_eq!(stored, k);
    assert_eq!(fx.repo.get(p, &k.id).await.unwrap(), Some(k.clone()));
    let bare = fx.repo.create(key(p, 1_001, None)).await.unwrap();
    let got = fx.repo.get(p, &bare.id).await.unwrap().expect("stored");
    assert_eq!(got.team_member_id, None);
    assert_eq!(got.created_by, None);
}

pub async fn get_is_scoped_by_project(fx: ApiKeyFixture) {
    let k = fx
        .repo
        .create(key(&fx.projects[0], 1_000, None))
        .await
        .unwrap();
    assert_eq!(fx.repo.get(&fx.projects[1], &k.id).await.unwrap(), None);
    assert_eq!(
        fx.repo.get(&fx.projects[0], "ak_missing").await.unwrap(),
        None
    );
}

pub async fn duplicate_create_conflicts_and_keeps_the_first(fx: ApiKeyFixture) {
    let k = fx
        .repo
        .create(key(&fx.projects[0], 1_000, None))
        .await
        .unwrap();
    let mut again = k.clone();
    again.name = "another".into();
    again.secret_hash = "f".repeat(64);
    let err = fx.repo.create(again).await.unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
    assert_eq!(fx.repo.get(&fx.projects[0], &k.id).await.unwrap(), Some(k));
}

pub async fn list_is_sorted_and_scoped(fx: ApiKeyFixture) {
    let [a, b] = &fx.projects;
    let late = fx.repo.create(key(a, 3_000, None)).await.unwrap();
    let early = fx.repo.create(key(a, 1_000, None)).await.unwrap();
    let other = fx.repo.create(key(b, 2_000, None)).await.unwrap();
    let ids: Vec<String> = fx
        .repo
        .list(a)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, vec![early.id, late.id]);
    let ids: Vec<String> = fx
        .repo
        .list(b)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, vec![other.id]);
}

pub async fn delete_returns_true_then_false(fx: ApiKeyFixture) {
    let p = &fx.projects[0];
    let k = fx.repo.create(key(p, 1_000, None)).await.unwrap();
    let kept = fx.repo.create(key(p, 1_001, None)).await.unwrap();
    assert!(!fx.repo.delete(&fx.projects[1], &k.id).await.unwrap());
    assert!(fx.repo.delete(p, &k.id).await.unwrap());
    assert!(!fx.repo.delete(p, &k.id).await.unwrap());
    assert_eq!(fx.repo.get(p, &k.id).await.unwrap(), None);
    assert_eq!(fx.repo.list(p).await.unwrap(), vec![kept]);
}

pub async fn delete_project_removes_only_its_keys(fx: ApiKeyFixture) {
    let [a, b] = &fx.projects;
    fx.repo.create(key(a, 1_000, None)).await.unwrap();
    fx.repo.create(key(a, 1_001, None)).await.unwrap();
    let other = fx.repo.create(key(b, 1_000, None)).await.unwrap();
    fx.repo.delete_project(a).await.unwrap();
    assert!(fx.repo.list(a).await.unwrap().is_empty());
    assert_eq!(fx.repo.list(b).await.unwrap(), vec![other]);
    fx.repo.delete_project(a).await.unwrap();
}

pub async fn concurrent_creates_are_all_kept(fx: ApiKeyFixture) {
    let p = fx.projects[0].clone();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let repo = fx.repo.clone();
        let k = key(&p, 1_000 + i, None);
        tasks.push(tokio::spawn(
            async move { repo.create(k).await.map(|k| k.id) },
        ));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap());
    }
    let listed: Vec<String> = fx
        .repo
        .list(&p)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(listed, ids);
}
