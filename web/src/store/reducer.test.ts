import { describe, expect, it } from "vitest";
import { initialState, reduce, type Action, type State } from "./reducer";
import type { Envelope, Session, Snapshot, Task, TeamMember } from "../types";
import { columnRows, EMPTY_FILTER, groupedRows, personSignature, sortSessions } from "./selectors";

const P = "proj_1";

function task(id: string, updatedAt: number, extra: Partial<Task> = {}): Task {
  return {
    id,
    projectId: P,
    parentId: null,
    title: `Task ${id}`,
    description: "",
    status: "todo",
    priority: "medium",
    createdAt: 1,
    updatedAt,
    sessionIds: [],
    ...extra,
  };
}

function session(id: string, lastActivity: number, extra: Partial<Session> = {}): Session {
  return {
    id,
    projectId: P,
    taskIds: [],
    name: `Session ${id}`,
    status: "working",
    startedAt: 1,
    lastActivity,
    ...extra,
  };
}

function member(id: string, updatedAt: string): TeamMember {
  return {
    id,
    projectId: P,
    name: id,
    role: "r",
    avatar: "a",
    status: "active",
    createdAt: updatedAt,
    updatedAt,
  };
}

const ev = (event: string, data: unknown, timestamp = 1000): Action => ({
  type: "event",
  envelope: { type: event, event, data, timestamp } as Envelope,
});

function snapshot(tasks: Task[], sessions: Session[] = [], teamMembers: TeamMember[] = []): Action {
  const s: Snapshot = {
    success: true,
    project: { id: P, name: "Demo", workingDir: "/tmp", createdAt: 1, updatedAt: 1 },
    tasks,
    sessions,
    teamMembers,
  };
  return { type: "snapshot", snapshot: s, at: 5 };
}

const run = (actions: Action[], from: State = initialState(P)) => actions.reduce(reduce, from);

describe("snapshot", () => {
  it("loads project, tasks, sessions and team members", () => {
    const s = run([snapshot([task("t1", 1)], [session("s1", 1)], [member("m1", "2026-01-01T00:00:00Z")])]);
    expect(s.synced).toBe(true);
    expect(s.project?.name).toBe("Demo");
    expect(Object.keys(s.tasks)).toEqual(["t1"]);
    expect(Object.keys(s.sessions)).toEqual(["s1"]);
    expect(Object.keys(s.teamMembers)).toEqual(["m1"]);
  });

  it("ignores a snapshot of another project", () => {
    const other = snapshot([task("t1", 1)]);
    if (other.type === "snapshot") other.snapshot.project.id = "proj_other";
    const s = run([other]);
    expect(s.synced).toBe(false);
    expect(s.tasks).toEqual({});
  });
});

