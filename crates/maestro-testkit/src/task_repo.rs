//! Contract of [`TaskRepo`]: the shared repository guarantees plus every [`TaskFilter`] field.
//!
//! Each case works in its own unique project(s).

use std::sync::Arc;

use maestro_domain::model::{Task, TaskSessionStatus, TaskStatus};
use maestro_domain::ports::{TaskFilter, TaskRepo};
use serde_json::json;

use crate::fixtures::{now_ms, task, unique_id};
use crate::support::{assert_conflict, assert_not_found, assert_refused, ids, refusal};

/// Every case.
pub const ALL_CASES: &[&str] = crate::__task_repo_cases!(names);

fn in_project(project: &str) -> TaskFilter {
    TaskFilter {
        project_id: Some(project.to_owned()),
        ..TaskFilter::default()
    }
}

async fn list_ids(repo: &Arc<dyn TaskRepo>, filter: TaskFilter) -> Vec<String> {
    ids(&repo.list(&filter).await.unwrap(), |t| &t.id)
}

/// Creates `tasks` and returns them.
async fn create_all(repo: &Arc<dyn TaskRepo>, tasks: Vec<Task>) -> Vec<Task> {
    for t in &tasks {
        repo.create(t.clone()).await.unwrap();
    }
    tasks
}

pub async fn create_then_get_round_trips(repo: Arc<dyn TaskRepo>) {
    let project = unique_id("proj");
    let mut t = task(&unique_id("task"), &project, now_ms());
    t.parent_id = Some(unique_id("task"));
    t.status = TaskStatus::InProgress.into();
    t.started_at = Some(t.created_at + 1);
    t.session_ids = vec![unique_id("sess")];
    t.task_session_statuses
        .insert(t.session_ids[0].clone(), TaskSessionStatus::Working);
    t.extra
        .insert("unknownKey".into(), json!({"deep": [1, "x", null]}));
    assert_eq!(repo.create(t.clone()).await.unwrap(), t);
    let mut got = repo.get(&t.id).await.unwrap().expect("created task");
    assert_eq!(got, t);
    got.title = "changed by the caller".into();
    got.session_ids.clear();
    assert_eq!(repo.get(&t.id).await.unwrap().as_ref(), Some(&t));
    assert_eq!(repo.list(&in_project(&project)).await.unwrap(), vec![t]);
}

pub async fn get_missing_is_none(repo: Arc<dyn TaskRepo>) {
    assert_eq!(repo.get(&unique_id("task")).await.unwrap(), None);
}

