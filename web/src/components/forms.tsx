// The forms that act on the fleet: reply to an agent, send mail, spawn an agent, edit a task.

import { useId, useMemo, useState, type FormEvent } from "react";
import { useLocation } from "wouter";
import { api, connection, outbox } from "../services";
import { useApp } from "../store/app";
import { paths } from "../routes";
import { ErrorText, Sheet, useDraft } from "./common";
import { STATUS_LABEL } from "../store/selectors";
import type { Mail, Session, Task } from "../types";
import { MAIL_TYPES, TASK_PRIORITIES, TASK_STATUSES } from "../types";
import { ApiError } from "../api/client";

/** One-tap answers offered on every question, after the agent's own options. */
const CANNED_REPLIES = ["Go ahead", "Stop"];

function message(e: unknown): string {
  if (e instanceof ApiError || e instanceof Error) return e.message;
  return String(e);
}

/** Answers an agent that set `needsInput`: mail of type `response` with `{answer}`. */
export function ReplyForm({
  session,
  compact = false,
  focus = false,
}: {
  session: Session;
  compact?: boolean;
  /** Put the cursor in the answer (opened from a notification's Reply). */
  focus?: boolean;
}) {
  const id = useId();
  const [text, setText] = useDraft(`reply.${session.id}`);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const dispatch = useApp((s) => s.dispatch);
  const toast = useApp((s) => s.toast);

  async function submit(e: FormEvent) {
    e.preventDefault();
    await send(text.trim());
  }

  async function send(answer: string) {
    if (!answer) {
      setError("Write an answer first.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      let updated: Session | undefined;
      let queued = false;
      if (connection.connected) {
        const ack = await connection.request<{ session: Session }>("session:reply-input", {
          sessionId: session.id,
          message: answer,
        });
        updated = ack.session;
      } else {
        // No live connection: the same effect over REST, kept on the device while the server
        // cannot be reached (sent once when it is back, whatever the retries).
        const sent = await outbox.submit<{ session: Session }>({
          method: "POST",
          path: `/api/sessions/${encodeURIComponent(session.id)}/reply`,
          body: { message: answer },
          label: `Reply to ${session.name}`,
        });
        queued = sent.queued;
        updated = sent.result?.session ?? {
          ...session,
          needsInput: { ...session.needsInput, active: false },
        };
      }
      if (updated) dispatch({ type: "upsertSession", session: updated });
      setText("");
      toast(
        queued
          ? { text: `Offline: the reply to ${session.name} is sent when the connection is back.`, tone: "warn" }
          : { text: `Reply sent to ${session.name}.` },
      );
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  // The agent's own answers first, then the canned ones (without repeating one it offered).
  const offered = session.needsInput?.options ?? [];
  const chips = [...offered, ...CANNED_REPLIES.filter((c) => !offered.includes(c))];
  return (
    <form className={`reply ${compact ? "reply-compact" : ""}`} onSubmit={submit} aria-label={`Reply to ${session.name}`}>
      <div className="chips" role="group" aria-label="Quick answers">
        {chips.map((c) => (
          <button key={c} type="button" className="chip" disabled={busy} onClick={() => void send(c)}>
            {c}
          </button>
        ))}
      </div>
      <label htmlFor={id}>Your answer</label>
      <textarea
        id={id}
        name="answer"
        rows={compact ? 2 : 3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="Type the answer the agent is waiting for"
        required
        autoFocus={focus}
      />
      <ErrorText error={error} />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? "Sending…" : "Send reply"}
      </button>
    </form>
  );
}

/** Body key by mail type, as the CLI reads it (MODEL.md §7). */
const BODY_KEY: Record<string, string> = {
  assignment: "instructions",
  status_update: "message",
  query: "question",
  response: "answer",
  directive: "details",
  notification: "message",
};

const TYPE_LABEL: Record<string, string> = {
  directive: "Directive",
  query: "Question",
  assignment: "Assignment",
  status_update: "Status update",
  notification: "Notification",
  response: "Response",
};

/** Mail to a session or to a team member (all its active sessions). */
export function MailForm({ defaultTo, onSent }: { defaultTo?: string; onSent?: (m: Mail | Mail[]) => void }) {
  const sessions = useApp((s) => s.live.sessions);
  const members = useApp((s) => s.live.teamMembers);
  const toast = useApp((s) => s.toast);
  const [to, setTo] = useState(defaultTo ? `s:${defaultTo}` : "");
  const [type, setType] = useState("directive");
  const [subject, setSubject] = useDraft(`mail.${defaultTo ?? "any"}.subject`);
  const [body, setBody] = useDraft(`mail.${defaultTo ?? "any"}.body`);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { to: useId(), type: useId(), subject: useId(), body: useId() };
  const sessionList = useMemo(
    () => Object.values(sessions).sort((a, b) => b.lastActivity - a.lastActivity),
    [sessions],
  );
  const memberList = useMemo(
    () => Object.values(members).filter((m) => m.status !== "archived"),
    [members],
  );

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!to) return setError("Choose a recipient.");
    if (!subject.trim()) return setError("Write a subject.");
    setBusy(true);
    setError(null);
    try {
      const payload: Record<string, unknown> = {
        type,
        subject: subject.trim(),
        body: { [BODY_KEY[type] ?? "message"]: body },
      };
      if (to.startsWith("s:")) payload.toSessionId = to.slice(2);
      else payload.toTeamMemberId = to.slice(2);
      const ack = await connection.request<{ mail: Mail | Mail[] }>("mail:send", payload);
      setSubject("");
      setBody("");
      const n = Array.isArray(ack.mail) ? ack.mail.length : 1;
      toast({ text: n > 1 ? `Mail sent to ${n} sessions.` : "Mail sent." });
      onSent?.(ack.mail);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stack" onSubmit={submit} aria-label="Send mail">
      <div className="field">
        <label htmlFor={ids.to}>To</label>
        <select id={ids.to} name="to" value={to} onChange={(e) => setTo(e.target.value)} required>
          <option value="">Choose a session or team member</option>
          <optgroup label="Sessions">
            {sessionList.map((s) => (
              <option key={s.id} value={`s:${s.id}`}>
                {s.name} ({s.status})
              </option>
            ))}
          </optgroup>
          <optgroup label="Team members (their active sessions)">
            {memberList.map((m) => (
              <option key={m.id} value={`m:${m.id}`}>
                {m.avatar} {m.name}
              </option>
            ))}
          </optgroup>
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.type}>Type</label>
        <select id={ids.type} name="type" value={type} onChange={(e) => setType(e.target.value)}>
          {MAIL_TYPES.map((t) => (
            <option key={t} value={t}>
              {TYPE_LABEL[t] ?? t}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.subject}>Subject</label>
        <input id={ids.subject} name="subject" value={subject} maxLength={500} onChange={(e) => setSubject(e.target.value)} required />
      </div>
      <div className="field">
        <label htmlFor={ids.body}>Message</label>
        <textarea id={ids.body} name="body" rows={4} value={body} onChange={(e) => setBody(e.target.value)} />
      </div>
      <ErrorText error={error} />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? "Sending…" : "Send mail"}
      </button>
    </form>
  );
}

export function MailSheet({ defaultTo, onClose }: { defaultTo?: string; onClose: () => void }) {
  return (
    <Sheet title="Send mail" onClose={onClose}>
      <MailForm defaultTo={defaultTo} onSent={onClose} />
    </Sheet>
  );
}

/** Spawns an agent for tasks with a team member (socket `session:spawn`). */
export function SpawnSheet({ projectId, taskIds, onClose }: { projectId: string; taskIds: string[]; onClose: () => void }) {
  const tasks = useApp((s) => s.live.tasks);
  const members = useApp((s) => s.live.teamMembers);
  const dispatch = useApp((s) => s.dispatch);
  const toast = useApp((s) => s.toast);
  const unavailable = useApp((s) => s.auth.spawnUnavailable);
  const [, navigate] = useLocation();
  const [selected, setSelected] = useState<string[]>(taskIds);
  const [query, setQuery] = useState("");
  const memberList = useMemo(() => Object.values(members).filter((m) => m.status !== "archived"), [members]);
  const [member, setMember] = useState(() => memberList.find((m) => m.id.endsWith("_simple_worker"))?.id ?? memberList[0]?.id ?? "");
  const [mode, setMode] = useState("");
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { q: useId(), member: useId(), mode: useId(), name: useId() };
  const candidates = useMemo(() => {
    const q = query.trim().toLowerCase();
    return Object.values(tasks)
      .filter((t) => selected.includes(t.id) || (!["completed", "cancelled", "archived"].includes(t.status) && (!q || t.title.toLowerCase().includes(q))))
      .sort((a, b) => Number(selected.includes(b.id)) - Number(selected.includes(a.id)) || b.updatedAt - a.updatedAt)
      .slice(0, 100);
  }, [tasks, query, selected]);

  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (selected.length === 0) return setError("Select at least one task.");
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { projectId, taskIds: selected, spawnSource: "ui" };
      if (member) body.teamMemberId = member;
      if (mode) body.mode = mode;
      if (name.trim()) body.sessionName = name.trim();
      const ack = await connection.request<{ sessionId: string; session?: Session }>("session:spawn", body);
      if (ack.session) dispatch({ type: "upsertSession", session: ack.session });
      toast({ text: "Agent spawned." });
      onClose();
      navigate(paths.session(projectId, ack.sessionId));
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Sheet title="Spawn an agent" onClose={onClose}>
      {unavailable ? (
        <div className="spawn-unavailable">
          <p role="alert">{unavailable}</p>
          <p className="muted small">Tell whoever runs the server; the rest of the app works.</p>
          <button type="button" className="btn" onClick={onClose}>
            Close
          </button>
        </div>
      ) : (
      <form className="stack" onSubmit={submit} aria-label="Spawn an agent">
        <fieldset className="field">
          <legend>Tasks ({selected.length} selected)</legend>
          <label htmlFor={ids.q} className="sr-only">Find tasks</label>
          <input id={ids.q} type="search" placeholder="Find tasks" value={query} onChange={(e) => setQuery(e.target.value)} />
          <ul className="checklist">
            {candidates.map((t: Task) => (
              <li key={t.id}>
                <label className="check">
                  <input type="checkbox" checked={selected.includes(t.id)} onChange={() => toggle(t.id)} />
                  <span>{t.title}</span>
                  <span className="muted small">{STATUS_LABEL[t.status] ?? t.status}</span>
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
        <div className="field">
          <label htmlFor={ids.member}>Team member</label>
          <select id={ids.member} name="teamMember" value={member} onChange={(e) => setMember(e.target.value)}>
            <option value="">None (defaults)</option>
            {memberList.map((m) => (
              <option key={m.id} value={m.id}>
                {m.avatar} {m.name} — {m.role}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.mode}>Mode</label>
          <select id={ids.mode} name="mode" value={mode} onChange={(e) => setMode(e.target.value)}>
            <option value="">From the team member</option>
            <option value="execute">Execute</option>
            <option value="coordinate">Coordinate</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.name}>Session name (optional)</label>
          <input id={ids.name} name="sessionName" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <ErrorText error={error} />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Spawning…" : "Spawn agent"}
        </button>
      </form>
      )}
    </Sheet>
  );
}

/** Create (no `task`) or edit a task: title, description, priority, status. */
export function TaskForm({
  projectId,
  task,
  parentId,
  onDone,
}: {
  projectId: string;
  task?: Task;
  parentId?: string | null;
  onDone: (t: Task) => void;
}) {
  const tasks = useApp((s) => s.live.tasks);
  const dispatch = useApp((s) => s.dispatch);
  const toast = useApp((s) => s.toast);
  const [title, setTitle] = useState(task?.title ?? "");
  const [description, setDescription] = useState(task?.description ?? "");
  const [priority, setPriority] = useState<string>(task?.priority ?? "medium");
  const [status, setStatus] = useState<string>(task?.status ?? "todo");
  const [parent, setParent] = useState<string>(parentId ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { title: useId(), desc: useId(), prio: useId(), status: useId(), parent: useId() };
  const parentOptions = useMemo(
    () =>
      task
        ? []
        : Object.values(tasks)
            .filter((t) => t.status !== "archived")
            .sort((a, b) => a.title.localeCompare(b.title))
            .slice(0, 300),
    [tasks, task],
  );

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!title.trim()) return setError("A task needs a title.");
    setBusy(true);
    setError(null);
    try {
      let saved: Task;
      if (task) {
        const patch: Record<string, string> = {};
        if (title !== task.title) patch.title = title.trim();
        if (description !== task.description) patch.description = description;
        if (priority !== task.priority) patch.priority = priority;
        if (status !== task.status) patch.status = status;
        if (Object.keys(patch).length) {
          // Kept on the device while offline, sent once when the connection is back.
          const sent = await outbox.submit<Task>({
            method: "PATCH",
            path: `/api/tasks/${encodeURIComponent(task.id)}`,
            body: patch,
            label: `Changes to “${task.title}”`,
          });
          saved = sent.result ?? ({ ...task, ...patch } as Task);
          if (sent.queued) {
            toast({ text: `Offline: the changes to “${task.title}” are sent when the connection is back.`, tone: "warn" });
          }
        } else saved = task;
      } else {
        saved = await api.createTask({
          projectId,
          title: title.trim(),
          description,
          priority,
          ...(parent ? { parentId: parent } : {}),
        });
      }
      dispatch({ type: "upsertTask", task: saved });
      onDone(saved);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stack" onSubmit={submit} aria-label={task ? "Edit task" : "New task"}>
      <div className="field">
        <label htmlFor={ids.title}>Title</label>
        <input id={ids.title} name="title" value={title} onChange={(e) => setTitle(e.target.value)} required autoComplete="off" />
      </div>
      <div className="field">
        <label htmlFor={ids.desc}>Description</label>
        <textarea id={ids.desc} name="description" rows={4} value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className="row2">
        <div className="field">
          <label htmlFor={ids.prio}>Priority</label>
          <select id={ids.prio} name="priority" value={priority} onChange={(e) => setPriority(e.target.value)}>
            {TASK_PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {p[0]?.toUpperCase() + p.slice(1)}
              </option>
            ))}
          </select>
        </div>
        {task ? (
          <div className="field">
            <label htmlFor={ids.status}>Status</label>
            <select id={ids.status} name="status" value={status} onChange={(e) => setStatus(e.target.value)}>
              {TASK_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {STATUS_LABEL[s]}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <div className="field">
            <label htmlFor={ids.parent}>Parent task</label>
            <select id={ids.parent} name="parentId" value={parent} onChange={(e) => setParent(e.target.value)}>
              <option value="">None (top level)</option>
              {parentOptions.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.title}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      <ErrorText error={error} />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? "Saving…" : task ? "Save changes" : "Create task"}
      </button>
    </form>
  );
}
