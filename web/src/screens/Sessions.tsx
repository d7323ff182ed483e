import { useEffect, useMemo, useState } from "react";
import { Link } from "wouter";
import { useApp } from "../store/app";
import { needsInput, sortSessions } from "../store/selectors";
import { paths } from "../routes";
import { EmptyState, ErrorText, Markdown, SessionBadge, TaskStatusBadge, Time } from "../components/common";
import { MailForm, MailSheet, ReplyForm, SpawnSheet } from "../components/forms";
import { ApprovalList } from "../components/AgentModal";
import { api } from "../services";
import type { DocEntry, Mail, Session } from "../types";

function lastMessage(s: Session): string | undefined {
  const tl = s.timeline ?? [];
  for (let i = tl.length - 1; i >= 0; i--) {
    const m = tl[i]?.message;
    if (m) return m;
  }
  return undefined;
}

/** Wide screens: status cards in a grid (the desktop's terminal area, without terminals). */
export function SessionGrid({ projectId, sessions }: { projectId: string; sessions: Session[] }) {
  if (sessions.length === 0) return <EmptyState>No sessions yet. Spawn an agent from the task list.</EmptyState>;
  return (
    <ul className="grid">
      {sessions.map((s) => (
        <li key={s.id} className={`card ${needsInput(s) ? "card-input" : ""}`} data-session-id={s.id}>
          <div className="card-head">
            <Link href={paths.session(projectId, s.id)} className="card-title">
              {s.name}
            </Link>
            <SessionBadge session={s} />
          </div>
          <p className="muted small clamp">{needsInput(s) ? s.needsInput?.message : lastMessage(s) ?? "No activity yet"}</p>
          <p className="muted small">
            {s.taskIds.length} task{s.taskIds.length === 1 ? "" : "s"} · <Time ms={s.lastActivity} />
          </p>
        </li>
      ))}
    </ul>
  );
}

export function SessionList({ projectId, sessions }: { projectId: string; sessions: Session[] }) {
  if (sessions.length === 0) return <EmptyState>No sessions yet. Spawn an agent for some tasks.</EmptyState>;
  return (
    <ul className="list" aria-label="Sessions">
      {sessions.map((s) => (
        <li key={s.id} className={`list-item ${needsInput(s) ? "li-input" : ""}`} data-session-id={s.id}>
          <Link href={paths.session(projectId, s.id)} className="list-link">
            <span className="list-title">{s.name}</span>
            <span className="muted small clamp">{needsInput(s) ? s.needsInput?.message : lastMessage(s) ?? `${s.taskIds.length} task(s)`}</span>
          </Link>
          <SessionBadge session={s} />
        </li>
      ))}
    </ul>
  );
}

export function Sessions({ projectId, wide }: { projectId: string; wide: boolean }) {
  const sessions = useApp((s) => s.live.sessions);
  const sorted = useMemo(() => sortSessions(sessions), [sessions]);
  const [mail, setMail] = useState(false);
  const [spawn, setSpawn] = useState(false);
  return (
    <div data-screen="sessions">
      <div className="screen-head">
        <h1 className="page-title">
          Sessions <span className="count">{sorted.length}</span>
        </h1>
        <button type="button" className="btn btn-ghost" onClick={() => setMail(true)}>
          Send mail
        </button>
      </div>
      {wide ? <SessionGrid projectId={projectId} sessions={sorted} /> : <SessionList projectId={projectId} sessions={sorted} />}
      <div className="action-bar">
        <button type="button" className="btn btn-primary" onClick={() => setSpawn(true)}>
          + Spawn agent
        </button>
      </div>
      {mail && <MailSheet onClose={() => setMail(false)} />}
      {spawn && <SpawnSheet projectId={projectId} taskIds={[]} onClose={() => setSpawn(false)} />}
    </div>
  );
}

const TIMELINE_PAGE = 100;

const TIMELINE_ICON: Record<string, string> = {
  session_started: "▶",
  session_stopped: "■",
  task_started: "→",
  task_completed: "✓",
  task_failed: "✕",
  task_blocked: "⏸",
  needs_input: "?",
  progress: "•",
  error: "!",
  milestone: "★",
  doc_added: "📄",
};

