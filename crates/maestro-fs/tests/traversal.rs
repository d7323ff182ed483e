//! Ids that would escape the data directory (or are otherwise unsafe) are a validation error
//! for every repository method that turns an id into a path, and touch nothing on disk.
#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Debug;

use common::files_under;
use maestro_domain::DomainError;
use maestro_domain::model::{EntityType, JsonObject};
use maestro_fs::{FsConfig, FsStore};
use maestro_testkit::fixtures::{mail, ordering, project, session, task, team_member};

fn bad_ids() -> Vec<String> {
    vec![
        "../x".into(),
        "../../etc/passwd".into(),
        "/etc/passwd".into(),
        "a\0b".into(),
        "x".repeat(129),
        String::new(),
        "..".into(),
        "a/b".into(),
        "a\\b".into(),
        "x.json".into(),
    ]
}

#[track_caller]
fn refused<T: Debug>(r: Result<T, DomainError>, what: &str, id: &str) {
    match r {
        Err(DomainError::Validation { .. }) => {}
        other => panic!("{what} with {id:?}: expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn traversal_ids_are_rejected_without_touching_the_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = FsStore::open(FsConfig::new(&dir)).await.unwrap();
    let files_before = files_under(tmp.path());
    let (projects, tasks, sessions) = (store.projects(), store.tasks(), store.sessions());
    let (mails, team, orderings) = (store.mail(), store.team_members(), store.orderings());
    let ok = "proj_1_ok";
    let noop = |_: &mut JsonObject| Ok(());

    for bad in bad_ids() {
        let b = bad.as_str();
        // Projects.
        refused(projects.create(project(b, 1)).await, "project create", b);
        refused(projects.get(b).await, "project get", b);
        refused(projects.update(b, &|_| Ok(())).await, "project update", b);
        refused(projects.delete(b).await, "project delete", b);
        // Tasks: the id and the project id (the folder name).
        refused(tasks.create(task(b, ok, 1)).await, "task create", b);
        refused(
            tasks.create(task("task_1_ok", b, 1)).await,
            "task create (project)",
            b,
        );
        refused(tasks.get(b).await, "task get", b);
        refused(tasks.update(b, &|_| Ok(())).await, "task update", b);
        refused(tasks.delete(b).await, "task delete", b);
        // Sessions (client-chosen ids).
        refused(
            sessions.create(session(b, ok, 1)).await,
            "session create",
            b,
        );
        refused(sessions.get(b).await, "session get", b);
        refused(sessions.update(b, &|_| Ok(())).await, "session update", b);
        refused(sessions.delete(b).await, "session delete", b);
        // Mail.
        refused(
            mails.create(mail(b, ok, "s", None, 1)).await,
            "mail create",
            b,
        );
        refused(mails.get(b).await, "mail get", b);
        refused(mails.delete(b).await, "mail delete", b);
        // Team members: project id (folder) and member id (file).
        refused(team.create(team_member(b, ok, 1)).await, "member create", b);
        refused(
            team.create(team_member("tm_1_ok", b, 1)).await,
            "member create (project)",
            b,
        );
        refused(team.get(ok, b).await, "member get", b);
        refused(team.get(b, "tm_1_ok").await, "member get (project)", b);
        refused(team.list(b).await, "member list", b);
        refused(team.update(ok, b, &|_| Ok(())).await, "member update", b);
        refused(
            team.update(b, "tm_1_ok", &|_| Ok(())).await,
            "member update (project)",
            b,
        );
        refused(team.delete(ok, b).await, "member delete", b);
        refused(
            team.delete(b, "tm_1_ok").await,
            "member delete (project)",
            b,
        );
        refused(team.get_override(ok, b).await, "override get", b);
        refused(
            team.get_override(b, "tm_1_ok").await,
            "override get (project)",
            b,
        );
        refused(
            team.update_override(ok, b, &noop).await,
            "override update",
            b,
        );
        refused(
            team.update_override(b, "tm_1_ok", &noop).await,
            "override update (project)",
            b,
        );
        refused(team.delete_override(ok, b).await, "override delete", b);
        refused(
            team.delete_override(b, "tm_1_ok").await,
            "override delete (project)",
            b,
        );
        refused(team.delete_project(b).await, "member delete_project", b);
        // Orderings (the project id is the file name).
        refused(orderings.get(b, EntityType::Task).await, "ordering get", b);
        refused(
            orderings
                .save(ordering(b, EntityType::Session, &["x"], 1))
                .await,
            "ordering save",
            b,
        );
        refused(
            orderings.delete_project(b).await,
            "ordering delete_project",
            b,
        );
    }

    // An update may not smuggle a bad project id in either.
    tasks.create(task("task_1_ok", ok, 1)).await.unwrap();
    let before_update = files_under(tmp.path());
    refused(
        tasks
            .update("task_1_ok", &|t| {
                t.project_id = "../../evil".into();
                Ok(())
            })
            .await,
        "task update moving to a bad project",
        "../../evil",
    );
    assert_eq!(files_under(tmp.path()), before_update);
    assert!(tasks.delete("task_1_ok").await.unwrap());

    // Nothing was created anywhere: not in the data dir, not next to it.
    assert_eq!(files_under(tmp.path()), files_before);
    assert!(!tmp.path().join("x").exists() && !tmp.path().join("x.json").exists());
}
