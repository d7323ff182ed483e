// The app's URLs. Deep links: /projects/<projectId> (the project's board/dashboard) and
// /projects/<projectId>/sessions/<sessionId> (a session).

export type Tab = "dashboard" | "inbox" | "tasks" | "sessions" | "settings";

export type Route =
  | { name: "home" }
  | { name: "projects" }
  | { name: "settings" }
  | { name: "inbox" }
  | { name: "project"; projectId: string; tab: Tab; taskId?: string; sessionId?: string }
  | { name: "notFound" };

const dec = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

export function parse(pathname: string): Route {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/") return { name: "home" };
  if (path === "/projects") return { name: "projects" };
  if (path === "/settings") return { name: "settings" };
  if (path === "/inbox") return { name: "inbox" };
  const m = /^\/projects\/([^/]+)(?:\/(tasks|sessions|settings|inbox)(?:\/([^/]+))?)?$/.exec(path);
  if (!m || !m[1]) return { name: "notFound" };
  const projectId = dec(m[1]);
  const section = m[2];
  const id = m[3] ? dec(m[3]) : undefined;
  if (!section) return { name: "project", projectId, tab: "dashboard" };
  if (section === "settings" || section === "inbox") {
    return id ? { name: "notFound" } : { name: "project", projectId, tab: section };
  }
  if (section === "tasks") {
    return id
      ? { name: "project", projectId, tab: "tasks", taskId: id }
      : { name: "project", projectId, tab: "tasks" };
  }
  return id
    ? { name: "project", projectId, tab: "sessions", sessionId: id }
    : { name: "project", projectId, tab: "sessions" };
}

const e = encodeURIComponent;
export const paths = {
  projects: () => "/projects",
  project: (p: string) => `/projects/${e(p)}`,
  tasks: (p: string) => `/projects/${e(p)}/tasks`,
  task: (p: string, t: string) => `/projects/${e(p)}/tasks/${e(t)}`,
  sessions: (p: string) => `/projects/${e(p)}/sessions`,
  session: (p: string, s: string) => `/projects/${e(p)}/sessions/${e(s)}`,
  inbox: (p?: string | null) => (p ? `/projects/${e(p)}/inbox` : "/inbox"),
  settings: (p?: string | null) => (p ? `/projects/${e(p)}/settings` : "/settings"),
};
