// "Recent events" outlive a reload: the project's `notify:*` notices are kept in
// localStorage (newest 50, per project) and given back when the project opens again.

import type { Notice } from "./reducer";
import { useApp } from "./app";

const key = (projectId: string) => `maestro.notices.${projectId}`;

function isNotice(v: unknown): v is Notice {
  const n = v as Notice | null;
  return typeof n === "object" && n !== null && typeof n.key === "string" && typeof n.event === "string" && typeof n.timestamp === "number";
}

/** The notices kept for `projectId` (none when storage is refused or holds garbage). */
export function savedNotices(projectId: string): Notice[] {
  try {
    const raw = localStorage.getItem(key(projectId));
    const list: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(list) ? list.filter(isNotice) : [];
  } catch {
    return [];
  }
}

/** Keeps the open project's notices whenever they change. */
export function keepNotices(): () => void {
  return useApp.subscribe((s, prev) => {
    const { projectId, notices } = s.live;
    if (!projectId || notices === prev.live.notices) return;
    try {
      localStorage.setItem(key(projectId), JSON.stringify(notices));
    } catch {
      // Storage refused: they last as long as the page.
    }
  });
}

/** Forgets every project's notices and drafts (signing out: the next person must not read them). */
export function forgetLocalHistory(): void {
  try {
    for (const k of Object.keys(localStorage)) if (k.startsWith("maestro.notices.")) localStorage.removeItem(k);
    for (const k of Object.keys(sessionStorage)) if (k.startsWith("maestro.draft.")) sessionStorage.removeItem(k);
  } catch {
    // Storage refused: nothing was kept.
  }
}
