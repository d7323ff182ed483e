//! Contract of the mail long-poll (`MailService::wait`) on an adapter's `MailRepo` and
//! `EventBus`: no lost wake-ups, no duplicates, timeouts answer `[]`.
//!
//! The factory returns a full [`Ports`]; adapters put their mail repository and event bus in
//! it (the other ports may be in-memory).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use maestro_domain::model::{MailMessage, MailMessageType};
use maestro_domain::ports::{InboxQuery, MailRepo};
use maestro_domain::services::{HostInfo, Ports, SendMail, Services, WaitParams};

use crate::fixtures::unique_id;

/// The adapter's mail repository, counting the inbox reads that have returned: a waiter whose
/// first read has returned (empty) can only get later mail through the wake-up path (the bus,
/// or the store's blocking read), so a case sends its mail only then.
struct Watched {
    inner: Arc<dyn MailRepo>,
    reads: tokio::sync::watch::Sender<usize>,
}

#[async_trait::async_trait]
impl MailRepo for Watched {
    async fn create(&self, mail: MailMessage) -> maestro_domain::Result<MailMessage> {
        self.inner.create(mail).await
    }
    async fn create_stamped(&self, mail: MailMessage) -> maestro_domain::Result<MailMessage> {
        self.inner.create_stamped(mail).await
    }
    async fn create_stamped_many(
        &self,
        mails: Vec<MailMessage>,
    ) -> maestro_domain::Result<Vec<maestro_domain::Result<MailMessage>>> {
        self.inner.create_stamped_many(mails).await
    }
    async fn get(&self, id: &str) -> maestro_domain::Result<Option<MailMessage>> {
        self.inner.get(id).await
    }
    async fn delete(&self, id: &str) -> maestro_domain::Result<bool> {
        self.inner.delete(id).await
    }
    async fn inbox(&self, query: &InboxQuery) -> maestro_domain::Result<Vec<MailMessage>> {
        let found = self.inner.inbox(query).await;
        self.reads.send_modify(|n| *n += 1);
        found
    }
    async fn list<'a>(
        &self,
        project_id: Option<&'a str>,
    ) -> maestro_domain::Result<Vec<MailMessage>> {
        self.inner.list(project_id).await
    }
    fn supports_blocking_wait(&self) -> bool {
        self.inner.supports_blocking_wait()
    }
    async fn wait_inbox(
        &self,
        query: &InboxQuery,
        timeout: Duration,
    ) -> maestro_domain::Result<Vec<MailMessage>> {
        self.inner.wait_inbox(query, timeout).await
    }
}

/// `ports` with their mail repository [`Watched`]; the receiver counts returned inbox reads.
fn watched(mut ports: Ports) -> (Ports, tokio::sync::watch::Receiver<usize>) {
    let (reads, counted) = tokio::sync::watch::channel(0);
    ports.mail = Arc::new(Watched {
        inner: ports.mail,
        reads,
    });
    (ports, counted)
}

/// Waits until `n` inbox reads have returned (10 s at most).
async fn reads_returned(counted: &mut tokio::sync::watch::Receiver<usize>, n: usize) {
    tokio::time::timeout(Duration::from_secs(10), counted.wait_for(|r| *r >= n))
        .await
        .expect("the waiters read their inbox")
        .expect("the repository is alive");
}

/// Every case, in order.
pub const ALL_CASES: &[&str] = crate::__mail_wait_cases!(names);

/// A project and its sessions in the adapter's repositories (the service refuses mail and
/// waits for records that do not exist).
async fn seed(ports: &Ports, project: &str, sessions: &[&str]) {
    let now = crate::fixtures::now_ms();
    ports
        .projects
        .create(crate::fixtures::project(project, now))
        .await
        .unwrap();
    for s in sessions {
        ports
            .sessions
            .create(crate::fixtures::session(s, project, now))
            .await
            .unwrap();
    }
}

fn services(ports: Ports) -> Services {
    Services::new(
        ports,
        HostInfo {
            hostname: "testkit".into(),
            platform: "linux".into(),
        },
    )
}

fn direct(project: &str, from: &str, to: &str, subject: &str) -> SendMail {
    SendMail {
        project_id: project.into(),
        from_session_id: from.into(),
        to_session_id: Some(to.into()),
        to_team_member_id: None,
        reply_to_mail_id: None,
        kind: MailMessageType::Notification,
        subject: subject.into(),
        body: None,
    }
}

fn params(project: &str, timeout_ms: u64, since: i64) -> WaitParams {
    WaitParams {
        project_id: Some(project.into()),
        timeout_ms: Some(timeout_ms),
        since: Some(since),
    }
}

/// A mail already in the inbox is returned at once.
pub async fn wait_returns_existing_inbox_at_once(ports: Ports) {
    let (p, a, b) = (unique_id("proj"), unique_id("sess"), unique_id("sess"));
    seed(&ports, &p, &[&a, &b]).await;
    let svc = services(ports);
    svc.mail.send(direct(&p, &a, &b, "hello")).await.unwrap();
    // The wait's timeout (120 s) is far past the case's limit (30 s): only an answer "at
    // once" lets the case pass.
    let got = svc.mail.wait(&b, &params(&p, 120_000, 0)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, "hello");
}

