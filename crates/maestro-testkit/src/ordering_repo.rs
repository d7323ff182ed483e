//! Contract of [`OrderingRepo`]: one ordering per (project, entity type), replaced by `save`.

use std::sync::Arc;

use maestro_domain::model::EntityType;
use maestro_domain::ports::OrderingRepo;

use crate::fixtures::{now_ms, ordering, unique_id};

/// Every case.
pub const ALL_CASES: &[&str] = crate::__ordering_repo_cases!(names);

pub async fn get_missing_is_none(repo: Arc<dyn OrderingRepo>) {
    let project = unique_id("proj");
    for entity in EntityType::ALL {
        assert_eq!(repo.get(&project, *entity).await.unwrap(), None);
    }
}

pub async fn save_then_get_round_trips(repo: Arc<dyn OrderingRepo>) {
    let project = unique_id("proj");
    let o = ordering(
        &project,
        EntityType::Task,
        &["task_b", "task_a", "task_c"],
        now_ms(),
    );
    assert_eq!(repo.save(o.clone()).await.unwrap(), o);
    assert_eq!(repo.get(&project, EntityType::Task).await.unwrap(), Some(o));
    let empty = ordering(&project, EntityType::Session, &[], 0);
    assert_eq!(repo.save(empty.clone()).await.unwrap(), empty);
    assert_eq!(
        repo.get(&project, EntityType::Session).await.unwrap(),
        Some(empty)
    );
}

pub async fn save_replaces(repo: Arc<dyn OrderingRepo>) {
    let project = unique_id("proj");
    let t = now_ms();
    repo.save(ordering(
        &project,
        EntityType::Session,
        &["s1", "s2", "s3"],
        t,
    ))
    .await
    .unwrap();
    // Stored verbatim: unknown or repeated ids are not cleaned.
    let second = ordering(&project, EntityType::Session, &["s3", "gone", "s3"], t + 1);
    repo.save(second.clone()).await.unwrap();
    assert_eq!(
        repo.get(&project, EntityType::Session).await.unwrap(),
        Some(second)
    );
    let shorter = ordering(&project, EntityType::Session, &["s1"], t + 2);
    repo.save(shorter.clone()).await.unwrap();
    assert_eq!(
        repo.get(&project, EntityType::Session).await.unwrap(),
        Some(shorter)
    );
}

pub async fn entity_types_are_independent(repo: Arc<dyn OrderingRepo>) {
    let (project, other) = (unique_id("proj"), unique_id("proj"));
    let t = now_ms();
    let tasks = ordering(&project, EntityType::Task, &["t1", "t2"], t);
    let sessions = ordering(&project, EntityType::Session, &["s2", "s1"], t + 1);
    repo.save(tasks.clone()).await.unwrap();
    assert_eq!(repo.get(&project, EntityType::Session).await.unwrap(), None);
    repo.save(sessions.clone()).await.unwrap();
    assert_eq!(
        repo.get(&project, EntityType::Task).await.unwrap(),
        Some(tasks)
    );
    assert_eq!(
        repo.get(&project, EntityType::Session).await.unwrap(),
        Some(sessions)
    );
    assert_eq!(repo.get(&other, EntityType::Task).await.unwrap(), None);
}

pub async fn delete_project_removes_both(repo: Arc<dyn OrderingRepo>) {
    let (project, other) = (unique_id("proj"), unique_id("proj"));
    let t = now_ms();
    for p in [&project, &other] {
        for entity in EntityType::ALL {
            repo.save(ordering(p, *entity, &["x", "y"], t))
                .await
                .unwrap();
        }
    }
    repo.delete_project(&project).await.unwrap();
    for entity in EntityType::ALL {
        assert_eq!(repo.get(&project, *entity).await.unwrap(), None);
        assert_eq!(
            repo.get(&other, *entity).await.unwrap(),
            Some(ordering(&other, *entity, &["x", "y"], t))
        );
    }
    repo.delete_project(&project).await.unwrap();
    let again = ordering(&project, EntityType::Task, &["z"], t + 1);
    repo.save(again.clone()).await.unwrap();
    assert_eq!(
        repo.get(&project, EntityType::Task).await.unwrap(),
        Some(again)
    );
}
