import { describe, expect, it } from "vitest";
import { InboxLoader, unreadCount, useInbox } from "./inbox";
import type { PersonInbox } from "../types";

const src = { projectId: "p", projectName: "P", sessionId: "s", sessionName: "S" };

function inbox(extra: Partial<PersonInbox> = {}): PersonInbox {
  return { waiting: [], approvals: [], failures: [], mail: [], generatedAt: 100, ...extra };
}

describe("unreadCount", () => {
  it("counts every wait and approval, and failures and mail newer than the mark", () => {
    const data = inbox({
      waiting: [{ ...src, since: 1 }],
      approvals: [{ ...src, modalId: "m", title: "t", html: "", timestamp: 1 }],
      failures: [
        { ...src, failedAt: 10 },
        { ...src, sessionId: "t", failedAt: 60 },
      ],
      mail: [
        { id: "a", projectId: "p", fromSessionId: "s", toSessionId: "mobile-user", type: "query", subject: "x", createdAt: 20, projectName: "P", fromName: "S" },
        { id: "b", projectId: "p", fromSessionId: "s", toSessionId: null, type: "query", subject: "y", createdAt: 70, projectName: "P", fromName: "S" },
      ],
    });
    expect(unreadCount(data, 0)).toBe(6);
    expect(unreadCount(data, 50)).toBe(4);
    expect(unreadCount(data, 100)).toBe(2); // what waits always counts
    expect(unreadCount(null, 0)).toBe(0);
  });
});

describe("InboxLoader", () => {
  it("runs one request at a time and once more for an ask made meanwhile", async () => {
    const answers: ((v: PersonInbox) => void)[] = [];
    let calls = 0;
    const loader = new InboxLoader(
      () =>
        new Promise<PersonInbox>((resolve) => {
          calls++;
          answers.push(resolve);
        }),
    );
    const first = loader.refresh();
    void loader.refresh();
    void loader.refresh();
    expect(calls).toBe(1);
    answers[0]?.(inbox({ generatedAt: 1 }));
    await first;
    // The asks made while the first was in flight are one more request.
    expect(calls).toBe(2);
    answers[1]?.(inbox({ generatedAt: 2 }));
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(2);
    expect(useInbox.getState().data?.generatedAt).toBe(2);
  });

  it("keeps the last inbox and reports a failure", async () => {
    useInbox.setState({ data: inbox({ generatedAt: 7 }), error: null });
    const loader = new InboxLoader(() => Promise.reject(new Error("offline")));
    await loader.refresh();
    expect(useInbox.getState().error).toBe("offline");
    expect(useInbox.getState().data?.generatedAt).toBe(7);
  });
});
