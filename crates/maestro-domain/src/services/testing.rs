//! Unit-test support: mockall mocks of every port, a fixed clock and captured events.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::Result;
use crate::events::DomainEvent;
use crate::ids::{ManualClock, SequentialIds};
use crate::model::*;
use crate::ports::*;
use crate::services::{HostInfo, Ports, Services};

pub const NOW: Millis = 1_771_322_645_123;

pub struct Mocks {
    pub projects: MockProjectRepo,
    pub tasks: MockTaskRepo,
    pub sessions: MockSessionRepo,
    pub mail: MockMailRepo,
    pub team_members: MockTeamMemberRepo,
    pub orderings: MockOrderingRepo,
    pub bus: MockEventBus,
}

/// Events published through the mock bus, in order.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<DomainEvent>>>);

impl Captured {
    pub fn names(&self) -> Vec<&'static str> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(DomainEvent::name)
            .collect()
    }

    pub fn data(&self, i: usize) -> Value {
        self.0.lock().unwrap()[i].data()
    }
}

impl Mocks {
    pub fn new() -> Self {
        Self {
            projects: MockProjectRepo::new(),
            tasks: MockTaskRepo::new(),
            sessions: MockSessionRepo::new(),
            mail: MockMailRepo::new(),
            team_members: MockTeamMemberRepo::new(),
            orderings: MockOrderingRepo::new(),
            bus: MockEventBus::new(),
        }
    }

    /// Every project and session exists; sessions belong to `project_id`.
    pub fn records_exist(&mut self, project_id: &'static str) {
        self.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
        self.sessions
            .expect_get()
            .returning(move |id| Ok(Some(session(id, project_id, &[]))));
    }

    /// Makes the bus record every published event.
    pub fn capture_events(&mut self) -> Captured {
        let captured = Captured::default();
        let sink = captured.clone();
        self.bus.expect_publish().returning(move |e| {
            sink.0.lock().unwrap().push(e);
            Ok(())
        });
        captured
    }

    /// The repository mocks as a bundle (for decorators over repositories).
    pub fn repositories(self) -> crate::services::Repositories {
        crate::services::Repositories {
            projects: Arc::new(self.projects),
            tasks: Arc::new(self.tasks),
            sessions: Arc::new(self.sessions),
            mail: Arc::new(self.mail),
            team_members: Arc::new(self.team_members),
            orderings: Arc::new(self.orderings),
        }
    }

    /// [`Mocks::repositories`] with `tasks` as the task repository.
    pub fn repositories_with_tasks(mut self, tasks: MockTaskRepo) -> crate::services::Repositories {
        self.tasks = tasks;
        self.repositories()
    }

    pub fn services(self) -> Services {
        let bus = Arc::new(self.bus);
        let mocks = Self {
            bus: MockEventBus::new(),
            ..self
        };
        let ports = Ports::new(
            mocks.repositories(),
            bus,
            Arc::new(ManualClock::new(NOW)),
            Arc::new(SequentialIds::default()),
        );
        Services::new(
            ports,
            HostInfo {
                hostname: "testhost".into(),
                platform: "linux".into(),
            },
        )
    }
}

/// What a repository's `update` does: run the mutator on a copy and return it.
pub fn apply<T: Clone>(mut record: T, f: Mutator<'_, T>) -> Result<T> {
    f(&mut record)?;
    Ok(record)
}

pub fn project(id: &str) -> Project {
    Project {
        id: id.into(),
        name: "P".into(),
        working_dir: "/work/p".into(),
        description: String::new(),
        created_at: 1_000,
        updated_at: 1_000,
        extra: JsonObject::new(),
    }
}

pub fn task(id: &str, project_id: &str) -> Task {
    Task {
        id: id.into(),
        project_id: project_id.into(),
        parent_id: None,
        title: format!("Task {id}"),
        description: String::new(),
        status: TaskStatus::Todo.into(),
        task_session_statuses: BTreeMap::new(),
        priority: TaskPriority::Medium.into(),
        created_at: 1_000,
        updated_at: 1_000,
        started_at: None,
        completed_at: None,
        initial_prompt: String::new(),
        session_ids: vec![],
        skill_ids: vec![],
        agent_ids: vec![],
        dependencies: vec![],
        reference_task_ids: vec![],
        pinned: None,
        team_member_id: None,
        team_member_ids: None,
        claimed_by: None,
        claim_expires_at: None,
        claim_fencing_token: None,
        extra: JsonObject::new(),
    }
}

pub fn session(id: &str, project_id: &str, task_ids: &[&str]) -> Session {
    Session {
        id: id.into(),
        project_id: project_id.into(),
        task_ids: task_ids.iter().map(|s| s.to_string()).collect(),
        name: format!("Session {id}"),
        agent_id: None,
        env: BTreeMap::new(),
        status: SessionStatus::Working,
        started_at: 1_000,
        last_activity: 1_000,
        completed_at: None,
        hostname: "h".into(),
        platform: "linux".into(),
        events: vec![],
        timeline: vec![],
        docs: vec![],
        metadata: None,
        needs_input: None,
        team_member_id: None,
        team_member_snapshot: None,
        team_member_ids: None,
        team_member_snapshots: None,
        extra: JsonObject::new(),
    }
}

pub fn mail(id: &str, to: Option<&str>, created_at: Millis) -> MailMessage {
    MailMessage {
        id: id.into(),
        project_id: "proj_1".into(),
        from_session_id: "sess_from".into(),
        to_session_id: to.map(str::to_string),
        reply_to_mail_id: None,
        kind: MailMessageType::Query,
        subject: "s".into(),
        body: serde_json::json!({}),
        created_at,
    }
}

/// A shared, mutable record store for mocks whose `get`/`update` must see each other's writes.
#[derive(Clone)]
pub struct Cell<T>(pub Arc<Mutex<T>>);

impl<T: Clone> Cell<T> {
    pub fn new(v: T) -> Self {
        Self(Arc::new(Mutex::new(v)))
    }

    pub fn get(&self) -> T {
        self.0.lock().unwrap().clone()
    }

    pub fn update(&self, f: Mutator<'_, T>) -> Result<T> {
        let mut guard = self.0.lock().unwrap();
        let mut copy = guard.clone();
        f(&mut copy)?;
        *guard = copy.clone();
        Ok(copy)
    }
}
