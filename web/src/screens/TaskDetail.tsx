import { useEffect, useMemo, useState } from "react";
import { Link } from "wouter";
import { useApp } from "../store/app";
import { childrenIndex } from "../store/selectors";
import { paths } from "../routes";
import { EmptyState, ErrorText, Markdown, PriorityMark, SessionBadge, Sheet, TaskStatusBadge, Time } from "../components/common";
import { SpawnSheet, TaskForm } from "../components/forms";
import { api } from "../services";
import type { DocEntry } from "../types";

export function TaskDetail({ projectId, taskId }: { projectId: string; taskId: string }) {
  const task = useApp((s) => s.live.tasks[taskId]);
  const tasks = useApp((s) => s.live.tasks);
  const sessions = useApp((s) => s.live.sessions);
  const synced = useApp((s) => s.live.synced);
  const [editing, setEditing] = useState(false);
  const [adding, setAdding] = useState(false);
  const [spawning, setSpawning] = useState(false);
  const [docs, setDocs] = useState<(DocEntry & { sessionName?: string })[]>([]);
  const [error, setError] = useState<string | null>(null);
  const children = useMemo(() => childrenIndex(tasks).get(taskId) ?? [], [tasks, taskId]);

  useEffect(() => {
    let on = true;
    api.taskDocs(taskId).then((d) => on && setDocs(d), (e: Error) => on && setError(e.message));
    return () => {
      on = false;
    };
  }, [taskId, task?.sessionIds?.length]);

  if (!task) {
    return (
      <div data-screen="task">
        <p>
          <Link href={paths.tasks(projectId)}>← Tasks</Link>
        </p>
        <p aria-busy={!synced}>{synced ? "This task does not exist (or was deleted)." : "Loading…"}</p>
      </div>
    );
  }
  const parent = task.parentId ? tasks[task.parentId] : undefined;
  return (
    <article className="detail" data-screen="task" aria-labelledby="task-h">
      <p className="crumbs">
        <Link href={paths.tasks(projectId)}>← Tasks</Link>
        {parent && (
          <>
            {" / "}
            <Link href={paths.task(projectId, parent.id)}>{parent.title}</Link>
          </>
        )}
      </p>
      <header className="detail-head">
        <h1 id="task-h" className="page-title">
          <PriorityMark priority={task.priority} /> {task.title}
        </h1>
        <TaskStatusBadge status={task.status} />
      </header>
      <p className="muted small">
        Created <Time ms={task.createdAt} /> · updated <Time ms={task.updatedAt} /> · {task.priority} priority
      </p>
      {task.claimedBy && (task.claimExpiresAt ?? 0) > Date.now() && (
        <p className="small" data-claimed-by={task.claimedBy}>
          Claimed by{" "}
          <Link href={paths.session(projectId, task.claimedBy)}>{sessions[task.claimedBy]?.name ?? task.claimedBy}</Link>
          : other agents wait until it is released.
        </p>
      )}
      {task.description ? <Markdown text={task.description} /> : <p className="muted">No description.</p>}
      <div className="button-row">
        <button type="button" className="btn" onClick={() => setEditing(true)}>
          Edit
        </button>
        <button type="button" className="btn" onClick={() => setAdding(true)}>
          Add subtask
        </button>
        <button type="button" className="btn btn-primary" onClick={() => setSpawning(true)}>
          Spawn agent
        </button>
      </div>

      <section className="section" aria-labelledby="sub-h">
        <h2 id="sub-h">Subtasks</h2>
        {children.length === 0 ? (
          <EmptyState>No subtasks.</EmptyState>
        ) : (
          <ul className="list">
            {children.map((c) => (
              <li key={c.id} className="list-item">
                <Link href={paths.task(projectId, c.id)} className="list-link">
                  <span className="list-title">{c.title}</span>
                </Link>
                <TaskStatusBadge status={c.status} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="section" aria-labelledby="ses-h">
        <h2 id="ses-h">Sessions</h2>
        {(task.sessionIds ?? []).length === 0 ? (
          <EmptyState>No agent has worked on this task yet.</EmptyState>
        ) : (
          <ul className="list">
            {(task.sessionIds ?? []).map((id) => {
              const s = sessions[id];
              return (
                <li key={id} className="list-item">
                  <Link href={paths.session(projectId, id)} className="list-link">
                    <span className="list-title">{s?.name ?? id}</span>
                  </Link>
                  {s && <SessionBadge session={s} />}
                </li>
              );
            })}
          </ul>
        )}
      </section>

      <section className="section" aria-labelledby="tdocs-h">
        <h2 id="tdocs-h">Docs</h2>
        <ErrorText error={error} />
        {docs.length === 0 ? (
          <EmptyState>No docs yet.</EmptyState>
        ) : (
          docs.map((d) => (
            <details key={d.id} className="doc">
              <summary>
                {d.title} <span className="muted small">{d.sessionName ?? ""}</span>
              </summary>
              {d.content ? <Markdown text={d.content} /> : <p className="muted small">{d.filePath}</p>}
            </details>
          ))
        )}
      </section>

      {editing && (
        <Sheet title="Edit task" onClose={() => setEditing(false)}>
          <TaskForm projectId={projectId} task={task} onDone={() => setEditing(false)} />
        </Sheet>
      )}
      {adding && (
        <Sheet title="New subtask" onClose={() => setAdding(false)}>
          <TaskForm projectId={projectId} parentId={task.id} onDone={() => setAdding(false)} />
        </Sheet>
      )}
      {spawning && <SpawnSheet projectId={projectId} taskIds={[task.id]} onClose={() => setSpawning(false)} />}
    </article>
  );
}
