import { describe, expect, it } from "vitest";
import { describe as describeEvent } from "./notify";

const env = (event: string, data: unknown) => ({ event, data, timestamp: 1 });

describe("notification text", () => {
  it("needs_input and session_failed open the session", () => {
    const n = describeEvent(env("notify:needs_input", { sessionId: "sess_1", name: "Worker", message: "Which DB?" }), "proj_1");
    expect(n).toEqual({ title: "Worker needs your input", body: "Which DB?", url: "/projects/proj_1/sessions/sess_1", tag: "needs-input:sess_1" });
    const f = describeEvent(env("notify:session_failed", { sessionId: "s 2", name: "W" }), "p");
    expect(f?.url).toBe("/projects/p/sessions/s%202");
    expect(f?.title).toBe("W failed");
  });

  it("task_completed opens the task when no session is known", () => {
    const n = describeEvent(env("notify:task_completed", { taskId: "task_1", title: "Ship it" }), "p");
    expect(n?.body).toBe("Ship it");
    expect(n?.url).toBe("/projects/p/tasks/task_1");
  });

  it("other events notify nobody", () => {
    expect(describeEvent(env("notify:progress", { sessionId: "s" }), "p")).toBeNull();
    expect(describeEvent(env("task:created", { id: "t" }), "p")).toBeNull();
  });
});
