// Derived views of the state: pure functions, memoised by the components that use them.

import type { Mail, Session, Task, TaskStatus } from "../types";
import { TASK_STATUSES } from "../types";

export const STATUS_LABEL: Record<string, string> = {
  todo: "To do",
  in_progress: "In progress",
  in_review: "In review",
  blocked: "Blocked",
  completed: "Completed",
  cancelled: "Cancelled",
  archived: "Archived",
};

export const SESSION_LABEL: Record<string, string> = {
  spawning: "Spawning",
  idle: "Idle",
  working: "Working",
  completed: "Completed",
  failed: "Failed",
  stopped: "Stopped",
};

/** The person's address (DECISIONS D30). */
export const PERSON = "mobile-user";

/** Mail the person should read: addressed to them, or a broadcast they did not send. */
export function forPerson(m: Mail): boolean {
  return m.toSessionId === PERSON || (m.toSessionId == null && m.fromSessionId !== PERSON);
}

/** What of a project's live state the person's inbox shows, as a string: when it changes,
 * the cross-project inbox is stale. */
export function personSignature(live: {
  sessions: Record<string, Session>;
  modals: Record<string, { modalId: string; answered?: string }>;
  mail: Mail[];
}): string {
  const parts: string[] = [];
  for (const s of Object.values(live.sessions)) {
    if (needsInput(s) && !sessionEnded(s.status)) parts.push(`w:${s.id}:${s.needsInput?.since ?? ""}`);
    if (s.status === "failed") parts.push(`f:${s.id}`);
  }
  for (const m of Object.values(live.modals)) if (!m.answered) parts.push(`a:${m.modalId}`);
  for (const m of live.mail) if (forPerson(m)) parts.push(`m:${m.id}`);
  return parts.sort().join(" ");
}

export function needsInput(s: Session): boolean {
  return s.needsInput?.active === true;
}

/** A session that has ended: no agent is left to read an answer. */
export function sessionEnded(status: string | undefined): boolean {
  return status === "completed" || status === "failed" || status === "stopped";
}

const SESSION_ORDER: Record<string, number> = {
  working: 1,
  spawning: 2,
  idle: 3,
  failed: 4,
  stopped: 5,
  completed: 6,
};

/** Sessions needing input first, then live ones, then finished; recent activity first. */
export function sortSessions(sessions: Record<string, Session>): Session[] {
  return Object.values(sessions).sort((a, b) => {
    const na = needsInput(a) ? 0 : 1;
    const nb = needsInput(b) ? 0 : 1;
    if (na !== nb) return na - nb;
    const oa = SESSION_ORDER[a.status] ?? 9;
    const ob = SESSION_ORDER[b.status] ?? 9;
    if (oa !== ob) return oa - ob;
    return (b.lastActivity ?? 0) - (a.lastActivity ?? 0);
  });
}

export interface SessionCounts {
  total: number;
  needsInput: number;
  working: number;
  spawning: number;
  idle: number;
  failed: number;
  completed: number;
}

export function sessionCounts(sessions: Record<string, Session>): SessionCounts {
  const c: SessionCounts = {
    total: 0,
    needsInput: 0,
    working: 0,
    spawning: 0,
    idle: 0,
    failed: 0,
    completed: 0,
  };
  for (const s of Object.values(sessions)) {
    c.total++;
    // A session waiting for the person counts there, not as working as well.
    if (needsInput(s) && !sessionEnded(s.status)) {
      c.needsInput++;
      continue;
    }
    if (s.status === "working") c.working++;
    else if (s.status === "spawning") c.spawning++;
    else if (s.status === "idle") c.idle++;
    else if (s.status === "failed") c.failed++;
    else if (s.status === "completed") c.completed++;
  }
  return c;
}

export interface TaskFilter {
  text: string;
  status: string; // "" = any
  priority: string; // "" = any
  showArchived: boolean;
}

export const EMPTY_FILTER: TaskFilter = { text: "", status: "", priority: "", showArchived: false };

