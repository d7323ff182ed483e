// A project's frame: phone (< 768 px) header + content + bottom tabs; wide: sidebar with
// projects and sessions beside the content. Opens the live connection for the project.

import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { Link } from "wouter";
import { useApp } from "../store/app";
import { sortSessions } from "../store/selectors";
import { unreadCount, useInbox } from "../store/inbox";
import { useOutbox } from "../store/outbox";
import { paths, type Tab } from "../routes";
import { api, connection, lastProject, rememberProject } from "../services";
import { ConnectionIndicator, SessionBadge, Time, useMediaQuery } from "../components/common";
import { Dashboard } from "./Dashboard";
import { Tasks } from "./Tasks";
import { Sessions, SessionDetail } from "./Sessions";
import { TaskDetail } from "./TaskDetail";
import { Settings } from "./Settings";
import { Inbox } from "./Inbox";
import type { Project } from "../types";

const TABS: [Tab, string, string][] = [
  ["dashboard", "Dashboard", "M3 13h8V3H3zm0 8h8v-6H3zm10 0h8V11h-8zm0-18v6h8V3z"],
  ["inbox", "Inbox", "M19 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm0 12h-4a3 3 0 0 1-6 0H5V5h14z"],
  ["tasks", "Tasks", "M4 5h16v2H4zm0 6h16v2H4zm0 6h10v2H4z"],
  ["sessions", "Sessions", "M4 4h16v12H5.2L4 17.2zm2 3v2h12V7zm0 4v2h8v-2z"],
  ["settings", "Settings", "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm9 5v-2l-2.2-.4a7 7 0 0 0-.7-1.7l1.3-1.8-1.4-1.4-1.8 1.3a7 7 0 0 0-1.7-.7L14 3h-2l-.4 2.2a7 7 0 0 0-1.7.7L8.1 4.6 6.7 6l1.3 1.8a7 7 0 0 0-.7 1.7L5 10v2l2.2.4c.2.6.4 1.2.7 1.7l-1.3 1.8 1.4 1.4 1.8-1.3c.5.3 1.1.5 1.7.7L12 21h2l.4-2.2c.6-.2 1.2-.4 1.7-.7l1.8 1.3 1.4-1.4-1.3-1.8c.3-.5.5-1.1.7-1.7z"],
];

function tabHref(tab: Tab, projectId: string): string {
  switch (tab) {
    case "dashboard":
      return paths.project(projectId);
    case "tasks":
      return paths.tasks(projectId);
    case "sessions":
      return paths.sessions(projectId);
    case "inbox":
      return paths.inbox(projectId);
    default:
      return paths.settings(projectId);
  }
}

function Icon({ d }: { d: string }) {
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
      <path d={d} fill="currentColor" />
    </svg>
  );
}

/** Pull down at the top of the content to re-sync (plus the refresh button). */
function usePullToRefresh(ref: React.RefObject<HTMLElement | null>, onRefresh: () => void) {
  const [pull, setPull] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let startY: number | null = null;
    let dy = 0;
    const scrolledInside = (t: EventTarget | null) => {
      let n = t as HTMLElement | null;
      while (n && n !== el) {
        if (n.dataset?.scroll && n.scrollTop > 0) return true;
        n = n.parentElement;
      }
      return el.scrollTop > 0;
    };
    const start = (e: TouchEvent) => {
      startY = e.touches.length === 1 && !scrolledInside(e.target) ? (e.touches[0]?.clientY ?? null) : null;
      dy = 0;
    };
    const move = (e: TouchEvent) => {
      if (startY === null) return;
      dy = (e.touches[0]?.clientY ?? startY) - startY;
      setPull(dy > 0 ? Math.min(dy, 120) : 0);
    };
    const end = () => {
      if (startY !== null && dy > 70) onRefresh();
      startY = null;
      dy = 0;
      setPull(0);
    };
    el.addEventListener("touchstart", start, { passive: true });
    el.addEventListener("touchmove", move, { passive: true });
    el.addEventListener("touchend", end);
    el.addEventListener("touchcancel", end);
    return () => {
      el.removeEventListener("touchstart", start);
      el.removeEventListener("touchmove", move);
      el.removeEventListener("touchend", end);
      el.removeEventListener("touchcancel", end);
    };
  }, [ref, onRefresh]);
  return pull;
}

