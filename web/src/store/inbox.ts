// The person's inbox across projects (`GET /api/inbox`): what waits for them, and how much of
// it is unread on this device. Agents waiting and approvals always count; failures and mail
// count when newer than the last time this device showed the inbox (DECISIONS D34). Times
// are compared on the server's clock (`generatedAt`), so a phone's wrong clock does not
// hide anything.

import { create } from "zustand";
import type { PersonInbox } from "../types";

const SEEN_KEY = "maestro.inboxSeenAt";

function readSeen(): number {
  try {
    const v = Number(localStorage.getItem(SEEN_KEY));
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
}

export interface InboxState {
  data: PersonInbox | null;
  error: string | null;
  /** Server time up to which this device has shown the inbox. */
  seenAt: number;
}

export const useInbox = create<InboxState>(() => ({ data: null, error: null, seenAt: readSeen() }));

/** How many items need the person: every wait and approval, plus unread failures and mail. */
export function unreadCount(data: PersonInbox | null, seenAt: number): number {
  if (!data) return 0;
  return (
    data.waiting.length +
    data.approvals.length +
    data.failures.filter((f) => f.failedAt > seenAt).length +
    data.mail.filter((m) => m.createdAt > seenAt).length
  );
}

/** Whether a failure or mail was new when the inbox was opened. */
export function isUnread(at: number, seenAt: number): boolean {
  return at > seenAt;
}

/** The inbox has been shown: everything in it up to now is read on this device. */
export function markInboxSeen(): void {
  const data = useInbox.getState().data;
  if (!data || data.generatedAt <= useInbox.getState().seenAt) return;
  try {
    localStorage.setItem(SEEN_KEY, String(data.generatedAt));
  } catch {
    /* private mode: counted again after a reload */
  }
  useInbox.setState({ seenAt: data.generatedAt });
}

/** Forgets the inbox (sign-out). */
export function forgetInbox(): void {
  try {
    localStorage.removeItem(SEEN_KEY);
  } catch {
    /* nothing kept */
  }
  useInbox.setState({ data: null, error: null, seenAt: 0 });
}

/**
 * Loads the inbox with `load`, one request at a time: a refresh asked for while one is in
 * flight runs once more after it, so the last answer is never older than the last ask.
 */
export class InboxLoader {
  private inFlight: Promise<void> | null = null;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private load: () => Promise<PersonInbox>) {}

  refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = this.load()
      .then(
        (data) => useInbox.setState({ data, error: null }),
        (e: unknown) =>
          useInbox.setState({ error: e instanceof Error ? e.message : "The inbox could not be loaded." }),
      )
      .finally(() => {
        this.inFlight = null;
        if (this.again) {
          this.again = false;
          void this.refresh();
        }
      });
    return this.inFlight;
  }

  /** A refresh soon: a burst of events is one request. */
  soon(delayMs = 150): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delayMs);
  }
}