export function matches(t: Task, f: TaskFilter): boolean {
  if (!f.showArchived && t.status === "archived" && f.status !== "archived") return false;
  if (f.status && t.status !== f.status) return false;
  if (f.priority && t.priority !== f.priority) return false;
  if (f.text) {
    const q = f.text.toLowerCase();
    if (!t.title.toLowerCase().includes(q) && !(t.description ?? "").toLowerCase().includes(q)) {
      return false;
    }
  }
  return true;
}

export interface TaskRow {
  kind: "task";
  task: Task;
  /** Nesting depth inside its group. */
  depth: number;
  /** Title of the parent when the parent is not shown just above (another group or filtered). */
  parentTitle?: string;
  childCount: number;
}

export interface GroupRow {
  kind: "group";
  status: string;
  label: string;
  count: number;
  collapsed: boolean;
}

export type Row = TaskRow | GroupRow;

const PRIORITY_RANK: Record<string, number> = { high: 0, medium: 1, low: 2 };

function byPriorityThenAge(a: Task, b: Task): number {
  const pa = PRIORITY_RANK[a.priority] ?? 3;
  const pb = PRIORITY_RANK[b.priority] ?? 3;
  if (pa !== pb) return pa - pb;
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
}

export function childrenIndex(tasks: Record<string, Task>): Map<string, Task[]> {
  const idx = new Map<string, Task[]>();
  for (const t of Object.values(tasks)) {
    if (!t.parentId) continue;
    const l = idx.get(t.parentId);
    if (l) l.push(t);
    else idx.set(t.parentId, [t]);
  }
  for (const l of idx.values()) l.sort(byPriorityThenAge);
  return idx;
}

/**
 * Rows of one status column: tasks in tree order (a child right under its parent when both are
 * in the column), each child indented; a task whose parent is elsewhere starts a new root and
 * names its parent.
 */
export function columnRows(
  tasks: Record<string, Task>,
  status: string,
  filter: TaskFilter,
  children: Map<string, Task[]> = childrenIndex(tasks),
): TaskRow[] {
  const inColumn = Object.values(tasks).filter((t) => t.status === status && matches(t, filter));
  const present = new Set(inColumn.map((t) => t.id));
  const roots = inColumn
    .filter((t) => !t.parentId || !present.has(t.parentId))
    .sort(byPriorityThenAge);
  const rows: TaskRow[] = [];
  const seen = new Set<string>();
  const visit = (t: Task, depth: number) => {
    if (seen.has(t.id)) return; // defensive: a cycle in legacy data
    seen.add(t.id);
    const kids = children.get(t.id) ?? [];
    const row: TaskRow = { kind: "task", task: t, depth, childCount: kids.length };
    if (depth === 0 && t.parentId) {
      const p = tasks[t.parentId];
      row.parentTitle = p ? p.title : "(missing parent)";
    }
    rows.push(row);
    for (const k of kids) if (present.has(k.id)) visit(k, Math.min(depth + 1, 6));
  };
  for (const r of roots) visit(r, 0);
  return rows;
}

/** Statuses shown as groups/columns for a filter. */
export function visibleStatuses(filter: TaskFilter): TaskStatus[] {
  if (filter.status) return [filter.status as TaskStatus];
  return TASK_STATUSES.filter((s) => s !== "archived" || filter.showArchived);
}

/** The phone's grouped list: one header per status, then its rows (unless collapsed). */
export function groupedRows(
  tasks: Record<string, Task>,
  filter: TaskFilter,
  collapsed: Record<string, boolean>,
): Row[] {
  const children = childrenIndex(tasks);
  const out: Row[] = [];
  for (const status of visibleStatuses(filter)) {
    const rows = columnRows(tasks, status, filter, children);
    if (rows.length === 0 && !filter.status) continue;
    const isCollapsed = collapsed[status] === true;
    out.push({
      kind: "group",
      status,
      label: STATUS_LABEL[status] ?? status,
      count: rows.length,
      collapsed: isCollapsed,
    });
    if (!isCollapsed) out.push(...rows);
  }
  return out;
}
