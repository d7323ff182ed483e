//! Contract of [`MailRepo`]: creation, listings by `createdAt`, and the inbox rule of
//! [`InboxQuery::matches`].
//!
//! Each case works in its own unique project(s).

use std::sync::Arc;

use maestro_domain::model::{MailMessage, MailMessageType};
use maestro_domain::ports::{InboxQuery, MailRepo};
use serde_json::json;

use crate::fixtures::{mail, now_ms, unique_id};
use crate::support::{assert_conflict, ids};

/// Every case.
pub const ALL_CASES: &[&str] = crate::__mail_repo_cases!(names);

fn inbox_of(project: &str, session: &str) -> InboxQuery {
    InboxQuery {
        project_id: project.to_owned(),
        session_id: session.to_owned(),
        kind: None,
        since: None,
    }
}

async fn create_all(repo: &Arc<dyn MailRepo>, mails: &[MailMessage]) {
    for m in mails {
        repo.create(m.clone()).await.unwrap();
    }
}

pub async fn create_then_get_round_trips(repo: Arc<dyn MailRepo>) {
    let project = unique_id("proj");
    let mut m = mail(
        &unique_id("mail"),
        &project,
        "sess_a",
        Some("sess_b"),
        now_ms(),
    );
    m.body = json!({"nested": {"list": [1, "two", null]}, "text": "héllo ✓"});
    assert_eq!(repo.create(m.clone()).await.unwrap(), m);
    let mut got = repo.get(&m.id).await.unwrap().expect("created mail");
    assert_eq!(got, m);
    got.subject = "changed by the caller".into();
    assert_eq!(repo.get(&m.id).await.unwrap().as_ref(), Some(&m));
    let broadcast = mail(&unique_id("mail"), &project, "sess_a", None, now_ms());
    repo.create(broadcast.clone()).await.unwrap();
    assert_eq!(repo.get(&broadcast.id).await.unwrap(), Some(broadcast));
}

pub async fn get_missing_is_none(repo: Arc<dyn MailRepo>) {
    assert_eq!(repo.get(&unique_id("mail")).await.unwrap(), None);
}

