//! `maestro-load mail`: P sender/receiver session pairs; every receiver long-polls
//! (`GET /api/mail/wait`) while its sender sends it K mails. Wake-up latency = from the send
//! request until the receiver's wait returns the mail. With several instances, a pair's
//! sender and receiver use different ones (wake-ups across instances). Lost = a mail its
//! receiver never got; duplicated = one it got twice.
//!
//! ```text
//! maestro-load mail (--url URL… [--token T] | --server-bin PATH) [--pairs 20] [--mails 10] [--json] [--chart out.svg]
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maestro_client::requests::{NewSession, SendMail, WaitQuery};
use maestro_domain::model::{MailMessageType, SessionStatus};

use crate::common::{Args, Error, Report, Target, ms, new_project};

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let a = Args::parse(args, &["--pairs", "--mails"], &[])?;
    let pairs: usize = a.num("--pairs", 20, 1)?;
    let mails: usize = a.num("--mails", 10, 1)?;
    let mut target = Target::open(&a).await?;
    let clients = target.clients();
    let project = new_project(&clients[0], "mail load").await?;
    let session = |name: String| NewSession {
        project_id: project.id.clone(),
        name: Some(name),
        status: Some(SessionStatus::Working),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for p in 0..pairs {
        let from = clients[0]
            .create_session(&session(format!("sender {p}")))
            .await?
            .id;
        let to = clients[0]
            .create_session(&session(format!("receiver {p}")))
            .await?
            .id;
        ids.push((from, to));
    }
    // When each subject was sent.
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let mut receivers = Vec::new();
    for (p, (_, to)) in ids.iter().enumerate() {
        let c = target.client(p + 1);
        let (to, pid, sent_at) = (to.clone(), project.id.clone(), sent_at.clone());
        receivers.push(tokio::spawn(async move {
            let (mut got, mut lat, mut dup, mut errors) = (HashSet::new(), Vec::new(), 0, 0);
            let mut since = 0i64;
            let deadline = Instant::now() + Duration::from_secs(60);
            while got.len() < mails && Instant::now() < deadline {
                let answer = c
                    .wait_mail(
                        &to,
                        &WaitQuery {
                            project_id: pid.clone(),
                            timeout_ms: Some(10_000),
                            since: Some(since),
                        },
                    )
                    .await;
                let Ok(list) = answer else {
                    errors += 1;
                    continue;
                };
                let now = Instant::now();
                for m in list {
                    since = since.max(m.created_at);
                    if !got.insert(m.id.clone()) {
                        dup += 1;
                        continue;
                    }
                    if let Some(t0) = sent_at.lock().ok().and_then(|s| s.get(&m.subject).copied()) {
                        lat.push(ms(now.duration_since(t0)));
                    }
                }
            }
            (got.len(), lat, dup, errors)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut senders = Vec::new();
    for (p, (from, to)) in ids.iter().enumerate() {
        let c = target.client(p);
        let (from, to, pid, sent_at) = (
            from.clone(),
            to.clone(),
            project.id.clone(),
            sent_at.clone(),
        );
        senders.push(tokio::spawn(async move {
            let mut errors = 0;
            for k in 0..mails {
                let subject = format!("m-{p}-{k}");
                if let Ok(mut s) = sent_at.lock() {
                    s.insert(subject.clone(), Instant::now());
                }
                let r = c
                    .send_mail(&SendMail {
                        project_id: pid.clone(),
                        from_session_id: from.clone(),
                        to_session_id: Some(to.clone()),
                        to_team_member_id: None,
                        reply_to_mail_id: None,
                        kind: MailMessageType::Query,
                        subject,
                        body: None,
                    })
                    .await;
                errors += usize::from(r.is_err());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            errors
        }));
    }
    let mut report = Report::new("mail", "wake-up latency (send → wait returns)");
    for s in senders {
        report.errors += s.await?;
    }
    let mut received = 0;
    for r in receivers {
        let (got, lat, dup, errors) = r.await?;
        received += got;
        report.latencies_ms.extend(lat);
        report.duplicated += dup;
        report.errors += errors;
    }
    report.elapsed = started.elapsed();
    report.operations = pairs * mails;
    report.lost = (pairs * mails).saturating_sub(received);
    report.params.insert("instances", clients.len().into());
    report.params.insert("pairs", pairs.into());
    report.params.insert("mails_per_pair", mails.into());
    target.stop().await;
    report.finish(&a)
}
