//! `maestro-load fleet`: N agents, each with its own project API key, work at once: every
//! agent creates tasks, mails its project's inbox session, appends to its own session's
//! timeline, and tries one write on a project that is not its own. Every request must get what
//! its key's rights say (2xx on its project, `404` elsewhere); afterwards the stores are read
//! back with the admin credential: every acknowledged write is stored exactly once in the
//! agent's project (mail with the agent as author), and the refused ones nowhere.
//!
//! `--mail-only`: each round is one mail (group-commit throughput with many principals).
//! `--one-principal`: every agent uses the admin's credential instead of its own key (the
//! baseline; no foreign write then).
//!
//! Wrong outcomes (a status the rights did not call for, or a write stored wrongly) are the
//! scenario's check; lost = acknowledged but not stored, duplicated = stored twice.
//!
//! ```text
//! maestro-load fleet (--url URL… [--token T] | --server-bin PATH) [--agents 1000] [--projects 4] [--rounds 3] [--mail-only] [--one-principal] [--json] [--chart out.svg]
//! ```

use std::collections::HashMap;
use std::time::Instant;

use maestro_client::requests::{
    InboxQuery, NewApiKey, NewSession, NewTask, SendMail, SessionTimelineInput, TaskQuery,
};
use maestro_client::{Client, ClientError};
use maestro_domain::model::{MailMessageType, SessionStatus};

use crate::common::{Args, Error, Report, Target, ms, new_project};

/// One agent: its key, its project, its own session.
struct Agent {
    n: usize,
    client: Client,
    project: usize,
    session: String,
}

/// What an agent did, for the read-back.
#[derive(Default)]
struct Done {
    latencies: Vec<f64>,
    /// Transport failures (no status).
    errors: usize,
    /// Statuses the key's rights did not call for.
    wrong: Vec<String>,
    /// Acknowledged writes: (kind, marker, project index).
    acked: Vec<(&'static str, String, usize)>,
    /// Refused writes' markers.
    refused: Vec<String>,
}

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let a = Args::parse(
        args,
        &["--agents", "--projects", "--rounds"],
        &["--mail-only", "--one-principal"],
    )?;
    let mail_only = a.has("--mail-only");
    // Every agent with the admin's credential instead of a key of its own (the baseline the
    // keyed fleet is compared with); the foreign-project write is skipped then.
    let one_principal = a.has("--one-principal");
    let agents_n: usize = a.num("--agents", 1000, 1)?;
    let projects_n: usize = a.num("--projects", 4, 2)?;
    let rounds: usize = a.num("--rounds", 3, 1)?;
    let mut target = Target::open(&a).await?;
    let admin = target.clients()[0].clone();
    let instances = target.clients().len();

    // Projects, each with an inbox session; an agent session and a key per agent.
    let mut projects = Vec::new();
    let mut inboxes = Vec::new();
    for p in 0..projects_n {
        let project = new_project(&admin, &format!("fleet {p}")).await?;
        inboxes.push(
            admin
                .create_session(&session(&project.id, "inbox"))
                .await?
                .id,
        );
        projects.push(project.id);
    }
    let mut agents = Vec::with_capacity(agents_n);
    for n in 0..agents_n {
        let project = n % projects_n;
        let pid = &projects[project];
        let key = if one_principal {
            admin.token().map(str::to_string)
        } else {
            let created = admin
                .create_api_key(
                    pid,
                    &NewApiKey {
                        name: Some(format!("agent {n}")),
                        team_member_id: None,
                    },
                )
                .await?;
            Some(created.key)
        };
        let own = admin
            .create_session(&session(pid, &format!("agent {n}")))
            .await?
            .id;
        agents.push(Agent {
            n,
            client: target.client(n).with_token(key),
            project,
            session: own,
        });
    }

    let started = Instant::now();
    let runs = agents.iter().map(|agent| {
        let (projects, inboxes) = (&projects, &inboxes);
        async move { work(agent, projects, inboxes, rounds, mail_only, one_principal).await }
    });
    let done = futures_util::future::join_all(runs).await;
    let elapsed = started.elapsed();

    let mut report = Report::new("fleet", "request latency (each agent with its own key)");
    let mut wrong: Vec<String> = Vec::new();
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for d in done {
        report.latencies_ms.extend(d.latencies);
        report.errors += d.errors;
        wrong.extend(d.wrong);
        acked.extend(d.acked);
        refused.extend(d.refused);
    }
    report.operations = report.latencies_ms.len();
    report.elapsed = elapsed;

