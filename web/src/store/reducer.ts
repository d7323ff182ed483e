// Pure state of one project's live view, fed by `state:sync` snapshots and Socket.IO events.
//
// Rules:
// - Entities carry a version: tasks and projects `updatedAt`, sessions `lastActivity`, team
//   members `updatedAt` (ISO). An incoming copy older than the one held is ignored, so
//   duplicates are harmless and out-of-order deliveries never roll a record back.
// - A delete leaves a tombstone (the event's timestamp): a late update of the deleted record,
//   no newer than the delete, does not bring it back.
// - A snapshot is authoritative: records it lacks are gone (deleted while we were away), except
//   records that events created or changed while the snapshot was in flight (`syncStart`), which
//   are newer than the snapshot.
// - Events of another project (a stale socket after switching) are ignored.

import type {
  AgentModal,
  Envelope,
  Mail,
  Project,
  Session,
  Snapshot,
  Task,
  TeamMember,
} from "../types";

export interface Notice {
  key: string;
  event: string;
  sessionId?: string;
  taskId?: string;
  name?: string;
  title?: string;
  message?: string;
  timestamp: number;
}

export interface State {
  projectId: string | null;
  project: Project | null;
  projectDeleted: boolean;
  tasks: Record<string, Task>;
  sessions: Record<string, Session>;
  teamMembers: Record<string, TeamMember>;
  /** Mail seen live, oldest first (capped). */
  mail: Mail[];
  /** `notify:*` events, newest first (capped). */
  notices: Notice[];
  /** Agents' modals shown and not closed, by modal id (capped, oldest dropped). */
  modals: Record<string, AgentModal>;
  /** `kind:id` → time of the delete. */
  tombstones: Record<string, number>;
  /** A snapshot has been applied since the last reset. */
  synced: boolean;
  /** Local time of the last applied snapshot. */
  syncedAt: number | null;
  /** Set while a `state:sync` is in flight: keys of records events touched meanwhile. */
  syncing: { touched: Record<string, true> } | null;
}

export type Action =
  | { type: "reset"; projectId: string | null; notices?: Notice[] }
  | { type: "syncStart" }
  | { type: "syncFailed" }
  | { type: "snapshot"; snapshot: Snapshot; at: number }
  | { type: "event"; envelope: Envelope }
  | { type: "upsertTask"; task: Task }
  | { type: "upsertSession"; session: Session };

export const MAX_MAIL = 200;
export const MAX_NOTICES = 50;
export const MAX_MODALS = 20;

export function initialState(projectId: string | null = null): State {
  return {
    projectId,
    project: null,
    projectDeleted: false,
    tasks: {},
    sessions: {},
    teamMembers: {},
    mail: [],
    notices: [],
    modals: {},
    tombstones: {},
    synced: false,
    syncedAt: null,
    syncing: null,
  };
}

type Kind = "task" | "session" | "team";

