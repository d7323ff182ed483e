// An agent's modal (`session:modal`): its HTML runs in the server's `/modal-frame` page, which
// the server serves as its own sandbox (opaque origin, no network, inline scripts only). The
// frame page says `maestro:frame_ready`; the app then hands it the HTML. The agent's buttons
// call `window.maestro.sendAction(action, data)` / `close()` (the CLI's bridge, or the frame
// page's own), which post to this window; the app answers through the authenticated modal
// routes, as the desktop's bridge does. Only messages from this modal's own frame count.

import { useEffect, useRef, useState } from "react";
import { Link } from "wouter";
import { api, serverUrl } from "../services";
import { useApp } from "../store/app";
import { paths } from "../routes";
import { sessionEnded } from "../store/selectors";
import { ErrorText, Time } from "./common";
import type { AgentModal } from "../types";

type FrameMessage =
  | { type: "maestro:frame_ready" }
  | { type: "maestro:modal_action"; modalId?: string; action?: unknown; data?: unknown }
  | { type: "maestro:modal_close"; modalId?: string };

function isFrameMessage(v: unknown): v is FrameMessage {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}

export function AgentModalCard({ modal, projectId }: { modal: AgentModal; projectId: string }) {
  const frame = useRef<HTMLIFrameElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const session = useApp((s) => s.live.sessions[modal.sessionId]);
  const toast = useApp((s) => s.toast);

  useEffect(() => {
    const onMessage = (e: MessageEvent) => {
      const win = frame.current?.contentWindow;
      if (!win || e.source !== win || !isFrameMessage(e.data)) return;
      const m = e.data;
      if (m.type === "maestro:frame_ready") {
        win.postMessage(
          { type: "maestro:modal_html", modalId: modal.modalId, html: modal.html },
          "*",
        );
        return;
      }
      // The CLI's bridge names its modal; a message for another one is not ours.
      if (m.modalId && m.modalId !== modal.modalId) return;
      setError(null);
      setSending(true);
      const done =
        m.type === "maestro:modal_action"
          ? api.modalAction(modal.sessionId, modal.modalId, String(m.action ?? ""), m.data)
          : api.closeModal(modal.sessionId, modal.modalId);
      done.then(
        () => {
          setSending(false);
          if (m.type === "maestro:modal_action") toast({ text: `Answer sent to ${session?.name ?? "the agent"}.` });
        },
        (err: unknown) => {
          setSending(false);
          setError(err instanceof Error ? err.message : "The answer could not be sent.");
        },
      );
    };
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }, [modal.modalId, modal.sessionId, modal.html, session?.name, toast]);

  const titleId = `modal-${modal.modalId}-h`;
  return (
    <article className="card card-modal" aria-labelledby={titleId} data-modal-id={modal.modalId}>
      <div className="card-head">
        <h3 id={titleId} className="card-title">
          {modal.title}
        </h3>
        {modal.answered ? <span className="badge badge-done">Answered: {modal.answered}</span> : null}
      </div>
      <p className="muted small">
        From{" "}
        <Link href={paths.session(projectId, modal.sessionId)}>{session?.name ?? modal.sessionId}</Link>
        , <Time ms={modal.timestamp} />
      </p>
      <iframe
        ref={frame}
        title={modal.title}
        className="modal-frame"
        src={`${serverUrl()}/modal-frame`}
        sandbox="allow-scripts allow-forms"
        referrerPolicy="no-referrer"
      />
      {sending ? <p className="muted small" role="status">Sending…</p> : null}
      <ErrorText error={error} />
    </article>
  );
}

/** The open modals of the project (or of one session), oldest first; ended sessions' are
 * left out (no agent would read the answer). */
export function useOpenModals(sessionId?: string): AgentModal[] {
  const modals = useApp((s) => s.live.modals);
  const sessions = useApp((s) => s.live.sessions);
  return Object.values(modals)
    .filter((m) => (sessionId ? m.sessionId === sessionId : true))
    .filter((m) => !sessionEnded(sessions[m.sessionId]?.status))
    .sort((a, b) => a.timestamp - b.timestamp);
}

export function ApprovalList({ projectId, sessionId }: { projectId: string; sessionId?: string }) {
  const open = useOpenModals(sessionId);
  if (open.length === 0 && sessionId) return null;
  return (
    <section aria-labelledby="approvals-h" className="section">
      <h2 id="approvals-h">
        Approvals <span className="count">{open.length}</span>
      </h2>
      {open.length === 0 ? (
        <p className="muted">No agent is asking for approval.</p>
      ) : (
        <ul className="cards">
          {open.map((m) => (
            <li key={m.modalId}>
              <AgentModalCard modal={m} projectId={projectId} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
