use super::*;
use crate::model::Session;
use crate::ports::BusEvent;
use crate::services::testing::*;
use serde_json::json;
use std::sync::Mutex;

fn send(to: Option<&str>, member: Option<&str>) -> SendMail {
    SendMail {
        project_id: "proj_1".into(),
        from_session_id: "sess_from".into(),
        to_session_id: to.map(str::to_string),
        to_team_member_id: member.map(str::to_string),
        reply_to_mail_id: None,
        kind: MailMessageType::Directive,
        subject: "Do it".into(),
        body: Some(json!({"details": "x"})),
    }
}

#[tokio::test]
async fn send_without_recipient_is_a_broadcast() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.mail
        .expect_create_stamped_many()
        .returning(|v| Ok(v.into_iter().map(Ok).collect()));
    let events = m.capture_events();
    let out = m.services().mail.send(send(None, None)).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to_session_id, None);
    assert_eq!(out[0].reply_to_mail_id, None);
    assert_eq!(events.names(), ["mail:received"]);
}

#[tokio::test]
async fn created_at_is_strictly_increasing_within_one_millisecond() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.mail
        .expect_create_stamped_many()
        .returning(|v| Ok(v.into_iter().map(Ok).collect()));
    m.capture_events();
    let svc = m.services();
    let a = svc.mail.send(send(Some("s1"), None)).await.unwrap();
    let b = svc.mail.send(send(Some("s1"), None)).await.unwrap();
    assert_eq!(a[0].created_at, NOW);
    assert_eq!(b[0].created_at, NOW + 1);
}

#[tokio::test]
async fn team_member_routing_matches_metadata_and_sends_one_per_session() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.sessions.expect_list().returning(|_| {
        let mut a = session("sess_a", "proj_1", &[]);
        a.metadata = Some(json!({"teamMemberId": "tm_x"}).as_object().unwrap().clone());
        let mut b = session("sess_b", "proj_1", &[]);
        b.metadata = Some(
            json!({"teamMemberIds": ["tm_y", "tm_x"]})
                .as_object()
                .unwrap()
                .clone(),
        );
        let c: Session = session("sess_c", "proj_1", &[]);
        Ok(vec![a, b, c])
    });
    m.mail
        .expect_create_stamped_many()
        .returning(|v| Ok(v.into_iter().map(Ok).collect()));
    let events = m.capture_events();
    let out = m
        .services()
        .mail
        .send(send(None, Some("tm_x")))
        .await
        .unwrap();
    let to: Vec<_> = out
        .iter()
        .map(|x| x.to_session_id.clone().unwrap())
        .collect();
    assert_eq!(to, ["sess_a", "sess_b"]);
    assert_eq!(events.names(), ["mail:received", "mail:received"]);
}

#[tokio::test]
async fn team_member_without_active_session_is_not_found() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.sessions.expect_list().returning(|_| Ok(vec![]));
    m.mail.expect_create_stamped_many().never();
    let err = m
        .services()
        .mail
        .send(send(None, Some("tm_x")))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Active session for team member with id 'tm_x' not found"
    );
}

#[tokio::test]
async fn subject_and_ids_are_validated() {
    let m = Mocks::new();
    let svc = m.services();
    let mut bad = send(None, None);
    bad.subject = "x".repeat(501);
    assert_eq!(
        svc.mail.send(bad).await.unwrap_err().code(),
        "VALIDATION_ERROR"
    );
    let mut bad = send(None, None);
    bad.from_session_id = "../x".into();
    assert_eq!(
        svc.mail.send(bad).await.unwrap_err().code(),
        "VALIDATION_ERROR"
    );
}

#[tokio::test]
async fn inbox_without_project_is_empty_and_since_zero_means_all() {
    let mut m = Mocks::new();
    m.mail
        .expect_inbox()
        .withf(|q| q.since.is_none() && q.project_id == "proj_1")
        .times(1)
        .returning(|_| Ok(vec![mail("m1", Some("s1"), 5)]));
    let svc = m.services();
    assert!(
        svc.mail
            .inbox("s1", &InboxParams::default())
            .await
            .unwrap()
            .is_empty()
    );
    let out = svc
        .mail
        .inbox(
            "s1",
            &InboxParams {
                project_id: Some("proj_1".into()),
                since: Some(0),
                kind: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
}

fn wait_params(timeout: u64) -> WaitParams {
    WaitParams {
        project_id: Some("proj_1".into()),
        timeout_ms: Some(timeout),
        since: Some(100),
    }
}

#[tokio::test]
async fn wait_returns_existing_inbox_immediately() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.bus
        .expect_subscribe()
        .returning(|| Box::pin(futures_util::stream::pending()));
    m.mail
        .expect_inbox()
        .returning(|_| Ok(vec![mail("m1", Some("s1"), 101)]));
    let out = m
        .services()
        .mail
        .wait("s1", &wait_params(1_000))
        .await
        .unwrap();
    assert_eq!(out[0].id, "m1");
}

#[tokio::test(start_paused = true)]
async fn wait_times_out_with_empty_list() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.bus
        .expect_subscribe()
        .returning(|| Box::pin(futures_util::stream::pending()));
    m.mail.expect_inbox().returning(|_| Ok(vec![]));
    m.mail.expect_supports_blocking_wait().returning(|| false);
    let out = m
        .services()
        .mail
        .wait("s1", &wait_params(5_000))
        .await
        .unwrap();
    assert!(out.is_empty());
}

