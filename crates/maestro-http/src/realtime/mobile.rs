//! `/mobile`: the phone's namespace. A socket is bound to one project at its handshake
//! (`auth: {token, projectId}`) and joins its room; its handlers parse the same typed requests
//! as the REST routes ([`crate::requests`]) and call the same service methods, acknowledging
//! `{success: true, …}` or `{success: false, error}`.

use maestro_domain::ports::Principal;
use maestro_domain::services::{Caller, Services};
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef, State, TryData};

use maestro_domain::DomainEvent;

use super::{
    MOBILE_SENDER, SocketInfo, close, current_principal, fail, is_loopback, object_arg, principal,
};
use crate::state::AppState;

/// Handshake: the project must exist and the principal may see it; a refusal reaches the JS
/// client as `connect_error` with this message.
pub(super) async fn auth(
    s: SocketRef,
    TryData(auth): TryData<Value>,
    State(state): State<AppState>,
) -> Result<(), String> {
    let auth = auth.ok();
    let project_id = auth
        .as_ref()
        .and_then(|a| a.get("projectId"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .ok_or("projectId required in the handshake auth")?;
    let (p, credential) = principal(&state, &s, auth.as_ref()).await?;
    if !maestro_domain::validate::is_safe_id(&project_id) {
        return Err("invalid projectId".into());
    }
    match state.can_read(&p, &project_id).await {
        Ok(true) => {}
        Ok(false) => return Err("forbidden: no access to this project".into()),
        Err(e) => return Err(e.to_string()),
    }
    state
        .services()
        .projects
        .get(&project_id)
        .await
        .map_err(|e| e.to_string())?;
    let trusted = is_loopback(&s) && matches!(p, Principal::Local | Principal::Service);
    // `auth.offset`: the last event id the client saw (a string; anything else is ignored).
    let resume_from = auth
        .as_ref()
        .and_then(|a| a.get("offset"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string);
    s.extensions.insert(SocketInfo {
        trusted,
        project_id: Some(project_id),
        principal: p,
        resume_from,
        credential,
    });
    attach(&s);
    Ok(())
}

/// After a membership change, disconnects the `/mobile` sockets of its project whose user
/// may no longer see it (a removed member stops receiving at once, not at the next request).
pub(super) async fn revoke(
    state: &AppState,
    io: &socketioxide::SocketIo,
    change: &maestro_domain::events::MembersChanged,
) {
    let Some(mobile) = io.of("/mobile") else {
        return;
    };
    for s in mobile
        .to(format!("project:{}", change.project_id))
        .sockets()
    {
        let Some(info) = s.extensions.get::<SocketInfo>() else {
            continue;
        };
        if !matches!(&info.principal, Principal::User { id, .. } if *id == change.user_id) {
            continue;
        }
        if let Ok(true) = state.can_read(&info.principal, &change.project_id).await {
            continue;
        }
        close(&s, "the user was removed from the project");
    }
}

/// Closes the `/mobile` sockets whose credential `event` ends, on whichever instance they
/// are: a revoked API key's, and an ended or deleted session's token (the REST rule refuses
/// both from now on; [`current_principal`] also refuses them on the socket's next event).
/// Sockets bound to a deleted project close too.
pub(super) fn close_ended_credentials(io: &socketioxide::SocketIo, event: &DomainEvent) {
    /// What the event ended.
    enum Ended<'a> {
        Key(&'a str),
        Session(&'a str),
        Project(&'a str),
    }
    let ended = match event {
        DomainEvent::ProjectApiKeyRevoked(k) => Ended::Key(&k.key_id),
        DomainEvent::SessionUpdated(s) if s.status.is_terminal() => Ended::Session(&s.id),
        DomainEvent::SessionDeleted(d) => Ended::Session(&d.id),
        DomainEvent::ProjectDeleted(d) => Ended::Project(&d.id),
        _ => return,
    };
    let (Some(mobile), Some(project)) = (io.of("/mobile"), event.project_id()) else {
        return;
    };
    for s in mobile.to(format!("project:{project}")).sockets() {
        let Some(info) = s.extensions.get::<SocketInfo>() else {
            continue;
        };
        let ends = match (&ended, &info.principal) {
            (Ended::Key(k), Principal::ApiKey { key_id, .. }) => key_id == k,
            (Ended::Session(id), Principal::Session { session_id, .. }) => session_id == id,
            (Ended::Project(p), _) => info.project_id.as_deref() == Some(*p),
            _ => false,
        };
        if ends {
            close(&s, event.name());
        }
    }
}

/// Closes the `/mobile` sockets whose credential expired before `now` (ms).
pub(super) fn close_expired(io: &socketioxide::SocketIo, now: maestro_domain::model::Millis) {
    let Some(mobile) = io.of("/mobile") else {
        return;
    };
    for s in mobile.sockets() {
        let expired = s.extensions.get::<SocketInfo>().is_some_and(
            |i| matches!(i.principal, Principal::User { expires_at: Some(exp), .. } if exp <= now),
        );
        if expired {
            close(&s, "access token expired");
        }
    }
}

/// The services this socket's principal may use now (the same rule as a REST request's,
/// with its credential re-checked: [`current_principal`]).
async fn services(st: &AppState, s: &SocketRef) -> Result<(Services<Caller>, Principal), String> {
    let principal = current_principal(st, s).await?;
    let services = crate::scope::scoped_services(st, &principal).map_err(|e| e.to_string())?;
    Ok((services, principal))
}

/// Joins the rooms and registers the handlers. Called by the handshake, before CONNECT is
/// sent: socketioxide runs the connect handler on a spawned task *after* CONNECT and drops
/// events that have no handler yet, so an event the client emits at once (the web app's
/// `state:sync`) or one broadcast meanwhile could otherwise be lost.
///
/// A socket that resumes (`auth.offset`) joins its project room only after its replay
/// ([`super::resume`]), from the connect handler.
fn attach(s: &SocketRef) {
    let resuming = s
        .extensions
        .get::<SocketInfo>()
        .is_some_and(|i| i.resume_from.is_some());
    if !resuming {
        s.join(format!("project:{}", project_of(s)));
    }
    s.on("session:subscribe", subscribe);
    s.on("mail:send", send_mail);
    s.on("session:reply-input", reply_input);
    s.on("state:sync", state_sync);
    s.on("session:spawn", spawn);
}

/// Everything is set up by the handshake ([`attach`]), except a resume: its replay is sent
/// here, once the client has its CONNECT.
pub(super) async fn connect(s: SocketRef, State(st): State<AppState>) {
    tracing::debug!(sid = %s.id, "/mobile socket connected");
    let resume_from = s.extensions.get::<SocketInfo>().and_then(|i| i.resume_from);
    if let Some(since) = resume_from {
        super::resume::resume(&st, &s, &project_of(&s), &since).await;
    }
}

fn project_of(s: &SocketRef) -> String {
    s.extensions
        .get::<SocketInfo>()
        .and_then(|i| i.project_id)
        .unwrap_or_default()
}

/// `session:subscribe [ids]`: joins each session's room (sessions of this project only).
async fn subscribe(
    s: SocketRef,
    TryData(d): TryData<Value>,
    ack: AckSender,
    State(st): State<AppState>,
) {
    let ids = crate::requests::session_ids(d.ok().as_ref());
    if ids.is_empty() {
        return fail(ack, "expected an array of session ids");
    }
    let project = project_of(&s);
    let services = match services(&st, &s).await {
        Ok((v, _)) => v,
        Err(e) => return fail(ack, e),
    };
    for id in &ids {
        if let Err(e) = services.session_in_project(id, &project).await {
            return fail(ack, e);
        }
    }
    for id in &ids {
        s.join(format!("session:{id}"));
    }
    let _ = ack.send(&json!({"success": true, "sessionIds": ids}));
}

/// `mail:send {toSessionId | toTeamMemberId, type?, subject, body}`: the REST mail request,
/// with this socket's project, the phone's sender id and `directive` as the default type.
async fn send_mail(
    s: SocketRef,
    TryData(d): TryData<Value>,
    ack: AckSender,
    State(st): State<AppState>,
) {
    let Some(d) = object_arg(d.ok()) else {
        return fail(
            ack,
            "expected {toSessionId|toTeamMemberId, type, subject, body}",
        );
    };
    if d.get("toSessionId").is_none() && d.get("toTeamMemberId").is_none() {
        return fail(ack, "toSessionId or toTeamMemberId is required");
    }
    let mut request = json!({
        "projectId": project_of(&s),
        "fromSessionId": MOBILE_SENDER,
        "type": "directive",
    });
    for key in [
        "toSessionId",
        "toTeamMemberId",
        "replyToMailId",
        "type",
        "subject",
        "body",
    ] {
        match d.get(key) {
            None | Some(Value::Null) => {}
            Some(v) => request[key] = v.clone(),
        }
    }
    let input = match crate::requests::send_mail(&request) {
        Ok(input) => input,
        Err(details) => {
            let why: Vec<String> = details
                .iter()
                .map(|f| format!("{}: {}", f.path, f.message))
                .collect();
            return fail(ack, why.join("; "));
        }
    };
    let services = match services(&st, &s).await {
        Ok((v, _)) => v,
        Err(e) => return fail(ack, e),
    };
    match services.mail.send(input).await {
        Ok(mut sent) => {
            let mail = if sent.len() == 1 {
                json!(sent.remove(0))
            } else {
                json!(sent)
            };
            let _ = ack.send(&json!({"success": true, "mail": mail}));
        }
        Err(e) => fail(ack, e),
    }
}

/// `session:reply-input {sessionId, message}`: [`Services::reply_to_input`].
///
/// [`Services::reply_to_input`]: maestro_domain::services::Services::reply_to_input
async fn reply_input(
    s: SocketRef,
    TryData(d): TryData<Value>,
    ack: AckSender,
    State(st): State<AppState>,
) {
    let Some(d) = object_arg(d.ok()) else {
        return fail(ack, "expected {sessionId, message}");
    };
    let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(session_id), Some(message)) = (text("sessionId"), text("message")) else {
        return fail(ack, "sessionId and message are required");
    };
    let services = match services(&st, &s).await {
        Ok((v, _)) => v,
        Err(e) => return fail(ack, e),
    };
    match services
        .reply_to_input(&project_of(&s), &session_id, &message)
        .await
    {
        Ok(r) => {
            let _ = ack.send(&json!({"success": true, "mail": r.mail, "session": r.session}));
        }
        Err(e) => fail(ack, e),
    }
}

/// `state:sync`: [`Services::snapshot`] of this socket's project, plus `modals` (the approvals
/// still waiting, as `session:modal` showed them), with `lastEventId` (the
/// log's newest id, read before the snapshot: resuming from it repeats at most what the
/// snapshot shows). `state:sync {since}`: the events after `since` instead,
/// `{success, events, lastEventId}`, or `{success: false, error: "resync_required", reason}`.
///
/// [`Services::snapshot`]: maestro_domain::services::Services::snapshot
async fn state_sync(
    s: SocketRef,
    TryData(d): TryData<Value>,
    ack: AckSender,
    State(st): State<AppState>,
) {
    let services = match services(&st, &s).await {
        Ok((v, _)) => v,
        Err(e) => return fail(ack, e),
    };
    let project = project_of(&s);
    let since = object_arg(d.ok())
        .and_then(|d| d.get("since").and_then(Value::as_str).map(str::to_string))
        .filter(|since| !since.trim().is_empty());
    if let Some(since) = since {
        return sync_since(&st, &services, &project, &since, ack).await;
    }
    let latest = match st.event_stream() {
        Some(stream) => stream.latest(&project).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "event log unreadable; state:sync without lastEventId");
            None
        }),
        None => None,
    };
    let snapshot = match services.snapshot(&project).await {
        Ok(snapshot) => snapshot,
        Err(e) => return fail(ack, e),
    };
    // The approvals still waiting, so one shown before a reload is still answerable after it.
    let agents = st.agent_service().scoped(&services);
    match agents.pending_modals(&snapshot.sessions).await {
        Ok(modals) => {
            let mut v = json!(snapshot);
            v["modals"] = json!(modals);
            v["success"] = json!(true);
            v["lastEventId"] = json!(latest);
            let _ = ack.send(&v);
        }
        Err(e) => fail(ack, e),
    }
}

/// `state:sync {since}` ([`state_sync`]).
async fn sync_since(
    st: &AppState,
    services: &Services<Caller>,
    project: &str,
    since: &str,
    ack: AckSender,
) {
    use maestro_domain::ports::Replay;
    // The caller may still read the project (a revoked member is refused here).
    if let Err(e) = services.projects.get(project).await {
        return fail(ack, e);
    }
    match super::resume::missed(st, project, since).await {
        Ok(Replay::Events(events)) => {
            let last = super::resume::last_id(&events, since);
            let events: Vec<Value> = events.iter().map(super::resume::listed).collect();
            let _ = ack.send(&json!({"success": true, "events": events, "lastEventId": last}));
        }
        refused => {
            let mut v = match &refused {
                Ok(Replay::Gap(gap)) => super::resume::resync(gap.as_str(), since),
                _ => super::resume::resync("unavailable", since),
            };
            v["success"] = json!(false);
            v["error"] = json!(super::RESYNC_REQUIRED);
            if let Err(e) = refused {
                v["detail"] = json!(e);
            }
            let _ = ack.send(&v);
        }
    }
}

/// `session:spawn <spawn body>`: the REST spawn request, in this socket's project.
async fn spawn(
    s: SocketRef,
    TryData(d): TryData<Value>,
    ack: AckSender,
    State(st): State<AppState>,
) {
    let Some(mut d) = object_arg(d.ok()) else {
        return fail(ack, "expected a spawn request object");
    };
    let project = project_of(&s);
    match d.get("projectId").and_then(Value::as_str) {
        Some(p) if p != project => {
            return fail(ack, "projectId does not match this connection");
        }
        _ => d["projectId"] = json!(project),
    }
    let (services, principal) = match services(&st, &s).await {
        Ok(v) => v,
        Err(e) => return fail(ack, e),
    };
    let spawner = crate::scope::spawn_service_for(&st, &principal, &services);
    match spawner.spawn(crate::requests::spawn(&d)).await {
        Ok(out) => {
            let _ = ack.send(&json!({
                "success": true,
                "sessionId": out.session.id,
                "manifestPath": out.manifest_path,
                "session": out.session,
            }));
        }
        Err(e) => fail(ack, e),
    }
}
