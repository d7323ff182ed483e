use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::events::{ModalShown, NeedsInputNotice};
use crate::ids::ManualClock;
use crate::model::{ApiKey, MailMessage, MailMessageType, NeedsInput, ProjectMember, ProjectRole};
use crate::ports::{MockApiKeyRepo, MockMemberRepo, MockPushSender, MockSessionRepo};
use crate::services::testing::{NOW, session};

/// Subscriptions kept in a map (the repository's contract is tested on the adapters).
#[derive(Default)]
struct Subs(Mutex<BTreeMap<String, PushSubscription>>);

#[async_trait]
impl PushSubscriptionRepo for Subs {
    async fn put(&self, sub: PushSubscription) -> Result<PushSubscription> {
        self.0.lock().unwrap().insert(sub.id.clone(), sub.clone());
        Ok(sub)
    }
    async fn get(&self, id: &str) -> Result<Option<PushSubscription>> {
        Ok(self.0.lock().unwrap().get(id).cloned())
    }
    async fn list(&self) -> Result<Vec<PushSubscription>> {
        Ok(self.0.lock().unwrap().values().cloned().collect())
    }
    async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self.0.lock().unwrap().remove(id).is_some())
    }
}

/// What the mock sender was asked to send: (endpoint, payload).
type Sent = Arc<Mutex<Vec<(String, Value)>>>;

struct Fixture {
    service: PushService,
    subs: Arc<Subs>,
    sent: Sent,
    dispatcher: Option<PushDispatcher>,
    clock: Arc<ManualClock>,
}

fn keys() -> PushKeys {
    let mut point = vec![4u8];
    point.extend([7u8; 64]);
    PushKeys {
        p256dh: URL_SAFE_NO_PAD.encode(point),
        auth: URL_SAFE_NO_PAD.encode([9u8; 16]),
    }
}

fn fixture_with(
    answers: Vec<PushDelivery>,
    members: Option<MockMemberRepo>,
    api_keys: Option<MockApiKeyRepo>,
) -> Fixture {
    let sent: Sent = Arc::default();
    let answers = Arc::new(Mutex::new(answers));
    let mut sender = MockPushSender::new();
    sender
        .expect_public_key()
        .return_const("BPUBLIC".to_string());
    sender
        .expect_check_endpoint()
        .returning(|e| match e.starts_with("https://") {
            true => Ok(()),
            false => Err(DomainError::invalid_field(
                "endpoint",
                "endpoint must be https",
            )),
        });
    let log = sent.clone();
    sender.expect_send().returning(move |sub, msg| {
        log.lock().unwrap().push((
            sub.endpoint.clone(),
            serde_json::from_slice(&msg.payload).unwrap(),
        ));
        let mut a = answers.lock().unwrap();
        if a.is_empty() {
            PushDelivery::Delivered
        } else {
            a.remove(0)
        }
    });
    let mut sessions = MockSessionRepo::new();
    sessions.expect_get().returning(|id| {
        let mut s = session(id, "p1", &[]);
        s.name = format!("agent {id}");
        s.needs_input = Some(NeedsInput {
            active: true,
            message: Some("Which way?".into()),
            since: Some(NOW),
            options: Some(vec!["Left".into(), "Right".into()]),
        });
        Ok(Some(s))
    });
    let subs = Arc::new(Subs::default());
    let clock = Arc::new(ManualClock::new(NOW));
    let (service, dispatcher) = PushService::new(
        PushPorts {
            subscriptions: subs.clone(),
            sender: Arc::new(sender),
            sessions: Arc::new(sessions),
            members: members.map(|m| Arc::new(m) as Arc<dyn MemberRepo>),
            api_keys: api_keys.map(|k| Arc::new(k) as Arc<dyn ApiKeyRepo>),
            clock: clock.clone(),
        },
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        },
    );
    Fixture {
        service,
        subs,
        sent,
        dispatcher: Some(dispatcher),
        clock,
    }
}

fn fixture() -> Fixture {
    fixture_with(Vec::new(), None, None)
}

