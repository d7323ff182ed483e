// Small shared pieces: badges, time, the connection indicator, sheets, markdown.

import { useEffect, useRef, useState, type ReactNode } from "react";
import { useApp, type ConnStatus } from "../store/app";
import { SESSION_LABEL, STATUS_LABEL, needsInput } from "../store/selectors";
import type { Session } from "../types";

export function SessionBadge({ session }: { session: Session }) {
  if (needsInput(session)) {
    return (
      <span className="badge badge-input" data-status="needs_input">
        <span aria-hidden="true">●</span> Needs input
      </span>
    );
  }
  return (
    <span className={`badge badge-${session.status}`} data-status={session.status}>
      <span aria-hidden="true">{session.status === "failed" ? "✕" : session.status === "completed" ? "✓" : "●"}</span>{" "}
      {SESSION_LABEL[session.status] ?? session.status}
    </span>
  );
}

export function TaskStatusBadge({ status }: { status: string }) {
  return <span className={`badge tbadge-${status}`}>{STATUS_LABEL[status] ?? status}</span>;
}

export function PriorityMark({ priority }: { priority: string }) {
  const label = priority === "high" ? "High" : priority === "low" ? "Low" : "Medium";
  return (
    <span className={`prio prio-${priority}`} title={`${label} priority`}>
      <span className="sr-only">{label} priority</span>
      <span aria-hidden="true">{priority === "high" ? "▲" : priority === "low" ? "▽" : "◆"}</span>
    </span>
  );
}

export function timeAgo(ms: number | undefined | null, now = Date.now()): string {
  if (!ms) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  return new Date(ms).toLocaleDateString();
}

export function Time({ ms }: { ms: number | undefined | null }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((x) => x + 1), 30_000);
    return () => clearInterval(t);
  }, []);
  if (!ms) return null;
  return (
    <time dateTime={new Date(ms).toISOString()} title={new Date(ms).toLocaleString()}>
      {timeAgo(ms)}
    </time>
  );
}

const CONN_TEXT: Record<ConnStatus, string> = {
  idle: "Not connected",
  connecting: "Connecting…",
  live: "Live",
  syncing: "Syncing…",
  offline: "Offline, reconnecting…",
  refused: "Connection refused",
};

export function ConnectionIndicator() {
  const conn = useApp((s) => s.conn);
  return (
    <span
      className={`conn conn-${conn.status}`}
      role="status"
      aria-live="polite"
      data-conn={conn.status}
      data-resumed={conn.resumed}
    >
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-text">{CONN_TEXT[conn.status]}</span>
      {conn.status === "live" && conn.resumed !== undefined && (
        <span className="sr-only">
          {`, caught up on ${conn.resumed} missed ${conn.resumed === 1 ? "update" : "updates"}`}
        </span>
      )}
    </span>
  );
}

/** A text field's value that outlives its form: kept in `sessionStorage` under
 * `maestro.draft.<key>` while not empty, so Back, a reload or closing a sheet never discards
 * half-written text (issue 27). */
export function useDraft(key: string): [string, (v: string) => void] {
  const storageKey = `maestro.draft.${key}`;
  const [value, setValue] = useState(() => {
    try {
      return sessionStorage.getItem(storageKey) ?? "";
    } catch {
      return "";
    }
  });
  const set = (v: string) => {
    setValue(v);
    try {
      if (v) sessionStorage.setItem(storageKey, v);
      else sessionStorage.removeItem(storageKey);
    } catch {
      // Storage refused (private mode, quota): the draft lives as long as the form.
    }
  };
  return [value, set];
}

/** A modal sheet on the native <dialog> (focus trap, Escape, inert background). */
export function Sheet({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useRef(`sheet-${Math.random().toString(36).slice(2)}`).current;
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    // A phone's Back closes the sheet instead of leaving the page under it: the sheet is a
    // history entry of its own (same URL, so the router does not move).
    let poppedByBack = false;
    history.pushState({ ...(history.state as object | null), maestroSheet: id }, "");
    const onPop = () => {
      poppedByBack = true;
      close.current();
    };
    window.addEventListener("popstate", onPop);
    return () => {
      window.removeEventListener("popstate", onPop);
      d?.close();
      // Closed another way (its button, Escape, a submit): take its entry off again, unless
      // the app has moved on to another page meanwhile.
      if (!poppedByBack && (history.state as { maestroSheet?: string } | null)?.maestroSheet === id) {
        history.back();
      }
    };
  }, [id]);
  return (
    <dialog
      ref={ref}
      className="sheet"
      aria-labelledby={id}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div className="sheet-head">
        <h2 id={id}>{title}</h2>
        <button type="button" className="btn btn-ghost" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="sheet-body">{children}</div>
    </dialog>
  );
}

type Render = (md: string) => string;
let renderer: Promise<Render> | null = null;

/** Markdown rendered with `marked` and sanitised with DOMPurify (loaded on first use). */
export function Markdown({ text }: { text: string }) {
  const [html, setHtml] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    renderer ??= import("../lib/markdown").then((m) => m.renderMarkdown);
    renderer.then((r) => live && setHtml(r(text))).catch(() => live && setHtml(null));
    return () => {
      live = false;
    };
  }, [text]);
  if (html === null) return <pre className="md-raw">{text}</pre>;
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

export function ErrorText({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

export function useMediaQuery(q: string): boolean {
  const [m, setM] = useState(() => window.matchMedia(q).matches);
  useEffect(() => {
    const mq = window.matchMedia(q);
    const h = () => setM(mq.matches);
    mq.addEventListener("change", h);
    h();
    return () => mq.removeEventListener("change", h);
  }, [q]);
  return m;
}

export function EmptyState({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}
