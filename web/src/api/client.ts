// REST client of the Maestro API (API.md). Bearer token from the auth layer; a 401 sends the
// user back to sign-in.

import type { DocEntry, Mail, PersonInbox, Project, Session, Task, TeamMember } from "../types";

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  /** '' = the origin the app was loaded from. */
  baseUrl: () => string;
  token: () => Promise<string | null>;
  onUnauthorized: () => void;
  fetch?: Fetch;
}

export type AuthMode = "none" | "token" | "supabase";

export interface AuthConfig {
  authMode: AuthMode;
  supabase: { url: string; anonKey: string } | null;
  /** The server has no /api/auth/config route (older build). */
  missing?: boolean;
  /** Whether spawning an agent can work on this server (absent on older builds: assume so). */
  spawn?: { available: boolean; reason: string | null };
  /** Web Push: the key browsers subscribe with (absent or null: the server does not push). */
  push?: { publicKey: string } | null;
}

export interface TaskInput {
  projectId: string;
  title: string;
  description?: string;
  priority?: string;
  parentId?: string | null;
}

export interface TaskPatch {
  title?: string;
  description?: string;
  priority?: string;
  status?: string;
}

export interface SpawnBody {
  projectId: string;
  taskIds: string[];
  mode?: "execute" | "coordinate";
  spawnSource: "ui";
  sessionName?: string;
  teamMemberId?: string;
  teamMemberIds?: string[];
}

export class Api {
  private fetch: Fetch;
  constructor(private opts: ApiOptions) {
    this.fetch = opts.fetch ?? ((i, init) => globalThis.fetch(i, init));
  }

  url(path: string): string {
    return `${this.opts.baseUrl().replace(/\/+$/, "")}${path}`;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    auth = true,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json", ...extraHeaders };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (auth) {
      const t = await this.opts.token();
      if (t) headers.authorization = `Bearer ${t}`;
    }
    let res: Response;
    try {
      const init: RequestInit = { method, headers, cache: "no-store" };
      if (body !== undefined) init.body = JSON.stringify(body);
      res = await this.fetch(this.url(path), init);
    } catch {
      throw new ApiError("Cannot reach the server.", 0);
    }
    const text = await res.text();
    let json: unknown = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (!res.ok) {
      const o = (json ?? {}) as { message?: string; error?: unknown; code?: string };
      const msg =
        o.message ?? (typeof o.error === "string" ? o.error : undefined) ?? `HTTP ${res.status}`;
      if (res.status === 401 && auth) this.opts.onUnauthorized();
      throw new ApiError(msg, res.status, o.code);
    }
    return json as T;
  }

  authConfig(): Promise<AuthConfig> {
    // On the app's own origin a plain GET, so it reuses the <link rel="preload"> of index.html.
    const req = this.opts.baseUrl()
      ? this.request<AuthConfig>("GET", "/api/auth/config", undefined, false)
      : this.fetch("/api/auth/config").then(async (res) => {
          const json = (await res.json().catch(() => ({}))) as AuthConfig & { message?: string };
          if (!res.ok) throw new ApiError(json.message ?? `HTTP ${res.status}`, res.status);
          return json;
        }, () => {
          throw new ApiError("Cannot reach the server.", 0);
        });
    return req.catch(
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 404) {
          return { authMode: "none", supabase: null, missing: true } as AuthConfig;
        }
        throw e;
      },
    );
  }

  projects = () => this.request<Project[]>("GET", "/api/projects");
  createProject = (p: { name: string; workingDir?: string; description?: string }) =>
    this.request<Project>("POST", "/api/projects", p);
  project = (id: string) => this.request<Project>("GET", `/api/projects/${enc(id)}`);

  createTask = (t: TaskInput) => this.request<Task>("POST", "/api/tasks", t);
  updateTask = (id: string, patch: TaskPatch) =>
    this.request<Task>("PATCH", `/api/tasks/${enc(id)}`, patch);

  session = (id: string) => this.request<Session>("GET", `/api/sessions/${enc(id)}`);
  sessionDocs = (id: string) => this.request<DocEntry[]>("GET", `/api/sessions/${enc(id)}/docs`);
  taskDocs = (id: string) =>
    this.request<(DocEntry & { sessionId: string; sessionName: string })[]>(
      "GET",
      `/api/tasks/${enc(id)}/docs`,
    );
  teamMembers = (projectId: string) =>
    this.request<TeamMember[]>("GET", `/api/team-members?projectId=${enc(projectId)}`);
  /** The person's inbox across the caller's projects. */
  personInbox = () => this.request<PersonInbox>("GET", "/api/inbox");
  inbox = (sessionId: string, projectId: string) =>
    this.request<Mail[]>("GET", `/api/mail/inbox/${enc(sessionId)}?projectId=${enc(projectId)}`);
  spawn = (body: SpawnBody) =>
    this.request<{ success: boolean; sessionId: string; session: Session }>(
      "POST",
      "/api/sessions/spawn",
      body,
    );
  /** An answer to an agent's modal (what the CLI bridge posts from the desktop's webview). */
  modalAction = (sessionId: string, modalId: string, action: string, data: unknown) =>
    this.request<{ success: boolean }>(
      "POST",
      `/api/sessions/${enc(sessionId)}/modal/${enc(modalId)}/actions`,
      { action, data: data ?? {} },
    );
  closeModal = (sessionId: string, modalId: string) =>
    this.request<{ success: boolean }>(
      "POST",
      `/api/sessions/${enc(sessionId)}/modal/${enc(modalId)}/close`,
      {},
    );
  health = () =>
    this.request<{ status: string; timestamp: number }>("GET", "/health", undefined, false);
}

const enc = encodeURIComponent;
