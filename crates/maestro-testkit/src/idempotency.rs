//! Contract of [`IdempotencyStore`]: one claim per free key (also under concurrency), the
//! holder's fingerprint shown to others, a response replayed until it lapses, a released or
//! lapsed claim free again, keys independent.
//!
//! Each case uses its own unique keys.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use maestro_domain::ports::{Claim, IdempotencyStore, RecordedResponse};

use crate::fixtures::unique_id;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__idempotency_cases!(names);

const LONG: Duration = Duration::from_secs(60);

fn response(body: &str) -> RecordedResponse {
    RecordedResponse {
        status: 201,
        content_type: Some("application/json".into()),
        body: body.to_string(),
    }
}

pub async fn first_claim_wins_and_others_see_it_running(store: Arc<dyn IdempotencyStore>) {
    let key = unique_id("idem");
    assert_eq!(
        store.claim(&key, "fp-a", LONG).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.claim(&key, "fp-b", LONG).await.unwrap(),
        Claim::InProgress {
            fingerprint: "fp-a".into()
        },
        "the holder's fingerprint, not the asker's"
    );
}

pub async fn a_completed_key_replays_its_response(store: Arc<dyn IdempotencyStore>) {
    let key = unique_id("idem");
    assert_eq!(store.claim(&key, "fp", LONG).await.unwrap(), Claim::Claimed);
    let r = response(r#"{"id":"mail_1","body":{"answer":"ja ✓"}}"#);
    store.complete(&key, "fp", &r, LONG).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            store.claim(&key, "fp", LONG).await.unwrap(),
            Claim::Done {
                fingerprint: "fp".into(),
                response: r.clone()
            }
        );
    }
}

pub async fn a_released_key_is_free_again(store: Arc<dyn IdempotencyStore>) {
    let key = unique_id("idem");
    assert_eq!(store.claim(&key, "fp", LONG).await.unwrap(), Claim::Claimed);
    store.release(&key).await.unwrap();
    assert_eq!(
        store.claim(&key, "fp2", LONG).await.unwrap(),
        Claim::Claimed
    );
    // Releasing a key nobody holds is not an error.
    store.release(&unique_id("idem")).await.unwrap();
}

pub async fn claims_and_responses_lapse(store: Arc<dyn IdempotencyStore>) {
    // TTLs are short, the waits well past them: a slow machine only makes the case slower.
    let claimed = unique_id("idem");
    let answered = unique_id("idem");
    let short = Duration::from_millis(200);
    assert_eq!(
        store.claim(&claimed, "fp", short).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.claim(&answered, "fp", LONG).await.unwrap(),
        Claim::Claimed
    );
    store
        .complete(&answered, "fp", &response("{}"), short)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        store.claim(&claimed, "fp", LONG).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.claim(&answered, "fp", LONG).await.unwrap(),
        Claim::Claimed
    );
}

pub async fn keys_are_independent(store: Arc<dyn IdempotencyStore>) {
    let (a, b) = (unique_id("idem"), unique_id("idem"));
    assert_eq!(store.claim(&a, "fp", LONG).await.unwrap(), Claim::Claimed);
    assert_eq!(store.claim(&b, "fp", LONG).await.unwrap(), Claim::Claimed);
    store
        .complete(&a, "fp", &response("a"), LONG)
        .await
        .unwrap();
    assert!(matches!(
        store.claim(&b, "fp", LONG).await.unwrap(),
        Claim::InProgress { .. }
    ));
}

pub async fn concurrent_claims_have_one_winner(store: Arc<dyn IdempotencyStore>) {
    for _ in 0..5 {
        let key = unique_id("idem");
        let claims = join_all((0..16).map(|n| {
            let store = Arc::clone(&store);
            let key = key.clone();
            async move { store.claim(&key, &format!("fp-{n}"), LONG).await.unwrap() }
        }))
        .await;
        let winners: Vec<usize> = claims
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == Claim::Claimed)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(winners.len(), 1, "{claims:?}");
        let holder = format!("fp-{}", winners[0]);
        for c in &claims {
            if let Claim::InProgress { fingerprint } = c {
                assert_eq!(fingerprint, &holder);
            }
        }
    }
}