describe("incremental events", () => {
  it("creates, updates and deletes tasks", () => {
    let s = run([snapshot([])]);
    s = run([ev("task:created", task("t1", 10))], s);
    expect(s.tasks.t1?.title).toBe("Task t1");
    s = run([ev("task:updated", task("t1", 11, { title: "Renamed" }))], s);
    expect(s.tasks.t1?.title).toBe("Renamed");
    s = run([ev("task:deleted", { id: "t1", projectId: P }, 12)], s);
    expect(s.tasks.t1).toBeUndefined();
  });

  it("applies a duplicate event once and keeps the state identical", () => {
    const e = ev("task:created", task("t1", 10));
    const once = run([snapshot([]), e]);
    const twice = run([e], once);
    expect(twice.tasks).toEqual(once.tasks);
    const n = ev("notify:needs_input", { sessionId: "s1", name: "n", message: "?" }, 77);
    const a = run([n], once);
    const b = run([n], a);
    expect(a.notices).toHaveLength(1);
    expect(b.notices).toHaveLength(1);
    const m = ev("mail:received", { id: "mail_1", projectId: P, fromSessionId: "x", toSessionId: "s1", type: "query", subject: "s", createdAt: 3 });
    expect(run([m, m], once).mail).toHaveLength(1);
  });

  it("never rolls a task back when updates arrive out of order", () => {
    const s = run([
      snapshot([]),
      ev("task:updated", task("t1", 30, { title: "newest", status: "completed" })),
      ev("task:updated", task("t1", 20, { title: "older" })),
      ev("task:created", task("t1", 10, { title: "oldest" })),
    ]);
    expect(s.tasks.t1?.title).toBe("newest");
    expect(s.tasks.t1?.status).toBe("completed");
  });

  it("never rolls a session back (lastActivity) and tracks needsInput", () => {
    const s = run([
      snapshot([], [session("s1", 1)]),
      ev("session:updated", session("s1", 50, { needsInput: { active: true, message: "Which DB?" } })),
      ev("session:updated", session("s1", 40, { needsInput: { active: false } })),
    ]);
    expect(s.sessions.s1?.needsInput).toEqual({ active: true, message: "Which DB?" });
    expect(sortSessions(s.sessions)[0]?.id).toBe("s1");
  });

  it("does not resurrect a deleted record with a late, older update", () => {
    const s = run([
      snapshot([task("t1", 5)], [session("s1", 5)]),
      ev("task:deleted", { id: "t1", projectId: P }, 100),
      ev("task:updated", task("t1", 90)),
      ev("session:deleted", { id: "s1", projectId: P }, 100),
      ev("session:updated", session("s1", 99)),
    ]);
    expect(s.tasks.t1).toBeUndefined();
    expect(s.sessions.s1).toBeUndefined();
  });

  it("adds a session from session:spawn and links tasks on both sides", () => {
    const s = run([
      snapshot([task("t1", 5)]),
      ev("session:spawn", { session: session("s9", 6, { status: "spawning" }), projectId: P, taskIds: ["t1"] }),
      ev("task:session_added", { taskId: "t1", sessionId: "s9", projectId: P }),
      ev("task:session_added", { taskId: "t1", sessionId: "s9", projectId: P }),
    ]);
    expect(s.sessions.s9?.status).toBe("spawning");
    expect(s.tasks.t1?.sessionIds).toEqual(["s9"]);
    expect(s.sessions.s9?.taskIds).toEqual(["t1"]);
    const un = run([ev("session:task_removed", { taskId: "t1", sessionId: "s9", projectId: P })], s);
    expect(un.tasks.t1?.sessionIds).toEqual([]);
    expect(un.sessions.s9?.taskIds).toEqual([]);
  });

  it("ignores events of another project", () => {
    const s = run([snapshot([]), ev("task:created", { ...task("t1", 1), projectId: "proj_2" })]);
    expect(s.tasks).toEqual({});
  });

  it("handles team member versions by ISO time and deletes", () => {
    const s = run([
      snapshot([], [], [member("m1", "2026-01-01T00:00:02.000Z")]),
      ev("team_member:updated", { ...member("m1", "2026-01-01T00:00:01.000Z"), name: "stale" }),
    ]);
    expect(s.teamMembers.m1?.name).toBe("m1");
    const d = run([ev("team_member:deleted", { id: "m1", projectId: P })], s);
    expect(d.teamMembers.m1).toBeUndefined();
  });

  it("marks the project deleted", () => {
    const s = run([snapshot([]), ev("project:deleted", { id: P })]);
    expect(s.projectDeleted).toBe(true);
  });

  it("keeps notices newest first and bounded", () => {
    let s = run([snapshot([])]);
    for (let i = 0; i < 60; i++) s = run([ev("notify:progress", { sessionId: "s", message: `m${i}` }, i)], s);
    expect(s.notices).toHaveLength(50);
    expect(s.notices[0]?.message).toBe("m59");
  });
});