impl Fixture {
    async fn subscribe(&self, caller: &Principal, endpoint: &str) -> PushSubscription {
        self.service
            .subscribe(
                caller,
                NewPushSubscription {
                    endpoint: Some(endpoint.into()),
                    keys: Some(keys()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .0
    }

    /// Offers `events`, runs the dispatcher until it has handled them, and answers what was
    /// sent.
    async fn push(&mut self, events: &[DomainEvent]) -> Vec<(String, Value)> {
        let before = self.service.stats().handled.load(Ordering::SeqCst);
        let offered_before = self.service.stats().offered.load(Ordering::SeqCst);
        for e in events {
            self.service.offer(e);
        }
        let offered = self.service.stats().offered.load(Ordering::SeqCst) - offered_before;
        if let Some(d) = self.dispatcher.take() {
            tokio::spawn(d.run());
        }
        while self.service.stats().handled.load(Ordering::SeqCst) < before + offered {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

fn needs_input(session_id: &str, project_id: &str) -> DomainEvent {
    DomainEvent::NotifyNeedsInput(NeedsInputNotice {
        session_id: session_id.into(),
        name: format!("agent {session_id}"),
        message: Some("Which way?".into()),
        project_id: project_id.into(),
    })
}

fn mail_to(to: Option<&str>) -> DomainEvent {
    DomainEvent::MailReceived(MailMessage {
        id: "mail_1".into(),
        project_id: "p1".into(),
        from_session_id: "s9".into(),
        to_session_id: to.map(str::to_string),
        reply_to_mail_id: None,
        kind: MailMessageType::Query,
        subject: "Lunch?".into(),
        body: serde_json::json!({}),
        created_at: NOW,
    })
}

#[tokio::test]
async fn needs_input_is_pushed_with_its_options_as_actions() {
    let mut fx = fixture();
    fx.subscribe(&Principal::Local, "https://push.example/a")
        .await;
    let sent = fx.push(&[needs_input("s1", "p1")]).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let p = &sent[0].1;
    assert_eq!(p["kind"], "needs_input");
    assert_eq!(p["title"], "agent s1 needs input");
    assert_eq!(p["body"], "Which way?");
    assert_eq!(p["tag"], "session:s1");
    assert_eq!(p["options"], serde_json::json!(["Left", "Right"]));
    assert_eq!(p["actions"][0]["action"], "answer:0");
    assert_eq!(p["actions"][0]["title"], "Left");
    assert_eq!(p["actions"][1]["action"], "reply");
}

#[tokio::test]
async fn only_the_persons_mail_and_broadcasts_are_pushed() {
    let mut fx = fixture();
    fx.subscribe(&Principal::Local, "https://push.example/a")
        .await;
    assert!(fx.push(&[mail_to(Some("s2"))]).await.is_empty());
    let sent = fx.push(&[mail_to(Some(PHONE_SENDER))]).await;
    assert_eq!(sent[0].1["title"], "Mail from agent s9");
    let sent = fx.push(&[mail_to(None)]).await;
    assert_eq!(sent[0].1["title"], "agent s9 to everyone");
    let progress = DomainEvent::SessionModalClosed(crate::events::ModalClosed {
        session_id: "s1".into(),
        modal_id: "m".into(),
        timestamp: NOW,
        project_id: "p1".into(),
    });
    assert!(fx.push(&[progress]).await.is_empty());
}

#[tokio::test]
async fn a_storm_for_one_session_collapses_to_its_newest_note() {
    let mut fx = fixture();
    fx.subscribe(&Principal::Local, "https://push.example/a")
        .await;
    let mut storm: Vec<DomainEvent> = (0..50).map(|_| needs_input("s1", "p1")).collect();
    storm.push(DomainEvent::SessionModal(ModalShown {
        session_id: "s1".into(),
        modal_id: "m1".into(),
        title: "Deploy?".into(),
        html: "<p>ok?</p>".into(),
        file_path: "/tmp/m1.html".into(),
        timestamp: NOW,
        project_id: "p1".into(),
    }));
    // Queued before the dispatcher runs: one batch, one note per tag.
    let sent = fx.push(&storm).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1["kind"], "modal");
    assert_eq!(sent[0].1["modalId"], "m1");
    assert_eq!(sent[0].1["actions"][0]["action"], "approve");
}

#[tokio::test]
async fn a_device_hears_only_of_projects_its_owner_may_read_now() {
    let mut members = MockMemberRepo::new();
    members.expect_get().returning(|project, user| {
        Ok(
            (project == "p1" && user == "u-member").then(|| ProjectMember {
                project_id: project.into(),
                user_id: user.into(),
                role: ProjectRole::Viewer,
                added_at: NOW,
                email: None,
            }),
        )
    });
    let mut keys = MockApiKeyRepo::new();
    keys.expect_get().returning(|project, id| {
        Ok((project == "p1" && id == "ak_live").then(|| ApiKey {
            id: id.into(),
            project_id: project.into(),
            name: "k".into(),
            team_member_id: None,
            hint: "mak1…".into(),
            created_by: None,
            created_at: NOW,
            secret_hash: "0".repeat(64),
        }))
    });
    let mut fx = fixture_with(Vec::new(), Some(members), Some(keys));
    let user = |id: &str| Principal::User {
        id: id.into(),
        email: None,
        access_token: crate::ports::AccessToken("t".into()),
        expires_at: None,
    };
    let key = |id: &str, project: &str| Principal::ApiKey {
        key_id: id.into(),
        project_id: project.into(),
        team_member_id: None,
    };
    fx.subscribe(&user("u-member"), "https://push.example/member")
        .await;
    fx.subscribe(&user("u-removed"), "https://push.example/removed")
        .await;
    fx.subscribe(&key("ak_live", "p1"), "https://push.example/live-key")
        .await;
    fx.subscribe(&key("ak_revoked", "p1"), "https://push.example/revoked-key")
        .await;
    fx.subscribe(&key("ak_live", "p2"), "https://push.example/other-project")
        .await;
    let mut got: Vec<String> = fx
        .push(&[needs_input("s1", "p1")])
        .await
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "https://push.example/live-key",
            "https://push.example/member"
        ]
    );
}

#[tokio::test]
async fn muted_projects_and_quiet_hours_are_respected() {
    let mut fx = fixture();
    let input = |endpoint: &str| NewPushSubscription {
        endpoint: Some(endpoint.into()),
        keys: Some(keys()),
        ..Default::default()
    };
    let muted = NewPushSubscription {
        muted_projects: Some(vec!["p1".into()]),
        ..input("https://push.example/muted")
    };
    fx.service
        .subscribe(&Principal::Local, muted)
        .await
        .unwrap();
    // NOW is 10:04 UTC; 10:00–11:00 in UTC+0 is quiet.
    let quiet = NewPushSubscription {
        quiet_hours: Some(QuietHours {
            start: "10:00".into(),
            end: "11:00".into(),
            utc_offset_minutes: 0,
        }),
        ..input("https://push.example/quiet")
    };
    fx.service
        .subscribe(&Principal::Local, quiet)
        .await
        .unwrap();
    assert!(fx.push(&[needs_input("s1", "p1")]).await.is_empty());
    fx.clock.advance(3_600_000);
    let sent = fx.push(&[needs_input("s1", "p1")]).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "https://push.example/quiet");
    // The muted device still hears of other projects.
    let sent = fx.push(&[needs_input("s1", "p2")]).await;
    assert_eq!(sent.len(), 2);
}

#[tokio::test]
async fn gone_drops_the_subscription_and_failures_are_retried() {
    let mut fx = fixture_with(vec![PushDelivery::Gone], None, None);
    let sub = fx
        .subscribe(&Principal::Local, "https://push.example/a")
        .await;
    fx.push(&[needs_input("s1", "p1")]).await;
    assert!(fx.subs.get(&sub.id).await.unwrap().is_none());
    assert_eq!(fx.service.stats().gone.load(Ordering::SeqCst), 1);

    let mut fx = fixture_with(
        vec![
            PushDelivery::Retry {
                after: None,
                reason: "503".into(),
            },
            PushDelivery::Retry {
                after: Some(Duration::from_millis(2)),
                reason: "429".into(),
            },
        ],
        None,
        None,
    );
    fx.subscribe(&Principal::Local, "https://push.example/a")
        .await;
    fx.push(&[needs_input("s1", "p1")]).await;
    let stats = fx.service.stats();
    while stats.delivered.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(stats.retried.load(Ordering::SeqCst), 2);
    assert_eq!(fx.sent.lock().unwrap().len(), 2, "the two retries");
}

#[tokio::test]
async fn subscriptions_are_validated_and_belong_to_their_caller() {
    let fx = fixture();
    let bad = |e: Option<&str>, k: Option<PushKeys>| NewPushSubscription {
        endpoint: e.map(str::to_string),
        keys: k,
        ..Default::default()
    };
    let short = PushKeys {
        auth: URL_SAFE_NO_PAD.encode([1u8; 8]),
        ..keys()
    };
    for (input, field) in [
        (bad(None, Some(keys())), "endpoint"),
        (bad(Some("http://push.example/x"), Some(keys())), "endpoint"),
        (bad(Some("https://push.example/x"), None), "keys"),
        (
            bad(Some("https://push.example/x"), Some(short)),
            "keys.auth",
        ),
    ] {
        let err = fx
            .service
            .subscribe(&Principal::Local, input)
            .await
            .unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains(field), "{field}: {text}");
    }
    let a = Principal::Session {
        session_id: "s1".into(),
        project_id: "p1".into(),
    };
    let b = Principal::Session {
        session_id: "s2".into(),
        project_id: "p1".into(),
    };
    let (sub, created) = fx
        .service
        .subscribe(&a, bad(Some("https://push.example/a"), Some(keys())))
        .await
        .unwrap();
    assert!(created);
    let (_, created) = fx
        .service
        .subscribe(&a, bad(Some("https://push.example/a"), Some(keys())))
        .await
        .unwrap();
    assert!(!created, "the same device again replaces its record");
    assert_eq!(fx.service.list(&a).await.unwrap(), vec![sub.clone()]);
    assert!(fx.service.list(&b).await.unwrap().is_empty());
    assert!(!fx.service.unsubscribe(&b, &sub.endpoint).await.unwrap());
    assert_eq!(
        fx.service.list(&a).await.unwrap(),
        vec![sub.clone()],
        "not b's to remove"
    );
    assert!(fx.service.unsubscribe(&a, &sub.endpoint).await.unwrap());
    assert!(fx.service.list(&a).await.unwrap().is_empty());
    assert!(
        !fx.service.unsubscribe(&a, &sub.endpoint).await.unwrap(),
        "idempotent"
    );
}