const taskVersion = (t: Task) => t.updatedAt ?? 0;
const sessionVersion = (s: Session) => s.lastActivity ?? s.startedAt ?? 0;
const memberVersion = (m: TeamMember) => {
  const v = Date.parse(m.updatedAt);
  return Number.isNaN(v) ? 0 : v;
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function touch(state: State, key: string): State["syncing"] {
  if (!state.syncing) return null;
  if (state.syncing.touched[key]) return state.syncing;
  return { touched: { ...state.syncing.touched, [key]: true } };
}

function otherProject(state: State, data: Record<string, unknown>): boolean {
  const p = str(data.projectId);
  return state.projectId !== null && p !== undefined && p !== state.projectId;
}

function upsert<T extends { id: string }>(
  state: State,
  kind: Kind,
  map: Record<string, T>,
  item: T,
  version: (x: T) => number,
): Record<string, T> | null {
  const key = `${kind}:${item.id}`;
  const dead = state.tombstones[key];
  if (dead !== undefined && version(item) <= dead) return null;
  const cur = map[item.id];
  if (cur && version(cur) > version(item)) return null;
  return { ...map, [item.id]: item };
}

function remove<T>(map: Record<string, T>, id: string): Record<string, T> {
  if (!(id in map)) return map;
  const next = { ...map };
  delete next[id];
  return next;
}

function withTask(state: State, task: Task): State {
  if (otherProject(state, task as unknown as Record<string, unknown>)) return state;
  const tasks = upsert(state, "task", state.tasks, task, taskVersion);
  if (!tasks) return state;
  return { ...state, tasks, syncing: touch(state, `task:${task.id}`) };
}

function withSession(state: State, session: Session): State {
  if (otherProject(state, session as unknown as Record<string, unknown>)) return state;
  const sessions = upsert(state, "session", state.sessions, session, sessionVersion);
  if (!sessions) return state;
  return { ...state, sessions, syncing: touch(state, `session:${session.id}`) };
}

function withMember(state: State, m: TeamMember): State {
  if (otherProject(state, m as unknown as Record<string, unknown>)) return state;
  const teamMembers = upsert(state, "team", state.teamMembers, m, memberVersion);
  if (!teamMembers) return state;
  return { ...state, teamMembers, syncing: touch(state, `team:${m.id}`) };
}

function deleted(state: State, kind: Kind, id: string, at: number): State {
  const key = `${kind}:${id}`;
  const tombstones = { ...state.tombstones, [key]: Math.max(at, state.tombstones[key] ?? 0) };
  const next: State = { ...state, tombstones, syncing: touch(state, key) };
  if (kind === "task") next.tasks = remove(state.tasks, id);
  else if (kind === "session") next.sessions = remove(state.sessions, id);
  else next.teamMembers = remove(state.teamMembers, id);
  return next;
}

function addId(list: string[] | undefined, id: string): string[] {
  const l = list ?? [];
  return l.includes(id) ? l : [...l, id];
}

function dropId(list: string[] | undefined, id: string): string[] {
  const l = list ?? [];
  return l.includes(id) ? l.filter((x) => x !== id) : l;
}

/** `session:task_added` and friends: the ids on both sides, without touching versions. */
function link(state: State, taskId: string, sessionId: string, on: boolean): State {
  let { tasks, sessions } = state;
  const t = tasks[taskId];
  if (t) {
    const ids = on ? addId(t.sessionIds, sessionId) : dropId(t.sessionIds, sessionId);
    if (ids !== t.sessionIds) tasks = { ...tasks, [taskId]: { ...t, sessionIds: ids } };
  }
  const s = sessions[sessionId];
  if (s) {
    const ids = on ? addId(s.taskIds, taskId) : dropId(s.taskIds, taskId);
    if (ids !== s.taskIds) sessions = { ...sessions, [sessionId]: { ...s, taskIds: ids } };
  }
  if (tasks === state.tasks && sessions === state.sessions) return state;
  return { ...state, tasks, sessions };
}

function notice(state: State, env: Envelope, data: Record<string, unknown>): State {
  const sessionId = str(data.sessionId);
  const taskId = str(data.taskId);
  const key = `${env.event}:${env.timestamp}:${sessionId ?? ""}:${taskId ?? ""}`;
  if (state.notices.some((n) => n.key === key)) return state;
  const n: Notice = { key, event: env.event, timestamp: env.timestamp };
  if (sessionId) n.sessionId = sessionId;
  if (taskId) n.taskId = taskId;
  const name = str(data.name);
  if (name) n.name = name;
  const title = str(data.title);
  if (title) n.title = title;
  const message = str(data.message);
  if (message) n.message = message;
  const notices = [n, ...state.notices]
    .sort((a, b) => b.timestamp - a.timestamp)
    .slice(0, MAX_NOTICES);
  return { ...state, notices };
}

function applyEvent(state: State, env: Envelope): State {
  const data = env.data;
  if (!isObject(data)) return state;
  if (otherProject(state, data)) return state;
  const at = typeof env.timestamp === "number" ? env.timestamp : Date.now();
  const id = str(data.id);
  switch (env.event) {
    case "project:updated":
    case "project:created": {
      if (!id || id !== state.projectId) return state;
      const p = data as unknown as Project;
      if (state.project && state.project.updatedAt > p.updatedAt) return state;
      return { ...state, project: p };
    }
    case "project:deleted":
      return id && id === state.projectId ? { ...state, projectDeleted: true } : state;
    case "task:created":
    case "task:updated":
      return id ? withTask(state, data as unknown as Task) : state;
    case "task:deleted":
      return id ? deleted(state, "task", id, at) : state;
    case "session:created":
    case "session:updated":
      return id ? withSession(state, data as unknown as Session) : state;
    case "session:spawn": {
      const s = data.session;
      return isObject(s) && str(s.id) ? withSession(state, s as unknown as Session) : state;
    }
    case "session:deleted":
      return id ? deleted(state, "session", id, at) : state;
    case "task:session_added":
    case "session:task_added":
    case "task:session_removed":
    case "session:task_removed": {
      const t = str(data.taskId);
      const s = str(data.sessionId);
      if (!t || !s) return state;
      return link(state, t, s, env.event.endsWith("_added"));
    }
    case "team_member:created":
    case "team_member:updated":
    case "team_member:archived":
      return id ? withMember(state, data as unknown as TeamMember) : state;
    case "team_member:deleted":
      return id ? deleted(state, "team", id, at) : state;
    case "mail:received": {
      if (!id || state.mail.some((m) => m.id === id)) return state;
      const mail = [...state.mail, data as unknown as Mail]
        .sort((a, b) => a.createdAt - b.createdAt)
        .slice(-MAX_MAIL);
      return { ...state, mail };
    }
    case "session:modal": {
      const sessionId = str(data.sessionId);
      const modalId = str(data.modalId);
      const html = str(data.html);
      if (!sessionId || !modalId || html === undefined) return state;
      const modal: AgentModal = {
        sessionId,
        modalId,
        title: str(data.title) ?? "Agent Modal",
        html,
        timestamp: at,
      };
      const kept = Object.values({ ...state.modals, [modalId]: modal })
        .sort((a, b) => a.timestamp - b.timestamp)
        .slice(-MAX_MODALS);
      return { ...state, modals: Object.fromEntries(kept.map((m) => [m.modalId, m])) };
    }
    case "session:modal_action": {
      const modalId = str(data.modalId);
      const m = modalId ? state.modals[modalId] : undefined;
      const action = str(data.action);
      if (!m || !action || m.answered === action) return state;
      return { ...state, modals: { ...state.modals, [m.modalId]: { ...m, answered: action } } };
    }
    case "session:modal_closed": {
      const modalId = str(data.modalId);
      return modalId && state.modals[modalId]
        ? { ...state, modals: remove(state.modals, modalId) }
        : state;
    }
    case "mail:deleted":
      return id && state.mail.some((m) => m.id === id)
        ? { ...state, mail: state.mail.filter((m) => m.id !== id) }
        : state;
    default:
      if (env.event.startsWith("notify:")) return notice(state, env, data);
      return state;
  }
}

/** Merges an authoritative list with what events brought while it was in flight. */
function merge<T extends { id: string }>(
  state: State,
  kind: Kind,
  incoming: T[],
  current: Record<string, T>,
  version: (x: T) => number,
): Record<string, T> {
  const touched = state.syncing?.touched ?? {};
  const out: Record<string, T> = {};
  for (const item of incoming) {
    const key = `${kind}:${item.id}`;
    if (touched[key]) {
      const cur = current[item.id];
      if (!cur) {
        // Deleted by an event that overtook the snapshot.
        if (state.tombstones[key] !== undefined) continue;
        out[item.id] = item;
      } else {
        out[item.id] = version(cur) > version(item) ? cur : item;
      }
    } else {
      out[item.id] = item;
    }
  }
  for (const key of Object.keys(touched)) {
    if (!key.startsWith(`${kind}:`)) continue;
    const itemId = key.slice(kind.length + 1);
    const cur = current[itemId];
    if (cur && !(itemId in out)) out[itemId] = cur; // created while the snapshot was in flight
  }
  return out;
}

function applySnapshot(state: State, snap: Snapshot, at: number): State {
  if (state.projectId !== null && snap.project && snap.project.id !== state.projectId) {
    return state;
  }
  const tasks = merge(state, "task", snap.tasks ?? [], state.tasks, taskVersion);
  const sessions = merge(state, "session", snap.sessions ?? [], state.sessions, sessionVersion);
  const teamMembers = merge(
    state,
    "team",
    snap.teamMembers ?? [],
    state.teamMembers,
    memberVersion,
  );
  // Tombstones older than the snapshot are settled by it; keep those the sync raced with.
  const touched = state.syncing?.touched ?? {};
  const tombstones: Record<string, number> = {};
  for (const [k, v] of Object.entries(state.tombstones)) if (touched[k]) tombstones[k] = v;
  // The server lists the approvals still waiting (older servers do not: keep what we have).
  let modals = state.modals;
  if (Array.isArray(snap.modals)) {
    modals = {};
    for (const m of snap.modals.slice(-MAX_MODALS)) {
      const known = state.modals[m.modalId];
      modals[m.modalId] = {
        sessionId: m.sessionId,
        modalId: m.modalId,
        title: m.title,
        html: m.html,
        timestamp: m.timestamp,
        ...(known?.answered ? { answered: known.answered } : {}),
      };
    }
  }
  return {
    ...state,
    modals,
    projectId: state.projectId ?? snap.project?.id ?? null,
    project: snap.project ?? state.project,
    projectDeleted: false,
    tasks,
    sessions,
    teamMembers,
    tombstones,
    synced: true,
    syncedAt: at,
    syncing: null,
  };
}

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "reset":
      return action.notices?.length
        ? { ...initialState(action.projectId), notices: action.notices.slice(0, MAX_NOTICES) }
        : initialState(action.projectId);
    case "syncStart":
      return { ...state, syncing: { touched: {} } };
    case "syncFailed":
      return state.syncing ? { ...state, syncing: null } : state;
    case "snapshot":
      return applySnapshot(state, action.snapshot, action.at);
    case "event":
      return applyEvent(state, action.envelope);
    case "upsertTask":
      return withTask(state, action.task);
    case "upsertSession":
      return withSession(state, action.session);
  }
}
