//! A failed write leaves memory and disk as they were (DEFECTS R3), and the error names the
//! path. The failure is injected by replacing the `sessions` folder with a plain file, which
//! defeats writes even for root.
#![allow(clippy::unwrap_used)]

use std::fs;

use maestro_domain::DomainError;
use maestro_domain::model::SessionStatus;
use maestro_fs::{FsConfig, FsStore};
use maestro_testkit::fixtures::session;

#[track_caller]
fn unavailable<T: std::fmt::Debug>(r: Result<T, DomainError>) -> String {
    match r {
        Err(DomainError::Unavailable(msg)) => msg,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn failed_writes_change_neither_memory_nor_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(FsConfig::new(tmp.path())).await.unwrap();
    let sessions = store.sessions();
    let s = session("sess_1_durable", "proj_1_durable", 1);
    sessions.create(s.clone()).await.unwrap();
    let dir = tmp.path().join("sessions");
    let file = dir.join("sess_1_durable.json");
    let on_disk = fs::read(&file).unwrap();

    // Break the folder.
    let aside = tmp.path().join("sessions.aside");
    fs::rename(&dir, &aside).unwrap();
    fs::write(&dir, b"not a folder").unwrap();

    let msg = unavailable(
        sessions
            .update(&s.id, &|x| {
                x.status = SessionStatus::Failed;
                Ok(())
            })
            .await,
    );
    assert!(msg.contains("sessions"), "error names the path: {msg}");
    assert_eq!(sessions.get(&s.id).await.unwrap(), Some(s.clone()));

    unavailable(sessions.delete(&s.id).await);
    assert_eq!(sessions.get(&s.id).await.unwrap(), Some(s.clone()));

    let other = session("sess_2_durable", "proj_1_durable", 2);
    unavailable(sessions.create(other.clone()).await);
    assert_eq!(sessions.get(&other.id).await.unwrap(), None);

    // Repair: disk still holds the old record, no temp files were left, and writing works.
    fs::remove_file(&dir).unwrap();
    fs::rename(&aside, &dir).unwrap();
    assert_eq!(fs::read(&file).unwrap(), on_disk);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    sessions.create(other.clone()).await.unwrap();
    let updated = sessions
        .update(&s.id, &|x| {
            x.status = SessionStatus::Failed;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(updated.status, SessionStatus::Failed);
    assert!(sessions.delete(&s.id).await.unwrap());
    assert!(!file.exists());
}

#[tokio::test]
async fn unchanged_update_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(FsConfig::new(tmp.path())).await.unwrap();
    let s = session("sess_1_same", "proj_1_same", 1);
    store.sessions().create(s.clone()).await.unwrap();
    let file = tmp.path().join("sessions/sess_1_same.json");
    // Swap the file for a marker: a write would replace it.
    fs::write(&file, b"marker").unwrap();
    let got = store.sessions().update(&s.id, &|_| Ok(())).await.unwrap();
    assert_eq!(got, s);
    assert_eq!(
        fs::read(&file).unwrap(),
        b"marker",
        "no write for a no-op update"
    );
}

#[tokio::test]
async fn a_dropped_update_still_lands_in_memory_and_on_disk_together() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(FsConfig::new(tmp.path())).await.unwrap();
    let sessions = store.sessions();
    let s = session("sess_1_cancel", "proj_1_cancel", 1);
    sessions.create(s.clone()).await.unwrap();
    // Polled once (lock taken, write handed to the blocking pool), then dropped.
    let dropped = tokio::time::timeout(
        std::time::Duration::ZERO,
        sessions.update(&s.id, &|x| {
            x.status = SessionStatus::Stopped;
            Ok(())
        }),
    )
    .await;
    // Whether or not it finished in time, memory and disk agree once the lock is free again.
    let after = sessions
        .update(&s.id, &|x| {
            x.name = "after".into();
            Ok(())
        })
        .await
        .unwrap();
    let file: serde_json::Value =
        serde_json::from_slice(&fs::read(tmp.path().join("sessions/sess_1_cancel.json")).unwrap())
            .unwrap();
    assert_eq!(file, serde_json::to_value(&after).unwrap());
    if dropped.is_err() {
        assert_eq!(
            after.status,
            SessionStatus::Stopped,
            "the dropped write completed"
        );
    }
}
