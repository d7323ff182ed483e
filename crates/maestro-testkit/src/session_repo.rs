//! Contract of [`SessionRepo`]: the shared repository guarantees (listings by `startedAt`) plus
//! every [`SessionFilter`] field.
//!
//! Each case works in its own unique project(s).

use std::sync::Arc;

use maestro_domain::model::{Session, SessionStatus, TimelineEvent};
use maestro_domain::ports::{SessionFilter, SessionRepo};
use serde_json::json;

use crate::fixtures::{now_ms, session, unique_id};
use crate::support::{assert_conflict, assert_not_found, assert_refused, ids, refusal};

/// Every case.
pub const ALL_CASES: &[&str] = crate::__session_repo_cases!(names);

fn in_project(project: &str) -> SessionFilter {
    SessionFilter {
        project_id: Some(project.to_owned()),
        ..SessionFilter::default()
    }
}

async fn create_all(repo: &Arc<dyn SessionRepo>, sessions: &[Session]) {
    for s in sessions {
        repo.create(s.clone()).await.unwrap();
    }
}

pub async fn create_then_get_round_trips(repo: Arc<dyn SessionRepo>) {
    let project = unique_id("proj");
    let mut s = session(&unique_id("sess"), &project, now_ms());
    s.task_ids = vec![unique_id("task"), unique_id("task")];
    s.status = SessionStatus::Completed;
    s.completed_at = Some(s.started_at + 10);
    s.extra.insert("unknownKey".into(), json!([{"a": 1}, "b"]));
    assert_eq!(repo.create(s.clone()).await.unwrap(), s);
    let mut got = repo.get(&s.id).await.unwrap().expect("created session");
    assert_eq!(got, s);
    got.timeline.clear();
    got.env.clear();
    assert_eq!(repo.get(&s.id).await.unwrap().as_ref(), Some(&s));
    assert_eq!(repo.list(&in_project(&project)).await.unwrap(), vec![s]);
}

pub async fn get_missing_is_none(repo: Arc<dyn SessionRepo>) {
    assert_eq!(repo.get(&unique_id("sess")).await.unwrap(), None);
}

