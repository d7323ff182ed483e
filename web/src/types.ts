// Entities as the server sends them (MODEL.md). Optional keys may be absent.

export type TaskStatus =
  | "todo"
  | "in_progress"
  | "in_review"
  | "completed"
  | "cancelled"
  | "blocked"
  | "archived";
export type TaskPriority = "low" | "medium" | "high";
export type SessionStatus = "spawning" | "idle" | "working" | "completed" | "failed" | "stopped";
export type MailType =
  | "assignment"
  | "status_update"
  | "query"
  | "response"
  | "directive"
  | "notification";

export const TASK_STATUSES: TaskStatus[] = [
  "todo",
  "in_progress",
  "in_review",
  "blocked",
  "completed",
  "cancelled",
  "archived",
];
export const TASK_PRIORITIES: TaskPriority[] = ["low", "medium", "high"];
export const MAIL_TYPES: MailType[] = [
  "directive",
  "query",
  "assignment",
  "status_update",
  "notification",
  "response",
];

export interface Project {
  id: string;
  name: string;
  workingDir: string;
  description?: string;
  createdAt: number;
  updatedAt: number;
}

export interface Task {
  id: string;
  projectId: string;
  parentId: string | null;
  title: string;
  description: string;
  status: TaskStatus | string;
  priority: TaskPriority | string;
  createdAt: number;
  updatedAt: number;
  startedAt?: number | null;
  completedAt?: number | null;
  sessionIds?: string[];
  taskSessionStatuses?: Record<string, string>;
  teamMemberId?: string;
  teamMemberIds?: string[];
  /** The session holding the task's claim (POST /api/tasks/:id/claim). */
  claimedBy?: string;
  /** When that claim lapses unless renewed (epoch ms). */
  claimExpiresAt?: number;
  claimFencingToken?: number;
}

export interface NeedsInput {
  active: boolean;
  message?: string;
  since?: number;
  /** Answers the agent offers (one tap each). */
  options?: string[];
}

export interface TimelineEvent {
  id: string;
  type: string;
  timestamp: number;
  message?: string;
  taskId?: string;
}

export interface DocEntry {
  id: string;
  title: string;
  filePath: string;
  content?: string;
  taskId?: string;
  addedAt: number;
  addedBy?: string;
}

export interface Session {
  id: string;
  projectId: string;
  taskIds: string[];
  name: string;
  status: SessionStatus | string;
  startedAt: number;
  lastActivity: number;
  completedAt?: number | null;
  timeline?: TimelineEvent[];
  docs?: DocEntry[];
  needsInput?: NeedsInput;
  metadata?: Record<string, unknown>;
}

export interface TeamMember {
  id: string;
  projectId: string;
  name: string;
  role: string;
  avatar: string;
  mode?: "execute" | "coordinate";
  model?: string;
  isDefault?: boolean;
  status: "active" | "archived" | string;
  createdAt: string;
  updatedAt: string;
}

export interface Mail {
  id: string;
  projectId: string;
  fromSessionId: string;
  toSessionId: string | null;
  type: MailType | string;
  subject: string;
  body?: Record<string, unknown>;
  createdAt: number;
}

/** The envelope of every Socket.IO event (EVENTS.md §6). */
/** An agent's modal (`session:modal`): untrusted HTML asking the person something. */
export interface AgentModal {
  sessionId: string;
  modalId: string;
  title: string;
  html: string;
  timestamp: number;
  /** The action the person sent (`session:modal_action`), once answered. */
  answered?: string;
}

export interface Envelope {
  type?: string;
  event: string;
  data: unknown;
  timestamp: number;
}

/** The `state:sync` acknowledgement. */
export interface Snapshot {
  success: boolean;
  error?: string;
  project: Project;
  sessions: Session[];
  tasks: Task[];
  teamMembers: TeamMember[];
  /** The project log's newest event id when the snapshot was taken (resume after it). */
  lastEventId?: string | null;
  /** Approvals still waiting, as `session:modal` showed them (absent from older servers). */
  modals?: { sessionId: string; modalId: string; title: string; html: string; timestamp: number }[];
}

/** Where an inbox item comes from. */
export interface InboxSource {
  projectId: string;
  projectName: string;
  sessionId: string;
  sessionName: string;
}

/** `GET /api/inbox`: what waits for the person across their projects. */
export interface PersonInbox {
  waiting: (InboxSource & { message?: string | null; options?: string[] | null; since: number })[];
  approvals: (InboxSource & { modalId: string; title: string; html: string; timestamp: number })[];
  failures: (InboxSource & { failedAt: number })[];
  mail: (Mail & { projectName: string; fromName: string })[];
  generatedAt: number;
}
