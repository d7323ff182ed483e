//! Start-up benchmark: `FsStore::open` on a data directory of 100,000 tasks in 100 projects,
//! and the cost of listing one project's tasks.
//!
//! Run: `cargo bench -p maestro-fs --bench startup` (release profile). Optional arguments:
//! `<projects> <tasks per project>` (defaults 100 and 1000).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use maestro_domain::ports::TaskFilter;
use maestro_fs::{FsConfig, FsStore};
use serde_json::json;

fn write_dataset(dir: &Path, projects: usize, per_project: usize) {
    for p in 0..projects {
        let pid = format!("proj_1771322645123_{p:09}");
        let project = json!({
            "id": pid, "name": format!("Project {p}"), "workingDir": format!("/src/p{p}"),
            "description": "", "createdAt": 1_771_322_645_123_i64, "updatedAt": 1_771_322_645_123_i64
        });
        fs::create_dir_all(dir.join("projects")).unwrap();
        fs::write(
            dir.join(format!("projects/{pid}.json")),
            serde_json::to_vec_pretty(&project).unwrap(),
        )
        .unwrap();
        let tdir = dir.join("tasks").join(&pid);
        fs::create_dir_all(&tdir).unwrap();
        for t in 0..per_project {
            let status = ["todo", "in_progress", "completed"][t % 3];
            let id = format!("task_{}_{p:04}{t:05}", 1_771_322_800_000_i64 + t as i64);
            let task = json!({
                "id": id, "projectId": pid,
                "parentId": if t % 10 == 0 { serde_json::Value::Null } else { json!(format!("task_{}_{p:04}{:05}", 1_771_322_800_000_i64 + (t - t % 10) as i64, t - t % 10)) },
                "title": format!("Task {t} of project {p}"),
                "description": "Implement the feature described in the linked document and add tests.",
                "status": status,
                "taskSessionStatuses": {}, "priority": "medium",
                "createdAt": 1_771_322_800_000_i64 + t as i64, "updatedAt": 1_771_322_900_000_i64,
                "startedAt": null, "completedAt": null, "initialPrompt": "",
                "sessionIds": [format!("sess_1771322900000_{p:09}")], "skillIds": [], "agentIds": [],
                "dependencies": [], "referenceTaskIds": []
            });
            fs::write(
                tdir.join(format!("{id}.json")),
                serde_json::to_vec_pretty(&task).unwrap(),
            )
            .unwrap();
        }
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// Long on purpose: the benchmark's cases in the order they run, each a few lines.
fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let projects = args.first().copied().unwrap_or(100);
    let per_project = args.get(1).copied().unwrap_or(1000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    let t = Instant::now();
    write_dataset(&dir, projects, per_project);
    println!(
        "dataset: {} tasks in {projects} projects written in {:.0} ms",
        projects * per_project,
        ms(t.elapsed())
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for round in 1..=3 {
        let t = Instant::now();
        let store = FsStore::open_blocking(&FsConfig::new(&dir)).unwrap();
        let open = t.elapsed();
        let r = store.load_report();
        assert_eq!(r.tasks, projects * per_project);
        assert!(r.corrupt.is_empty());

        let tasks = store.tasks();
        // One project's listing, for every project.
        let t = Instant::now();
        let mut listed = 0;
        for p in 0..projects {
            let filter = TaskFilter {
                project_id: Some(format!("proj_1771322645123_{p:09}")),
                ..TaskFilter::default()
            };
            listed += rt.block_on(tasks.list(&filter)).unwrap().len();
        }
        let per_project_list = t.elapsed() / projects as u32;
        assert_eq!(listed, projects * per_project);
        // A small project among the large ones.
        let pid = "proj_small";
        for i in 0..10 {
            rt.block_on(tasks.create(maestro_testkit_free_task(pid, i)))
                .unwrap();
        }
        let filter = TaskFilter {
            project_id: Some(pid.into()),
            ..TaskFilter::default()
        };
        let t = Instant::now();
        for _ in 0..1000 {
            assert_eq!(rt.block_on(tasks.list(&filter)).unwrap().len(), 10);
        }
        let small_list = t.elapsed() / 1000;
        // The whole store, for comparison.
        let t = Instant::now();
        let all = rt.block_on(tasks.list(&TaskFilter::default())).unwrap();
        let whole = t.elapsed();
        assert_eq!(all.len(), projects * per_project + 10);
        for i in 0..10 {
            rt.block_on(tasks.delete(&format!("task_1_small{i}")))
                .unwrap();
        }
        println!(
            "round {round}: open {:.0} ms (load {:.0} ms); list one project of {per_project}: {:.2} ms; \
             list a project of 10: {:.1} µs; list all {}: {:.0} ms",
            ms(open),
            ms(r.elapsed),
            ms(per_project_list),
            small_list.as_secs_f64() * 1e6,
            all.len(),
            ms(whole),
        );
    }
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.0} MiB");
    }
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
}

fn maestro_testkit_free_task(project_id: &str, i: i64) -> maestro_domain::model::Task {
    serde_json::from_value(json!({
        "id": format!("task_1_small{i}"), "projectId": project_id, "parentId": null,
        "title": "small", "status": "todo", "createdAt": i, "updatedAt": i
    }))
    .unwrap()
}
