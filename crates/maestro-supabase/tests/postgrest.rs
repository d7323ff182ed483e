//! Integration tests against PostgreSQL (migrations + shim) through postrust: migrations,
//! RLS isolation between users, filter encoding, the RPC functions, error mapping, and the
//! FileSystem → Supabase migration of the committed fixture data directory.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use maestro_domain::DomainError;
use maestro_domain::model::{
    DocEntry, EntityType, JsonObject, MailMessageType, SessionEvent, SessionStatus, Task,
    TaskSessionStatus, TaskStatus, TimelineEvent,
};
use maestro_domain::ports::{InboxQuery, SessionFilter, TaskFilter};
use maestro_fs::{FsConfig, FsStore};
use maestro_supabase::{Entity, PostgrestClient, Query, SupabaseRepos, migrate};
use maestro_testkit::fixtures::{
    mail, now_ms, ordering, project, session, task, team_member, unique_id,
};
use serde_json::{Value, json};

/// The project data tables the migrations create in `public`.
const TABLES: [&str; 9] = [
    "mail_messages",
    "orderings",
    "profiles",
    "project_members",
    "projects",
    "sessions",
    "tasks",
    "team_member_overrides",
    "team_members",
];

#[tokio::test]
async fn migrations_apply_twice_to_an_empty_database_with_rls_on_every_table() {
    let Some(env) = support::env() else {
        return;
    };
    let db = support::create_database("migrations").unwrap();
    support::apply_migrations(&db).unwrap();
    support::apply_migrations(&db).expect("applying the migrations again is harmless");
    let rows = support::psql(
        &db,
        "select c.relname || ':' || c.relrowsecurity from pg_class c \
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') \
         order by c.relname collate \"C\"",
    )
    .unwrap();
    let tables: Vec<(&str, &str)> = rows.lines().map(|l| l.split_once(':').unwrap()).collect();
    // The project data tables, the credentials table (its RLS has its own test) and the
    // schema version: exactly the list the doctor checks.
    let mut expected = maestro_supabase::schema::TABLES.to_vec();
    expected.sort_unstable();
    assert_eq!(
        tables.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        expected,
        "tables in public"
    );
    for (table, rls) in &tables {
        assert_eq!(*rls, "true", "RLS is not enabled on public.{table}");
    }
    // Every table has policies (but the schema version and the push subscriptions: no
    // policy, so only the service role reads them), and the RPC functions exist.
    let without_policy = support::psql(
        &db,
        "select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace \
         and c.relkind = 'r' and not exists (select 1 from pg_policies p \
         where p.schemaname = 'public' and p.tablename = c.relname) \
         order by c.relname collate \"C\"",
    )
    .unwrap();
    assert_eq!(
        without_policy.lines().collect::<Vec<_>>(),
        ["maestro_schema_migrations", "push_subscriptions"],
        "tables without any policy"
    );
    let functions = support::psql(
        &db,
        "select string_agg(proname, ',' order by proname) from pg_proc \
         where pronamespace = 'public'::regnamespace and proname like 'maestro\\_%'",
    )
    .unwrap();
    assert_eq!(
        functions,
        "maestro_link_task_session,maestro_schema_status,maestro_session_append,\
         maestro_task_set_session_status,maestro_unlink_task_session"
    );
    // The profile trigger fills profiles.
    support::psql(
        &db,
        "insert into auth.users (id, email) values ('00000000-0000-4000-a000-000000000001', 'x@example.test')",
    )
    .unwrap();
    assert_eq!(
        support::psql(&db, "select email from public.profiles").unwrap(),
        "x@example.test"
    );
    support::drop_database(&db);
    let _ = env;
}

