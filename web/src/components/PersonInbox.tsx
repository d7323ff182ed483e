// The person's inbox in this project: mail agents address to `mobile-user` (the person's
// address, DECISIONS D30) and the project's broadcasts, newest first. Loaded once per project
// over REST (so it outlives a reload), then kept current by `mail:received` events (a resume
// replays what a dropped connection missed). Senders show by session name.

import { useEffect, useMemo, useState, type ReactNode } from "react";
import { Link } from "wouter";
import { api } from "../services";
import { useApp } from "../store/app";
import { paths } from "../routes";
import { EmptyState, ErrorText, Time } from "./common";
import type { Mail } from "../types";
import { PERSON, forPerson } from "../store/selectors";

const SHOWN = 20;

/** The text of a mail's body, by the keys the CLI writes (MODEL.md §7). */
export function mailText(m: Mail): string | null {
  const body = m.body ?? {};
  for (const key of ["message", "question", "details", "instructions", "answer"]) {
    const v = body[key];
    if (typeof v === "string" && v.trim()) return v;
  }
  return null;
}

/** One mail to the person: subject, sender (a link to its session when it exists), time,
 * text; `projectName` names the project too (the cross-project inbox). `extra` follows the
 * subject (a "New" mark). */
export function MailItem({
  mail: m,
  sender,
  senderLive,
  projectName,
  extra,
}: {
  mail: Mail;
  sender: string;
  senderLive: boolean;
  projectName?: string;
  extra?: ReactNode;
}) {
  const text = mailText(m);
  return (
    <li className="mail-item" data-mail-id={m.id}>
      <p>
        <strong>{m.subject}</strong> {extra}
        {extra ? " " : null}
        <span className="muted small">
          {m.toSessionId == null ? "to everyone, " : ""}from{" "}
          {senderLive ? <Link href={paths.session(m.projectId, m.fromSessionId)}>{sender}</Link> : sender}
          {projectName ? (
            <>
              {" "}
              in <Link href={paths.project(m.projectId)}>{projectName}</Link>
            </>
          ) : null}
          , <Time ms={m.createdAt} />
        </span>
      </p>
      {text ? <p className="clamp">{text}</p> : null}
    </li>
  );
}

export function PersonInbox({ projectId }: { projectId: string }) {
  const live = useApp((s) => s.live.mail);
  const sessions = useApp((s) => s.live.sessions);
  const [loaded, setLoaded] = useState<Mail[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let gone = false;
    setLoaded([]);
    api.inbox(PERSON, projectId).then(
      (mail) => {
        if (!gone) setLoaded(mail);
      },
      (e: unknown) => {
        if (!gone) setError(e instanceof Error ? e.message : "The inbox could not be loaded.");
      },
    );
    return () => {
      gone = true;
    };
  }, [projectId]);

  const items = useMemo(() => {
    const byId = new Map<string, Mail>();
    for (const m of [...loaded, ...live]) if (m.projectId === projectId && forPerson(m)) byId.set(m.id, m);
    return [...byId.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, SHOWN);
  }, [loaded, live, projectId]);

  return (
    <section aria-labelledby="for-you-h" className="section">
      <h2 id="for-you-h">
        For you <span className="count">{items.length}</span>
      </h2>
      <ErrorText error={error} />
      {items.length === 0 ? (
        <EmptyState>No mail for you yet. Agents write to you at mobile-user.</EmptyState>
      ) : (
        <ul className="events" aria-label="Mail for you">
          {items.map((m) => (
            <MailItem
              key={m.id}
              mail={m}
              sender={sessions[m.fromSessionId]?.name ?? m.fromSessionId}
              senderLive={sessions[m.fromSessionId] !== undefined}
            />
          ))}
        </ul>
      )}
    </section>
  );
}
