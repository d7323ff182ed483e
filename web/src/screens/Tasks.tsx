import { useDeferredValue, useMemo, useRef, useState, useId } from "react";
import { Link, useLocation } from "wouter";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useApp } from "../store/app";
import {
  EMPTY_FILTER,
  STATUS_LABEL,
  childrenIndex,
  columnRows,
  groupedRows,
  visibleStatuses,
  type Row,
  type TaskFilter,
  type TaskRow,
} from "../store/selectors";
import { paths } from "../routes";
import { EmptyState, PriorityMark, Sheet } from "../components/common";
import { SpawnSheet, TaskForm } from "../components/forms";
import { TASK_PRIORITIES, TASK_STATUSES } from "../types";

function FilterBar({ filter, onChange }: { filter: TaskFilter; onChange: (f: TaskFilter) => void }) {
  const ids = { q: useId(), s: useId(), p: useId() };
  return (
    <div className="filters" role="search" aria-label="Filter tasks">
      <div className="field grow">
        <label htmlFor={ids.q} className="sr-only">
          Search tasks
        </label>
        <input id={ids.q} type="search" placeholder="Search tasks" value={filter.text} onChange={(e) => onChange({ ...filter, text: e.target.value })} />
      </div>
      <div className="field">
        <label htmlFor={ids.s} className="sr-only">
          Status
        </label>
        <select id={ids.s} value={filter.status} onChange={(e) => onChange({ ...filter, status: e.target.value })}>
          <option value="">All statuses</option>
          {TASK_STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABEL[s]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.p} className="sr-only">
          Priority
        </label>
        <select id={ids.p} value={filter.priority} onChange={(e) => onChange({ ...filter, priority: e.target.value })}>
          <option value="">Any priority</option>
          {TASK_PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {p[0]?.toUpperCase() + p.slice(1)}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

function TaskItem({
  row,
  projectId,
  selecting,
  selected,
  onToggle,
}: {
  row: TaskRow;
  projectId: string;
  selecting: boolean;
  selected: boolean;
  onToggle: (id: string) => void;
}) {
  const t = row.task;
  const sessions = t.sessionIds?.length ?? 0;
  return (
    <div className={`task depth-${row.depth}`} data-task-id={t.id}>
      {selecting && (
        <input
          type="checkbox"
          className="task-check"
          checked={selected}
          onChange={() => onToggle(t.id)}
          aria-label={`Select ${t.title}`}
        />
      )}
      <PriorityMark priority={t.priority} />
      <div className="task-main">
        <Link href={paths.task(projectId, t.id)} className="task-title">
          {row.depth > 0 && <span aria-hidden="true">↳ </span>}
          {t.title}
        </Link>
        <span className="task-meta">
          {row.parentTitle && <span>in {row.parentTitle}</span>}
          {row.childCount > 0 && <span>{row.childCount} subtask{row.childCount > 1 ? "s" : ""}</span>}
          {sessions > 0 && <span>{sessions} session{sessions > 1 ? "s" : ""}</span>}
        </span>
      </div>
    </div>
  );
}

/** The phone's grouped list, virtualised (a board of 1,000 tasks renders ~20 rows). */
function GroupedList(props: {
  projectId: string;
  filter: TaskFilter;
  selecting: boolean;
  selected: string[];
  onToggle: (id: string) => void;
}) {
  const tasks = useApp((s) => s.live.tasks);
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({});
  const rows: Row[] = useMemo(() => groupedRows(tasks, props.filter, collapsed), [tasks, props.filter, collapsed]);
  const parent = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: (i) => (rows[i]?.kind === "group" ? 48 : 64),
    overscan: 8,
    getItemKey: (i) => {
      const r = rows[i];
      return r ? (r.kind === "group" ? `g:${r.status}` : r.task.id) : i;
    },
  });
  if (rows.length === 0) {
    return <EmptyState>No tasks match. Create one with “New task”.</EmptyState>;
  }
  return (
    <div ref={parent} className="vlist" data-scroll="true" data-testid="task-list" aria-label="Tasks by status">
      <div className="vlist-inner" style={{ height: v.getTotalSize() }}>
        {v.getVirtualItems().map((item) => {
          const r = rows[item.index];
          if (!r) return null;
          return (
            <div
              key={item.key}
              ref={v.measureElement}
              data-index={item.index}
              className="vrow"
              style={{ transform: `translateY(${item.start}px)` }}
            >
              {r.kind === "group" ? (
                <h2 className="group-h">
                  <button
                    type="button"
                    className="group-toggle"
                    aria-expanded={!r.collapsed}
                    onClick={() => setCollapsed((c) => ({ ...c, [r.status]: !c[r.status] }))}
                  >
                    <span aria-hidden="true">{r.collapsed ? "▸" : "▾"}</span> {r.label}{" "}
                    <span className="count">{r.count}</span>
                  </button>
                </h2>
              ) : (
                <TaskItem
                  row={r}
                  projectId={props.projectId}
                  selecting={props.selecting}
                  selected={props.selected.includes(r.task.id)}
                  onToggle={props.onToggle}
                />
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}

function Column(props: {
  status: string;
  rows: TaskRow[];
  projectId: string;
  selecting: boolean;
  selected: string[];
  onToggle: (id: string) => void;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: props.rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 64,
    overscan: 6,
    getItemKey: (i) => props.rows[i]?.task.id ?? i,
  });
  const hid = useId();
  return (
    <section className="column" aria-labelledby={hid} data-column={props.status}>
      <h3 id={hid} className="column-h">
        {STATUS_LABEL[props.status] ?? props.status} <span className="count">{props.rows.length}</span>
      </h3>
      <div ref={parent} className="column-body" data-scroll="true">
        {props.rows.length === 0 ? (
          <p className="muted small column-empty">No tasks</p>
        ) : (
          <div className="vlist-inner" style={{ height: v.getTotalSize() }}>
            {v.getVirtualItems().map((item) => {
              const r = props.rows[item.index];
              if (!r) return null;
              return (
                <div key={item.key} ref={v.measureElement} data-index={item.index} className="vrow" style={{ transform: `translateY(${item.start}px)` }}>
                  <TaskItem row={r} projectId={props.projectId} selecting={props.selecting} selected={props.selected.includes(r.task.id)} onToggle={props.onToggle} />
                </div>
              );
            })}
          </div>
        )}
      </div>
    </section>
  );
}

/** Wide screens: status columns, each virtualised. */
export function Board({
  projectId,
  filter = EMPTY_FILTER,
  selecting = false,
  selected = [],
  onToggle = () => {},
  compact = false,
}: {
  projectId: string;
  filter?: TaskFilter;
  selecting?: boolean;
  selected?: string[];
  onToggle?: (id: string) => void;
  compact?: boolean;
}) {
  const tasks = useApp((s) => s.live.tasks);
  const columns = useMemo(() => {
    const children = childrenIndex(tasks);
    return visibleStatuses(filter)
      .filter((s) => !compact || !["cancelled", "archived"].includes(s))
      .map((s) => [s, columnRows(tasks, s, filter, children)] as const);
  }, [tasks, filter, compact]);
  return (
    <div className={`board ${compact ? "board-compact" : ""}`} data-testid="task-board">
      {columns.map(([status, rows]) => (
        <Column key={status} status={status} rows={rows} projectId={projectId} selecting={selecting} selected={selected} onToggle={onToggle} />
      ))}
    </div>
  );
}

export function Tasks({ projectId, wide }: { projectId: string; wide: boolean }) {
  const [filter, setFilter] = useState<TaskFilter>(EMPTY_FILTER);
  // Typing stays responsive on big boards: the list follows the filter at lower priority.
  const shown = useDeferredValue(filter);
  const [creating, setCreating] = useState(false);
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<string[]>([]);
  const [spawning, setSpawning] = useState(false);
  const count = useApp((s) => Object.keys(s.live.tasks).length);
  const [, navigate] = useLocation();
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  return (
    <div className="tasks-screen" data-screen="tasks">
      <div className="screen-head">
        <h1 className="page-title">
          Tasks <span className="count">{count}</span>
        </h1>
        <button
          type="button"
          className="btn btn-ghost"
          aria-pressed={selecting}
          onClick={() => {
            setSelecting(!selecting);
            setSelected([]);
          }}
        >
          {selecting ? "Cancel" : "Select"}
        </button>
      </div>
      <FilterBar filter={filter} onChange={setFilter} />
      {wide ? (
        <Board projectId={projectId} filter={shown} selecting={selecting} selected={selected} onToggle={toggle} />
      ) : (
        <GroupedList projectId={projectId} filter={shown} selecting={selecting} selected={selected} onToggle={toggle} />
      )}
      <div className="action-bar">
        {selecting ? (
          <button type="button" className="btn btn-primary" disabled={selected.length === 0} onClick={() => setSpawning(true)}>
            Spawn agent for {selected.length} task{selected.length === 1 ? "" : "s"}
          </button>
        ) : (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            + New task
          </button>
        )}
      </div>
      {creating && (
        <Sheet title="New task" onClose={() => setCreating(false)}>
          <TaskForm
            projectId={projectId}
            onDone={(t) => {
              setCreating(false);
              navigate(paths.task(projectId, t.id));
            }}
          />
        </Sheet>
      )}
      {spawning && (
        <SpawnSheet
          projectId={projectId}
          taskIds={selected}
          onClose={() => {
            setSpawning(false);
            setSelecting(false);
            setSelected([]);
          }}
        />
      )}
    </div>
  );
}
