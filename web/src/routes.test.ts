import { describe, expect, it } from "vitest";
import { parse, paths } from "./routes";

describe("routes", () => {
  it("parses the deep links", () => {
    expect(parse("/")).toEqual({ name: "home" });
    expect(parse("/projects/")).toEqual({ name: "projects" });
    expect(parse("/projects/proj_1_abc")).toEqual({ name: "project", projectId: "proj_1_abc", tab: "dashboard" });
    expect(parse("/projects/proj_1/sessions/sess_9")).toEqual({ name: "project", projectId: "proj_1", tab: "sessions", sessionId: "sess_9" });
    expect(parse("/projects/proj_1/tasks")).toEqual({ name: "project", projectId: "proj_1", tab: "tasks" });
    expect(parse("/projects/proj_1/tasks/task_2")).toEqual({ name: "project", projectId: "proj_1", tab: "tasks", taskId: "task_2" });
    expect(parse("/projects/p/settings")).toEqual({ name: "project", projectId: "p", tab: "settings" });
    expect(parse("/projects/p/inbox")).toEqual({ name: "project", projectId: "p", tab: "inbox" });
    expect(parse("/inbox")).toEqual({ name: "inbox" });
    expect(parse("/projects/p/inbox/x")).toEqual({ name: "notFound" });
    expect(parse("/projects/p/other")).toEqual({ name: "notFound" });
  });

  it("round-trips ids through paths", () => {
    expect(parse(paths.session("a b", "s/1"))).toEqual({ name: "project", projectId: "a b", tab: "sessions", sessionId: "s/1" });
  });
});