export function SessionDetail({ projectId, sessionId }: { projectId: string; sessionId: string }) {
  const live = useApp((s) => s.live.sessions[sessionId]);
  const synced = useApp((s) => s.live.synced);
  const tasks = useApp((s) => s.live.tasks);
  const dispatch = useApp((s) => s.dispatch);
  const mailLive = useApp((s) => s.live.mail);
  const members = useApp((s) => s.live.teamMembers);
  const [error, setError] = useState<string | null>(null);
  const [docs, setDocs] = useState<DocEntry[] | null>(null);
  const [inbox, setInbox] = useState<Mail[]>([]);
  const [mailOpen, setMailOpen] = useState(false);
  const [allTimeline, setAllTimeline] = useState(false);

  useEffect(() => {
    let on = true;
    setError(null);
    api.session(sessionId).then(
      (s) => on && dispatch({ type: "upsertSession", session: s }),
      (e: Error) => on && setError(e.message),
    );
    api.sessionDocs(sessionId).then((d) => on && setDocs(d), () => on && setDocs([]));
    api.inbox(sessionId, projectId).then((m) => on && setInbox(m), () => {});
    return () => {
      on = false;
    };
  }, [sessionId, projectId, dispatch]);

  // Docs also arrive with session:updated.
  const allDocs = live?.docs && live.docs.length >= (docs?.length ?? 0) ? live.docs : docs ?? [];
  const mails = useMemo(() => {
    const seen = new Map<string, Mail>();
    for (const m of [...inbox, ...mailLive]) {
      if (m.toSessionId === sessionId || m.fromSessionId === sessionId) seen.set(m.id, m);
    }
    return [...seen.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, 30);
  }, [inbox, mailLive, sessionId]);

  if (!live) {
    return (
      <div data-screen="session">
        <p>
          <Link href={paths.sessions(projectId)}>← Sessions</Link>
        </p>
        {error ? <ErrorText error={`Session not found: ${error}`} /> : <p aria-busy="true">{synced ? "Loading session…" : "Connecting…"}</p>}
      </div>
    );
  }
  const s = live;
  const all = s.timeline ?? [];
  const timeline = (allTimeline ? all : all.slice(-TIMELINE_PAGE)).slice().reverse();
  return (
    <article data-screen="session" aria-labelledby="session-h" className="detail">
      <p className="crumbs">
        <Link href={paths.sessions(projectId)}>← Sessions</Link>
      </p>
      <header className="detail-head">
        <h1 id="session-h" className="page-title">
          {s.name}
        </h1>
        <SessionBadge session={s} />
      </header>
      <p className="muted small">
        Started <Time ms={s.startedAt} /> · last activity <Time ms={s.lastActivity} />
        {typeof s.metadata?.mode === "string" ? ` · ${s.metadata.mode}` : ""}
        {typeof s.metadata?.teamMemberId === "string" && members[s.metadata.teamMemberId]
          ? ` · ${members[s.metadata.teamMemberId]?.avatar} ${members[s.metadata.teamMemberId]?.name}`
          : ""}
      </p>

      {needsInput(s) && (
        <section className="card card-input" aria-labelledby="ask-h">
          <h2 id="ask-h">The agent asks</h2>
          <p className="question">{s.needsInput?.message ?? "It is waiting for your answer."}</p>
          <ReplyForm session={s} focus={new URLSearchParams(window.location.search).has("reply")} />
        </section>
      )}

      <ApprovalList projectId={projectId} sessionId={s.id} />

      <section className="section" aria-labelledby="tasks-h">
        <h2 id="tasks-h">Tasks</h2>
        {s.taskIds.length === 0 ? (
          <EmptyState>No linked tasks.</EmptyState>
        ) : (
          <ul className="list">
            {s.taskIds.map((id) => {
              const t = tasks[id];
              return (
                <li key={id} className="list-item">
                  <Link href={paths.task(projectId, id)} className="list-link">
                    <span className="list-title">{t?.title ?? id}</span>
                  </Link>
                  {t && <TaskStatusBadge status={t.status} />}
                </li>
              );
            })}
          </ul>
        )}
      </section>

      <section className="section" aria-labelledby="mail-h">
        <div className="screen-head">
          <h2 id="mail-h">Mail</h2>
          <button type="button" className="btn btn-ghost" onClick={() => setMailOpen(true)}>
            Send mail
          </button>
        </div>
        {mails.length === 0 ? (
          <EmptyState>No mail for this session yet.</EmptyState>
        ) : (
          <ul className="list">
            {mails.map((m) => (
              <li key={m.id} className="mail">
                <strong>{m.subject}</strong> <span className="muted small">({m.type}, from {m.fromSessionId}) <Time ms={m.createdAt} /></span>
                {m.body && Object.keys(m.body).length > 0 && (
                  <p className="small">{Object.values(m.body).filter((v) => typeof v === "string").join(" ")}</p>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="section" aria-labelledby="docs-h">
        <h2 id="docs-h">Docs</h2>
        {allDocs.length === 0 ? (
          <EmptyState>No docs yet.</EmptyState>
        ) : (
          allDocs.map((d) => (
            <details key={d.id} className="doc" open={allDocs.length === 1}>
              <summary>
                {d.title} <span className="muted small">{d.filePath}</span>
              </summary>
              {d.content ? <Markdown text={d.content} /> : <p className="muted small">No content was attached ({d.filePath}).</p>}
            </details>
          ))
        )}
      </section>

      <section className="section" aria-labelledby="tl-h">
        <h2 id="tl-h">Timeline</h2>
        {timeline.length === 0 ? (
          <EmptyState>No events yet.</EmptyState>
        ) : (
          <ol className="timeline">
            {timeline.map((e) => (
              <li key={e.id} className={`tl tl-${e.type}`}>
                <span className="tl-icon" aria-hidden="true">
                  {TIMELINE_ICON[e.type] ?? "•"}
                </span>
                <div>
                  <p className="tl-msg">{e.message ?? e.type.replace(/_/g, " ")}</p>
                  <p className="muted small">
                    {e.type.replace(/_/g, " ")} · <Time ms={e.timestamp} />
                  </p>
                </div>
              </li>
            ))}
          </ol>
        )}
        {!allTimeline && all.length > TIMELINE_PAGE && (
          <button type="button" className="btn" onClick={() => setAllTimeline(true)}>
            Show all {all.length} events
          </button>
        )}
      </section>
      {mailOpen && <MailSheet defaultTo={s.id} onClose={() => setMailOpen(false)} />}
    </article>
  );
}

export { MailForm };
