// Browser notifications for the events that need a person: an agent waiting for input, a failed
// session, a completed task. Only after the user allowed them; tapping one opens the session.

import { useApp } from "./store/app";
import type { Envelope } from "./types";

const WATCHED = new Set(["notify:needs_input", "notify:session_failed", "notify:task_completed"]);

export function notificationsSupported(): boolean {
  return typeof window !== "undefined" && "Notification" in window;
}

export function permission(): NotificationPermission | "unsupported" {
  return notificationsSupported() ? Notification.permission : "unsupported";
}

export async function askPermission(): Promise<NotificationPermission | "unsupported"> {
  if (!notificationsSupported()) return "unsupported";
  return Notification.requestPermission();
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v ? v : undefined;
}

export interface NotificationText {
  title: string;
  body: string;
  url: string;
  tag: string;
}

/** What to show for an event (pure; null for events that notify nobody). */
export function describe(env: Envelope, projectId: string): NotificationText | null {
  if (!WATCHED.has(env.event) || !env.data || typeof env.data !== "object") return null;
  const d = env.data as Record<string, unknown>;
  const sessionId = str(d.sessionId);
  const taskId = str(d.taskId);
  const base = `/projects/${encodeURIComponent(projectId)}`;
  const sessionUrl = sessionId ? `${base}/sessions/${encodeURIComponent(sessionId)}` : base;
  switch (env.event) {
    case "notify:needs_input":
      return {
        title: `${str(d.name) ?? "An agent"} needs your input`,
        body: str(d.message) ?? "Open the session to reply.",
        url: sessionUrl,
        tag: `needs-input:${sessionId ?? ""}`,
      };
    case "notify:session_failed":
      return {
        title: `${str(d.name) ?? "A session"} failed`,
        body: "Open the session to see its timeline.",
        url: sessionUrl,
        tag: `failed:${sessionId ?? ""}`,
      };
    default: {
      // notify:task_completed: open the session that worked on it when we know one.
      const task = taskId ? useApp.getState().live.tasks[taskId] : undefined;
      const s = task?.sessionIds?.[task.sessionIds.length - 1];
      return {
        title: "Task completed",
        body: str(d.title) ?? "A task was completed.",
        url: s
          ? `${base}/sessions/${encodeURIComponent(s)}`
          : taskId
            ? `${base}/tasks/${encodeURIComponent(taskId)}`
            : base,
        tag: `task-done:${taskId ?? ""}`,
      };
    }
  }
}

type Navigate = (url: string) => void;
let navigate: Navigate = (url) => {
  window.history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate"));
};

/** Lets the router do the navigation when a notification is tapped. */
export function setNavigator(fn: Navigate): void {
  navigate = fn;
}

export function openFromNotification(url: string): void {
  window.focus();
  navigate(url);
}

export function notifyFromEvent(env: Envelope, projectId: string): void {
  const text = describe(env, projectId);
  if (!text) return;
  const store = useApp.getState();
  // In the app: a toast. Notifications are for when the app is not in front.
  store.toast({ text: `${text.title}${text.body ? `: ${text.body}` : ""}`, href: text.url, tone: env.event === "notify:session_failed" ? "error" : "info" });
  if (permission() !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  void show(text);
}

async function show(t: NotificationText): Promise<void> {
  const options: NotificationOptions = {
    body: t.body,
    tag: t.tag,
    data: { url: t.url },
    icon: "/icons/icon-192.png",
    badge: "/icons/icon-192.png",
  };
  // Android Chrome only shows notifications through the service worker.
  try {
    const reg = await navigator.serviceWorker?.getRegistration();
    if (reg) {
      await reg.showNotification(t.title, options);
      return;
    }
  } catch {
    // fall back to the page notification
  }
  try {
    const n = new Notification(t.title, options);
    n.onclick = () => {
      n.close();
      openFromNotification(t.url);
    };
  } catch {
    // not allowed here
  }
}