#[tokio::test]
async fn schema_status_reports_every_migration_and_rls_to_the_service_role_only() {
    use maestro_supabase::schema::{MIGRATIONS, schema_status};
    let Some(env) = support::env() else {
        return;
    };
    let status = schema_status(&env.service_client()).await.unwrap();
    assert_eq!(
        status.versions,
        MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
    );
    assert!(status.missing().is_empty());
    assert!(status.unknown().is_empty());
    assert!(status.unprotected().is_empty(), "{:?}", status.tables);
    assert!(status.others_without_rls().is_empty());
    // Users and anon may neither call it nor read the table.
    let user = env.user("schema-reader");
    for client in [env.user_client(&user), env.anon_client()] {
        let e = schema_status(&client).await.unwrap_err();
        assert_eq!(e.code(), Some("42501"), "{e}");
        let e = client
            .select("maestro_schema_migrations", &Query::new().select("version"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("42501"), "{e}");
    }
}

async fn raw_rows(client: &PostgrestClient, table: &str, filter: Query) -> Vec<Value> {
    client.select(table, &filter.select("*")).await.unwrap()
}

/// The filter of `table`'s rows belonging to `project`.
fn of_project(table: &str, project: &str) -> Query {
    match table {
        "projects" => Query::new().eq("id", project),
        _ => Query::new().eq("project_id", project),
    }
}

/// `api_keys` through users' own tokens: an owner lists their project's keys but never the
/// hashes; nobody else sees them; no user writes them (the server does, as the service role).
#[tokio::test]
async fn api_keys_are_readable_by_owners_without_hashes_and_written_by_the_server_only() {
    use maestro_domain::model::ApiKey;
    use maestro_domain::ports::ApiKeyRepo;
    let Some(env) = support::env() else {
        return;
    };
    let (alice, bob) = (env.user("alice"), env.user("bob"));
    let p = project(&unique_id("proj"), now_ms());
    env.user_repos(&alice)
        .projects()
        .create(p.clone())
        .await
        .unwrap();
    let key = ApiKey {
        id: unique_id("ak"),
        project_id: p.id.clone(),
        name: "ci".into(),
        team_member_id: None,
        hint: "mak1.x…".into(),
        created_by: Some(alice.id.clone()),
        created_at: now_ms(),
        secret_hash: "a".repeat(64),
    };
    env.service_repos()
        .api_keys()
        .create(key.clone())
        .await
        .unwrap();
    let visible = "project_id,id,name,hint,created_at";
    let alice_raw = env.user_client(&alice);
    let rows = alice_raw
        .select("api_keys", &of_project("api_keys", &p.id).select(visible))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the owner lists the key");
    assert!(
        alice_raw
            .select(
                "api_keys",
                &of_project("api_keys", &p.id).select("secret_hash")
            )
            .await
            .is_err(),
        "the hash column is not readable by users"
    );
    let bob_raw = env.user_client(&bob);
    let rows = bob_raw
        .select("api_keys", &of_project("api_keys", &p.id).select(visible))
        .await
        .unwrap();
    assert!(rows.is_empty(), "a stranger sees no key: {rows:?}");
    let mut forged = key.clone();
    forged.id = unique_id("ak");
    let row = json!({"project_id": p.id, "id": forged.id, "name": "x", "hint": "h",
                     "created_at": 1, "secret_hash": "b".repeat(64)});
    assert!(
        alice_raw
            .insert("api_keys", &row, &Query::new())
            .await
            .is_err(),
        "users do not write keys"
    );
    assert!(
        alice_raw
            .delete("api_keys", &of_project("api_keys", &p.id))
            .await
            .map(|r| r.is_empty())
            .unwrap_or(true),
        "users do not revoke keys directly"
    );
    assert_eq!(
        env.service_repos()
            .api_keys()
            .get(&p.id, &key.id)
            .await
            .unwrap(),
        Some(key)
    );
}

#[tokio::test]
async fn rls_keeps_other_users_out_and_lets_members_in() {
    let Some(env) = support::env() else {
        return;
    };
    let (alice, bob) = (env.user("alice"), env.user("bob"));
    let a = env.user_repos(&alice);
    let b = env.user_repos(&bob);
    let service = env.service_repos();
    let t = now_ms();

    // Alice creates a project (she owns it) and one record of every kind in it.
    let p = project(&unique_id("proj"), t);
    a.projects().create(p.clone()).await.unwrap();
    let owner = raw_rows(env_service(), "projects", of_project("projects", &p.id)).await;
    assert_eq!(
        owner[0]["owner_id"],
        json!(alice.id),
        "owner_id defaults to auth.uid()"
    );
    let tk = task(&unique_id("task"), &p.id, t);
    a.tasks().create(tk.clone()).await.unwrap();
    let s = session(&unique_id("sess"), &p.id, t);
    a.sessions().create(s.clone()).await.unwrap();
    let m = mail(&unique_id("mail"), &p.id, &s.id, None, t);
    a.mail().create(m.clone()).await.unwrap();
    let tm = team_member(&unique_id("tm"), &p.id, t);
    a.team_members().create(tm.clone()).await.unwrap();
    let tm_override = format!("tm_{}_coordinator", p.id);
    a.team_members()
        .update_override(&p.id, &tm_override, &|o: &mut JsonObject| {
            o.insert("name".into(), json!("Boss"));
            Ok(())
        })
        .await
        .unwrap();
    let o = ordering(&p.id, EntityType::Task, &[&tk.id], t);
    a.orderings().save(o.clone()).await.unwrap();

    // Bob sees nothing of it, table by table, through the repositories…
    assert_eq!(b.projects().get(&p.id).await.unwrap(), None);
    assert!(
        !b.projects()
            .list()
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == p.id)
    );
    assert_eq!(b.tasks().get(&tk.id).await.unwrap(), None);
    let in_p = TaskFilter {
        project_id: Some(p.id.clone()),
        ..TaskFilter::default()
    };
    assert!(b.tasks().list(&in_p).await.unwrap().is_empty());
    assert_eq!(b.sessions().get(&s.id).await.unwrap(), None);
    assert_eq!(b.mail().get(&m.id).await.unwrap(), None);
    assert!(b.mail().list(Some(&p.id)).await.unwrap().is_empty());
    let inbox = InboxQuery {
        project_id: p.id.clone(),
        session_id: unique_id("sess"),
        kind: None,
        since: None,
    };
    assert!(b.mail().inbox(&inbox).await.unwrap().is_empty());
    assert_eq!(b.team_members().get(&p.id, &tm.id).await.unwrap(), None);
    assert!(b.team_members().list(&p.id).await.unwrap().is_empty());
    assert_eq!(
        b.team_members()
            .get_override(&p.id, &tm_override)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        b.orderings().get(&p.id, EntityType::Task).await.unwrap(),
        None
    );
    // …and raw, for every table.
    let bob_raw = env.user_client(&bob);
    for table in TABLES {
        let filter = match table {
            "profiles" => Query::new().eq("id", &alice.id),
            _ => of_project(table, &p.id),
        };
        let rows = raw_rows(&bob_raw, table, filter.clone()).await;
        assert!(rows.is_empty(), "bob reads {table}: {rows:?}");
        let patched = bob_raw
            .update(
                table,
                &filter.clone().select("*"),
                &json!({"updated_at": 1}),
            )
            .await;
        assert!(
            patched.as_ref().map(Vec::is_empty).unwrap_or(true),
            "bob changed {table}: {patched:?}"
        );
        let deleted = bob_raw.delete(table, &filter.select("*")).await;
        assert!(
            deleted.as_ref().map(Vec::is_empty).unwrap_or(true),
            "bob deleted from {table}: {deleted:?}"
        );
    }

    // Bob cannot change anything either.
    let rename = |x: &mut maestro_domain::model::Project| {
        x.name = "Bob's now".into();
        Ok(())
    };
    assert!(matches!(
        b.projects().update(&p.id, &rename).await,
        Err(DomainError::NotFound { .. })
    ));
    assert!(matches!(
        b.tasks()
            .update(&tk.id, &|x: &mut Task| {
                x.title = "x".into();
                Ok(())
            })
            .await,
        Err(DomainError::NotFound { .. })
    ));
    assert!(!b.projects().delete(&p.id).await.unwrap());
    assert!(!b.tasks().delete(&tk.id).await.unwrap());
    assert!(!b.sessions().delete(&s.id).await.unwrap());
    assert!(!b.mail().delete(&m.id).await.unwrap());
    assert!(!b.team_members().delete(&p.id, &tm.id).await.unwrap());
    assert!(
        !b.team_members()
            .delete_override(&p.id, &tm_override)
            .await
            .unwrap()
    );
    b.team_members().delete_project(&p.id).await.unwrap();
    b.orderings().delete_project(&p.id).await.unwrap();
    // Writing into her project is refused (RLS: 42501).
    let forbidden = |r: Result<_, DomainError>| matches!(r, Err(DomainError::Forbidden(_)));
    assert!(forbidden(
        b.tasks()
            .create(task(&unique_id("task"), &p.id, t))
            .await
            .map(drop)
    ));
    assert!(forbidden(
        b.sessions()
            .create(session(&unique_id("sess"), &p.id, t))
            .await
            .map(drop)
    ));
    assert!(forbidden(
        b.mail()
            .create(mail(&unique_id("mail"), &p.id, "x", None, t))
            .await
            .map(drop)
    ));
    assert!(forbidden(
        b.team_members()
            .create(team_member(&unique_id("tm"), &p.id, t))
            .await
            .map(drop)
    ));
    assert!(forbidden(
        b.team_members()
            .update_override(&p.id, &tm_override, &|o: &mut JsonObject| {
                o.insert("name".into(), json!("Bob"));
                Ok(())
            })
            .await
            .map(drop)
    ));
    assert!(forbidden(
        b.orderings()
            .save(ordering(&p.id, EntityType::Task, &[], t))
            .await
            .map(drop)
    ));
    assert!(forbidden(
        bob_raw
            .insert(
                "project_members",
                &json!({"project_id": p.id, "user_id": bob.id, "role": "owner"}),
                &Query::new(),
            )
            .await
            .map_err(DomainError::from)
            .map(drop)
    ));
    // A project claiming Alice as owner cannot be created by Bob either.
    let mut fake = project(&unique_id("proj"), t);
    fake.extra.clear();
    assert!(forbidden(
        bob_raw
            .insert(
                "projects",
                &json!({"id": fake.id, "name": "x", "created_at": t, "updated_at": t, "owner_id": alice.id}),
                &Query::new(),
            )
            .await
            .map_err(DomainError::from)
            .map(drop)
    ));
    // Nor through the RPC functions.
    assert!(matches!(
        b.task_repo()
            .set_session_status(&tk.id, "sess_bob", TaskSessionStatus::Working, t)
            .await,
        Err(DomainError::NotFound { .. })
    ));
    assert!(matches!(
        b.link_task_session(&tk.id, &s.id, t).await,
        Err(DomainError::NotFound { .. })
    ));

    // Nothing changed.
    assert_eq!(
        service.projects().get(&p.id).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(service.tasks().get(&tk.id).await.unwrap(), Some(tk.clone()));
    assert_eq!(
        service.sessions().get(&s.id).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(service.mail().get(&m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(
        service.team_members().get(&p.id, &tm.id).await.unwrap(),
        Some(tm.clone())
    );
    assert_eq!(
        service
            .team_members()
            .get_override(&p.id, &tm_override)
            .await
            .unwrap()
            .map(Value::Object),
        Some(json!({"name": "Boss"}))
    );
    assert_eq!(
        service
            .orderings()
            .get(&p.id, EntityType::Task)
            .await
            .unwrap(),
        Some(o.clone())
    );
    // Not signed in at all: no access.
    assert!(
        env.anon_client()
            .select("projects", &Query::new())
            .await
            .is_err()
    );

    // Alice adds Bob as an editor: he reads and changes everything.
    env.user_client(&alice)
        .insert(
            "project_members",
            &json!({"project_id": p.id, "user_id": bob.id, "role": "editor"}),
            &Query::new(),
        )
        .await
        .unwrap();
    assert_eq!(b.projects().get(&p.id).await.unwrap(), Some(p.clone()));
    assert_eq!(b.tasks().list(&in_p).await.unwrap(), vec![tk.clone()]);
    assert_eq!(b.sessions().get(&s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(b.mail().list(Some(&p.id)).await.unwrap(), vec![m.clone()]);
    assert_eq!(
        b.team_members().list(&p.id).await.unwrap(),
        vec![tm.clone()]
    );
    assert!(
        b.team_members()
            .get_override(&p.id, &tm_override)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        b.orderings().get(&p.id, EntityType::Task).await.unwrap(),
        Some(o.clone())
    );
    for table in TABLES {
        let filter = match table {
            "profiles" => Query::new().eq("id", &alice.id),
            _ => of_project(table, &p.id),
        };
        assert!(
            !raw_rows(&bob_raw, table, filter).await.is_empty(),
            "a member reads {table}"
        );
    }
    let renamed = b.projects().update(&p.id, &rename).await.unwrap();
    assert_eq!(renamed.name, "Bob's now");
    b.task_repo()
        .set_session_status(&tk.id, &s.id, TaskSessionStatus::Working, t + 1)
        .await
        .unwrap();
    b.link_task_session(&tk.id, &s.id, t + 2).await.unwrap();
    b.tasks()
        .create(task(&unique_id("task"), &p.id, t))
        .await
        .unwrap();
    // An editor cannot delete the project or manage members.
    assert!(!b.projects().delete(&p.id).await.unwrap());
    assert!(forbidden(
        bob_raw
            .insert(
                "project_members",
                &json!({"project_id": p.id, "user_id": support::uuid(), "role": "viewer"}),
                &Query::new(),
            )
            .await
            .map_err(DomainError::from)
            .map(drop)
    ));

    // As a viewer he reads but cannot write.
    env.user_client(&alice)
        .update(
            "project_members",
            &Query::new().eq("project_id", &p.id).eq("user_id", &bob.id),
            &json!({"role": "viewer"}),
        )
        .await
        .unwrap();
    assert!(b.projects().get(&p.id).await.unwrap().is_some());
    assert!(forbidden(
        b.projects()
            .update(&p.id, &|x| {
                x.name = "viewer".into();
                Ok(())
            })
            .await
            .map(drop)
    ));
    assert!(forbidden(
        b.tasks()
            .create(task(&unique_id("task"), &p.id, t))
            .await
            .map(drop)
    ));
    assert!(!b.tasks().delete(&tk.id).await.unwrap());
}

/// The service client of this binary (a static borrow for helper calls).
fn env_service() -> &'static PostgrestClient {
    static CLIENT: std::sync::OnceLock<PostgrestClient> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        support::env()
            .expect("the calling test checked the services")
            .service_client()
    })
}

#[tokio::test]
async fn filter_values_with_reserved_characters_round_trip() {
    let Some(repos) = support::env().map(support::Env::service_repos) else {
        return;
    };
    let nasty = [
        "with space",
        "comma,separated",
        "paren(s) and )(",
        "quote \" and 'single'",
        "back\\slash",
        "plus+sign & amp=eq #hash %25 ?q",
        "dots.eq.in.(x)",
        "ünïcødé ✓ 日本語 🦀",
        "or=(a,b)",
    ];
    let t = now_ms();
    for (i, value) in nasty.iter().enumerate() {
        let project = format!("{value} {}", unique_id("p"));
        let parent = format!("{value} parent {}", unique_id("t"));
        let sess = format!("{value} sess {}", unique_id("s"));
        let mut hit = task(&unique_id("task"), &project, t + i as i64);
        hit.parent_id = Some(parent.clone());
        hit.session_ids = vec![sess.clone(), "other, (one)".into()];
        hit.status = TaskStatus::Blocked.into();
        hit.title = (*value).to_owned();
        let mut miss = task(&unique_id("task"), &project, t + 100);
        miss.parent_id = Some(format!("{parent}x"));
        repos.tasks().create(hit.clone()).await.unwrap();
        repos.tasks().create(miss.clone()).await.unwrap();
        let in_project = TaskFilter {
            project_id: Some(project.clone()),
            ..TaskFilter::default()
        };
        assert_eq!(
            repos.tasks().list(&in_project).await.unwrap(),
            vec![hit.clone(), miss.clone()],
            "{value:?}"
        );
        let all = TaskFilter {
            project_id: Some(project.clone()),
            status: Some(TaskStatus::Blocked),
            parent_id: Some(Some(parent.clone())),
            session_id: Some(sess.clone()),
        };
        assert_eq!(
            repos.tasks().list(&all).await.unwrap(),
            vec![hit.clone()],
            "{value:?}"
        );
        assert_eq!(
            repos.tasks().get(&hit.id).await.unwrap().unwrap().title,
            *value
        );

        let mut s = session(&unique_id("sess"), &project, t);
        s.task_ids = vec![format!("{value} task")];
        s.status = SessionStatus::Working;
        repos.sessions().create(s.clone()).await.unwrap();
        let by_task = SessionFilter {
            project_id: Some(project.clone()),
            task_id: Some(format!("{value} task")),
            statuses: Some(vec![SessionStatus::Working, SessionStatus::Idle]),
        };
        assert_eq!(
            repos.sessions().list(&by_task).await.unwrap(),
            vec![s],
            "{value:?}"
        );

        let me = format!("{value} me");
        let to_me = mail(
            &unique_id("mail"),
            &project,
            &format!("{value} peer"),
            Some(&me),
            t,
        );
        let broadcast_mine = mail(&unique_id("mail"), &project, &me, None, t + 1);
        let broadcast = mail(&unique_id("mail"), &project, "someone, else", None, t + 2);
        for m in [&to_me, &broadcast_mine, &broadcast] {
            repos.mail().create(m.clone()).await.unwrap();
        }
        let inbox = InboxQuery {
            project_id: project.clone(),
            session_id: me.clone(),
            kind: Some(MailMessageType::Query),
            since: Some(t - 1),
        };
        assert_eq!(
            repos.mail().inbox(&inbox).await.unwrap(),
            vec![to_me, broadcast],
            "{value:?}"
        );

        let tm = team_member(&format!("tm_{i}"), &project, t);
        repos.team_members().create(tm.clone()).await.unwrap();
        assert_eq!(repos.team_members().list(&project).await.unwrap(), vec![tm]);
        let o = ordering(&project, EntityType::Session, &[value, "x,y"], t);
        repos.orderings().save(o.clone()).await.unwrap();
        assert_eq!(
            repos
                .orderings()
                .get(&project, EntityType::Session)
                .await
                .unwrap(),
            Some(o)
        );
    }
}

#[tokio::test]
async fn rpc_functions_are_atomic_and_map_missing_rows() {
    let Some(repos) = support::env().map(support::Env::service_repos) else {
        return;
    };
    let t = now_ms();
    let project = unique_id("proj");
    let tk = task(&unique_id("task"), &project, t);
    let s = session(&unique_id("sess"), &project, t);
    repos.tasks().create(tk.clone()).await.unwrap();
    repos.sessions().create(s.clone()).await.unwrap();

    // 50 parallel writers of taskSessionStatuses entries and of timeline/event/doc appends.
    let mut writers = Vec::new();
    for i in 0..50 {
        let r = repos.clone();
        let (task_id, session_id) = (tk.id.clone(), s.id.clone());
        writers.push(tokio::spawn(async move {
            r.task_repo()
                .set_session_status(
                    &task_id,
                    &format!("sess_{i}"),
                    TaskSessionStatus::Working,
                    t + i,
                )
                .await
                .unwrap();
            let entry = TimelineEvent {
                id: format!("evt_{i}"),
                kind: "progress".into(),
                timestamp: t + i,
                message: Some(format!("step {i}")),
                task_id: None,
                metadata: None,
            };
            r.session_repo()
                .append_timeline(&session_id, &entry, t + i)
                .await
                .unwrap();
            let event = SessionEvent {
                id: format!("e_{i}"),
                timestamp: t + i,
                kind: "file_modified".into(),
                data: Some(json!({"n": i})),
            };
            r.session_repo()
                .append_event(&session_id, &event, t + i)
                .await
                .unwrap();
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let got = repos.tasks().get(&tk.id).await.unwrap().unwrap();
    assert_eq!(got.task_session_statuses.len(), 50);
    assert_eq!(got.updated_at, t + 49);
    let got = repos.sessions().get(&s.id).await.unwrap().unwrap();
    assert_eq!(got.timeline.len(), s.timeline.len() + 50);
    assert_eq!(got.events.len(), s.events.len() + 50);
    assert_eq!(got.last_activity, t + 49);
    let ids: BTreeSet<&str> = got.timeline.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), got.timeline.len());

    let doc = DocEntry {
        id: "doc_1".into(),
        title: "Plan".into(),
        file_path: "plan.md".into(),
        content: Some("# Plan".into()),
        task_id: Some(tk.id.clone()),
        added_at: t,
        added_by: Some(s.id.clone()),
    };
    let after = repos
        .session_repo()
        .append_doc(&s.id, &doc, t)
        .await
        .unwrap();
    assert_eq!(after.docs.last(), Some(&doc));

    let (lt, ls) = repos
        .link_task_session(&tk.id, &s.id, t + 100)
        .await
        .unwrap();
    assert_eq!(lt.session_ids, vec![s.id.clone()]);
    assert_eq!(ls.task_ids, vec![tk.id.clone()]);
    assert_eq!(lt.updated_at, t + 100);
    // Linking twice keeps the entries unique.
    let (lt, ls) = repos
        .link_task_session(&tk.id, &s.id, t + 101)
        .await
        .unwrap();
    assert_eq!((lt.session_ids.len(), ls.task_ids.len()), (1, 1));
    assert_eq!(repos.tasks().get(&tk.id).await.unwrap().unwrap(), lt);
    let (ut, us) = repos
        .unlink_task_session(&tk.id, &s.id, t + 102)
        .await
        .unwrap();
    assert!(ut.session_ids.is_empty() && us.task_ids.is_empty());

    let missing = unique_id("task");
    match repos
        .task_repo()
        .set_session_status(&missing, "s", TaskSessionStatus::Failed, t)
        .await
    {
        Err(DomainError::NotFound { resource, id }) => {
            assert_eq!((resource, id.as_str()), ("Task", missing.as_str()));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    match repos.link_task_session(&tk.id, "sess_missing", t).await {
        Err(DomainError::NotFound { resource, id }) => {
            assert_eq!((resource, id.as_str()), ("Session", "sess_missing"));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        repos
            .session_repo()
            .append_timeline("sess_missing", &got.timeline[0], t)
            .await,
        Err(DomainError::NotFound { .. })
    ));
}

#[tokio::test]
async fn errors_map_to_the_domain() {
    let Some(env) = support::env() else {
        return;
    };
    let repos = env.service_repos();
    let p = project(&unique_id("proj"), now_ms());
    repos.projects().create(p.clone()).await.unwrap();
    match repos.projects().create(p.clone()).await {
        Err(DomainError::Conflict(msg)) => assert!(msg.contains(&p.id), "{msg}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    // A token with a bad signature.
    let mut forged = env.service_jwt.clone();
    forged.pop();
    forged.push(if env.service_jwt.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let bad = SupabaseRepos::new(PostgrestClient::service(&env.rest_url, &forged));
    assert!(matches!(
        bad.projects().get(&p.id).await,
        Err(DomainError::Unauthorized(_))
    ));
    // Nobody listening.
    let down = SupabaseRepos::new(PostgrestClient::service("http://127.0.0.1:9", "k"));
    assert!(matches!(
        down.projects().list().await,
        Err(DomainError::Unavailable(_))
    ));
    assert!(down.ping().await.is_err());
    repos.ping().await.unwrap();
    // A value the schema refuses (check constraint) is a validation error.
    let raw = env.service_client();
    let refused = raw
        .insert(
            "orderings",
            &json!({"project_id": "p", "entity_type": "nope", "updated_at": 0}),
            &Query::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("23514"));
    assert!(matches!(
        DomainError::from(refused),
        DomainError::Validation { .. }
    ));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn migration_of_the_fixture_copies_everything_once() {
    // This binary's database is new for every run and no other test uses the fixture's ids.
    let Some(env) = support::env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/data-dir");
    copy_dir(&fixture, dir.path());
    let source = FsStore::open(FsConfig::new(dir.path().to_path_buf()))
        .await
        .unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let target = env
        .service_repos()
        .with_doc_blobs(Arc::new(maestro_fs::FsBlobStore::new(blobs.path())), 16);

    let dry = migrate(
        &source.repositories(),
        &target.repositories(),
        &source.orphan_project_ids(),
        true,
        |_| {},
    )
    .await
    .unwrap();
    assert!(dry.dry_run);
    assert!(dry.changed() > 0);
    assert!(
        target
            .projects()
            .list()
            .await
            .unwrap()
            .iter()
            .all(|p| !p.id.starts_with("proj_17713")),
        "a dry run writes nothing"
    );

    let mut seen = 0;
    let first = migrate(
        &source.repositories(),
        &target.repositories(),
        &source.orphan_project_ids(),
        false,
        |p| {
            assert!(p.done <= p.total);
            seen += 1;
        },
    )
    .await
    .unwrap();
    println!("{first}");
    assert_eq!(
        first,
        maestro_supabase::MigrationReport {
            dry_run: false,
            ..dry.clone()
        }
    );
    assert_eq!(
        seen,
        first.counts.iter().map(|(_, c)| c.total).sum::<usize>()
    );
    let counts = |e| first.get(e);
    assert_eq!(counts(Entity::Projects).created, 2);
    assert_eq!(
        counts(Entity::Tasks).created,
        5,
        "the team-member task is dropped at load"
    );
    assert_eq!(counts(Entity::Sessions).created, 2);
    assert_eq!(counts(Entity::Mail).created, 2);
    assert_eq!(counts(Entity::TeamMembers).created, 1);
    assert_eq!(counts(Entity::TeamMemberOverrides).created, 1);
    assert_eq!(counts(Entity::Orderings).created, 2);

    // Every record arrived, equal to the source.
    let src = source.repositories();
    for p in src.projects.list().await.unwrap() {
        assert_eq!(target.projects().get(&p.id).await.unwrap(), Some(p));
    }
    for t in src.tasks.list(&TaskFilter::default()).await.unwrap() {
        assert_eq!(target.tasks().get(&t.id).await.unwrap(), Some(t));
    }
    for s in src.sessions.list(&SessionFilter::default()).await.unwrap() {
        assert_eq!(target.sessions().get(&s.id).await.unwrap(), Some(s));
    }
    for m in src.mail.list(None).await.unwrap() {
        assert_eq!(target.mail().get(&m.id).await.unwrap(), Some(m));
    }
    let fixture_project = "proj_1771322645123_k3j9x0a1b";
    assert_eq!(
        target.team_members().list(fixture_project).await.unwrap(),
        src.team_members.list(fixture_project).await.unwrap()
    );
    let ov = format!("tm_{fixture_project}_coordinator");
    assert_eq!(
        target
            .team_members()
            .get_override(fixture_project, &ov)
            .await
            .unwrap(),
        src.team_members
            .get_override(fixture_project, &ov)
            .await
            .unwrap()
    );
    for e in EntityType::ALL {
        assert_eq!(
            target.orderings().get(fixture_project, *e).await.unwrap(),
            src.orderings.get(fixture_project, *e).await.unwrap()
        );
    }

    // A second run changes nothing.
    let second = migrate(
        &source.repositories(),
        &target.repositories(),
        &source.orphan_project_ids(),
        false,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(second.changed(), 0, "{second}");
    for (e, c) in &second.counts {
        assert_eq!(c.unchanged, c.total, "{e:?}");
    }
    // A record changed in the target is put back by the next run.
    target
        .tasks()
        .update("task_1771322800001_a1b2c3d4e", &|t: &mut Task| {
            t.title = "edited in Supabase".into();
            Ok(())
        })
        .await
        .unwrap();
    let third = migrate(
        &source.repositories(),
        &target.repositories(),
        &source.orphan_project_ids(),
        false,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(third.get(Entity::Tasks).updated, 1);
    assert_eq!(third.changed(), 1);
}

/// `push_subscriptions` through a user's own token: the devices (their endpoints are
/// capabilities) are the server's alone; a user can neither read, write nor delete them.
#[tokio::test]
async fn push_subscriptions_are_the_servers_alone() {
    use maestro_domain::model::{PushKeys, PushOwner, PushSubscription};
    use maestro_domain::ports::PushSubscriptionRepo;
    let Some(env) = support::env() else {
        return;
    };
    let alice = env.user("alice");
    let endpoint = format!("https://push.example/{}", unique_id("ep"));
    let sub = PushSubscription {
        id: PushSubscription::id_for(&endpoint),
        endpoint,
        keys: PushKeys {
            p256dh: "BA".into(),
            auth: "AA".into(),
        },
        owner: PushOwner::User {
            user_id: alice.id.clone(),
        },
        muted_projects: Vec::new(),
        quiet_hours: None,
        created_at: now_ms(),
        updated_at: now_ms(),
    };
    let service = env.service_repos().push_subscriptions();
    service.put(sub.clone()).await.unwrap();
    let raw = env.user_client(&alice);
    let by_id = Query::new().eq("id", &sub.id);
    // Refused outright, or answered with nothing: either way no device is read.
    if let Ok(rows) = raw
        .select("push_subscriptions", &by_id.clone().select("id"))
        .await
    {
        assert!(rows.is_empty(), "a user reads no device: {rows:?}");
    }
    let row = json!({"id": "ps_forged", "endpoint": "https://evil.example/x", "p256dh": "B",
                     "auth": "A", "owner": {"kind": "unrestricted"}, "created_at": 1, "updated_at": 1});
    assert!(
        raw.insert("push_subscriptions", &row, &Query::new())
            .await
            .is_err(),
        "users do not register devices directly"
    );
    assert!(
        raw.delete("push_subscriptions", &by_id)
            .await
            .map(|r| r.is_empty())
            .unwrap_or(true),
        "users do not remove devices directly"
    );
    assert_eq!(service.get(&sub.id).await.unwrap(), Some(sub.clone()));
    assert!(service.delete(&sub.id).await.unwrap());
}
