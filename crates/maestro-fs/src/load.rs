//! Start-up: scan the data directory, parse every record (in parallel), apply the load-time
//! migrations of STORAGE.md §2, report corrupt files, and build the caches.
//!
//! Loading runs in two phases so that [`CorruptPolicy::Refuse`] changes nothing: phase one
//! only reads and plans; phase two (reached only when start-up goes ahead) copies corrupt
//! files aside, removes crash leftovers and performs the planned migrations.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use maestro_domain::model::{
    EntityType, JsonObject, MailMessage, Project, Session, Task, TeamMember,
};

use crate::config::CorruptPolicy;
use crate::durable::{
    copy_aside, ensure_dir, is_temp_name, move_aside, remove_durable, to_json, write_atomic,
};
use crate::error::{CorruptFile, FsError};
use crate::layout::{Layout, SafeId};
use crate::repo::{Indexed, OrderingEntry, TeamState};

mod parse;
use parse::parse_job;

/// What start-up found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub projects: usize,
    pub tasks: usize,
    pub sessions: usize,
    pub mail: usize,
    pub orderings: usize,
    pub team_members: usize,
    pub team_member_overrides: usize,
    /// Files that could not be loaded (skipped; each has a `<file>.corrupt` copy).
    pub corrupt: Vec<CorruptFile>,
    /// Ids of legacy root-level tasks moved to `tasks/<projectId>/` (C23).
    pub migrated_legacy_tasks: Vec<String>,
    /// Ids of `taskType: "team-member"` tasks moved to `.backup/team-member-tasks/` (C24).
    pub backed_up_team_member_tasks: Vec<String>,
    /// Files rewritten because a load-time default or migration changed them.
    pub resaved: Vec<PathBuf>,
    /// Temp files of interrupted writes that were removed.
    pub removed_temp_files: usize,
    /// Wall time of the load.
    pub elapsed: Duration,
}

/// The caches built at start-up.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) projects: Indexed<Project>,
    pub(crate) tasks: Indexed<Task>,
    pub(crate) sessions: Indexed<Session>,
    pub(crate) mail: Indexed<MailMessage>,
    pub(crate) orderings: HashMap<(EntityType, String), OrderingEntry>,
    pub(crate) team: TeamState,
    pub(crate) report: LoadReport,
}

enum Job {
    Project(PathBuf),
    /// `dir_project`: `None` for a legacy root-level task file.
    Task {
        dir_project: Option<String>,
        path: PathBuf,
    },
    Session(PathBuf),
    Mail(PathBuf),
    Ordering(EntityType, PathBuf),
    Member {
        project: String,
        path: PathBuf,
    },
    Override {
        project: String,
        path: PathBuf,
    },
}

impl Job {
    fn path(&self) -> &Path {
        match self {
            Job::Project(p) | Job::Session(p) | Job::Mail(p) | Job::Ordering(_, p) => p,
            Job::Task { path, .. } | Job::Member { path, .. } | Job::Override { path, .. } => path,
        }
    }
}

enum Parsed {
    Project(Project),
    Task {
        task: Box<Task>,
        legacy: bool,
        migrated: bool,
    },
    TeamMemberTask(String),
    Session {
        session: Box<Session>,
        changed: bool,
    },
    Mail(MailMessage),
    Ordering(OrderingEntry),
    Member(Box<TeamMember>),
    Override {
        project: String,
        id: String,
        value: JsonObject,
    },
}

struct Bad {
    reason: String,
    bytes: Option<Vec<u8>>,
}

/// A change planned in phase one, performed in phase two.
enum Action {
    Resave {
        path: PathBuf,
        bytes: Vec<u8>,
    },
    MigrateLegacy {
        id: String,
        from: PathBuf,
        to: PathBuf,
        bytes: Vec<u8>,
    },
    MoveAside {
        from: PathBuf,
        to: PathBuf,
        why: &'static str,
        /// Set for a backed-up team-member task (reported by id).
        task_id: Option<String>,
    },
    CopyCorrupt {
        path: PathBuf,
        bytes: Vec<u8>,
    },
    RemoveTemp(PathBuf),
}