function Banners({ projectId }: { projectId: string }) {
  const conn = useApp((s) => s.conn);
  const deleted = useApp((s) => s.live.projectDeleted);
  const pending = useOutbox((s) => s.items);
  return (
    <>
      {pending.length > 0 && (
        <div className="banner banner-warn" role="status" data-outbox={pending.length}>
          <span>
            {pending.length === 1 ? "1 change waits" : `${pending.length} changes wait`} to be sent
            when the server can be reached: {pending.map((p) => p.label).join("; ")}.
          </span>
        </div>
      )}
      {conn.status === "refused" && (
        <div className="banner banner-error" role="alert">
          <span>The server refused the live connection: {conn.error}</span>
          <span className="banner-actions">
            <button type="button" className="btn btn-small" onClick={() => connection.retry()}>
              Retry
            </button>
            <Link href={paths.projects()} className="btn btn-small">
              Projects
            </Link>
          </span>
        </div>
      )}
      {conn.cachedAt !== undefined && conn.status !== "live" && (
        <div className="banner banner-warn" role="status" data-offline-copy>
          Offline: showing what this device last synced, <Time ms={conn.cachedAt} />. It updates
          when the server is back.
        </div>
      )}
      {conn.status === "offline" && conn.attempts > 1 && conn.cachedAt === undefined && (
        <div className="banner banner-warn" role="status">
          Connection lost. Reconnecting… Changes made meanwhile appear once the app is back in sync.
        </div>
      )}
      {conn.error && conn.status !== "refused" && (
        <div className="banner banner-warn" role="status">
          {conn.error}
        </div>
      )}
      {deleted && (
        <div className="banner banner-error" role="alert">
          This project was deleted. <Link href={paths.projects()}>Choose another project</Link>.
        </div>
      )}
      <span hidden data-project={projectId} />
    </>
  );
}

/** Where each screen was scrolled to, by screen (this page's life only). */
const scrollPositions = new Map<string, number>();
/** When Back/Forward last moved (`popstate`): a screen change right after it restores. */
const historyMove = { at: -Infinity };
window.addEventListener("popstate", () => {
  historyMove.at = performance.now();
});