#[tokio::test]
async fn wait_subscribes_before_reading_so_a_racing_mail_is_not_missed() {
    // The mail arrives between subscribe and the first read: the first read misses it,
    // but its event is already in the stream, and the re-read finds it.
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.mail.expect_supports_blocking_wait().returning(|| false);
    let order = Arc::new(Mutex::new(Vec::<&str>::new()));
    let o1 = order.clone();
    m.bus.expect_subscribe().returning(move || {
        o1.lock().unwrap().push("subscribe");
        let event = DomainEvent::MailReceived(mail("m_race", Some("s1"), 150));
        Box::pin(
            futures_util::stream::iter(vec![BusMessage::Event(Arc::new(BusEvent::unlogged(
                event,
            )))])
            .chain(futures_util::stream::pending()),
        )
    });
    let o2 = order.clone();
    let calls = Arc::new(Mutex::new(0));
    m.mail.expect_inbox().returning(move |_| {
        o2.lock().unwrap().push("read");
        let mut n = calls.lock().unwrap();
        *n += 1;
        Ok(if *n == 1 {
            vec![]
        } else {
            vec![mail("m_race", Some("s1"), 150)]
        })
    });
    let out = m
        .services()
        .mail
        .wait("s1", &wait_params(1_000))
        .await
        .unwrap();
    assert_eq!(out[0].id, "m_race");
    assert_eq!(order.lock().unwrap()[..2], ["subscribe", "read"]);
}