describe("re-sync", () => {
  it("after a reconnect drops what was deleted while away and adds what was created", () => {
    let s = run([snapshot([task("t1", 1), task("t2", 1)], [session("s1", 1)])]);
    // Offline: t1 deleted, t3 created, s1 updated. Reconnect → sync.
    s = run(
      [
        { type: "syncStart" },
        snapshot([task("t2", 1), task("t3", 2)], [session("s1", 9, { status: "completed" })]),
      ],
      s,
    );
    expect(Object.keys(s.tasks).sort()).toEqual(["t2", "t3"]);
    expect(s.sessions.s1?.status).toBe("completed");
    expect(s.syncing).toBeNull();
  });

  it("keeps events that raced with the sync and are newer than the snapshot", () => {
    const s = run([
      snapshot([task("t1", 1)]),
      { type: "syncStart" },
      ev("task:updated", task("t1", 20, { title: "live edit" })),
      ev("task:created", task("t4", 21)),
      // The snapshot was taken before both events.
      snapshot([task("t1", 10, { title: "snapshot" })]),
    ]);
    expect(s.tasks.t1?.title).toBe("live edit");
    expect(s.tasks.t4).toBeDefined();
  });

  it("does not bring back a record deleted while the sync was in flight", () => {
    const s = run([
      snapshot([task("t1", 1)]),
      { type: "syncStart" },
      ev("task:deleted", { id: "t1", projectId: P }, 50),
      snapshot([task("t1", 1)]),
      ev("task:updated", task("t1", 40)),
    ]);
    expect(s.tasks.t1).toBeUndefined();
  });

  it("a snapshot newer than a raced event wins", () => {
    const s = run([
      snapshot([]),
      { type: "syncStart" },
      ev("task:created", task("t1", 5, { title: "old" })),
      snapshot([task("t1", 8, { title: "new" })]),
    ]);
    expect(s.tasks.t1?.title).toBe("new");
  });

  it("reset clears everything for a project switch", () => {
    const s = run([snapshot([task("t1", 1)]), { type: "reset", projectId: "proj_2" }]);
    expect(s.projectId).toBe("proj_2");
    expect(s.tasks).toEqual({});
    expect(s.synced).toBe(false);
  });
});

describe("selectors", () => {
  it("nests children under their parent inside a column and names parents elsewhere", () => {
    const tasks = {
      a: task("a", 1, { createdAt: 1 }),
      b: task("b", 1, { parentId: "a", createdAt: 2 }),
      c: task("c", 1, { parentId: "b", createdAt: 3 }),
      d: task("d", 1, { parentId: "a", createdAt: 4, status: "completed" }),
    };
    const rows = columnRows(tasks, "todo", EMPTY_FILTER);
    expect(rows.map((r) => [r.task.id, r.depth])).toEqual([
      ["a", 0],
      ["b", 1],
      ["c", 2],
    ]);
    const done = columnRows(tasks, "completed", EMPTY_FILTER);
    expect(done[0]?.parentTitle).toBe("Task a");
    const grouped = groupedRows(tasks, { ...EMPTY_FILTER, text: "task c" }, {});
    expect(grouped.map((r) => (r.kind === "group" ? `#${r.status}` : r.task.id))).toEqual(["#todo", "c"]);
    const collapsed = groupedRows(tasks, EMPTY_FILTER, { todo: true });
    expect(collapsed.filter((r) => r.kind === "task").map((r) => (r.kind === "task" ? r.task.id : ""))).toEqual(["d"]);
  });
});

