import { useMemo } from "react";
import { Link } from "wouter";
import { useApp } from "../store/app";
import { needsInput, sessionCounts, sortSessions } from "../store/selectors";
import { paths } from "../routes";
import { EmptyState, SessionBadge, Time } from "../components/common";
import { ReplyForm } from "../components/forms";
import { ApprovalList } from "../components/AgentModal";
import { PersonInbox } from "../components/PersonInbox";
import type { Notice } from "../store/reducer";
import { SessionGrid } from "./Sessions";
import { Board } from "./Tasks";

const NOTICE_TEXT: Record<string, (n: Notice) => string> = {
  "notify:needs_input": (n) => `${n.name ?? "A session"} needs input${n.message ? `: ${n.message}` : ""}`,
  "notify:session_failed": (n) => `${n.name ?? "A session"} failed`,
  "notify:session_completed": (n) => `${n.name ?? "A session"} completed`,
  "notify:task_completed": (n) => `Task completed: ${n.title ?? n.taskId}`,
  "notify:task_failed": (n) => `Task cancelled: ${n.title ?? n.taskId}`,
  "notify:task_blocked": (n) => `Task blocked: ${n.title ?? n.taskId}`,
  "notify:task_in_review": (n) => `Task in review: ${n.title ?? n.taskId}`,
  "notify:task_session_completed": (n) => `Finished its part of ${n.title ?? n.taskId}`,
  "notify:task_session_failed": (n) => `Failed its part of ${n.title ?? n.taskId}`,
  "notify:progress": (n) => n.message ?? "Progress",
};

export function NeedsInputList({ projectId }: { projectId: string }) {
  const sessions = useApp((s) => s.live.sessions);
  const waiting = useMemo(() => sortSessions(sessions).filter(needsInput), [sessions]);
  return (
    <section aria-labelledby="needs-input-h" className="section">
      <h2 id="needs-input-h">
        Needs your input <span className="count">{waiting.length}</span>
      </h2>
      {waiting.length === 0 ? (
        <EmptyState>No agent is waiting for you.</EmptyState>
      ) : (
        <ul className="cards">
          {waiting.map((s) => (
            <li key={s.id} className="card card-input" data-session-id={s.id}>
              <div className="card-head">
                <Link href={paths.session(projectId, s.id)} className="card-title">
                  {s.name}
                </Link>
                <SessionBadge session={s} />
              </div>
              <p className="question">{s.needsInput?.message ?? "The agent is waiting for an answer."}</p>
              <p className="muted small">
                Asked <Time ms={s.needsInput?.since ?? s.lastActivity} />
              </p>
              <ReplyForm session={s} compact />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Stats({ projectId }: { projectId: string }) {
  const sessions = useApp((s) => s.live.sessions);
  const tasks = useApp((s) => s.live.tasks);
  const c = useMemo(() => sessionCounts(sessions), [sessions]);
  const open = useMemo(
    () => Object.values(tasks).filter((t) => !["completed", "cancelled", "archived"].includes(t.status)).length,
    [tasks],
  );
  const items: [string, number, string, string][] = [
    ["Working", c.working + c.spawning, "stat-working", paths.sessions(projectId)],
    ["Needs input", c.needsInput, "stat-input", paths.sessions(projectId)],
    ["Failed", c.failed, "stat-failed", paths.sessions(projectId)],
    ["Open tasks", open, "stat-tasks", paths.tasks(projectId)],
  ];
  return (
    <section aria-label="Summary" className="section">
      <ul className="stats">
        {items.map(([label, n, cls, href]) => (
          <li key={label}>
            <Link href={href} className={`stat ${cls}`}>
              <span className="stat-n">{n}</span>
              <span className="stat-label">{label}</span>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function RecentEvents({ projectId }: { projectId: string }) {
  const notices = useApp((s) => s.live.notices);
  return (
    <section aria-labelledby="recent-h" className="section">
      <h2 id="recent-h">Recent events</h2>
      {notices.length === 0 ? (
        <EmptyState>Nothing yet. Events from your agents show up here live.</EmptyState>
      ) : (
        <ul className="events">
          {notices.slice(0, 15).map((n) => {
            const text = (NOTICE_TEXT[n.event] ?? (() => n.event))(n);
            const href = n.sessionId
              ? paths.session(projectId, n.sessionId)
              : n.taskId
                ? paths.task(projectId, n.taskId)
                : null;
            return (
              <li key={n.key} className={`event ev-${n.event.slice(7)}`}>
                {href ? <Link href={href}>{text}</Link> : <span>{text}</span>}
                <span className="muted small">
                  {" "}
                  <Time ms={n.timestamp} />
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** Phone dashboard: input first, then counts, then recent notify:* events. */
export function Dashboard({ projectId, wide }: { projectId: string; wide: boolean }) {
  const project = useApp((s) => s.live.project);
  const sessions = useApp((s) => s.live.sessions);
  if (wide) {
    return (
      <div className="overview" data-screen="dashboard">
        <h1 className="page-title">{project?.name ?? "Project"}</h1>
        <NeedsInputList projectId={projectId} />
        <ApprovalList projectId={projectId} />
        <PersonInbox projectId={projectId} />
        <Stats projectId={projectId} />
        <section aria-labelledby="grid-h" className="section">
          <h2 id="grid-h">Sessions</h2>
          <SessionGrid projectId={projectId} sessions={sortSessions(sessions)} />
        </section>
        <section aria-labelledby="board-h" className="section">
          <h2 id="board-h">Task board</h2>
          <Board projectId={projectId} compact />
        </section>
        <RecentEvents projectId={projectId} />
      </div>
    );
  }
  return (
    <div data-screen="dashboard">
      <h1 className="page-title">Dashboard</h1>
      <NeedsInputList projectId={projectId} />
      <ApprovalList projectId={projectId} />
      <PersonInbox projectId={projectId} />
      <Stats projectId={projectId} />
      <RecentEvents projectId={projectId} />
    </div>
  );
}