pub async fn duplicate_create_conflicts(repo: Arc<dyn TaskRepo>) {
    let project = unique_id("proj");
    let t = task(&unique_id("task"), &project, now_ms());
    repo.create(t.clone()).await.unwrap();
    let mut other = t.clone();
    other.title = "Second".into();
    assert_conflict(repo.create(other).await);
    // Also when the duplicate claims another project.
    let mut elsewhere = t.clone();
    elsewhere.project_id = unique_id("proj");
    assert_conflict(repo.create(elsewhere.clone()).await);
    assert_eq!(repo.get(&t.id).await.unwrap(), Some(t.clone()));
    assert_eq!(repo.list(&in_project(&project)).await.unwrap(), vec![t]);
    assert!(
        repo.list(&in_project(&elsewhere.project_id))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn update_applies_and_returns_the_record(repo: Arc<dyn TaskRepo>) {
    let t = task(&unique_id("task"), &unique_id("proj"), now_ms());
    repo.create(t.clone()).await.unwrap();
    let updated = repo
        .update(&t.id, &|x: &mut Task| {
            x.status = TaskStatus::Completed.into();
            x.completed_at = Some(99);
            x.title = "Renamed".into();
            Ok(())
        })
        .await
        .unwrap();
    let mut expected = t.clone();
    expected.status = TaskStatus::Completed.into();
    expected.completed_at = Some(99);
    expected.title = "Renamed".into();
    assert_eq!(updated, expected);
    assert_eq!(repo.get(&t.id).await.unwrap(), Some(expected));
}

pub async fn update_missing_is_not_found(repo: Arc<dyn TaskRepo>) {
    let id = unique_id("task");
    assert_not_found(repo.update(&id, &|_: &mut Task| Ok(())).await);
    assert_eq!(repo.get(&id).await.unwrap(), None);
}

pub async fn update_error_leaves_record_unchanged(repo: Arc<dyn TaskRepo>) {
    let t = task(&unique_id("task"), &unique_id("proj"), now_ms());
    repo.create(t.clone()).await.unwrap();
    let result = repo
        .update(&t.id, &|x: &mut Task| {
            x.status = TaskStatus::Archived.into();
            x.extra.clear();
            Err(refusal())
        })
        .await;
    assert_refused(result);
    assert_eq!(repo.get(&t.id).await.unwrap(), Some(t.clone()));
    assert_eq!(
        repo.list(&TaskFilter {
            status: Some(TaskStatus::Archived),
            ..in_project(&t.project_id)
        })
        .await
        .unwrap(),
        vec![]
    );
}

pub async fn update_without_change_returns_record(repo: Arc<dyn TaskRepo>) {
    let t = task(&unique_id("task"), &unique_id("proj"), now_ms());
    repo.create(t.clone()).await.unwrap();
    assert_eq!(repo.update(&t.id, &|_: &mut Task| Ok(())).await.unwrap(), t);
    assert_eq!(repo.get(&t.id).await.unwrap(), Some(t));
}

pub async fn delete_returns_true_then_false(repo: Arc<dyn TaskRepo>) {
    let t = task(&unique_id("task"), &unique_id("proj"), now_ms());
    repo.create(t.clone()).await.unwrap();
    assert!(repo.delete(&t.id).await.unwrap());
    assert_eq!(repo.get(&t.id).await.unwrap(), None);
    assert!(!repo.delete(&t.id).await.unwrap());
    assert!(
        repo.list(&in_project(&t.project_id))
            .await
            .unwrap()
            .is_empty()
    );
    repo.create(t.clone()).await.unwrap();
    assert_eq!(repo.get(&t.id).await.unwrap(), Some(t));
}

pub async fn list_by_project_is_sorted_and_scoped(repo: Arc<dyn TaskRepo>) {
    let project = unique_id("proj");
    let other = unique_id("proj");
    let base = unique_id("task");
    let t = now_ms();
    let specs = [
        ("d", t + 30),
        ("b", t + 10),
        ("c2", t + 20),
        ("c1", t + 20),
        ("a", t),
    ];
    for (suffix, at) in specs {
        repo.create(task(&format!("{base}_{suffix}"), &project, at))
            .await
            .unwrap();
        repo.create(task(&format!("{base}_x{suffix}"), &other, at))
            .await
            .unwrap();
    }
    let expected: Vec<String> = ["a", "b", "c1", "c2", "d"]
        .iter()
        .map(|s| format!("{base}_{s}"))
        .collect();
    assert_eq!(list_ids(&repo, in_project(&project)).await, expected);
    let others = list_ids(&repo, in_project(&other)).await;
    assert_eq!(others.len(), 5);
    assert!(others.iter().all(|id| id.starts_with(&format!("{base}_x"))));
}

pub async fn list_without_filter_holds_every_project(repo: Arc<dyn TaskRepo>) {
    let base = unique_id("task");
    let t = now_ms();
    let mine = create_all(
        &repo,
        vec![
            task(&format!("{base}_2"), &unique_id("proj"), t + 2),
            task(&format!("{base}_1"), &unique_id("proj"), t + 1),
            task(&format!("{base}_3"), &unique_id("proj"), t + 1),
        ],
    )
    .await;
    let all = repo.list(&TaskFilter::default()).await.unwrap();
    let keys: Vec<_> = all.iter().map(|x| (x.created_at, x.id.clone())).collect();
    assert!(keys.is_sorted(), "listing is not sorted by (createdAt, id)");
    let seen: Vec<&Task> = all.iter().filter(|x| x.id.starts_with(&base)).collect();
    assert_eq!(
        seen,
        vec![&mine[1], &mine[2], &mine[0]],
        "every project's tasks, by (createdAt, id)"
    );
}

pub async fn filter_by_status(repo: Arc<dyn TaskRepo>) {
    let project = unique_id("proj");
    let t = now_ms();
    let mut tasks = Vec::new();
    for (i, status) in TaskStatus::ALL.iter().enumerate() {
        let mut x = task(&unique_id("task"), &project, t + i as i64);
        x.status = (*status).into();
        tasks.push(x);
    }
    let mut second_todo = task(&unique_id("task"), &project, t + 100);
    second_todo.status = TaskStatus::Todo.into();
    tasks.push(second_todo.clone());
    let tasks = create_all(&repo, tasks).await;
    for status in TaskStatus::ALL {
        let expected: Vec<&Task> = tasks.iter().filter(|x| x.status == *status).collect();
        let got = repo
            .list(&TaskFilter {
                status: Some(*status),
                ..in_project(&project)
            })
            .await
            .unwrap();
        assert_eq!(got.iter().collect::<Vec<_>>(), expected, "status {status}");
    }
    // Without a project, the status filter still applies (to every project).
    let todos = repo
        .list(&TaskFilter {
            status: Some(TaskStatus::Todo),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert!(todos.iter().all(|x| x.status == TaskStatus::Todo));
    assert!(todos.contains(&second_todo));
}

pub async fn filter_by_parent(repo: Arc<dyn TaskRepo>) {
    let project = unique_id("proj");
    let t = now_ms();
    let root_a = task(&unique_id("task"), &project, t);
    let root_b = task(&unique_id("task"), &project, t + 1);
    let mut child_a1 = task(&unique_id("task"), &project, t + 2);
    child_a1.parent_id = Some(root_a.id.clone());
    let mut child_a2 = task(&unique_id("task"), &project, t + 3);
    child_a2.parent_id = Some(root_a.id.clone());
    let mut grandchild = task(&unique_id("task"), &project, t + 4);
    grandchild.parent_id = Some(child_a1.id.clone());
    create_all(
        &repo,
        vec![
            grandchild.clone(),
            child_a2.clone(),
            root_b.clone(),
            child_a1.clone(),
            root_a.clone(),
        ],
    )
    .await;
    let roots = repo
        .list(&TaskFilter {
            parent_id: Some(None),
            ..in_project(&project)
        })
        .await
        .unwrap();
    assert_eq!(roots, vec![root_a.clone(), root_b.clone()]);
    let children = repo
        .list(&TaskFilter {
            parent_id: Some(Some(root_a.id.clone())),
            ..in_project(&project)
        })
        .await
        .unwrap();
    assert_eq!(children, vec![child_a1.clone(), child_a2]);
    // Children of a parent across all projects (no project filter).
    let grandchildren = repo
        .list(&TaskFilter {
            parent_id: Some(Some(child_a1.id.clone())),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(grandchildren, vec![grandchild]);
    let none = repo
        .list(&TaskFilter {
            parent_id: Some(Some(root_b.id.clone())),
            ..in_project(&project)
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub async fn filter_by_session(repo: Arc<dyn TaskRepo>) {
    let project = unique_id("proj");
    let (s1, s2, s3) = (unique_id("sess"), unique_id("sess"), unique_id("sess"));
    let t = now_ms();
    let mut both = task(&unique_id("task"), &project, t);
    both.session_ids = vec![s1.clone(), s2.clone()];
    let mut only_two = task(&unique_id("task"), &project, t + 1);
    only_two.session_ids = vec![s2.clone()];
    let none = task(&unique_id("task"), &project, t + 2);
    create_all(&repo, vec![only_two.clone(), none, both.clone()]).await;
    let by = |s: &str| TaskFilter {
        session_id: Some(s.to_owned()),
        ..TaskFilter::default()
    };
    assert_eq!(repo.list(&by(&s1)).await.unwrap(), vec![both.clone()]);
    assert_eq!(
        repo.list(&by(&s2)).await.unwrap(),
        vec![both.clone(), only_two]
    );
    assert!(repo.list(&by(&s3)).await.unwrap().is_empty());
    // Membership, not prefix or substring.
    let mut prefix = s1.clone();
    prefix.pop();
    assert!(repo.list(&by(&prefix)).await.unwrap().is_empty());
    // Linking later is seen by the filter.
    repo.update(&both.id, &|x: &mut Task| {
        x.session_ids.push(s3.clone());
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(list_ids(&repo, by(&s3)).await, vec![both.id.clone()]);
}

pub async fn filters_combine(repo: Arc<dyn TaskRepo>) {
    let project = unique_id("proj");
    let other = unique_id("proj");
    let session = unique_id("sess");
    let t = now_ms();
    let parent = task(&unique_id("task"), &project, t);
    let mut hit = task(&unique_id("task"), &project, t + 1);
    hit.parent_id = Some(parent.id.clone());
    hit.status = TaskStatus::Blocked.into();
    hit.session_ids = vec![session.clone()];
    let mut wrong_status = hit.clone();
    wrong_status.id = unique_id("task");
    wrong_status.status = TaskStatus::Todo.into();
    let mut wrong_parent = hit.clone();
    wrong_parent.id = unique_id("task");
    wrong_parent.parent_id = None;
    let mut wrong_session = hit.clone();
    wrong_session.id = unique_id("task");
    wrong_session.session_ids = vec![unique_id("sess")];
    let mut wrong_project = hit.clone();
    wrong_project.id = unique_id("task");
    wrong_project.project_id = other.clone();
    wrong_project.created_at = t + 2;
    create_all(
        &repo,
        vec![
            parent,
            hit.clone(),
            wrong_status,
            wrong_parent,
            wrong_session,
            wrong_project.clone(),
        ],
    )
    .await;
    let filter = TaskFilter {
        project_id: Some(project.clone()),
        status: Some(TaskStatus::Blocked),
        parent_id: Some(hit.parent_id.clone()),
        session_id: Some(session.clone()),
    };
    assert_eq!(repo.list(&filter).await.unwrap(), vec![hit.clone()]);
    let everywhere = TaskFilter {
        project_id: None,
        ..filter.clone()
    };
    assert_eq!(
        repo.list(&everywhere).await.unwrap(),
        vec![hit, wrong_project.clone()]
    );
    let other_only = TaskFilter {
        project_id: Some(other),
        ..filter
    };
    assert_eq!(repo.list(&other_only).await.unwrap(), vec![wrong_project]);
}

pub async fn update_moving_project_moves_listing(repo: Arc<dyn TaskRepo>) {
    // Not something the services do, but an index must never go stale.
    let from = unique_id("proj");
    let to = unique_id("proj");
    let t = task(&unique_id("task"), &from, now_ms());
    repo.create(t.clone()).await.unwrap();
    let moved = repo
        .update(&t.id, &|x: &mut Task| {
            x.project_id = to.clone();
            x.created_at += 1;
            Ok(())
        })
        .await
        .unwrap();
    assert!(repo.list(&in_project(&from)).await.unwrap().is_empty());
    assert_eq!(repo.list(&in_project(&to)).await.unwrap(), vec![moved]);
}

pub async fn concurrent_updates_are_not_lost(repo: Arc<dyn TaskRepo>) {
    let t = task(&unique_id("task"), &unique_id("proj"), now_ms());
    repo.create(t.clone()).await.unwrap();
    let base = unique_id("sess");
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let repo = Arc::clone(&repo);
            let id = t.id.clone();
            let session = format!("{base}_{i}");
            tokio::spawn(async move {
                repo.update(&id, &|x: &mut Task| {
                    x.task_session_statuses
                        .insert(session.clone(), TaskSessionStatus::Working);
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
    let got = repo.get(&t.id).await.unwrap().unwrap();
    for i in 0..50 {
        assert_eq!(
            got.task_session_statuses.get(&format!("{base}_{i}")),
            Some(&TaskSessionStatus::Working),
            "update {i} lost"
        );
    }
    assert_eq!(got.task_session_statuses.len(), 50);
    assert_eq!(got.extra, t.extra);
}