pub async fn duplicate_create_conflicts(repo: Arc<dyn MailRepo>) {
    let project = unique_id("proj");
    let m = mail(&unique_id("mail"), &project, "sess_a", None, now_ms());
    repo.create(m.clone()).await.unwrap();
    let mut other = m.clone();
    other.subject = "Second".into();
    assert_conflict(repo.create(other).await);
    assert_eq!(repo.get(&m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(repo.list(Some(&project)).await.unwrap(), vec![m]);
}

pub async fn delete_returns_true_then_false(repo: Arc<dyn MailRepo>) {
    let project = unique_id("proj");
    let m = mail(&unique_id("mail"), &project, "sess_a", None, now_ms());
    repo.create(m.clone()).await.unwrap();
    assert!(repo.delete(&m.id).await.unwrap());
    assert_eq!(repo.get(&m.id).await.unwrap(), None);
    assert!(!repo.delete(&m.id).await.unwrap());
    assert!(repo.list(Some(&project)).await.unwrap().is_empty());
    assert!(
        repo.inbox(&inbox_of(&project, "sess_b"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn list_is_sorted_and_scoped_by_project(repo: Arc<dyn MailRepo>) {
    let project = unique_id("proj");
    let other = unique_id("proj");
    let base = unique_id("mail");
    let t = now_ms();
    let specs = [
        ("d", t + 30),
        ("b", t + 10),
        ("c2", t + 20),
        ("c1", t + 20),
        ("a", t),
    ];
    for (suffix, at) in specs {
        repo.create(mail(&format!("{base}_{suffix}"), &project, "s1", None, at))
            .await
            .unwrap();
        repo.create(mail(&format!("{base}_x{suffix}"), &other, "s1", None, at))
            .await
            .unwrap();
    }
    let expected: Vec<String> = ["a", "b", "c1", "c2", "d"]
        .iter()
        .map(|s| format!("{base}_{s}"))
        .collect();
    let listed = repo.list(Some(&project)).await.unwrap();
    assert_eq!(ids(&listed, |m| &m.id), expected);
    let all = repo.list(None).await.unwrap();
    let keys: Vec<_> = all.iter().map(|m| (m.created_at, m.id.clone())).collect();
    assert!(keys.is_sorted(), "listing is not sorted by (createdAt, id)");
    let mine: Vec<&str> = all
        .iter()
        .filter(|m| m.id.starts_with(&base))
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(mine.len(), 10);
}

pub async fn inbox_holds_addressed_and_foreign_broadcasts(repo: Arc<dyn MailRepo>) {
    let project = unique_id("proj");
    let other_project = unique_id("proj");
    let (me, peer, third) = (unique_id("sess"), unique_id("sess"), unique_id("sess"));
    let t = now_ms();
    let to_me = mail(&unique_id("mail"), &project, &peer, Some(&me), t);
    let broadcast_by_peer = mail(&unique_id("mail"), &project, &peer, None, t + 1);
    let to_third = mail(&unique_id("mail"), &project, &peer, Some(&third), t + 2);
    let broadcast_by_me = mail(&unique_id("mail"), &project, &me, None, t + 3);
    let from_me_to_peer = mail(&unique_id("mail"), &project, &me, Some(&peer), t + 4);
    let to_me_elsewhere = mail(&unique_id("mail"), &other_project, &peer, Some(&me), t + 5);
    let broadcast_elsewhere = mail(&unique_id("mail"), &other_project, &peer, None, t + 6);
    // A mail I addressed to myself is addressed to me.
    let to_myself = mail(&unique_id("mail"), &project, &me, Some(&me), t + 7);
    let all = [
        to_me.clone(),
        broadcast_by_peer.clone(),
        to_third,
        broadcast_by_me,
        from_me_to_peer,
        to_me_elsewhere.clone(),
        broadcast_elsewhere.clone(),
        to_myself.clone(),
    ];
    create_all(&repo, &all).await;
    let inbox = repo.inbox(&inbox_of(&project, &me)).await.unwrap();
    assert_eq!(inbox, vec![to_me, broadcast_by_peer, to_myself]);
    let elsewhere = repo.inbox(&inbox_of(&other_project, &me)).await.unwrap();
    assert_eq!(elsewhere, vec![to_me_elsewhere, broadcast_elsewhere]);
    // The rule every adapter applies is `InboxQuery::matches`.
    let expected: Vec<MailMessage> = all
        .iter()
        .filter(|m| inbox_of(&project, &peer).matches(m))
        .cloned()
        .collect();
    assert_eq!(
        repo.inbox(&inbox_of(&project, &peer)).await.unwrap(),
        expected
    );
    assert!(
        repo.inbox(&inbox_of(&unique_id("proj"), &me))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn inbox_filters_by_kind(repo: Arc<dyn MailRepo>) {
    let project = unique_id("proj");
    let (me, peer) = (unique_id("sess"), unique_id("sess"));
    let t = now_ms();
    let mut mails = Vec::new();
    for (i, kind) in MailMessageType::ALL.iter().enumerate() {
        let to = if i % 2 == 0 { Some(me.as_str()) } else { None };
        let mut m = mail(&unique_id("mail"), &project, &peer, to, t + i as i64);
        m.kind = *kind;
        mails.push(m);
    }
    create_all(&repo, &mails).await;
    for kind in MailMessageType::ALL {
        let query = InboxQuery {
            kind: Some(*kind),
            ..inbox_of(&project, &me)
        };
        let expected: Vec<MailMessage> =
            mails.iter().filter(|m| m.kind == *kind).cloned().collect();
        assert_eq!(repo.inbox(&query).await.unwrap(), expected, "kind {kind}");
    }
    assert_eq!(repo.inbox(&inbox_of(&project, &me)).await.unwrap(), mails);
}

pub async fn inbox_since_is_strict(repo: Arc<dyn MailRepo>) {
    let project = unique_id("proj");
    let (me, peer) = (unique_id("sess"), unique_id("sess"));
    let t = now_ms();
    let before = mail(&unique_id("mail"), &project, &peer, Some(&me), t - 1);
    let at = mail(&unique_id("mail"), &project, &peer, None, t);
    let after = mail(&unique_id("mail"), &project, &peer, Some(&me), t + 1);
    let later = mail(&unique_id("mail"), &project, &peer, None, t + 1_000);
    create_all(&repo, &[later.clone(), at.clone(), after.clone(), before]).await;
    let since = |s| InboxQuery {
        since: Some(s),
        ..inbox_of(&project, &me)
    };
    assert_eq!(
        repo.inbox(&since(t)).await.unwrap(),
        vec![after.clone(), later.clone()]
    );
    assert_eq!(
        repo.inbox(&since(t - 1)).await.unwrap(),
        vec![at, after, later.clone()]
    );
    assert_eq!(repo.inbox(&since(t + 999)).await.unwrap(), vec![later]);
    assert!(repo.inbox(&since(t + 1_000)).await.unwrap().is_empty());
    let combined = InboxQuery {
        kind: Some(MailMessageType::Directive),
        ..since(t - 10)
    };
    assert!(repo.inbox(&combined).await.unwrap().is_empty());
}

pub async fn inbox_is_sorted(repo: Arc<dyn MailRepo>) {
    let project = unique_id("proj");
    let (me, peer) = (unique_id("sess"), unique_id("sess"));
    let base = unique_id("mail");
    let t = now_ms();
    let specs = [
        ("d", t + 30),
        ("b", t + 10),
        ("c2", t + 20),
        ("c1", t + 20),
        ("a", t),
    ];
    for (i, (suffix, at)) in specs.into_iter().enumerate() {
        let to = if i % 2 == 0 { Some(me.as_str()) } else { None };
        repo.create(mail(&format!("{base}_{suffix}"), &project, &peer, to, at))
            .await
            .unwrap();
    }
    let expected: Vec<String> = ["a", "b", "c1", "c2", "d"]
        .iter()
        .map(|s| format!("{base}_{s}"))
        .collect();
    let inbox = repo.inbox(&inbox_of(&project, &me)).await.unwrap();
    assert_eq!(ids(&inbox, |m| &m.id), expected);
}

pub async fn concurrent_creates_are_all_visible(repo: Arc<dyn MailRepo>) {
    const COUNT: usize = 1_000;
    let project = unique_id("proj");
    let me = unique_id("sess");
    let base = unique_id("mail");
    let t = now_ms();
    let writers: Vec<_> = (0..COUNT)
        .map(|i| {
            let repo = Arc::clone(&repo);
            let m = mail(
                &format!("{base}_{i:04}"),
                &project,
                "sess_sender",
                if i % 2 == 0 { Some(me.as_str()) } else { None },
                t + (i % 7) as i64,
            );
            tokio::spawn(async move {
                repo.create(m).await.unwrap();
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let listed = repo.list(Some(&project)).await.unwrap();
    assert_eq!(listed.len(), COUNT);
    let keys: Vec<_> = listed
        .iter()
        .map(|m| (m.created_at, m.id.clone()))
        .collect();
    assert!(keys.is_sorted(), "listing is not sorted by (createdAt, id)");
    let mut seen: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), COUNT);
    assert_eq!(
        repo.inbox(&inbox_of(&project, &me)).await.unwrap().len(),
        COUNT
    );
}
