//! Start-up behaviour: the data-dir lock, corrupt files under both policies, crash leftovers.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;

use common::{copy_tree, fixture_dir};
use maestro_domain::ports::TaskFilter;
use maestro_fs::{CorruptPolicy, FsConfig, FsError, FsStore};

const P1: &str = "proj_1771322645123_k3j9x0a1b";
const TASK_A: &str = "task_1771322800001_a1b2c3d4e";
const TASK_C: &str = "task_1771322800003_c9c9c9c9c";
const S1: &str = "sess_1771322900001_s1s1s1s1s";

#[tokio::test]
async fn second_open_is_refused_until_the_first_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let first = FsStore::open(FsConfig::new(tmp.path())).await.unwrap();
    let handle = first.tasks();

    let err = FsStore::open(FsConfig::new(tmp.path())).await.unwrap_err();
    let FsError::Locked { ref dir, pid, .. } = err else {
        panic!("expected Locked, got {err:?}");
    };
    assert_eq!(dir, tmp.path());
    assert_eq!(pid, Some(std::process::id()));
    let msg = err.to_string();
    assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains("already in use"), "{msg}");

    // The store's handles keep the lock too.
    drop(first);
    assert!(matches!(
        FsStore::open(FsConfig::new(tmp.path())).await,
        Err(FsError::Locked { .. })
    ));
    drop(handle);
    let again = FsStore::open(FsConfig::new(tmp.path())).await.unwrap();
    assert!(again.load_report().corrupt.is_empty());
}

#[tokio::test]
async fn lock_holder_tells_without_taking_the_lock() {
    use maestro_fs::{LockHolder, lock_holder};
    let tmp = tempfile::tempdir().unwrap();
    // No lock file yet: free, and none is created.
    assert_eq!(lock_holder(tmp.path()).unwrap(), LockHolder::Free);
    assert!(!tmp.path().join("maestro-server.lock").exists());
    let store = FsStore::open(FsConfig::new(tmp.path())).await.unwrap();
    assert_eq!(
        lock_holder(tmp.path()).unwrap(),
        LockHolder::Held {
            pid: Some(std::process::id())
        }
    );
    drop(store);
    assert_eq!(lock_holder(tmp.path()).unwrap(), LockHolder::Free);
    // Asking did not keep it.
    FsStore::open(FsConfig::new(tmp.path())).await.unwrap();
}

fn corrupt_fixture() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Vec<std::path::PathBuf>,
) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    copy_tree(&fixture_dir(), &dir);
    let truncated = dir.join(format!("tasks/{P1}/{TASK_C}.json"));
    let text = fs::read_to_string(&truncated).unwrap();
    fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let garbage = dir.join(format!("sessions/{S1}.json"));
    fs::write(&garbage, b"\x00\x01 not json at all").unwrap();
    let wrong_shape = dir.join("projects/proj_9_wrongshape.json");
    fs::write(&wrong_shape, br#"{"id": "proj_9_wrongshape", "name": 42}"#).unwrap();
    let mismatched = dir.join("mail/mail_9_mismatch.json");
    fs::write(
        &mismatched,
        fs::read(dir.join("mail/mail_1771322970001_m1m1m1m1m.json")).unwrap(),
    )
    .unwrap();
    (tmp, dir, vec![truncated, garbage, wrong_shape, mismatched])
}

#[tokio::test]
async fn corrupt_files_are_reported_copied_and_skipped() {
    let (_tmp, dir, bad) = corrupt_fixture();
    let originals: Vec<Vec<u8>> = bad.iter().map(|p| fs::read(p).unwrap()).collect();
    let store = FsStore::open(FsConfig::new(&dir)).await.unwrap();

    let report = store.load_report();
    let mut reported: Vec<_> = report.corrupt.iter().map(|c| c.path.clone()).collect();
    reported.sort();
    let mut expected = bad.clone();
    expected.sort();
    assert_eq!(reported, expected, "{:#?}", report.corrupt);
    for (path, original) in bad.iter().zip(&originals) {
        let mut copy = path.clone().into_os_string();
        copy.push(".corrupt");
        assert_eq!(
            &fs::read(&copy).unwrap(),
            original,
            "copy of {}",
            path.display()
        );
        assert_eq!(
            &fs::read(path).unwrap(),
            original,
            "{} left untouched",
            path.display()
        );
    }
    // Everything else loaded.
    assert!(store.tasks().get(TASK_A).await.unwrap().is_some());
    assert!(store.tasks().get(TASK_C).await.unwrap().is_none());
    assert!(store.sessions().get(S1).await.unwrap().is_none());
    assert_eq!(report.tasks, 4);
    assert_eq!(report.projects, 2);
    let listed = store
        .tasks()
        .list(&TaskFilter {
            project_id: Some(P1.into()),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);

    // A restart reports them again, without piling up copies.
    drop(store);
    let again = FsStore::open(FsConfig::new(&dir)).await.unwrap();
    assert_eq!(again.load_report().corrupt.len(), bad.len());
    let copies = common::files_under(&dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".corrupt"))
        .count();
    assert_eq!(copies, bad.len());
}

#[tokio::test]
async fn refuse_policy_names_every_corrupt_file_and_changes_nothing() {
    let (_tmp, dir, bad) = corrupt_fixture();
    let before = common::files_under(&dir);
    let err = FsStore::open(FsConfig::new(&dir).with_corrupt_policy(CorruptPolicy::Refuse))
        .await
        .unwrap_err();
    let FsError::Corrupt { ref files } = err else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert_eq!(files.len(), bad.len());
    let msg = err.to_string();
    for p in &bad {
        assert!(msg.contains(&p.display().to_string()), "{msg}");
    }
    // No copies, no migrations (the fixture's legacy files are still where they were); only
    // the lock file is new.
    let mut after = common::files_under(&dir);
    after.retain(|p| p.as_os_str() != "maestro-server.lock");
    assert_eq!(after, before);
    // The lock was released with the failed open.
    assert!(FsStore::open(FsConfig::new(&dir)).await.is_ok());
}

#[tokio::test]
async fn leftover_temp_files_are_removed_and_never_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    copy_tree(&fixture_dir(), &dir);
    let leftover = dir.join(format!("tasks/{P1}/.{TASK_A}.json.4242-7.tmp"));
    fs::write(&leftover, b"{\"id\": \"half").unwrap();
    let store = FsStore::open(FsConfig::new(&dir)).await.unwrap();
    assert!(!leftover.exists());
    assert_eq!(store.load_report().removed_temp_files, 1);
    assert!(store.load_report().corrupt.is_empty());
}