#[tokio::test]
async fn wait_ignores_mail_for_others_and_own_broadcasts() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.mail.expect_supports_blocking_wait().returning(|| false);
    m.bus.expect_subscribe().returning(|| {
        let other = DomainEvent::MailReceived(mail("m_other", Some("s2"), 150));
        let mut own = mail("m_own", None, 151);
        own.from_session_id = "s1".into();
        Box::pin(
            futures_util::stream::iter(vec![
                BusMessage::Event(Arc::new(BusEvent::unlogged(other))),
                BusMessage::Event(Arc::new(BusEvent::unlogged(DomainEvent::MailReceived(own)))),
            ])
            .chain(futures_util::stream::pending()),
        )
    });
    m.mail.expect_inbox().times(1).returning(|_| Ok(vec![]));
    let svc = m.services();
    let out = tokio::time::timeout(
        Duration::from_millis(1_500),
        svc.mail.wait("s1", &wait_params(1_000)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(out.is_empty());
}

#[tokio::test]
async fn wait_answers_empty_on_shutdown() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.mail.expect_supports_blocking_wait().returning(|| false);
    m.bus
        .expect_subscribe()
        .returning(|| Box::pin(futures_util::stream::pending()));
    m.mail.expect_inbox().returning(|_| Ok(vec![]));
    let svc = m.services();
    let waiter = {
        let svc = svc.clone();
        tokio::spawn(async move { svc.mail.wait("s1", &wait_params(120_000)).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    svc.begin_shutdown();
    let out = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(out.is_empty());
}

#[tokio::test]
async fn wait_uses_the_repository_blocking_read_when_it_has_one() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.bus
        .expect_subscribe()
        .returning(|| Box::pin(futures_util::stream::pending()));
    m.mail.expect_inbox().times(1).returning(|_| Ok(vec![]));
    m.mail.expect_supports_blocking_wait().returning(|| true);
    m.mail
        .expect_wait_inbox()
        .withf(|q, t| q.since == Some(100) && *t == Duration::from_millis(1_000))
        .times(1)
        .returning(|_, _| Ok(vec![mail("m_remote", Some("s1"), 101)]));
    let out = m
        .services()
        .mail
        .wait("s1", &wait_params(1_000))
        .await
        .unwrap();
    assert_eq!(out[0].id, "m_remote");
}

#[tokio::test]
async fn pending_waits_per_session_are_capped_and_released() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.bus
        .expect_subscribe()
        .returning(|| Box::pin(futures_util::stream::pending()));
    m.mail.expect_inbox().returning(|_| Ok(vec![]));
    m.mail.expect_supports_blocking_wait().returning(|| false);
    let svc = m.services();
    let mut waiters = Vec::new();
    for _ in 0..MAX_WAITS_PER_SESSION {
        let svc = svc.clone();
        waiters.push(tokio::spawn(async move {
            svc.mail.wait("s1", &wait_params(120_000)).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = svc.mail.wait("s1", &wait_params(1_000)).await.unwrap_err();
    assert_eq!(err.code(), "TOO_MANY_REQUESTS");
    // Another session is not affected.
    let other = tokio::time::timeout(
        Duration::from_millis(50),
        svc.mail.wait("s2", &wait_params(1_000)),
    )
    .await;
    assert!(other.is_err(), "s2's wait is pending, not refused");
    // A cancelled wait frees its place.
    waiters.pop().unwrap().abort();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let again = tokio::time::timeout(
        Duration::from_millis(50),
        svc.mail.wait("s1", &wait_params(1_000)),
    )
    .await;
    assert!(again.is_err(), "a freed place accepts a new wait");
    for w in waiters {
        w.abort();
    }
}

#[tokio::test]
async fn mail_for_unknown_projects_or_sessions_is_refused_and_not_stored() {
    let mut m = Mocks::new();
    m.projects
        .expect_get()
        .returning(|id| Ok((id == "proj_1").then(|| project(id))));
    m.sessions.expect_get().returning(|id| {
        Ok(match id {
            "s1" => Some(session(id, "proj_1", &[])),
            "elsewhere" => Some(session(id, "proj_2", &[])),
            _ => None,
        })
    });
    m.mail.expect_create_stamped_many().never();
    m.bus.expect_publish().never();
    let svc = m.services();
    let mut unknown_project = send(Some("s1"), None);
    unknown_project.project_id = "proj_nope".into();
    let e = svc.mail.send(unknown_project).await.unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("NOT_FOUND", "Project with id 'proj_nope' not found")
    );
    for to in ["ghost", "elsewhere"] {
        let e = svc.mail.send(send(Some(to), None)).await.unwrap_err();
        assert_eq!(e.code(), "NOT_FOUND", "{to}");
        assert_eq!(e.to_string(), format!("Session with id '{to}' not found"));
    }
}

#[tokio::test]
async fn waits_need_a_session_of_the_project() {
    let mut m = Mocks::new();
    m.sessions
        .expect_get()
        .returning(|id| Ok((id == "elsewhere").then(|| session(id, "proj_2", &[]))));
    m.bus.expect_subscribe().never();
    let svc = m.services();
    for id in ["ghost", "elsewhere"] {
        let e = svc.mail.wait(id, &wait_params(1_000)).await.unwrap_err();
        assert_eq!(e.code(), "NOT_FOUND", "{id}");
    }
}

#[tokio::test]
async fn pending_waits_are_capped_across_sessions() {
    let mut m = Mocks::new();
    m.records_exist("proj_1");
    m.bus
        .expect_subscribe()
        .returning(|| Box::pin(futures_util::stream::pending()));
    m.mail.expect_inbox().returning(|_| Ok(vec![]));
    m.mail.expect_supports_blocking_wait().returning(|| false);
    let svc = m.services();
    svc.set_max_mail_waits(3);
    let mut waiters = Vec::new();
    for i in 0..3 {
        let svc = svc.clone();
        waiters.push(tokio::spawn(async move {
            svc.mail.wait(&format!("s{i}"), &wait_params(120_000)).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = svc.mail.wait("s9", &wait_params(1_000)).await.unwrap_err();
    assert_eq!(err.code(), "TOO_MANY_REQUESTS");
    assert!(err.to_string().contains("3 mail waits"), "{err}");
    waiters.pop().unwrap().abort();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let again = tokio::time::timeout(
        Duration::from_millis(50),
        svc.mail.wait("s9", &wait_params(1_000)),
    )
    .await;
    assert!(again.is_err(), "a freed place accepts a new wait");
    for w in waiters {
        w.abort();
    }
}

#[tokio::test]
async fn wait_rejects_out_of_range_timeout() {
    let m = Mocks::new();
    let err = m
        .services()
        .mail
        .wait("s1", &wait_params(999))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_ERROR");
}

#[tokio::test]
async fn delete_emits_deleted_with_project() {
    let mut m = Mocks::new();
    m.mail
        .expect_get()
        .returning(|id| Ok(Some(mail(id, None, 1))));
    m.mail.expect_delete().returning(|_| Ok(true));
    let events = m.capture_events();
    m.services().mail.delete("m1").await.unwrap();
    assert_eq!(events.names(), ["mail:deleted"]);
    assert_eq!(events.data(0), json!({"id": "m1", "projectId": "proj_1"}));
}
