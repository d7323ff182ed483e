// The person's inbox across every project they can see (`GET /api/inbox`, DECISIONS D34):
// agents waiting for an answer (the longest wait first), approvals, failures and mail to the
// person. Each item opens the session it is about, where the answer is given. Showing the
// inbox marks its failures and mail read on this device.

import { useEffect, type ReactNode } from "react";
import { Link } from "wouter";
import { paths } from "../routes";
import { inboxLoader } from "../services";
import { isUnread, markInboxSeen, useInbox } from "../store/inbox";
import { EmptyState, ErrorText, Time } from "../components/common";
import { MailItem } from "../components/PersonInbox";
import type { InboxSource } from "../types";

function From({ item }: { item: InboxSource }) {
  return (
    <span className="muted small">
      {item.projectName} · {item.sessionName}
    </span>
  );
}

/** One kind of item, under its heading with its count. */
function Group({ id, title, count, children }: { id: string; title: string; count: number; children: ReactNode }) {
  return (
    <section aria-labelledby={id} className="section">
      <h2 id={id}>
        {title} <span className="count">{count}</span>
      </h2>
      {children}
    </section>
  );
}

function NewMark({ at, seenAt }: { at: number; seenAt: number }) {
  return isUnread(at, seenAt) ? (
    <span className="badge badge-input" data-unread="true">
      New
    </span>
  ) : null;
}

export function Inbox() {
  const { data, error, seenAt } = useInbox();
  // Opened: fresh data, then everything shown is read (the marks stay until the next visit).
  useEffect(() => {
    void inboxLoader.refresh();
  }, []);
  useEffect(() => {
    if (!data || document.visibilityState !== "visible") return;
    const t = setTimeout(markInboxSeen, 1500);
    return () => clearTimeout(t);
  }, [data]);

  if (!data) {
    return (
      <section className="section" aria-busy={!error}>
        <h1 className="page-title">Inbox</h1>
        {error ? <ErrorText error={error} /> : <p className="muted">Loading…</p>}
      </section>
    );
  }
  const empty =
    data.waiting.length + data.approvals.length + data.failures.length + data.mail.length === 0;
  return (
    <div className="inbox" data-screen="inbox">
      <h1 className="page-title">Inbox</h1>
      <ErrorText error={error} />
      {empty && <EmptyState>Nothing waits for you in any project.</EmptyState>}
      {data.waiting.length > 0 && (
        <Group id="inbox-waiting-h" title="Waiting for your answer" count={data.waiting.length}>
          <ul className="cards">
            {data.waiting.map((w) => (
              <li key={w.sessionId} className="card card-input" data-inbox-waiting={w.sessionId}>
                <Link href={paths.session(w.projectId, w.sessionId)} className="card-link">
                  <span className="card-title">{w.sessionName}</span>
                  <span className="question clamp">{w.message ?? "The agent is waiting for an answer."}</span>
                  <span className="muted small">
                    {w.projectName} · waiting since <Time ms={w.since} />
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        </Group>
      )}
      {data.approvals.length > 0 && (
        <Group id="inbox-approvals-h" title="Approvals" count={data.approvals.length}>
          <ul className="cards">
            {data.approvals.map((a) => (
              <li key={a.modalId} className="card" data-inbox-approval={a.modalId}>
                <Link href={paths.session(a.projectId, a.sessionId)} className="card-link">
                  <span className="card-title">{a.title}</span>
                  <From item={a} />
                  <span className="muted small">
                    Asked <Time ms={a.timestamp} />
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        </Group>
      )}
      {data.failures.length > 0 && (
        <Group id="inbox-failures-h" title="Failed" count={data.failures.length}>
          <ul className="events">
            {data.failures.map((f) => (
              <li key={f.sessionId} data-inbox-failure={f.sessionId}>
                <Link href={paths.session(f.projectId, f.sessionId)}>{f.sessionName}</Link> failed{" "}
                <NewMark at={f.failedAt} seenAt={seenAt} />
                <br />
                <span className="muted small">
                  {f.projectName}, <Time ms={f.failedAt} />
                </span>
              </li>
            ))}
          </ul>
        </Group>
      )}
      {data.mail.length > 0 && (
        <Group id="inbox-mail-h" title="Mail for you" count={data.mail.length}>
          <ul className="events" aria-label="Mail for you, all projects">
            {data.mail.map((m) => (
              <MailItem
                key={m.id}
                mail={m}
                sender={m.fromName}
                senderLive
                projectName={m.projectName}
                extra={<NewMark at={m.createdAt} seenAt={seenAt} />}
              />
            ))}
          </ul>
        </Group>
      )}
    </div>
  );
}