/// Loads the data directory (its start-up folders must exist).
pub(crate) fn load(layout: &Layout, policy: CorruptPolicy) -> Result<Loaded, FsError> {
    let started = Instant::now();
    let mut actions = Vec::new();
    let mut corrupt = Vec::new();
    let jobs = scan(layout, &mut actions, &mut corrupt)?;
    let outcomes = par_map(&jobs, parse_job)?;

    let mut loaded = Loaded::default();
    let mut legacy = Vec::new();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let path = job.path().to_path_buf();
        match outcome {
            Err(bad) => {
                if let Some(bytes) = bad.bytes {
                    actions.push(Action::CopyCorrupt {
                        path: path.clone(),
                        bytes,
                    });
                }
                corrupt.push(CorruptFile {
                    path,
                    reason: bad.reason,
                });
            }
            Ok(Parsed::Task {
                task, legacy: true, ..
            }) => legacy.push((path, task)),
            Ok(parsed) => accept(
                layout,
                &mut loaded,
                &mut actions,
                &mut corrupt,
                path,
                parsed,
            )?,
        }
    }
    place_legacy_tasks(layout, &mut loaded, &mut actions, legacy)?;
    if !corrupt.is_empty() {
        for c in &corrupt {
            tracing::warn!(path = %c.path.display(), reason = %c.reason, "corrupt data file");
        }
        if policy == CorruptPolicy::Refuse {
            return Err(FsError::Corrupt { files: corrupt });
        }
    }
    let mut report = LoadReport {
        corrupt,
        ..LoadReport::default()
    };
    for action in actions {
        perform(action, &mut report);
    }
    report.projects = loaded.projects.len();
    report.tasks = loaded.tasks.len();
    report.sessions = loaded.sessions.len();
    report.mail = loaded.mail.len();
    report.orderings = loaded.orderings.len();
    report.team_members = loaded.team.member_count();
    report.team_member_overrides = loaded.team.override_count();
    report.elapsed = started.elapsed();
    loaded.report = report;
    Ok(loaded)
}

/// Legacy root-level tasks go last: a copy in the project folder is newer (the original wrote
/// it on every save and left the legacy file behind), so the legacy file is moved aside;
/// otherwise it is migrated into its project folder.
fn place_legacy_tasks(
    layout: &Layout,
    loaded: &mut Loaded,
    actions: &mut Vec<Action>,
    legacy: Vec<(PathBuf, Box<Task>)>,
) -> Result<(), FsError> {
    for (path, task) in legacy {
        if loaded.tasks.get(&task.id).is_some() {
            actions.push(Action::MoveAside {
                to: layout.backup_dir("legacy-tasks").join(file_name(&path)),
                from: path,
                why: "stale legacy task file (a newer copy is in its project folder)",
                task_id: None,
            });
            continue;
        }
        let to = layout.task_file(safe(&task.project_id)?, safe(&task.id)?);
        actions.push(Action::MigrateLegacy {
            id: task.id.clone(),
            from: path,
            to,
            bytes: to_json(&*task, "Task")?,
        });
        loaded.tasks.insert(*task);
    }
    Ok(())
}

