//! The fleet simulation: every kind of caller at once, each with its own credential, on one
//! server. Shared by the in-memory/FileSystem run (`crates/maestro-http/tests/fleet.rs`) and
//! the Supabase run through the real binary (`apps/maestro-server/tests/supabase_server.rs`),
//! each providing a [`Target`].
//!
//! Every actor sends a seeded random mix of writes (tasks, mail, timeline entries) and reads
//! to the two projects, all actors concurrently. An oracle ([`matrix::expected`], the same
//! table the access matrix uses) says what every request must get. Afterwards the stores are
//! read back with the server's credential: every acknowledged write is stored exactly once,
//! in the project it was sent to, with the author it was sent with; no refused write is
//! stored; every listing an actor got showed only its own project's records. A failure names
//! the seed; `FLEET_SEED=<n>` replays that interleaving of choices.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::matrix::{Class, Target, Who, api_key, expected, id};

/// One caller of the fleet.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub bearer: String,
    /// How it stands on P (alice's project) and on Q (dave's); `None`: the server credential.
    pub on_p: Option<Who>,
    pub on_q: Option<Who>,
}

/// The two projects and what the actors need of them.
pub struct Fleet {
    pub p: String,
    pub q: String,
    /// The session of each project that every mail goes to and every timeline entry is on.
    pub inbox_p: String,
    pub inbox_q: String,
    pub actors: Vec<Actor>,
}

impl Fleet {
    /// The inbox session of project `project_id` (P's or Q's).
    pub fn inbox_of(&self, project_id: &str) -> &str {
        if project_id == self.p {
            &self.inbox_p
        } else {
            &self.inbox_q
        }
    }

    fn project(&self, which: Which) -> &str {
        match which {
            Which::P => &self.p,
            Which::Q => &self.q,
        }
    }

