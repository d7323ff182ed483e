//! Contract of [`PushSubscriptionRepo`]: the Web Push subscriptions of the person's devices.
//!
//! The store may be shared with other tests: each case makes its own endpoints and looks only
//! at its own records in `list`.

use std::sync::Arc;

use maestro_domain::model::{PushKeys, PushOwner, PushSubscription, QuietHours};
use maestro_domain::ports::PushSubscriptionRepo;

use crate::fixtures::unique_id;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__push_subscription_repo_cases!(names);

fn sub(created_at: i64, owner: PushOwner) -> PushSubscription {
    let endpoint = format!("https://push.example/{}", unique_id("ep"));
    PushSubscription {
        id: PushSubscription::id_for(&endpoint),
        endpoint,
        keys: PushKeys {
            p256dh: format!("B{}", "A".repeat(86)),
            auth: "c2VjcmV0LWF1dGgtMTIzNA".into(),
        },
        owner,
        muted_projects: Vec::new(),
        quiet_hours: None,
        created_at,
        updated_at: created_at,
    }
}

/// `subs` filtered down to `ids`, in the store's order.
async fn own(repo: &Arc<dyn PushSubscriptionRepo>, ids: &[&str]) -> Vec<PushSubscription> {
    let mut all = repo.list().await.unwrap();
    all.retain(|s| ids.contains(&s.id.as_str()));
    all
}

pub async fn put_then_get_round_trips(repo: Arc<dyn PushSubscriptionRepo>) {
    let mut s = sub(1_000, PushOwner::Unrestricted);
    s.muted_projects = vec!["proj_a".into(), "proj_b".into()];
    s.quiet_hours = Some(QuietHours {
        start: "22:00".into(),
        end: "07:30".into(),
        utc_offset_minutes: -300,
    });
    assert_eq!(repo.put(s.clone()).await.unwrap(), s);
    assert_eq!(repo.get(&s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(repo.get("ps_missing").await.unwrap(), None);
}

pub async fn every_kind_of_owner_round_trips(repo: Arc<dyn PushSubscriptionRepo>) {
    let owners = [
        PushOwner::Unrestricted,
        PushOwner::User {
            user_id: "2b7c1f6e-0a6f-4c5e-9b1e-3f2d1c0b9a87".into(),
        },
        PushOwner::Session {
            session_id: "sess_1".into(),
            project_id: "proj_1".into(),
        },
        PushOwner::ApiKey {
            key_id: "ak_1".into(),
            project_id: "proj_1".into(),
        },
    ];
    for owner in owners {
        let s = sub(1_000, owner);
        repo.put(s.clone()).await.unwrap();
        assert_eq!(repo.get(&s.id).await.unwrap(), Some(s));
    }
}

pub async fn put_again_replaces_the_whole_record(repo: Arc<dyn PushSubscriptionRepo>) {
    let first = sub(1_000, PushOwner::Unrestricted);
    repo.put(first.clone()).await.unwrap();
    let mut again = first.clone();
    again.keys.auth = "bmV3LWF1dGgtc2VjcmV0MQ".into();
    again.owner = PushOwner::User {
        user_id: "u-2".into(),
    };
    again.muted_projects = vec!["proj_x".into()];
    again.updated_at = 2_000;
    repo.put(again.clone()).await.unwrap();
    assert_eq!(repo.get(&first.id).await.unwrap(), Some(again.clone()));
    let mut back = again.clone();
    back.muted_projects.clear();
    back.quiet_hours = None;
    repo.put(back.clone()).await.unwrap();
    assert_eq!(own(&repo, &[&first.id]).await, vec![back]);
}

pub async fn list_is_sorted_by_creation(repo: Arc<dyn PushSubscriptionRepo>) {
    let late = sub(3_000, PushOwner::Unrestricted);
    let early = sub(1_000, PushOwner::Unrestricted);
    let middle = sub(2_000, PushOwner::Unrestricted);
    for s in [&late, &early, &middle] {
        repo.put(s.clone()).await.unwrap();
    }
    let ids: Vec<String> = own(&repo, &[&late.id, &early.id, &middle.id])
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![early.id, middle.id, late.id]);
}

pub async fn delete_returns_true_then_false(repo: Arc<dyn PushSubscriptionRepo>) {
    let gone = sub(1_000, PushOwner::Unrestricted);
    let kept = sub(1_001, PushOwner::Unrestricted);
    repo.put(gone.clone()).await.unwrap();
    repo.put(kept.clone()).await.unwrap();
    assert!(repo.delete(&gone.id).await.unwrap());
    assert!(!repo.delete(&gone.id).await.unwrap());
    assert_eq!(repo.get(&gone.id).await.unwrap(), None);
    assert_eq!(own(&repo, &[&gone.id, &kept.id]).await, vec![kept]);
}

pub async fn concurrent_puts_are_all_kept(repo: Arc<dyn PushSubscriptionRepo>) {
    let subs: Vec<PushSubscription> = (0..20)
        .map(|i| sub(1_000 + i, PushOwner::Unrestricted))
        .collect();
    let mut tasks = Vec::new();
    for s in subs.clone() {
        let repo = repo.clone();
        tasks.push(tokio::spawn(async move { repo.put(s).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let ids: Vec<&str> = subs.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(own(&repo, &ids).await, subs);
}