describe("agents' modals", () => {
  const env = (event: string, data: unknown, timestamp = 10): Action => ({
    type: "event",
    envelope: { event, data, timestamp },
  });
  const shown = (modalId: string, timestamp = 10) =>
    env("session:modal", { sessionId: "s1", modalId, title: "Deploy?", html: "<p>ok?</p>" }, timestamp);

  it("keeps a shown modal until it is closed, marking the answer", () => {
    let s = reduce(initialState(P), shown("m1"));
    expect(s.modals.m1).toMatchObject({ sessionId: "s1", title: "Deploy?", html: "<p>ok?</p>" });
    expect(s.modals.m1?.answered).toBeUndefined();
    s = reduce(s, env("session:modal_action", { sessionId: "s1", modalId: "m1", action: "approve" }));
    expect(s.modals.m1?.answered).toBe("approve");
    const same = reduce(s, env("session:modal_action", { sessionId: "s1", modalId: "m1", action: "approve" }));
    expect(same).toBe(s);
    s = reduce(s, env("session:modal_closed", { sessionId: "s1", modalId: "m1" }));
    expect(s.modals).toEqual({});
  });

  it("takes the approvals still waiting from a snapshot (they outlive a reload)", () => {
    let s = reduce(initialState(P), shown("gone"));
    const base = snapshot([]);
    if (base.type !== "snapshot") throw new Error("snapshot");
    const waiting = { sessionId: "s1", modalId: "m9", title: "Ship?", html: "<p>?</p>", timestamp: 3 };
    s = reduce(s, { ...base, snapshot: { ...base.snapshot, modals: [waiting] } });
    // The server's list replaces ours: "gone" was answered or closed meanwhile.
    expect(Object.keys(s.modals)).toEqual(["m9"]);
    expect(s.modals.m9).toMatchObject({ title: "Ship?", timestamp: 3 });
    // A server that does not list them (older) leaves ours alone.
    const older = reduce(s, snapshot([]));
    expect(Object.keys(older.modals)).toEqual(["m9"]);
  });

  it("ignores malformed or unknown ones and keeps the newest 20", () => {
    let s = reduce(initialState(P), env("session:modal", { sessionId: "s1", modalId: "m1" }));
    expect(s.modals).toEqual({});
    s = reduce(s, env("session:modal_action", { modalId: "nope", action: "x" }));
    expect(s.modals).toEqual({});
    for (let i = 0; i < 25; i++) s = reduce(s, shown(`m${i}`, 100 + i));
    expect(Object.keys(s.modals)).toHaveLength(20);
    expect(s.modals.m0).toBeUndefined();
    expect(s.modals.m24).toBeDefined();
  });
});

describe("session counts", () => {
  it("counts a session waiting for input as needing input, not as working too", async () => {
    const { sessionCounts } = await import("./selectors");
    const c = sessionCounts({
      a: session("a", 1, { status: "working", needsInput: { active: true, message: "?" } }),
      b: session("b", 1, { status: "working" }),
      c: session("c", 1, { status: "spawning" }),
      d: session("d", 1, { status: "failed" }),
    });
    expect(c).toMatchObject({ total: 4, needsInput: 1, working: 1, spawning: 1, failed: 1 });
  });
});

describe("reset", () => {
  it("starts a project's state with the notices kept for it, capped", () => {
    const notices = Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, event: "notify:progress", timestamp: 1000 - i }));
    const s = reduce(initialState(P), { type: "reset", projectId: "proj_2", notices });
    expect(s.projectId).toBe("proj_2");
    expect(s.notices).toHaveLength(50);
    expect(s.tasks).toEqual({});
  });
});

describe("personSignature", () => {
  const s = (id: string, status: string, active: boolean) =>
    ({ id, projectId: "p", name: id, status, needsInput: { active, since: 5 }, taskIds: [] }) as unknown as Session;
  const base = {
    sessions: { a: s("a", "working", true), b: s("b", "completed", true), c: s("c", "working", false) },
    modals: { m1: { modalId: "m1" }, m2: { modalId: "m2", answered: "approve" } },
    mail: [
      { id: "x", projectId: "p", fromSessionId: "a", toSessionId: "mobile-user", type: "query", subject: "s", createdAt: 1 },
      { id: "y", projectId: "p", fromSessionId: "a", toSessionId: "c", type: "query", subject: "s", createdAt: 2 },
    ],
  };

  it("names what the person's inbox shows, and only that", () => {
    // Waiting a (not b: it ended), approval m1 (not m2: answered), mail x (not y: between agents).
    expect(personSignature(base)).toBe("a:m1 m:x w:a:5");
    // A change the inbox does not show keeps the signature.
    const busy = { ...base, sessions: { ...base.sessions, c: { ...base.sessions.c, lastActivity: 99 } } };
    expect(personSignature(busy)).toBe(personSignature(base));
  });

  it("changes when an agent asks, fails, or an approval is answered", () => {
    const asked = { ...base, sessions: { ...base.sessions, c: s("c", "working", true) } };
    expect(personSignature(asked)).not.toBe(personSignature(base));
    const failed = { ...base, sessions: { ...base.sessions, c: s("c", "failed", false) } };
    expect(personSignature(failed)).toContain("f:c");
    const answered = { ...base, modals: { m1: { modalId: "m1", answered: "deny" } } };
    expect(personSignature(answered)).not.toContain("a:m1");
  });
});