/// Re-wraps an id the parser already checked (an error here would be a bug).
fn safe(id: &str) -> Result<SafeId<'_>, FsError> {
    SafeId::check(id).ok_or_else(|| FsError::Task(format!("unchecked id {id:?}")))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn accept(
    layout: &Layout,
    loaded: &mut Loaded,
    actions: &mut Vec<Action>,
    corrupt: &mut Vec<CorruptFile>,
    path: PathBuf,
    parsed: Parsed,
) -> Result<(), FsError> {
    match parsed {
        Parsed::Project(p) => loaded.projects.insert(p),
        Parsed::Task { task, migrated, .. } => {
            if let Some(other) = loaded.tasks.get(&task.id) {
                corrupt.push(CorruptFile {
                    reason: format!(
                        "duplicate task id '{}' (also in project folder '{}')",
                        task.id, other.project_id
                    ),
                    path,
                });
                return Ok(());
            }
            if migrated {
                actions.push(Action::Resave {
                    bytes: to_json(&*task, "Task")?,
                    path,
                });
            }
            loaded.tasks.insert(*task);
        }
        Parsed::TeamMemberTask(id) => {
            let rel = path
                .strip_prefix(layout.tasks_dir())
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| PathBuf::from(file_name(&path)));
            tracing::warn!(task_id = %id, path = %path.display(), "moving legacy team-member task to backup");
            actions.push(Action::MoveAside {
                to: layout.backup_dir("team-member-tasks").join(rel),
                from: path,
                why: "legacy taskType team-member",
                task_id: Some(id),
            });
        }
        Parsed::Session { session, changed } => {
            if changed {
                actions.push(Action::Resave {
                    bytes: to_json(&*session, "Session")?,
                    path,
                });
            }
            loaded.sessions.insert(*session);
        }
        Parsed::Mail(m) => loaded.mail.insert(m),
        Parsed::Ordering(e) => {
            let key = (e.ordering.entity_type, e.ordering.project_id.clone());
            loaded.orderings.insert(key, e);
        }
        Parsed::Member(m) => loaded.team.put_member(*m),
        Parsed::Override { project, id, value } => loaded.team.put_override(&project, &id, value),
    }
    Ok(())
}

