//! Crash safety: a child process streams writes and reports each completed one on stdout; it is
//! killed with SIGKILL mid-stream. Afterwards every JSON file parses, every reported write is
//! on disk, and the directory opens cleanly.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use maestro_domain::model::SessionEvent;
use maestro_fs::{FsConfig, FsStore};
use maestro_testkit::fixtures::{project, session, task};
use serde_json::{Value, json};

const CHILD_ENV: &str = "MAESTRO_FS_CRASH_CHILD_DIR";
const PROJECT: &str = "proj_1_crash";
const SESSION: &str = "sess_1_crash";
const WRITERS: usize = 4;
const KILL_AFTER: usize = 400;

fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "DONE {line}").unwrap();
    out.flush().unwrap();
}

/// The child: runs only when re-executed by the parent test with `CHILD_ENV` set.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = FsStore::open(FsConfig::new(dir)).await.unwrap();
        store.projects().create(project(PROJECT, 1)).await.unwrap();
        store
            .sessions()
            .create(session(SESSION, PROJECT, 1))
            .await
            .unwrap();
        report("setup");
        let store = Arc::new(store);
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let (tasks, sessions) = (store.tasks(), store.sessions());
                    for i in 0..50_000 {
                        // A new file.
                        let id = format!("task_{w}_{i}");
                        tasks.create(task(&id, PROJECT, i)).await.unwrap();
                        report(&format!("task {id}"));
                        // An overwrite of a growing, shared file.
                        let evt = format!("evt_{w}_{i}");
                        sessions
                            .update(SESSION, &|s| {
                                s.events.push(SessionEvent {
                                    id: evt.clone(),
                                    timestamp: i,
                                    kind: "file_modified".into(),
                                    data: Some(
                                        json!({"writer": w, "n": i, "pad": "x".repeat(200)}),
                                    ),
                                });
                                Ok(())
                            })
                            .await
                            .unwrap();
                        report(&format!("event {evt}"));
                        // An overwrite of an existing file.
                        let skill = format!("skill_{i}");
                        tasks
                            .update(&id, &|t| {
                                t.skill_ids.push(skill.clone());
                                Ok(())
                            })
                            .await
                            .unwrap();
                        report(&format!("skill {id} {skill}"));
                        // A delete of every fourth task.
                        if i % 4 == 3 {
                            assert!(tasks.delete(&id).await.unwrap());
                            report(&format!("deleted {id}"));
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
    });
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

#[test]
fn sigkill_mid_stream_loses_no_completed_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut done: Vec<String> = Vec::new();
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(rest) = line.strip_prefix("DONE ") {
            done.push(rest.to_string());
            if done.len() == KILL_AFTER && !killed {
                child.kill().unwrap(); // SIGKILL on Unix
                killed = true;
            }
        }
    }
    let status = child.wait().unwrap();
    assert!(
        killed,
        "the child ended before it could be killed: {status:?}"
    );
    assert!(
        !status.success(),
        "the child must have died from the signal"
    );
    assert!(done.len() >= KILL_AFTER);

    // Every JSON file parses.
    let mut files = Vec::new();
    walk(&dir, &mut files);
    let mut tasks_on_disk = HashSet::new();
    for f in &files {
        if f.extension().is_some_and(|e| e == "json") {
            let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap())
                .unwrap_or_else(|e| panic!("{} is torn: {e}", f.display()));
            if f.parent().unwrap().ends_with(PROJECT) {
                tasks_on_disk.insert(v["id"].as_str().unwrap().to_string());
            }
        }
    }

    // Every reported write is there.
    let task_file = |id: &str| dir.join(format!("tasks/{PROJECT}/{id}.json"));
    let session_file: Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("sessions/{SESSION}.json"))).unwrap(),
    )
    .unwrap();
    let events: HashSet<&str> = session_file["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    // Deleted, or possibly deleted: every fourth task is deleted right after its skill
    // update is reported, and the kill can land between the delete and its report.
    let deleted: HashSet<&str> = done
        .iter()
        .filter_map(|d| {
            d.strip_prefix("deleted ").or_else(|| {
                let id = d.strip_prefix("skill ")?.split(' ').next()?;
                let n: u64 = id.rsplit('_').next()?.parse().ok()?;
                (n % 4 == 3).then_some(id)
            })
        })
        .collect();
    for d in &done {
        let parts: Vec<&str> = d.split(' ').collect();
        match parts.as_slice() {
            ["setup"] | ["deleted", _] => {}
            ["task", id] => assert!(
                deleted.contains(id) || tasks_on_disk.contains(*id),
                "reported task {id} missing"
            ),
            ["event", evt] => assert!(events.contains(evt), "reported event {evt} missing"),
            ["skill", id, skill] => {
                if !deleted.contains(id) {
                    let t: Value =
                        serde_json::from_slice(&std::fs::read(task_file(id)).unwrap()).unwrap();
                    assert!(
                        t["skillIds"].as_array().unwrap().iter().any(|s| s == skill),
                        "reported update {skill} of {id} missing"
                    );
                }
            }
            other => panic!("unexpected report {other:?}"),
        }
    }
    // Only a reported delete must be on disk; a possible one may not have started.
    for id in done.iter().filter_map(|d| d.strip_prefix("deleted ")) {
        assert!(
            !task_file(id).exists(),
            "reported delete of {id} not on disk"
        );
    }

    // The directory opens cleanly: the lock died with the child, nothing is corrupt.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = rt.block_on(FsStore::open(FsConfig::new(&dir))).unwrap();
    assert!(
        store.load_report().corrupt.is_empty(),
        "{:?}",
        store.load_report().corrupt
    );
    let reported_events = done.iter().filter(|d| d.starts_with("event ")).count();
    let loaded = rt.block_on(store.sessions().get(SESSION)).unwrap().unwrap();
    assert!(loaded.events.len() >= reported_events);
}