pub async fn duplicate_create_conflicts(repo: Arc<dyn SessionRepo>) {
    let project = unique_id("proj");
    let s = session(&unique_id("sess"), &project, now_ms());
    repo.create(s.clone()).await.unwrap();
    let mut other = s.clone();
    other.name = "Second".into();
    other.project_id = unique_id("proj");
    assert_conflict(repo.create(other.clone()).await);
    assert_eq!(repo.get(&s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(repo.list(&in_project(&project)).await.unwrap(), vec![s]);
    assert!(
        repo.list(&in_project(&other.project_id))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn update_applies_and_returns_the_record(repo: Arc<dyn SessionRepo>) {
    let s = session(&unique_id("sess"), &unique_id("proj"), now_ms());
    repo.create(s.clone()).await.unwrap();
    let updated = repo
        .update(&s.id, &|x: &mut Session| {
            x.status = SessionStatus::Working;
            x.last_activity += 7;
            x.env.insert("NEW".into(), "1".into());
            Ok(())
        })
        .await
        .unwrap();
    let mut expected = s.clone();
    expected.status = SessionStatus::Working;
    expected.last_activity += 7;
    expected.env.insert("NEW".into(), "1".into());
    assert_eq!(updated, expected);
    assert_eq!(repo.get(&s.id).await.unwrap(), Some(expected));
}

pub async fn update_missing_is_not_found(repo: Arc<dyn SessionRepo>) {
    let id = unique_id("sess");
    assert_not_found(repo.update(&id, &|_: &mut Session| Ok(())).await);
    assert_eq!(repo.get(&id).await.unwrap(), None);
}

pub async fn update_error_leaves_record_unchanged(repo: Arc<dyn SessionRepo>) {
    let s = session(&unique_id("sess"), &unique_id("proj"), now_ms());
    repo.create(s.clone()).await.unwrap();
    let result = repo
        .update(&s.id, &|x: &mut Session| {
            x.status = SessionStatus::Failed;
            x.timeline.clear();
            Err(refusal())
        })
        .await;
    assert_refused(result);
    assert_eq!(repo.get(&s.id).await.unwrap(), Some(s.clone()));
    let failed = SessionFilter {
        statuses: Some(vec![SessionStatus::Failed]),
        ..in_project(&s.project_id)
    };
    assert!(repo.list(&failed).await.unwrap().is_empty());
}

pub async fn update_without_change_returns_record(repo: Arc<dyn SessionRepo>) {
    let s = session(&unique_id("sess"), &unique_id("proj"), now_ms());
    repo.create(s.clone()).await.unwrap();
    assert_eq!(
        repo.update(&s.id, &|_: &mut Session| Ok(())).await.unwrap(),
        s
    );
    assert_eq!(repo.get(&s.id).await.unwrap(), Some(s));
}

pub async fn delete_returns_true_then_false(repo: Arc<dyn SessionRepo>) {
    let s = session(&unique_id("sess"), &unique_id("proj"), now_ms());
    repo.create(s.clone()).await.unwrap();
    assert!(repo.delete(&s.id).await.unwrap());
    assert_eq!(repo.get(&s.id).await.unwrap(), None);
    assert!(!repo.delete(&s.id).await.unwrap());
    assert!(
        repo.list(&in_project(&s.project_id))
            .await
            .unwrap()
            .is_empty()
    );
    repo.create(s.clone()).await.unwrap();
    assert_eq!(repo.get(&s.id).await.unwrap(), Some(s));
}

pub async fn list_by_project_is_sorted_and_scoped(repo: Arc<dyn SessionRepo>) {
    let project = unique_id("proj");
    let other = unique_id("proj");
    let base = unique_id("sess");
    let t = now_ms();
    let specs = [
        ("d", t + 30),
        ("b", t + 10),
        ("c2", t + 20),
        ("c1", t + 20),
        ("a", t),
    ];
    for (suffix, at) in specs {
        let mut s = session(&format!("{base}_{suffix}"), &project, at);
        // Sorted by startedAt, not by lastActivity.
        s.last_activity = t + 1_000 - at;
        repo.create(s).await.unwrap();
        repo.create(session(&format!("{base}_x{suffix}"), &other, at))
            .await
            .unwrap();
    }
    let expected: Vec<String> = ["a", "b", "c1", "c2", "d"]
        .iter()
        .map(|s| format!("{base}_{s}"))
        .collect();
    let listed = repo.list(&in_project(&project)).await.unwrap();
    assert_eq!(ids(&listed, |s| &s.id), expected);
    let all = repo.list(&SessionFilter::default()).await.unwrap();
    let keys: Vec<_> = all.iter().map(|s| (s.started_at, s.id.clone())).collect();
    assert!(keys.is_sorted(), "listing is not sorted by (startedAt, id)");
    assert_eq!(all.iter().filter(|s| s.id.starts_with(&base)).count(), 10);
}

pub async fn filter_by_task(repo: Arc<dyn SessionRepo>) {
    let project = unique_id("proj");
    let (t1, t2, t3) = (unique_id("task"), unique_id("task"), unique_id("task"));
    let now = now_ms();
    let mut both = session(&unique_id("sess"), &project, now);
    both.task_ids = vec![t1.clone(), t2.clone()];
    let mut only_two = session(&unique_id("sess"), &unique_id("proj"), now + 1);
    only_two.task_ids = vec![t2.clone()];
    let none = session(&unique_id("sess"), &project, now + 2);
    create_all(&repo, &[only_two.clone(), none, both.clone()]).await;
    let by = |t: &str| SessionFilter {
        task_id: Some(t.to_owned()),
        ..SessionFilter::default()
    };
    assert_eq!(repo.list(&by(&t1)).await.unwrap(), vec![both.clone()]);
    assert_eq!(
        repo.list(&by(&t2)).await.unwrap(),
        vec![both.clone(), only_two]
    );
    assert!(repo.list(&by(&t3)).await.unwrap().is_empty());
    let mut prefix = t1.clone();
    prefix.pop();
    assert!(repo.list(&by(&prefix)).await.unwrap().is_empty());
    let in_project_t2 = SessionFilter {
        task_id: Some(t2),
        ..in_project(&project)
    };
    assert_eq!(repo.list(&in_project_t2).await.unwrap(), vec![both]);
}

pub async fn filter_by_statuses(repo: Arc<dyn SessionRepo>) {
    let project = unique_id("proj");
    let now = now_ms();
    let mut sessions = Vec::new();
    for (i, status) in SessionStatus::ALL.iter().enumerate() {
        let mut s = session(&unique_id("sess"), &project, now + i as i64);
        s.status = *status;
        sessions.push(s);
    }
    create_all(&repo, &sessions).await;
    let with = |statuses: Vec<SessionStatus>| SessionFilter {
        statuses: Some(statuses),
        ..in_project(&project)
    };
    for status in SessionStatus::ALL {
        let got = repo.list(&with(vec![*status])).await.unwrap();
        let expected: Vec<Session> = sessions
            .iter()
            .filter(|s| s.status == *status)
            .cloned()
            .collect();
        assert_eq!(got, expected, "status {status}");
    }
    let active = vec![
        SessionStatus::Working,
        SessionStatus::Spawning,
        SessionStatus::Idle,
    ];
    let got = repo.list(&with(active)).await.unwrap();
    let expected: Vec<Session> = sessions
        .iter()
        .filter(|s| s.status.is_active())
        .cloned()
        .collect();
    assert_eq!(got, expected, "any of several statuses, in startedAt order");
    assert!(
        repo.list(&with(Vec::new())).await.unwrap().is_empty(),
        "one of no statuses matches nothing"
    );
    assert_eq!(
        repo.list(&in_project(&project)).await.unwrap().len(),
        SessionStatus::ALL.len()
    );
}

pub async fn filters_combine(repo: Arc<dyn SessionRepo>) {
    let project = unique_id("proj");
    let task = unique_id("task");
    let now = now_ms();
    let mut hit = session(&unique_id("sess"), &project, now);
    hit.task_ids = vec![task.clone()];
    hit.status = SessionStatus::Working;
    let mut wrong_status = hit.clone();
    wrong_status.id = unique_id("sess");
    wrong_status.status = SessionStatus::Stopped;
    let mut wrong_task = hit.clone();
    wrong_task.id = unique_id("sess");
    wrong_task.task_ids = vec![unique_id("task")];
    let mut wrong_project = hit.clone();
    wrong_project.id = unique_id("sess");
    wrong_project.project_id = unique_id("proj");
    create_all(
        &repo,
        &[hit.clone(), wrong_status, wrong_task, wrong_project.clone()],
    )
    .await;
    let filter = SessionFilter {
        project_id: Some(project),
        task_id: Some(task),
        statuses: Some(vec![SessionStatus::Working, SessionStatus::Idle]),
    };
    assert_eq!(repo.list(&filter).await.unwrap(), vec![hit]);
    let other_project = SessionFilter {
        project_id: Some(wrong_project.project_id.clone()),
        ..filter
    };
    assert_eq!(
        repo.list(&other_project).await.unwrap(),
        vec![wrong_project]
    );
}

pub async fn concurrent_updates_are_not_lost(repo: Arc<dyn SessionRepo>) {
    let s = session(&unique_id("sess"), &unique_id("proj"), now_ms());
    repo.create(s.clone()).await.unwrap();
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let repo = Arc::clone(&repo);
            let id = s.id.clone();
            tokio::spawn(async move {
                let entry = TimelineEvent {
                    id: format!("evt_parallel_{i}"),
                    kind: "progress".into(),
                    timestamp: i,
                    message: Some(format!("step {i}")),
                    task_id: None,
                    metadata: None,
                };
                repo.update(&id, &|x: &mut Session| {
                    x.timeline.push(entry.clone());
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
    let got = repo.get(&s.id).await.unwrap().unwrap();
    assert_eq!(got.timeline.len(), s.timeline.len() + 50);
    for i in 0..50 {
        let id = format!("evt_parallel_{i}");
        assert_eq!(
            got.timeline.iter().filter(|e| e.id == id).count(),
            1,
            "append {i} lost or doubled"
        );
    }
    assert_eq!(got.timeline[..s.timeline.len()], s.timeline[..]);
}