    fn inbox(&self, which: Which) -> &str {
        match which {
            Which::P => &self.inbox_p,
            Which::Q => &self.inbox_q,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Which {
    P,
    Q,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    CreateTask,
    SendMail,
    Timeline,
    ListTasks,
    ReadInbox,
    /// `GET /api/inbox`: the person's inbox over every project the caller may read.
    PersonInbox,
}

const OPS: [Op; 6] = [
    Op::CreateTask,
    Op::SendMail,
    Op::Timeline,
    Op::ListTasks,
    Op::ReadInbox,
    Op::PersonInbox,
];

/// A small deterministic generator (splitmix64): the same seed, the same choices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The seed of this run: `FLEET_SEED`, else one from the clock (printed either way).
pub fn seed() -> u64 {
    let seed = std::env::var("FLEET_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("fleet simulation seed: {seed} (replay with FLEET_SEED={seed})");
    seed
}

/// P owned by alice (bob viewer, carol editor), Q owned by dave; an inbox session and two
/// agent sessions on P, one of each on Q, an ended session on P; two API keys of P, one of
/// Q, a revoked one of P; and an actor for every kind of caller.
pub async fn setup(srv: &impl Target) -> Fleet {
    let as_user = |name: &str| srv.user_token(name);
    let mk_project = |owner: &'static str, name: &'static str| {
        let token = as_user(owner);
        async move {
            id(&srv
                .send(
                    Some(&token),
                    Method::POST,
                    "/api/projects",
                    Some(json!({"name": name, "workingDir": "/tmp/fleet"})),
                )
                .await
                .ok(201))
        }
    };
    let p = mk_project("alice", "fleet P").await;
    let q = mk_project("dave", "fleet Q").await;
    for (user, role) in [("bob", "viewer"), ("carol", "editor")] {
        srv.send(
            Some(&as_user("alice")),
            Method::POST,
            &format!("/api/projects/{p}/members"),
            Some(json!({"userId": srv.user_id(user), "role": role})),
        )
        .await
        .ok(201);
    }
    let inbox_p = id(&srv.session(&p, &[]).await);
    let inbox_q = id(&srv.session(&q, &[]).await);
    let agent_p1 = id(&srv.session(&p, &[]).await);
    let agent_p2 = id(&srv.session(&p, &[]).await);
    let agent_q = id(&srv.session(&q, &[]).await);
    let ended = id(&srv.session(&p, &[]).await);
    srv.patch(
        &format!("/api/sessions/{ended}"),
        json!({"status": "completed"}),
    )
    .await
    .ok(200);
    // What waits for the person in each project: an agent's question and a mail to them.
    for (project, agent) in [(&p, &agent_p1), (&q, &agent_q)] {
        srv.patch(
            &format!("/api/sessions/{agent}"),
            json!({"needsInput": {"active": true, "message": "Which way?"}}),
        )
        .await
        .ok(200);
        srv.send(
            Some(&srv.server_token()),
            Method::POST,
            "/api/mail",
            Some(json!({"projectId": project, "fromSessionId": agent,
                        "toSessionId": "mobile-user", "type": "query",
                        "subject": "For the person"})),
        )
        .await
        .ok(201);
    }
    let (_, key_p1) = api_key(srv, "alice", &p).await;
    let (_, key_p2) = api_key(srv, "alice", &p).await;
    let (_, key_q) = api_key(srv, "dave", &q).await;
    let (revoked_id, key_revoked) = api_key(srv, "alice", &p).await;
    srv.send(
        Some(&as_user("alice")),
        Method::DELETE,
        &format!("/api/projects/{p}/api-keys/{revoked_id}"),
        None,
    )
    .await
    .ok(200);

    let actor = |name: &str, bearer: String, on_p: Option<Who>, on_q: Option<Who>| Actor {
        name: name.to_string(),
        bearer,
        on_p,
        on_q,
    };
    use Who::*;
    let actors = vec![
        actor("server", srv.server_token(), None, None),
        actor("alice", as_user("alice"), Some(Owner), Some(NonMember)),
        actor("carol", as_user("carol"), Some(Editor), Some(NonMember)),
        actor("bob", as_user("bob"), Some(Viewer), Some(NonMember)),
        actor("dave", as_user("dave"), Some(NonMember), Some(Owner)),
        actor("frank", as_user("frank"), Some(NonMember), Some(NonMember)),
        actor("key-p1", key_p1, Some(KeyHere), Some(KeyElsewhere)),
        actor("key-p2", key_p2, Some(KeyHere), Some(KeyElsewhere)),
        actor("key-q", key_q, Some(KeyElsewhere), Some(KeyHere)),
        actor(
            "session-p1",
            srv.mint(&agent_p1, &p),
            Some(SessionHere),
            Some(SessionElsewhere),
        ),
        actor(
            "session-p2",
            srv.mint(&agent_p2, &p),
            Some(SessionHere),
            Some(SessionElsewhere),
        ),
        actor(
            "session-q",
            srv.mint(&agent_q, &q),
            Some(SessionElsewhere),
            Some(SessionHere),
        ),
        actor(
            "session-ended",
            srv.mint(&ended, &p),
            Some(SessionEnded),
            Some(SessionEnded),
        ),
        actor(
            "key-revoked",
            key_revoked,
            Some(KeyRevoked),
            Some(KeyRevoked),
        ),
    ];
    Fleet {
        p,
        q,
        inbox_p,
        inbox_q,
        actors,
    }
}

/// What one request was, what it got and what it had to get.
#[derive(Debug, Clone)]
struct Outcome {
    actor: String,
    op: Op,
    project: Which,
    /// The unique text the write carried (title, subject, message).
    marker: String,
    status: u16,
    /// `None`: success (2xx) was due.
    due: Option<u16>,
    body: Value,
}

impl Outcome {
    fn acknowledged(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn right(&self) -> bool {
        match self.due {
            None => self.acknowledged(),
            Some(code) => self.status == code,
        }
    }
}

/// Whether `who` may read a project (`None`: the server credential).
pub fn may_read(who: Option<Who>) -> bool {
    who.is_none_or(|w| expected(Class::Read, w).is_none())
}

/// Whether `who` may write a project's tasks, sessions and mail.
pub fn may_write(who: Option<Who>) -> bool {
    who.is_none_or(|w| expected(Class::Write, w).is_none())
}

/// The oracle: what `who` must get for `op` (`None`: success).
fn due(op: Op, who: Option<Who>) -> Option<u16> {
    let who = who?;
    let class = match op {
        Op::CreateTask | Op::SendMail | Op::Timeline => Class::Write,
        Op::ListTasks => Class::ReadList,
        Op::ReadInbox => Class::Read,
        Op::PersonInbox => Class::Authenticated,
    };
    expected(class, who)
}

/// The report of one run.
#[derive(Debug, Default)]
pub struct Report {
    pub requests: usize,
    pub wrong: Vec<String>,
    /// Acknowledged task titles and mail subjects, with their project id: what every socket
    /// of that project must have been told.
    pub acked: Vec<(String, String)>,
}

/// Runs `ops_per_actor` requests per actor, all actors at once, then reads the stores back.
/// Panics with the seed and every wrong outcome.
pub async fn run(srv: &impl Target, fleet: &Fleet, seed: u64, ops_per_actor: usize) -> Report {
    let mut rng = Rng::new(seed);
    // Every choice is made up front from the seed; the actors' requests then race.
    let plans: Vec<Vec<(Op, Which)>> = fleet
        .actors
        .iter()
        .map(|_| {
            (0..ops_per_actor)
                .map(|_| {
                    let op = OPS[rng.below(OPS.len())];
                    let which = if rng.below(2) == 0 {
                        Which::P
                    } else {
                        Which::Q
                    };
                    (op, which)
                })
                .collect()
        })
        .collect();
    // First a burst: every actor sends [`BURST`] mails at once, so that the mail of callers
    // with different rights is stored together (group commit); then the mixed workload.
    let burst = fleet.actors.iter().flat_map(|actor| {
        (0..BURST).map(|n| {
            let which = if (n + actor.name.len()) % 2 == 0 {
                Which::P
            } else {
                Which::Q
            };
            request(srv, fleet, actor, 1000 + n, Op::SendMail, which, seed)
        })
    });
    let mut outcomes: Vec<Outcome> = join_all(burst).await;
    let runs = fleet
        .actors
        .iter()
        .zip(plans)
        .map(|(actor, plan)| act(srv, fleet, actor, plan, seed));
    outcomes.extend(join_all(runs).await.into_iter().flatten());

    let mut report = Report {
        requests: outcomes.len(),
        wrong: Vec::new(),
        acked: outcomes
            .iter()
            .filter(|o| o.acknowledged() && matches!(o.op, Op::CreateTask | Op::SendMail))
            .map(|o| (o.marker.clone(), fleet.project(o.project).to_string()))
            .collect(),
    };
    for o in &outcomes {
        if !o.right() {
            report.wrong.push(format!(
                "{} {:?} on {:?} ({}): got {}, due {}; body {}",
                o.actor,
                o.op,
                o.project,
                o.marker,
                o.status,
                o.due.map_or("2xx".to_string(), |c| c.to_string()),
                o.body
            ));
        }
        if o.op == Op::ListTasks && o.acknowledged() {
            check_listing(fleet, o, &mut report);
        }
        if o.op == Op::PersonInbox && o.acknowledged() {
            check_person_inbox(fleet, o, &mut report);
        }
    }
    read_back(srv, fleet, &outcomes, &prefix(seed), &mut report).await;
    assert!(
        report.wrong.is_empty(),
        "fleet simulation (seed {seed}, {} requests): {} wrong outcomes:\n{}",
        report.requests,
        report.wrong.len(),
        report.wrong.join("\n")
    );
    report
}

/// Mails each actor sends at once in the opening burst.
const BURST: usize = 16;

/// Requests one actor has in flight at once.
const LANES: usize = 3;

/// One actor's plan, on [`LANES`] concurrent lanes.
async fn act(
    srv: &impl Target,
    fleet: &Fleet,
    actor: &Actor,
    plan: Vec<(Op, Which)>,
    seed: u64,
) -> Vec<Outcome> {
    let lanes = (0..LANES).map(|lane| {
        let steps: Vec<(usize, Op, Which)> = plan
            .iter()
            .enumerate()
            .filter(|(n, _)| n % LANES == lane)
            .map(|(n, (op, which))| (n, *op, *which))
            .collect();
        async move {
            let mut out = Vec::with_capacity(steps.len());
            for (n, op, which) in steps {
                out.push(request(srv, fleet, actor, n, op, which, seed).await);
            }
            out
        }
    });
    join_all(lanes).await.into_iter().flatten().collect()
}

async fn request(
    srv: &impl Target,
    fleet: &Fleet,
    actor: &Actor,
    n: usize,
    op: Op,
    which: Which,
    seed: u64,
) -> Outcome {
    let project = fleet.project(which);
    let inbox = fleet.inbox(which);
    let marker = format!("{}{}-{op:?}-{n}", prefix(seed), actor.name);
    let who = match which {
        Which::P => actor.on_p,
        Which::Q => actor.on_q,
    };
    let (method, path, body) = match op {
        Op::CreateTask => (
            Method::POST,
            "/api/tasks".to_string(),
            Some(json!({"projectId": project, "title": marker})),
        ),
        Op::SendMail => (
            Method::POST,
            "/api/mail".to_string(),
            Some(
                json!({"projectId": project, "fromSessionId": sender(&actor.name),
                        "toSessionId": inbox, "type": "status_update", "subject": marker,
                        "body": {"n": n}}),
            ),
        ),
        Op::Timeline => (
            Method::POST,
            format!("/api/sessions/{inbox}/timeline"),
            Some(json!({"message": marker, "type": "progress"})),
        ),
        Op::ListTasks => (Method::GET, format!("/api/tasks?projectId={project}"), None),
        Op::ReadInbox => (
            Method::GET,
            format!("/api/mail/inbox/{inbox}?projectId={project}"),
            None,
        ),
        Op::PersonInbox => (Method::GET, "/api/inbox".to_string(), None),
    };
    let reply = srv.send(Some(&actor.bearer), method, &path, body).await;
    Outcome {
        actor: actor.name.clone(),
        op,
        project: which,
        marker,
        status: reply.status,
        due: due(op, who),
        body: reply.body,
    }
}

/// The start of every marker one run writes.
fn prefix(seed: u64) -> String {
    format!("fleet-{seed}-")
}

/// The mail author an actor sends as.
fn sender(actor: &str) -> String {
    format!("fleet-{actor}")
}

/// A listing shows only records of the project asked for (and nothing to a stranger).
fn check_listing(fleet: &Fleet, o: &Outcome, report: &mut Report) {
    let project = fleet.project(o.project);
    let Some(items) = o.body.as_array() else {
        report
            .wrong
            .push(format!("{}: listing is not an array: {}", o.actor, o.body));
        return;
    };
    for item in items {
        if item["projectId"] != project {
            report.wrong.push(format!(
                "{} listed {} of another project in {:?}",
                o.actor, item["id"], o.project
            ));
        }
    }
}

/// The person's inbox shows every project the actor may read (each has an agent waiting and
/// a mail to the person, from [`setup`]) and nothing of a project it may not.
fn check_person_inbox(fleet: &Fleet, o: &Outcome, report: &mut Report) {
    let Some(actor) = fleet.actors.iter().find(|a| a.name == o.actor) else {
        return;
    };
    for (project, who) in [(&fleet.p, actor.on_p), (&fleet.q, actor.on_q)] {
        let seen = |list: &str| {
            o.body[list]
                .as_array()
                .into_iter()
                .flatten()
                .any(|item| item["projectId"] == **project)
        };
        for list in ["waiting", "mail"] {
            if seen(list) != may_read(who) {
                report.wrong.push(format!(
                    "{}: person inbox {list} {} project {project} (may read: {})",
                    o.actor,
                    if seen(list) { "shows" } else { "lacks" },
                    may_read(who)
                ));
            }
        }
    }
}

/// Reads the stores back with the server's credential and checks every write against what
/// its request got.
async fn read_back(
    srv: &impl Target,
    fleet: &Fleet,
    outcomes: &[Outcome],
    prefix: &str,
    report: &mut Report,
) {
    let server = srv.server_token();
    let mut tasks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut mail: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut timeline: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for which in [Which::P, Which::Q] {
        let project = fleet.project(which).to_string();
        let inbox = fleet.inbox(which);
        let listed = srv
            .send(
                Some(&server),
                Method::GET,
                &format!("/api/tasks?projectId={project}"),
                None,
            )
            .await
            .ok(200);
        for t in listed.as_array().into_iter().flatten() {
            if let Some(title) = t["title"].as_str() {
                tasks
                    .entry(title.to_string())
                    .or_default()
                    .push(t["projectId"].as_str().unwrap_or("").to_string());
            }
        }
        let inboxed = srv
            .send(
                Some(&server),
                Method::GET,
                &format!("/api/mail/inbox/{inbox}?projectId={project}"),
                None,
            )
            .await
            .ok(200);
        for m in inboxed.as_array().into_iter().flatten() {
            if let Some(subject) = m["subject"].as_str() {
                mail.entry(subject.to_string()).or_default().push((
                    m["projectId"].as_str().unwrap_or("").to_string(),
                    m["fromSessionId"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
        let session = srv
            .send(
                Some(&server),
                Method::GET,
                &format!("/api/sessions/{inbox}"),
                None,
            )
            .await
            .ok(200);
        for e in session["timeline"].as_array().into_iter().flatten() {
            if let Some(message) = e["message"].as_str() {
                timeline
                    .entry(message.to_string())
                    .or_default()
                    .push(project.clone());
            }
        }
    }
    let mut seen = BTreeSet::new();
    for o in outcomes {
        let project = fleet.project(o.project).to_string();
        let stored: Vec<String> = match o.op {
            Op::CreateTask => tasks.get(&o.marker).cloned().unwrap_or_default(),
            Op::Timeline => timeline.get(&o.marker).cloned().unwrap_or_default(),
            Op::SendMail => {
                let found = mail.get(&o.marker).cloned().unwrap_or_default();
                for (_, author) in &found {
                    if *author != sender(&o.actor) {
                        report.wrong.push(format!(
                            "mail {} stored with author {author}, sent by {}",
                            o.marker, o.actor
                        ));
                    }
                }
                found.into_iter().map(|(p, _)| p).collect()
            }
            Op::ListTasks | Op::ReadInbox | Op::PersonInbox => continue,
        };
        seen.insert(o.marker.clone());
        if o.acknowledged() {
            if stored != [project.clone()] {
                report.wrong.push(format!(
                    "{} {:?} {} acknowledged ({}) but stored in {stored:?}, not once in {project}",
                    o.actor, o.op, o.marker, o.status
                ));
            }
        } else if !stored.is_empty() {
            report.wrong.push(format!(
                "{} {:?} {} refused ({}) but stored in {stored:?}",
                o.actor, o.op, o.marker, o.status
            ));
        }
    }
    // Nothing stored that no request of this run wrote (e.g. under another marker).
    for title in tasks.keys().chain(mail.keys()).chain(timeline.keys()) {
        if title.starts_with(prefix) && !seen.contains(title) {
            report.wrong.push(format!(
                "{title} is stored but no request of this run wrote it"
            ));
        }
    }
}