function Toasts() {
  const toasts = useApp((s) => s.toasts);
  const dismiss = useApp((s) => s.dismiss);
  return (
    <div className="toasts" aria-live="polite" aria-atomic="false">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.tone ?? "info"}`}>
          {t.href ? (
            <Link href={t.href} onClick={() => dismiss(t.id)}>
              {t.text}
            </Link>
          ) : (
            <span>{t.text}</span>
          )}
          <button type="button" className="toast-x" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

function RefreshButton() {
  const status = useApp((s) => s.conn.status);
  return (
    <button
      type="button"
      className="btn btn-icon"
      onClick={() => void connection.sync()}
      disabled={status === "syncing"}
      aria-label="Refresh (re-sync with the server)"
      title="Refresh"
    >
      <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
        <path fill="currentColor" d="M17.7 6.3A8 8 0 1 0 20 12h-2a6 6 0 1 1-1.8-4.2L13 11h7V4z" />
      </svg>
    </button>
  );
}

function Sidebar({ projectId, tab }: { projectId: string; tab: Tab }) {
  const sessions = useApp((s) => s.live.sessions);
  const unread = useInbox((s) => unreadCount(s.data, s.seenAt));
  const sorted = useMemo(() => sortSessions(sessions), [sessions]);
  const [projects, setProjects] = useState<Project[]>([]);
  useEffect(() => {
    api.projects().then(setProjects, () => {});
  }, [projectId]);
  return (
    <aside className="sidebar" aria-label="Projects and sessions">
      <div className="brand">
        <img src="/icons/icon.svg" alt="" width="28" height="28" /> Maestro
      </div>
      <nav aria-label="Sections">
        <ul className="side-nav">
          {TABS.map(([t, label, d]) => (
            <li key={t}>
              <Link href={tabHref(t, projectId)} aria-current={tab === t ? "page" : undefined}>
                <Icon d={d} /> {label === "Dashboard" ? "Overview" : label}
                {t === "inbox" && unread > 0 && (
                  <span className="count" data-count={unread}>
                    {unread}
                    <span className="sr-only"> for you</span>
                  </span>
                )}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <h2 className="side-h">Projects</h2>
      <ul className="side-list">
        {projects.map((p) => (
          <li key={p.id}>
            <Link href={paths.project(p.id)} aria-current={p.id === projectId ? "page" : undefined}>
              {p.name}
            </Link>
          </li>
        ))}
        <li>
          <Link href={paths.projects()}>All projects / new…</Link>
        </li>
      </ul>
      <h2 className="side-h">Sessions</h2>
      <ul className="side-list">
        {sorted.slice(0, 40).map((s) => (
          <li key={s.id}>
            <Link href={paths.session(projectId, s.id)} className="side-session">
              <span className="clamp">{s.name}</span> <SessionBadge session={s} />
            </Link>
          </li>
        ))}
        {sorted.length === 0 && <li className="muted small">No sessions</li>}
      </ul>
    </aside>
  );
}

export function ProjectShell({
  projectId,
  tab,
  taskId,
  sessionId,
}: {
  projectId: string;
  tab: Tab;
  taskId?: string;
  sessionId?: string;
}) {
  // Wide means a tablet or desktop, not a phone held sideways (844×390 stays a phone).
  const wide = useMediaQuery("(min-width: 768px) and (min-height: 560px)");
  const project = useApp((s) => s.live.project);
  const main = useRef<HTMLElement>(null);

  const refused = useApp((s) => s.conn.status === "refused");
  const deleted = useApp((s) => s.live.projectDeleted);
  useEffect(() => {
    connection.open(projectId);
  }, [projectId]);
  // The start page is the last project that loaded, never a link that led nowhere.
  useEffect(() => {
    if (project?.id === projectId) rememberProject(projectId);
  }, [project, projectId]);
  useEffect(() => {
    if ((refused || deleted) && lastProject() === projectId) rememberProject(null);
  }, [refused, deleted, projectId]);
  useEffect(() => () => connection.close(), []);
  // What waits for the person in any project, and what they have not read: on the Inbox
  // tab, in the title and on the app icon.
  const waiting = useInbox((s) => unreadCount(s.data, s.seenAt));
  useEffect(() => {
    const name = project ? `${project.name} · Maestro` : "Maestro";
    document.title = waiting ? `(${waiting}) ${name}` : name;
    const nav = navigator as Navigator & {
      setAppBadge?: (n?: number) => Promise<void>;
      clearAppBadge?: () => Promise<void>;
    };
    if (waiting) void nav.setAppBadge?.(waiting).catch(() => {});
    else void nav.clearAppBadge?.().catch(() => {});
  }, [project, waiting]);
  // A new screen starts at the top; going Back (or Forward) returns to where that screen was
  // scrolled, as a phone's browser does for pages.
  const screenKey = `${projectId}/${tab}/${taskId ?? ""}/${sessionId ?? ""}`;
  useEffect(() => {
    const el = main.current;
    if (!el) return;
    const onScroll = () => scrollPositions.set(screenKey, el.scrollTop);
    el.addEventListener("scroll", onScroll, { passive: true });
    const popped = performance.now() - historyMove.at < 1000;
    const top = popped ? (scrollPositions.get(screenKey) ?? 0) : 0;
    el.scrollTo?.(0, top);
    // Lists render their rows a frame later: once more then.
    const frame = requestAnimationFrame(() => el.scrollTo?.(0, top));
    return () => {
      cancelAnimationFrame(frame);
      el.removeEventListener("scroll", onScroll);
    };
  }, [screenKey]);

  const refresh = useMemo(() => () => void connection.sync(), []);
  const pull = usePullToRefresh(main, refresh);

  let screen: ReactNode;
  if (tab === "tasks" && taskId) screen = <TaskDetail projectId={projectId} taskId={taskId} />;
  else if (tab === "tasks") screen = <Tasks projectId={projectId} wide={wide} />;
  else if (tab === "sessions" && sessionId) screen = <SessionDetail projectId={projectId} sessionId={sessionId} />;
  else if (tab === "sessions") screen = <Sessions projectId={projectId} wide={wide} />;
  else if (tab === "settings") screen = <Settings projectId={projectId} />;
  else if (tab === "inbox") screen = <Inbox />;
  else screen = <Dashboard projectId={projectId} wide={wide} />;

  return (
    <div className={wide ? "app wide" : "app phone"} data-layout={wide ? "wide" : "phone"}>
      <a href="#main" className="skip">
        Skip to content
      </a>
      {wide && <Sidebar projectId={projectId} tab={tab} />}
      <div className="frame">
        <header className="topbar">
          {wide ? (
            <span className="topbar-title">{project?.name ?? "…"}</span>
          ) : (
            <Link href={paths.projects()} className="project-switch" aria-label={`Project: ${project?.name ?? projectId}. Switch project`}>
              <span className="clamp">{project?.name ?? "Project"}</span> <span aria-hidden="true">▾</span>
            </Link>
          )}
          <ConnectionIndicator />
          <RefreshButton />
        </header>
        <Banners projectId={projectId} />
        <main id="main" ref={main} className={`content ${tab === "tasks" && !taskId ? "content-fill" : ""}`} tabIndex={-1}>
          {pull > 0 && (
            <div className="pull" style={{ height: pull }} aria-hidden="true">
              {pull > 70 ? "Release to refresh" : "Pull to refresh"}
            </div>
          )}
          {screen}
        </main>
        {!wide && (
          <nav className="tabbar" aria-label="Sections">
            {TABS.map(([t, label, d]) => (
              <Link key={t} href={tabHref(t, projectId)} className="tab" aria-current={tab === t ? "page" : undefined}>
                <Icon d={d} />
                <span>{label}</span>
                {t === "inbox" && waiting > 0 && (
                  <>
                    <span className="tab-badge" data-count={waiting} aria-hidden="true">
                      {waiting}
                    </span>
                    <span className="sr-only">, {waiting} for you</span>
                  </>
                )}
              </Link>
            ))}
          </nav>
        )}
      </div>
      <Toasts />
    </div>
  );
}