    // Read back everything the fleet wrote, as the admin.
    let mut stored: HashMap<String, Vec<usize>> = HashMap::new();
    for (p, pid) in projects.iter().enumerate() {
        let tasks = admin
            .list_tasks(&TaskQuery {
                project_id: Some(pid.clone()),
                ..Default::default()
            })
            .await?;
        for t in tasks {
            stored.entry(t.title).or_default().push(p);
        }
        let mail = admin
            .inbox(
                &inboxes[p],
                &InboxQuery {
                    project_id: pid.clone(),
                    kind: None,
                    since: None,
                },
            )
            .await?;
        for m in mail {
            if !m
                .subject
                .starts_with(&format!("fleet-{}-", m.from_session_id))
            {
                wrong.push(format!(
                    "mail {} stored with author {}",
                    m.subject, m.from_session_id
                ));
            }
            stored.entry(m.subject).or_default().push(p);
        }
    }
    for agent in &agents {
        let s = admin.get_session(&agent.session).await?;
        for e in s.timeline {
            if let Some(msg) = e.message {
                stored.entry(msg).or_default().push(agent.project);
            }
        }
    }
    for (_, marker, project) in &acked {
        match stored.get(marker).map(Vec::as_slice) {
            None | Some([]) => report.lost += 1,
            Some([p]) if p == project => {}
            Some([_]) => wrong.push(format!("{marker} stored in another project")),
            Some(_) => report.duplicated += 1,
        }
    }
    for marker in &refused {
        if stored.contains_key(marker) {
            wrong.push(format!("{marker} was refused but is stored"));
        }
    }

    report.checks.push((
        "every request got what its key's rights say",
        wrong.is_empty(),
    ));
    report.params.insert("instances", instances.into());
    report.params.insert("agents", agents_n.into());
    report.params.insert("projects", projects_n.into());
    report.params.insert("rounds", rounds.into());
    report.params.insert("mail_only", mail_only.into());
    report.params.insert("one_principal", one_principal.into());
    report.extra.insert("wrong_outcomes", wrong.len().into());
    report
        .extra
        .insert("writes_acknowledged", acked.len().into());
    report.extra.insert("writes_refused", refused.len().into());
    if !wrong.is_empty() {
        report.extra.insert(
            "first_wrong_outcomes",
            wrong.iter().take(10).cloned().collect::<Vec<_>>().into(),
        );
    }
    target.stop().await;
    report.finish(&a)
}

fn session(project_id: &str, name: &str) -> NewSession {
    NewSession {
        project_id: project_id.to_string(),
        name: Some(name.to_string()),
        status: Some(SessionStatus::Working),
        ..Default::default()
    }
}

/// One agent's rounds: a task, a mail and a timeline entry on its project, and a task on
/// the next project (which its key may not see: `404`).
async fn work(
    agent: &Agent,
    projects: &[String],
    inboxes: &[String],
    rounds: usize,
    mail_only: bool,
    one_principal: bool,
) -> Done {
    let mut d = Done::default();
    let me = format!("agent{}", agent.n);
    let own = &projects[agent.project];
    let foreign = (agent.project + 1) % projects.len();
    for r in 0..rounds {
        let marker = |kind: &str| format!("fleet-{me}-{kind}-{r}");
        let m = marker("mail");
        let outcome = timed(
            &mut d,
            agent.client.send_mail(&SendMail {
                project_id: own.clone(),
                from_session_id: me.clone(),
                to_session_id: Some(inboxes[agent.project].clone()),
                to_team_member_id: None,
                reply_to_mail_id: None,
                kind: MailMessageType::StatusUpdate,
                subject: m.clone(),
                body: None,
            }),
        )
        .await;
        check(&mut d, "mail", m, agent.project, outcome, None);
        if mail_only {
            continue;
        }

        let t = marker("task");
        let outcome = timed(&mut d, agent.client.create_task(&NewTask::new(own, &t))).await;
        check(&mut d, "task", t, agent.project, outcome, None);

        let e = marker("timeline");
        let outcome = timed(
            &mut d,
            agent.client.add_session_timeline(
                &agent.session,
                &SessionTimelineInput {
                    message: e.clone(),
                    kind: Some("progress".into()),
                    task_id: None,
                    metadata: None,
                },
            ),
        )
        .await;
        check(&mut d, "timeline", e, agent.project, outcome, None);
        if one_principal {
            continue;
        }

        let f = marker("foreign");
        let outcome = timed(
            &mut d,
            agent
                .client
                .create_task(&NewTask::new(&projects[foreign], &f)),
        )
        .await;
        check(&mut d, "task", f, foreign, outcome, Some(404));
    }
    d
}

async fn timed<T>(
    d: &mut Done,
    call: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<(), Option<u16>> {
    let t0 = Instant::now();
    let r = call.await;
    d.latencies.push(ms(t0.elapsed()));
    match r {
        Ok(_) => Ok(()),
        Err(e) => Err(e.status()),
    }
}

/// Records one write's outcome against `due` (`None`: success).
fn check(
    d: &mut Done,
    kind: &'static str,
    marker: String,
    project: usize,
    outcome: Result<(), Option<u16>>,
    due: Option<u16>,
) {
    match (outcome, due) {
        (Ok(()), None) => d.acked.push((kind, marker, project)),
        (Err(Some(s)), Some(want)) if s == want => d.refused.push(marker),
        // No answer: the write may or may not be stored; counted as an error only.
        (Err(None), _) => d.errors += 1,
        (Ok(()), Some(want)) => {
            d.wrong.push(format!("{marker}: stored, due {want}"));
            d.acked.push((kind, marker, project));
        }
        (Err(Some(s)), _) => {
            d.wrong.push(format!(
                "{marker}: got {s}, due {}",
                due.map_or("2xx".into(), |w| w.to_string())
            ));
            d.refused.push(marker);
        }
    }
}