/// A waiter wakes up when a mail for it arrives, well before its timeout.
pub async fn wait_wakes_on_new_mail(ports: Ports) {
    let (p, a, b) = (unique_id("proj"), unique_id("sess"), unique_id("sess"));
    seed(&ports, &p, &[&a, &b]).await;
    let (ports, mut reads) = watched(ports);
    let svc = services(ports);
    let since = maestro_domain::ports::Clock::now_ms(&maestro_domain::ids::SystemClock) - 1;
    let waiter = {
        let (svc, p, b) = (svc.clone(), p.clone(), b.clone());
        tokio::spawn(async move { svc.mail.wait(&b, &params(&p, 120_000, since)).await })
    };
    // The waiter's first read found nothing: the mail can only reach it by waking it.
    reads_returned(&mut reads, 1).await;
    assert!(!waiter.is_finished(), "the waiter returned before any mail");
    svc.mail.send(direct(&p, &a, &b, "wake")).await.unwrap();
    // A guard against a hang below the case's 30 s limit; the wait's own timeout is 120 s.
    let got = tokio::time::timeout(Duration::from_secs(25), waiter)
        .await
        .expect("waiter must wake up on the mail")
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, "wake");
}

/// Mail for somebody else does not wake a waiter; the timeout answers `[]`.
pub async fn wait_times_out_with_empty_list(ports: Ports) {
    let (p, a, b, c) = (
        unique_id("proj"),
        unique_id("sess"),
        unique_id("sess"),
        unique_id("sess"),
    );
    seed(&ports, &p, &[&a, &b, &c]).await;
    let (ports, mut reads) = watched(ports);
    let svc = services(ports);
    let since = maestro_domain::ports::Clock::now_ms(&maestro_domain::ids::SystemClock) - 1;
    let waiter = {
        let (svc, p, b) = (svc.clone(), p.clone(), b.clone());
        tokio::spawn(async move { svc.mail.wait(&b, &params(&p, 3_000, since)).await })
    };
    // The waiter is waiting (its first read found nothing) when the other mail arrives.
    reads_returned(&mut reads, 1).await;
    svc.mail
        .send(direct(&p, &a, &c, "not for b"))
        .await
        .unwrap();
    let got = waiter.await.unwrap().unwrap();
    assert!(got.is_empty(), "got {got:?}");
}

/// 1,000 mails sent concurrently to one session while it re-polls with the last `createdAt`
/// it saw: every mail is received exactly once (no lost wake-ups, no duplicates).
pub async fn no_lost_wakeups_under_1000_concurrent_sends(ports: Ports) {
    const SENDERS: usize = 10;
    const PER_SENDER: usize = 100;
    let (p, b) = (unique_id("proj"), unique_id("sess"));
    seed(&ports, &p, &[&b]).await;
    let svc = services(ports);
    let mut since = maestro_domain::ports::Clock::now_ms(&maestro_domain::ids::SystemClock) - 1;
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (svc, p, b) = (svc.clone(), p.clone(), b.clone());
        senders.push(tokio::spawn(async move {
            let from = format!("sender_{s}");
            for i in 0..PER_SENDER {
                svc.mail
                    .send(direct(&p, &from, &b, &format!("{s}-{i}")))
                    .await
                    .unwrap();
            }
        }));
    }
    let mut seen: HashSet<String> = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    while seen.len() < SENDERS * PER_SENDER && tokio::time::Instant::now() < deadline {
        let batch: Vec<MailMessage> = svc.mail.wait(&b, &params(&p, 2_000, since)).await.unwrap();
        for m in &batch {
            assert!(m.created_at > since, "since is a strict lower bound");
            assert!(seen.insert(m.id.clone()), "mail {} delivered twice", m.id);
            since = since.max(m.created_at);
        }
    }
    for s in senders {
        s.await.unwrap();
    }
    let rest = svc.mail.wait(&b, &params(&p, 1_000, since)).await.unwrap();
    for m in &rest {
        assert!(seen.insert(m.id.clone()), "mail {} delivered twice", m.id);
    }
    assert_eq!(seen.len(), SENDERS * PER_SENDER, "mails were lost");
}

/// Fifty sessions wait at once; each receives exactly its own mail.
pub async fn concurrent_waiters_each_get_their_own_mail(ports: Ports) {
    let p = unique_id("proj");
    let since = maestro_domain::ports::Clock::now_ms(&maestro_domain::ids::SystemClock) - 1;
    let sessions: Vec<String> = (0..50).map(|_| unique_id("sess")).collect();
    let refs: Vec<&str> = sessions.iter().map(String::as_str).collect();
    seed(&ports, &p, &refs).await;
    let (ports, mut reads) = watched(ports);
    let svc = services(ports);
    let mut waiters = Vec::new();
    for s in &sessions {
        let (svc, p, s) = (svc.clone(), p.clone(), s.clone());
        waiters.push(tokio::spawn(async move {
            let got = svc.mail.wait(&s, &params(&p, 20_000, since)).await.unwrap();
            (s, got)
        }));
    }
    // Every waiter's first read found nothing: each mail can only reach it by waking it.
    reads_returned(&mut reads, sessions.len()).await;
    let svc2 = Arc::new(svc);
    for s in &sessions {
        svc2.mail.send(direct(&p, "boss", s, s)).await.unwrap();
    }
    for w in waiters {
        let (s, got) = tokio::time::timeout(Duration::from_secs(15), w)
            .await
            .expect("every waiter wakes")
            .unwrap();
        assert_eq!(got.len(), 1, "{s} got {got:?}");
        assert_eq!(got[0].to_session_id.as_deref(), Some(s.as_str()));
    }
}