fn perform(action: Action, report: &mut LoadReport) {
    match action {
        Action::Resave { path, bytes } => match write_atomic(&path, &bytes) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "re-saved after load-time migration");
                report.resaved.push(path);
            }
            Err(e) => tracing::warn!(error = %e, "cannot re-save migrated record; kept in memory"),
        },
        Action::MigrateLegacy {
            id,
            from,
            to,
            bytes,
        } => {
            let moved = to
                .parent()
                .map_or(Ok(()), ensure_dir)
                .and_then(|()| write_atomic(&to, &bytes))
                .and_then(|()| remove_durable(&from).map(|_| ()));
            match moved {
                Ok(()) => {
                    tracing::info!(task_id = %id, from = %from.display(), to = %to.display(), "migrated legacy root-level task");
                    report.resaved.push(to);
                    report.migrated_legacy_tasks.push(id);
                }
                Err(e) => {
                    tracing::warn!(task_id = %id, error = %e, "legacy task migration failed; retried next start")
                }
            }
        }
        Action::MoveAside {
            from,
            to,
            why,
            task_id,
        } => match move_aside(&from, &to) {
            Ok(target) => {
                tracing::warn!(from = %from.display(), to = %target.display(), why, "moved file to backup");
                report.backed_up_team_member_tasks.extend(task_id);
            }
            Err(e) => tracing::warn!(error = %e, why, "cannot move file to backup"),
        },
        Action::CopyCorrupt { path, bytes } => {
            let mut aside = path.clone().into_os_string();
            aside.push(".corrupt");
            match copy_aside(&bytes, Path::new(&aside)) {
                Ok(copy) => {
                    tracing::warn!(path = %path.display(), copy = %copy.display(), "corrupt file skipped; copy kept");
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "corrupt file skipped; cannot keep a copy");
                }
            }
        }
        Action::RemoveTemp(path) => match remove_durable(&path) {
            Ok(_) => report.removed_temp_files += 1,
            Err(e) => tracing::warn!(error = %e, "cannot remove leftover temp file"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Scanning
// ---------------------------------------------------------------------------------------------

enum Entry {
    File(PathBuf, String),
    Dir(PathBuf, String),
}

/// Lists `dir`: `*.json` files and sub-folders by name; temp files are queued for removal;
/// everything else is ignored. Names that are not UTF-8 are reported.
fn list_dir(
    dir: &Path,
    actions: &mut Vec<Action>,
    corrupt: &mut Vec<CorruptFile>,
) -> Result<Vec<Entry>, FsError> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(FsError::io("read directory", dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| FsError::io("read directory", dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        if is_temp_name(&name) {
            actions.push(Action::RemoveTemp(path));
            continue;
        }
        let Some(name) = name.to_str().map(str::to_string) else {
            corrupt.push(CorruptFile {
                path,
                reason: "file name is not UTF-8".into(),
            });
            continue;
        };
        let ft = entry
            .file_type()
            .map_err(|e| FsError::io("stat", &path, e))?;
        if ft.is_dir() {
            out.push(Entry::Dir(path, name));
        } else if ft.is_file() && name.ends_with(".json") {
            out.push(Entry::File(path, name));
        }
    }
    // Deterministic order (read_dir order is file-system dependent).
    out.sort_by(|a, b| entry_path(a).cmp(entry_path(b)));
    Ok(out)
}

fn entry_path(e: &Entry) -> &Path {
    match e {
        Entry::File(p, _) | Entry::Dir(p, _) => p,
    }
}

// About 80 lines: one arm per directory of the layout (STORAGE.md §1), in layout order.
fn scan(
    layout: &Layout,
    actions: &mut Vec<Action>,
    corrupt: &mut Vec<CorruptFile>,
) -> Result<Vec<Job>, FsError> {
    let mut jobs = Vec::new();
    for e in list_dir(&layout.projects_dir(), actions, corrupt)? {
        if let Entry::File(p, _) = e {
            jobs.push(Job::Project(p));
        }
    }
    for e in list_dir(&layout.tasks_dir(), actions, corrupt)? {
        match e {
            Entry::File(path, _) => jobs.push(Job::Task {
                dir_project: None,
                path,
            }),
            Entry::Dir(dir, name) => {
                if SafeId::check(&name).is_none() {
                    corrupt.push(CorruptFile {
                        path: dir,
                        reason: "task folder name is not a safe project id".into(),
                    });
                    continue;
                }
                for e in list_dir(&dir, actions, corrupt)? {
                    if let Entry::File(path, _) = e {
                        jobs.push(Job::Task {
                            dir_project: Some(name.clone()),
                            path,
                        });
                    }
                }
            }
        }
    }
    for e in list_dir(&layout.sessions_dir(), actions, corrupt)? {
        if let Entry::File(p, _) = e {
            jobs.push(Job::Session(p));
        }
    }
    for e in list_dir(&layout.mail_dir(), actions, corrupt)? {
        if let Entry::File(p, _) = e {
            jobs.push(Job::Mail(p));
        }
    }
    for kind in [EntityType::Task, EntityType::Session] {
        for e in list_dir(&layout.ordering_dir(kind), actions, corrupt)? {
            if let Entry::File(p, _) = e {
                jobs.push(Job::Ordering(kind, p));
            }
        }
    }
    for e in list_dir(&layout.team_members_dir(), actions, corrupt)? {
        let Entry::Dir(dir, project) = e else {
            continue;
        };
        if SafeId::check(&project).is_none() {
            corrupt.push(CorruptFile {
                path: dir,
                reason: "team-member folder name is not a safe project id".into(),
            });
            continue;
        }
        for e in list_dir(&dir, actions, corrupt)? {
            let Entry::File(path, name) = e else {
                continue;
            };
            if name.contains(".override.") {
                jobs.push(Job::Override {
                    project: project.clone(),
                    path,
                });
            } else {
                jobs.push(Job::Member {
                    project: project.clone(),
                    path,
                });
            }
        }
    }
    Ok(jobs)
}

// ---------------------------------------------------------------------------------------------
// Parsing (pure: no writes)
// ---------------------------------------------------------------------------------------------

/// Maps `items` on all cores (bounded), keeping order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Result<Vec<R>, FsError> {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(8);
    if threads <= 1 || items.len() < 512 {
        return Ok(items.iter().map(f).collect());
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| FsError::Task("loader thread panicked".into()))?,
            );
        }
        Ok(out)
    })
}
