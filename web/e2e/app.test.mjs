// End-to-end: the built app served by a real maestro-server, in Chromium at 390×844 (and turned to 844×390 where it matters).
//   SERVER_BIN=/path/to/maestro-server npm run e2e
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Proxy, eventually, freePort, project, screenshot, sleep, withApp } from "./harness.mjs";

const TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

async function live(page) {
  await page.waitForSelector('[data-conn="live"]', { timeout: 10000 });
}


async function session(server, p, taskIds, name) {
  return server.api("POST", "/api/sessions", { projectId: p.id, taskIds, name, status: "working" });
}

test("a task created through REST appears on the board without reload", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const parent = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Ship the phone app", priority: "high" });
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Write the service worker", parentId: parent.id });
    await page.goto(`${server.url}/projects/${p.id}/tasks`);
    await live(page);
    await page.waitForSelector(`[data-task-id="${parent.id}"]`);
    const navigations = [];
    page.on("framenavigated", (f) => f === page.mainFrame() && navigations.push(f.url()));

    const t = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Created over REST while watching", priority: "low" });
    const row = page.locator(`[data-task-id="${t.id}"]`);
    await row.waitFor({ timeout: 5000 });
    assert.match(await row.innerText(), /Created over REST while watching/);
    // An update moves it to another group, live as well.
    await server.api("PATCH", `/api/tasks/${t.id}`, { status: "in_progress" });
    await page.getByRole("button", { name: /In progress\s*1/ }).waitFor({ timeout: 5000 });
    // Delete: gone without reload.
    await server.api("DELETE", `/api/tasks/${t.id}`);
    await row.waitFor({ state: "detached", timeout: 5000 });
    assert.deepEqual(navigations, [], "the page must not reload");

    // The hierarchy: the child is indented under its parent.
    const child = page.locator(".task.depth-1");
    assert.match(await child.innerText(), /Write the service worker/);

    // Create and edit through the app's forms (REST POST/PATCH).
    await page.getByRole("button", { name: "+ New task" }).click();
    const dialog = page.getByRole("dialog", { name: "New task" });
    await dialog.getByLabel("Title").fill("Made on the phone");
    await dialog.getByLabel("Priority").selectOption("high");
    await dialog.getByRole("button", { name: "Create task" }).click();
    await page.getByRole("heading", { name: /Made on the phone/ }).waitFor();
    const made = await eventually(async () => (await server.api("GET", `/api/tasks?projectId=${p.id}`)).find((x) => x.title === "Made on the phone"), "the created task");
    assert.equal(made.priority, "high");
    await page.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit task" });
    await edit.getByLabel("Title").fill("Made and edited on the phone");
    await edit.getByLabel("Status").selectOption("in_review");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await eventually(async () => {
      const x = await server.api("GET", `/api/tasks/${made.id}`);
      return x.title === "Made and edited on the phone" && x.status === "in_review";
    }, "the edit to reach the server");

    // Back to the list for the screenshot.
    await page.getByRole("link", { name: "Tasks" }).last().click();
    await page.waitForSelector(`[data-task-id="${made.id}"]`);
    await screenshot(page, "tasks");
  });
});

test("a claimed task shows its holder, and the release clears it live", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const t = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Claimed work" });
    const s = await session(server, p, [t.id], "Claimer");
    await server.api("POST", `/api/tasks/${t.id}/claim`, { sessionId: s.id, ttlMs: 60000 });
    await page.goto(`${server.url}/projects/${p.id}/tasks/${t.id}`);
    await live(page);
    const claim = page.locator(`[data-claimed-by="${s.id}"]`);
    await claim.waitFor({ timeout: 5000 });
    assert.match(await claim.innerText(), /Claimed by Claimer/);
    await server.api("DELETE", `/api/tasks/${t.id}/claim?sessionId=${s.id}`);
    await claim.waitFor({ state: "detached", timeout: 5000 });
  });
});

test("a session needing input shows on the dashboard and the reply reaches the agent's inbox", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const t = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Choose the cache backend" });
    const s = await session(server, p, [t.id], "Worker: cache layer");
    const other = await session(server, p, [t.id], "Worker: docs");
    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    await page.getByText("No agent is waiting for you.").waitFor();

    await server.api("PATCH", `/api/sessions/${s.id}`, {
      needsInput: { active: true, message: "Redis or in-process LRU for the cache?" },
    });
    const card = page.locator(`.card-input[data-session-id="${s.id}"]`);
    await card.waitFor({ timeout: 5000 });
    assert.match(await card.innerText(), /Redis or in-process LRU for the cache\?/);
    // First on the dashboard, and counted.
    assert.equal(await page.locator(".stat-input .stat-n").innerText(), "1");
    // Counted on the Inbox tab and in the title (and on the app icon where there is one).
    const badge = page.getByRole("link", { name: /^Inbox/ }).locator(".tab-badge");
    await badge.filter({ hasText: "1" }).waitFor({ timeout: 5000 });
    assert.match(await page.title(), /^\(1\) /);
    // The notify:needs_input event is listed under recent events.
    await page.locator(".ev-needs_input").first().waitFor();
    await server.api("PATCH", `/api/sessions/${other.id}`, { status: "failed" });
    await page.locator(".stat-failed .stat-n", { hasText: "1" }).waitFor();
    await screenshot(page, "dashboard");

    await card.getByLabel("Your answer").fill("Use the in-process LRU, 10k entries.");
    await card.getByRole("button", { name: "Send reply" }).click();
    const mail = await eventually(async () => {
      const inbox = await server.api("GET", `/api/mail/inbox/${s.id}?projectId=${p.id}`);
      return inbox.find((m) => m.type === "response");
    }, "the reply in the agent's inbox");
    assert.deepEqual(mail.body, { answer: "Use the in-process LRU, 10k entries." });
    assert.equal(mail.toSessionId, s.id);
    // The server delivers the mail first, then clears the flag.
    await eventually(async () => (await server.api("GET", `/api/sessions/${s.id}`)).needsInput?.active === false, "needsInput cleared");
    await card.waitFor({ state: "detached", timeout: 5000 });
    await page.getByText("No agent is waiting for you.").waitFor();
    // Left unread: the failure. Shown in the inbox, it is read on this device.
    await badge.filter({ hasText: /^1$/ }).waitFor({ timeout: 5000 });
    await page.getByRole("link", { name: /^Inbox/ }).click();
    await page.locator(`[data-inbox-failure="${other.id}"]`).waitFor();
    await badge.waitFor({ state: "detached", timeout: 5000 });
    assert.doesNotMatch(await page.title(), /^\(/);
  });
});

test("one inbox across projects: what waits anywhere, counted until read; an approval outlives a reload", async () => {
  await withApp({}, async ({ server, page }) => {
    const here = await project(server);
    const there = await server.api("POST", "/api/projects", { name: "Billing", workingDir: "/tmp/billing" });
    const broken = await session(server, here, [], "Worker: flaky");
    await server.api("PATCH", `/api/sessions/${broken.id}`, { status: "failed" });
    const builder = await session(server, there, [], "Builder");
    await server.api("PATCH", `/api/sessions/${builder.id}`, {
      needsInput: { active: true, message: "Deploy the billing fix?" },
    });
    await server.api("POST", "/api/mail", {
      projectId: there.id,
      fromSessionId: builder.id,
      toSessionId: "mobile-user",
      type: "notification",
      subject: "Invoices regenerated",
      body: { message: "All 312 invoices are regenerated." },
    });
    await server.api("POST", `/api/sessions/${builder.id}/modal`, {
      modalId: "approve-billing",
      title: "Release billing 2.1?",
      html: "<p>Release billing 2.1 to production?</p>",
    });

    // The phone shows the other project; the Billing project's wait, approval and mail, and
    // this project's failure, are counted all the same.
    await page.goto(`${server.url}/projects/${here.id}`);
    await live(page);
    const inboxTab = page.getByRole("link", { name: /^Inbox/ });
    await inboxTab.locator(".tab-badge", { hasText: "4" }).waitFor({ timeout: 5000 });
    assert.match(await page.title(), /^\(4\) /);
    await page.getByRole("link", { name: /^Inbox\s*,\s*4 for you$/ }).waitFor();

    await inboxTab.click();
    const waiting = page.locator(`[data-inbox-waiting="${builder.id}"]`);
    await waiting.waitFor({ timeout: 5000 });
    assert.match(await waiting.innerText(), /Builder/);
    assert.match(await waiting.innerText(), /Deploy the billing fix\?/);
    assert.match(await waiting.innerText(), /Billing/);
    const approval = page.locator('[data-inbox-approval="approve-billing"]');
    assert.match(await approval.innerText(), /Release billing 2\.1\?/);
    const mail = page.getByRole("list", { name: "Mail for you, all projects" }).getByRole("listitem");
    assert.match(await mail.first().innerText(), /Invoices regenerated/);
    assert.match(await mail.first().innerText(), /from Builder in Billing/);
    assert.match(await mail.first().innerText(), /New/);
    await page.locator(`[data-inbox-failure="${broken.id}"]`).waitFor();
    await screenshot(page, "inbox");
    // Read: what still waits stays counted (the agent and the approval).
    await inboxTab.locator(".tab-badge", { hasText: /^2$/ }).waitFor({ timeout: 5000 });
    // Held sideways: the same phone layout, tabs and badge, and the inbox still reads.
    await page.setViewportSize({ width: 844, height: 390 });
    assert.equal(await page.locator("[data-layout]").getAttribute("data-layout"), "phone");
    await inboxTab.locator(".tab-badge", { hasText: /^2$/ }).waitFor();
    await approval.scrollIntoViewIfNeeded();
    assert.ok(await approval.isVisible());
    await screenshot(page, "inbox-landscape");
    await page.setViewportSize({ width: 390, height: 844 });

    // The approval opens its session in the other project, where it is answered; it was
    // shown before this page loaded, and is still there after a reload.
    await approval.getByRole("link").click();
    await page.waitForURL(`**/projects/${there.id}/sessions/${builder.id}`);
    await live(page);
    const card = page.locator('.card-modal[data-modal-id="approve-billing"]');
    await card.waitFor({ timeout: 5000 });
    await page.reload();
    await live(page);
    await card.waitFor({ timeout: 5000 });
    await server.api("POST", `/api/sessions/${builder.id}/modal/approve-billing/actions`, { action: "approve" });
    await server.api("POST", `/api/sessions/${builder.id}/reply`, { message: "Yes" });
    await inboxTab.locator(".tab-badge").waitFor({ state: "detached", timeout: 5000 });
  });
});

test("one-tap answers: the agent's options and the canned ones; an ended session stops waiting", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const s = await session(server, p, [], "Worker: cache");
    const ended = await session(server, p, [], "Worker: done");
    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    await server.api("PATCH", `/api/sessions/${s.id}`, {
      needsInput: { active: true, message: "Which cache?", options: ["Redis", "In-process LRU"] },
    });
    await server.api("PATCH", `/api/sessions/${ended.id}`, { needsInput: { active: true, message: "Still there?" } });
    const card = page.locator(`.card-input[data-session-id="${s.id}"]`);
    await card.waitFor({ timeout: 5000 });
    const chips = card.getByRole("group", { name: "Quick answers" }).getByRole("button");
    assert.deepEqual(await chips.allInnerTexts(), ["Redis", "In-process LRU", "Go ahead", "Stop"]);

    // The agent ends: it no longer waits, so its question leaves the dashboard.
    const endedCard = page.locator(`.card-input[data-session-id="${ended.id}"]`);
    await endedCard.waitFor({ timeout: 5000 });
    await server.api("PATCH", `/api/sessions/${ended.id}`, { status: "completed" });
    await endedCard.waitFor({ state: "detached", timeout: 5000 });
    assert.equal((await server.api("GET", `/api/sessions/${ended.id}`)).needsInput.active, false);

    await card.getByRole("button", { name: "In-process LRU" }).click();
    const mail = await eventually(async () => {
      const inbox = await server.api("GET", `/api/mail/inbox/${s.id}?projectId=${p.id}`);
      return inbox.find((m) => m.type === "response");
    }, "the one-tap answer in the agent's inbox");
    assert.deepEqual(mail.body, { answer: "In-process LRU" });
    await card.waitFor({ state: "detached", timeout: 5000 });
  });
});

test("the person's inbox: an agent's mail to mobile-user and broadcasts, by sender name, after a reload too", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const s = await session(server, p, [], "Worker: release");
    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    await page.getByText("No mail for you yet.").waitFor();
    await server.api("POST", "/api/mail", {
      projectId: p.id,
      fromSessionId: s.id,
      toSessionId: "mobile-user",
      type: "query",
      subject: "Merge the release branch?",
      body: { question: "CI is green on all targets." },
    });
    const inbox = page.getByRole("list", { name: "Mail for you" });
    const item = inbox.getByRole("listitem").filter({ hasText: "Merge the release branch?" });
    await item.waitFor({ timeout: 5000 });
    assert.match(await item.innerText(), /from Worker: release/);
    assert.match(await item.innerText(), /CI is green on all targets\./);
    await server.api("POST", "/api/mail", {
      projectId: p.id,
      fromSessionId: s.id,
      type: "notification",
      subject: "Staging deployed",
      body: { message: "v1.4.0 is on staging." },
    });
    await inbox.getByRole("listitem").filter({ hasText: "Staging deployed" }).waitFor({ timeout: 5000 });
    assert.match(await inbox.innerText(), /to everyone, from Worker: release/);
    // Newest first, and still there after a reload (read from the server, not only live).
    await page.reload();
    await live(page);
    await inbox.getByRole("listitem").first().waitFor();
    const texts = await inbox.getByRole("listitem").allInnerTexts();
    assert.equal(texts.length, 2);
    assert.match(texts[0], /Staging deployed/);
    assert.match(texts[1], /Merge the release branch\?/);
  });
});

test("a bad project link is never remembered as the start page", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server, "The real one");
    await page.goto(`${server.url}/projects/proj_no_such_project`);
    await page.waitForSelector('[data-conn="refused"], [data-conn="offline"], .error', { timeout: 10000 });
    await page.goto(`${server.url}/`);
    await page.waitForURL(`${server.url}/projects`, { timeout: 5000 });
    // A project that loads is remembered; a bad link after it does not replace it.
    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    await page.goto(`${server.url}/projects/proj_no_such_project`);
    await page.waitForSelector('[data-conn="refused"], [data-conn="offline"], .error', { timeout: 10000 });
    await page.goto(`${server.url}/`);
    await page.waitForURL(`${server.url}/projects/${p.id}`, { timeout: 5000 });
  });
});

test("a phone held sideways (844×390) keeps the phone layout with most of the height for content", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    await page.setViewportSize({ width: 844, height: 390 });
    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    assert.equal(await page.locator("[data-layout]").getAttribute("data-layout"), "phone");
    const usable = await page.evaluate(() => {
      const top = document.querySelector(".content")?.getBoundingClientRect().top ?? 0;
      const bottom = document.querySelector(".tabbar")?.getBoundingClientRect().top ?? 0;
      return bottom - top;
    });
    assert.ok(usable >= 280, `only ${usable} px between the top bar and the tab bar`);
    await screenshot(page, "landscape");
  });
});

test("without the Maestro CLI on the server, spawn says so instead of offering a form that fails", async () => {
  await withApp({ env: { MAESTRO_CLI_PATH: "/nonexistent/maestro" } }, async ({ server, page }) => {
    const config = await (await fetch(`${server.url}/api/auth/config`)).json();
    assert.equal(config.spawn.available, false);
    assert.match(config.spawn.reason, /\/nonexistent\/maestro/);
    const p = await project(server);
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Add rate limiting" });
    await page.goto(`${server.url}/projects/${p.id}/tasks`);
    await live(page);
    await page.getByRole("button", { name: "Select" }).click();
    await page.getByLabel("Select Add rate limiting").check();
    await page.getByRole("button", { name: "Spawn agent for 1 task" }).click();
    const dialog = page.getByRole("dialog", { name: "Spawn an agent" });
    await dialog.getByRole("alert").filter({ hasText: "not installed on the server" }).waitFor();
    assert.equal(await dialog.getByRole("form", { name: "Spawn an agent" }).count(), 0);
    await dialog.getByRole("button", { name: "Close" }).first().click();
    await dialog.waitFor({ state: "detached" });
  });
});

test("a whole card or row opens its session, not only its title; its own controls still work", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const s = await session(server, p, [], "Worker: tap target");
    await server.api("PATCH", `/api/sessions/${s.id}`, { needsInput: { active: true, message: "Ready?" } });
    await page.goto(`${server.url}/projects/${p.id}/sessions`);
    await live(page);
    const row = page.locator(`.list-item[data-session-id="${s.id}"]`);
    const box = await row.boundingBox();
    // The far right of the row: the status badge, away from the title.
    await page.mouse.click(box.x + box.width - 8, box.y + box.height / 2);
    await page.waitForURL(new RegExp(`/sessions/${s.id}$`), { timeout: 5000 });

    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    const card = page.locator(`.card-input[data-session-id="${s.id}"]`);
    await card.waitFor();
    // The reply form inside the card is not covered by the card's link.
    await card.getByLabel("Your answer").fill("Yes");
    assert.equal(await card.getByLabel("Your answer").inputValue(), "Yes");
    const asked = await card.getByText(/^Asked/).boundingBox();
    await page.mouse.click(asked.x + 2, asked.y + asked.height / 2);
    await page.waitForURL(new RegExp(`/sessions/${s.id}$`), { timeout: 5000 });
  });
});

test("Back closes a sheet without leaving the page, and half-written text survives it", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const s = await session(server, p, [], "Worker: drafts");
    await server.api("PATCH", `/api/sessions/${s.id}`, { needsInput: { active: true, message: "Which branch?" } });
    const sessionUrl = `${server.url}/projects/${p.id}/sessions/${s.id}`;
    await page.goto(`${server.url}/projects/${p.id}/sessions`);
    await page.goto(sessionUrl);
    await live(page);
    await page.getByRole("button", { name: "Send mail" }).click();
    const dialog = page.getByRole("dialog", { name: "Send mail" });
    await dialog.getByLabel("Subject").fill("Half a thought");
    await dialog.getByLabel("Message").fill("I was going to say");
    await page.goBack();
    await dialog.waitFor({ state: "detached", timeout: 5000 });
    assert.equal(page.url(), sessionUrl, "Back closed the sheet, the page stayed");
    await page.getByRole("button", { name: "Send mail" }).click();
    assert.equal(await dialog.getByLabel("Subject").inputValue(), "Half a thought");
    assert.equal(await dialog.getByLabel("Message").inputValue(), "I was going to say");
    await dialog.getByRole("button", { name: "Close" }).first().click();
    await dialog.waitFor({ state: "detached" });
    // Closing by its button leaves no extra history entry: one Back leaves the page.
    const answer = page.getByRole("form", { name: "Reply to Worker: drafts" }).getByLabel("Your answer");
    await answer.fill("Use the release bra");
    await page.goBack();
    await page.waitForURL(`${server.url}/projects/${p.id}/sessions`, { timeout: 5000 });
    await page.goForward();
    await page.waitForURL(sessionUrl);
    assert.equal(await answer.inputValue(), "Use the release bra");
  });
});

test("Back returns to where the list was scrolled", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const made = [];
    for (let i = 0; i < 30; i++) made.push(await session(server, p, [], `Worker ${String(i).padStart(2, "0")}`));
    await page.goto(`${server.url}/projects/${p.id}/sessions`);
    await live(page);
    await page.locator(".list-item").nth(29).waitFor();
    const main = page.locator("main");
    await main.evaluate((el) => el.scrollTo(0, 900));
    await page.waitForFunction(() => document.querySelector("main").scrollTop >= 899);
    const row = page.locator(".list-item").filter({ hasText: "Worker" }).nth(20);
    await row.locator(".list-link").click();
    await page.waitForURL(/\/sessions\/[^/]+$/);
    assert.equal(await main.evaluate((el) => el.scrollTop), 0, "a new screen starts at the top");
    await page.goBack();
    await page.waitForURL(`${server.url}/projects/${p.id}/sessions`);
    await page.waitForFunction(() => Math.abs(document.querySelector("main").scrollTop - 900) < 2, null, { timeout: 5000 });
  });
});

test("recent events outlive a reload", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const s = await session(server, p, [], "Worker: flaky");
    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    await server.api("PATCH", `/api/sessions/${s.id}`, { status: "failed" });
    const recent = page.locator(".ev-session_failed").filter({ hasText: "Worker: flaky failed" });
    await recent.waitFor({ timeout: 5000 });
    await page.reload();
    await live(page);
    await recent.waitFor({ timeout: 5000 });
  });
});

/** Agent HTML as `maestro show modal` sends it: the CLI's bridge (postMessage to the parent
 * and a direct fetch to the API), buttons, and a probe of what the sandbox lets it reach. */
function agentModalHtml(server, sessionId, modalId) {
  return `<!DOCTYPE html><html><head><title>Deploy</title>
<script>
(function () {
  var _modalId = "${modalId}", _sessionId = "${sessionId}", _apiUrl = "${server.url}";
  function post(p) { try { window.parent.postMessage(p, "*"); } catch (e) {} }
  function direct(path, body) {
    try {
      fetch(_apiUrl + "/api/sessions/" + _sessionId + "/modal/" + _modalId + path, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
      }).catch(function () {});
    } catch (e) {}
  }
  window.maestro = {
    modalId: _modalId,
    sendAction: function (action, data) {
      post({ type: "maestro:modal_action", modalId: _modalId, action: action, data: data || {} });
      direct("/actions", { action: action, data: data || {} });
    },
    close: function () {
      post({ type: "maestro:modal_close", modalId: _modalId });
      direct("/close", {});
    }
  };
})();
</script></head><body>
<p>Deploy build 42 to production?</p>
<button id="approve">Approve</button> <button id="cancel">Cancel</button>
<script>
function probe() {
  var r = {};
  try { r.storage = JSON.stringify(Object.keys(localStorage)); } catch (e) { r.storage = "blocked"; }
  try { r.parentDom = parent.document.title; } catch (e) { r.parentDom = "blocked"; }
  try { r.cookie = document.cookie; } catch (e) { r.cookie = "blocked"; }
  return r;
}
document.getElementById("approve").addEventListener("click", function () {
  maestro.sendAction("approve", { build: 42, reached: probe() });
});
document.getElementById("cancel").addEventListener("click", function () { maestro.close(); });
</script></body></html>`;
}

test("an agent's approval shows on the dashboard, sandboxed; one tap answers the agent", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const s = await session(server, p, [], "Deployer");
    // The agent's side: its modal answers arrive as Socket.IO events, as `maestro show modal
    // --interactive` waits for them.
    const { io } = await import("socket.io-client");
    const agent = io(`${server.url}/mobile`, { auth: { projectId: p.id }, transports: ["websocket"] });
    const heard = [];
    agent.onAny((name, env) => {
      if (name === "session:modal_action" || name === "session:modal_closed") heard.push({ name, data: env.data });
    });
    await new Promise((resolve, reject) => {
      agent.once("connect", resolve);
      agent.once("connect_error", reject);
    });
    try {
      await page.goto(`${server.url}/projects/${p.id}`);
      await live(page);
      await page.getByText("No agent is asking for approval.").waitFor();
      // The page the app can read: a token the agent's HTML must not get at.
      await page.evaluate(() => localStorage.setItem("maestro.e2e-secret", "do-not-leak"));

      const modalId = `modal_${Date.now()}_e2e`;
      await server.api("POST", `/api/sessions/${s.id}/modal`, {
        modalId,
        title: "Deploy to production?",
        html: agentModalHtml(server, s.id, modalId),
      });
      const card = page.locator(`.card-modal[data-modal-id="${modalId}"]`);
      await card.waitFor({ timeout: 5000 });
      assert.match(await card.innerText(), /Deployer/);
      const frame = page.frameLocator(`iframe[title="Deploy to production?"]`);
      await frame.getByText("Deploy build 42 to production?").waitFor({ timeout: 5000 });
      await screenshot(page, "approval");
      // Held sideways the approval still fits and reads (phone layout, the frame on screen).
      await page.setViewportSize({ width: 844, height: 390 });
      await card.scrollIntoViewIfNeeded();
      await frame.getByRole("button", { name: "Approve" }).scrollIntoViewIfNeeded();
      assert.ok(await frame.getByRole("button", { name: "Approve" }).isVisible());
      await screenshot(page, "approval-landscape");
      await page.setViewportSize({ width: 390, height: 844 });

      // The frame runs in its own renderer (an opaque origin). Right after its document is
      // written, Chromium sometimes routes a synthetic pointer click to the page instead (about
      // 1 run in 15 here, even after two painted frames); a person taps much later. The test
      // presses the focused button instead: the same click event, no hit-testing race.
      const approve = frame.getByRole("button", { name: "Approve" });
      await approve.focus();
      await approve.press("Enter");
      const action = await eventually(() => heard.find((h) => h.name === "session:modal_action"), "the answer at the agent");
      assert.equal(action.data.sessionId, s.id);
      assert.equal(action.data.modalId, modalId);
      assert.equal(action.data.action, "approve");
      assert.equal(action.data.data.build, 42);
      // The sandbox: no storage, no DOM of the app, no cookies.
      assert.deepEqual(action.data.data.reached, { storage: "blocked", parentDom: "blocked", cookie: "blocked" });
      await card.getByText("Answered: approve").waitFor({ timeout: 5000 });
      // The bridge's own fetch to the API is refused by the frame's CSP: one answer, not two.
      await sleep(500);
      assert.equal(heard.filter((h) => h.name === "session:modal_action").length, 1, JSON.stringify(heard));

      const cancel = frame.getByRole("button", { name: "Cancel" });
      await cancel.focus();
      await cancel.press("Enter");
      await eventually(() => heard.find((h) => h.name === "session:modal_closed"), "the close at the agent");
      await card.waitFor({ state: "detached", timeout: 5000 });
      await page.getByText("No agent is asking for approval.").waitFor();

      // A modal of a session that has ended is not offered (no agent would read the answer).
      const late = `modal_${Date.now()}_late`;
      await server.api("POST", `/api/sessions/${s.id}/modal`, { modalId: late, title: "Too late", html: "<p>late</p>" });
      await page.locator(`.card-modal[data-modal-id="${late}"]`).waitFor({ timeout: 5000 });
      await server.api("PATCH", `/api/sessions/${s.id}`, { status: "completed" });
      await page.locator(`.card-modal[data-modal-id="${late}"]`).waitFor({ state: "detached", timeout: 5000 });
    } finally {
      agent.close();
    }
  });
});

test("mail from the session screen and to a team member reaches the inboxes", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const t = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Refactor the auth module" });
    const s = await session(server, p, [t.id], "Worker: auth refactor");
    await server.api("POST", `/api/sessions/${s.id}/timeline`, { message: "Read the existing middleware", type: "progress" });
    await server.api("POST", `/api/sessions/${s.id}/timeline`, { message: "Split token checks from routing", type: "milestone" });
    await server.api("POST", `/api/sessions/${s.id}/docs`, {
      title: "Refactor plan",
      filePath: "/tmp/demo/PLAN.md",
      content: "# Plan\n\n1. Extract `verify()`\n2. **Test** every path\n\n<script>window.pwned = 1</script><a href=\"javascript:window.pwned=1\">do not follow</a>",
    });
    await page.goto(`${server.url}/projects/${p.id}/sessions/${s.id}`);
    await live(page);
    await page.getByRole("heading", { name: "Worker: auth refactor" }).waitFor();
    // Docs rendered as sanitised Markdown.
    const doc = page.locator(".doc .markdown");
    await doc.waitFor();
    assert.equal(await doc.locator("h1").innerText(), "Plan");
    assert.equal(await doc.locator("strong").innerText(), "Test");
    assert.equal(await doc.locator("script").count(), 0, "the doc must be sanitised");
    assert.equal(await doc.locator("a").getAttribute("href"), null, "javascript: links are dropped");
    // The timeline, newest first.
    assert.match(await page.locator(".timeline li").first().innerText(), /Doc added: Refactor plan/);

    await page.getByRole("button", { name: "Send mail" }).click();
    const dialog = page.getByRole("dialog", { name: "Send mail" });
    assert.equal(await dialog.getByLabel("To").inputValue(), `s:${s.id}`);
    await dialog.getByLabel("Type").selectOption("query");
    await dialog.getByLabel("Subject").fill("Status of the token checks?");
    await dialog.getByLabel("Message").fill("Are the token checks split yet?");
    await dialog.getByRole("button", { name: "Send mail" }).click();
    const mail = await eventually(async () => {
      const inbox = await server.api("GET", `/api/mail/inbox/${s.id}?projectId=${p.id}`);
      return inbox.find((m) => m.subject === "Status of the token checks?");
    }, "the mail in the session's inbox");
    assert.equal(mail.type, "query");
    assert.equal(mail.fromSessionId, "mobile-user");
    assert.deepEqual(mail.body, { question: "Are the token checks split yet?" });
    await dialog.waitFor({ state: "detached" });
    await page.locator(".mail", { hasText: "Status of the token checks?" }).waitFor();
    await page.evaluate(() => document.querySelector("#main")?.scrollTo(0, 0));
    await screenshot(page, "session-detail");

    // To a team member: reaches the sessions spawned with that member.
    const members = await server.api("GET", `/api/team-members?projectId=${p.id}`);
    const worker = members.find((m) => m.id.endsWith("_simple_worker"));
    const spawned = await server.api("POST", "/api/sessions/spawn", { projectId: p.id, taskIds: [t.id], teamMemberId: worker.id, spawnSource: "ui" });
    await page.getByRole("button", { name: "Send mail" }).click();
    const d2 = page.getByRole("dialog", { name: "Send mail" });
    await d2.getByLabel("To").selectOption(`m:${worker.id}`);
    await d2.getByLabel("Subject").fill("Directive for every simple worker");
    await d2.getByLabel("Message").fill("Run the tests before reporting.");
    await d2.getByRole("button", { name: "Send mail" }).click();
    const m2 = await eventually(async () => {
      const inbox = await server.api("GET", `/api/mail/inbox/${spawned.sessionId}?projectId=${p.id}`);
      return inbox.find((m) => m.subject === "Directive for every simple worker");
    }, "the team-member mail in the spawned session's inbox");
    assert.equal(m2.type, "directive");
    assert.deepEqual(m2.body, { details: "Run the tests before reporting." });
  });
});

test("spawn an agent for selected tasks with a team member (fake manifest CLI)", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    const a = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Add rate limiting", priority: "high" });
    const b = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Document the limits" });
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Not this one" });
    await page.goto(`${server.url}/projects/${p.id}/tasks`);
    await live(page);
    await page.getByRole("button", { name: "Select" }).click();
    await page.getByLabel("Select Add rate limiting").check();
    await page.getByLabel("Select Document the limits").check();
    await page.getByRole("button", { name: "Spawn agent for 2 tasks" }).click();
    const dialog = page.getByRole("dialog", { name: "Spawn an agent" });
    const members = await server.api("GET", `/api/team-members?projectId=${p.id}`);
    const coordinator = members.find((m) => m.id.endsWith("_coordinator") && m.name === "Coordinator");
    await dialog.getByLabel("Team member").selectOption(coordinator.id);
    await dialog.getByLabel("Session name (optional)").fill("Rate limits");
    await dialog.getByRole("button", { name: "Spawn agent" }).click();
    await page.waitForURL(/\/sessions\/[^/]+$/, { timeout: 10000 });
    const sessionId = decodeURIComponent(page.url().split("/").pop());
    await page.getByRole("heading", { name: "Rate limits" }).waitFor();

    const s = await server.api("GET", `/api/sessions/${sessionId}`);
    assert.deepEqual([...s.taskIds].sort(), [a.id, b.id].sort());
    assert.equal(s.metadata.teamMemberId, coordinator.id);
    assert.equal(s.metadata.mode, "coordinate", "mode comes from the team member");
    assert.equal(s.metadata.spawnSource, "ui");
    const manifest = JSON.parse(readFileSync(join(server.dir, "sessions", sessionId, "manifest.json"), "utf8"));
    assert.equal(manifest.generator, "fake-maestro");
    assert.ok(manifest.args.includes("--team-member-id") && manifest.args.includes(coordinator.id), JSON.stringify(manifest.args));
    assert.ok(existsSync(join(server.dir, "sessions", sessionId)));

    // The sessions tab lists it with its live badge.
    await page.getByRole("link", { name: "Sessions" }).last().click();
    const item = page.locator(`.list-item[data-session-id="${sessionId}"]`);
    await item.waitFor();
    assert.match(await item.innerText(), /Spawning/);
    await server.api("PATCH", `/api/sessions/${sessionId}`, { status: "working" });
    await item.locator(".badge", { hasText: "Working" }).waitFor({ timeout: 5000 });
    const other = await session(server, p, [b.id], "Reviewer: limits docs");
    await server.api("PATCH", `/api/sessions/${other.id}`, { status: "completed" });
    await page.locator(`.list-item[data-session-id="${other.id}"] .badge`, { hasText: "Completed" }).waitFor();
    await screenshot(page, "sessions");
  });
});

test("sign-in in token mode: the token is required, kept in storage, used by REST and Socket.IO", async () => {
  await withApp({ token: TOKEN }, async ({ server, page }) => {
    const p = await project(server);
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Behind the token" });
    await page.goto(`${server.url}/projects/${p.id}`);
    const form = page.getByRole("form", { name: "Sign in" });
    await form.waitFor();
    await page.waitForTimeout(300); // the refused start-up connection must not add an error
    assert.equal(await page.locator(".notice, .error").count(), 0, "no error on a first visit");
    await screenshot(page, "sign-in");
    await form.getByLabel("API token").fill("x".repeat(64));
    await form.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("The server did not accept this token.").waitFor();
    await form.getByLabel("API token").fill(TOKEN);
    await form.getByRole("button", { name: "Sign in" }).click();
    await live(page); // the Socket.IO handshake carried the token
    await page.locator(".stat-tasks .stat-n", { hasText: "1" }).waitFor();
    assert.ok(!page.url().includes(TOKEN), "never in the URL");
    const stored = await page.evaluate(() => localStorage.getItem("maestro.auth.token"));
    assert.equal(stored, TOKEN);
    // Live events arrive on the authenticated socket.
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Second" });
    await page.locator(".stat-tasks .stat-n", { hasText: "2" }).waitFor();
    // Survives a reload (token from storage).
    await page.reload();
    await live(page);
    // Settings, then sign out: back to sign-in, token gone.
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    await screenshot(page, "settings");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("form", { name: "Sign in" }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem("maestro.auth.token")), null);
    // A token that stops working (401) sends the user back to sign-in.
    await page.evaluate((t) => localStorage.setItem("maestro.auth.token", t), "f".repeat(64));
    await page.goto(`${server.url}/projects`);
    await page.getByRole("form", { name: "Sign in" }).waitFor();
    await page.getByText("Your sign-in is no longer accepted").waitFor();
    // Same through a deep link (the live connection is refused first).
    await page.goto(`${server.url}/projects/${p.id}/sessions`);
    await page.getByRole("form", { name: "Sign in" }).waitFor();
    await page.getByText("Your sign-in is no longer accepted").waitFor();
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('[data-screen="sessions"]').waitFor();
    await live(page);
  });
});

test("the server restarted mid-session: the app reconnects and re-syncs what changed meanwhile", async () => {
  await withApp({}, async ({ server, page, context }) => {
    const p = await project(server);
    const keep = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Survives the restart" });
    const gone = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Deleted while the app was away" });
    const s = await session(server, p, [keep.id], "Worker: restart");
    await page.goto(`${server.url}/projects/${p.id}/tasks`);
    await live(page);
    await page.waitForSelector(`[data-task-id="${gone.id}"]`);

    await server.stop();
    await page.waitForSelector('[data-conn="offline"]', { timeout: 10000 });
    // Keep the app from reconnecting until the changes are made, so only the re-sync can show them.
    await context.setOffline(true);
    await server.start(); // same port, same DATA_DIR
    const added = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Created while the app was away" });
    await server.api("DELETE", `/api/tasks/${gone.id}`);
    await server.api("PATCH", `/api/sessions/${s.id}`, { status: "completed" });
    await sleep(300);
    assert.equal(await page.locator(`[data-task-id="${added.id}"]`).count(), 0);
    await context.setOffline(false);

    await live(page);
    await page.waitForSelector(`[data-task-id="${added.id}"]`, { timeout: 10000 });
    await page.waitForSelector(`[data-task-id="${gone.id}"]`, { state: "detached", timeout: 5000 });
    await page.waitForSelector(`[data-task-id="${keep.id}"]`);
    await page.getByRole("link", { name: "Sessions" }).last().click();
    await page.locator(`.list-item[data-session-id="${s.id}"] .badge`, { hasText: "Completed" }).waitFor();
    // And live events flow again after the reconnect.
    const later = await server.api("POST", "/api/tasks", { projectId: p.id, title: "After the reconnect" });
    await page.getByRole("link", { name: "Tasks" }).last().click();
    await page.waitForSelector(`[data-task-id="${later.id}"]`, { timeout: 5000 });
  });
});

test("the connection dropped: the app resumes with only the missed events, no full reload", async () => {
  // The app is opened through the proxy, so its origin is the proxy's.
  const port = await freePort();
  await withApp({ env: { CORS_ORIGINS: `http://127.0.0.1:${port}` } }, async ({ server, page }) => {
    const proxy = await new Proxy(server).start(port);
    try {
      const p = await project(server);
      const keep = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Renamed while away" });
      const gone = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Deleted while away" });
      await page.goto(`${proxy.url}/projects/${p.id}/tasks`);
      await live(page);
      const seen = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Seen live" });
      await page.waitForSelector(`[data-task-id="${seen.id}"]`);

      proxy.hold();
      await page.waitForSelector('[data-conn="offline"]', { timeout: 10000 });
      const added = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Created while away" });
      await server.api("PATCH", `/api/tasks/${keep.id}`, { title: "Renamed on the server" });
      await server.api("DELETE", `/api/tasks/${gone.id}`);
      proxy.release();

      // Exactly the three missed events were replayed (a full snapshot would not say so).
      await page.waitForSelector('[data-conn="live"][data-resumed="3"]', { timeout: 15000 });
      await page.waitForSelector(`[data-task-id="${added.id}"]`);
      await page.waitForSelector(`[data-task-id="${gone.id}"]`, { state: "detached", timeout: 5000 });
      await page.locator(`[data-task-id="${keep.id}"]`, { hasText: "Renamed on the server" }).waitFor();
      assert.equal(await page.locator(`[data-task-id="${added.id}"]`).count(), 1, "applied once");
      const later = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Live again" });
      await page.waitForSelector(`[data-task-id="${later.id}"]`, { timeout: 5000 });
    } finally {
      proxy.close();
    }
  });
});

test("project picker: create a project, deep link to a session, PWA files and shell-only service worker", async () => {
  await withApp({}, async ({ server, page }) => {
    await page.goto(`${server.url}/`);
    await page.getByText("No project yet").waitFor();
    await page.getByLabel("Name").fill("Phone project");
    await page.getByLabel("Working directory on the server machine").fill("/tmp/phone");
    await page.getByRole("button", { name: "Create project" }).click();
    await page.waitForURL(/\/projects\/proj_[^/]+$/);
    await live(page);
    const projects = await server.api("GET", "/api/projects");
    assert.equal(projects.length, 1);
    assert.equal(projects[0].name, "Phone project");

    const t = await server.api("POST", "/api/tasks", { projectId: projects[0].id, title: "Deep linked" });
    const s = await session(server, projects[0], [t.id], "Deep link session");
    await page.goto(`${server.url}/projects/${projects[0].id}/sessions/${s.id}`);
    await page.getByRole("heading", { name: "Deep link session" }).waitFor();

    // Manifest and icons.
    const manifest = await (await fetch(`${server.url}/manifest.webmanifest`)).json();
    assert.equal(manifest.display, "standalone");
    for (const icon of manifest.icons) {
      const r = await fetch(`${server.url}${icon.src}`);
      assert.equal(r.status, 200, icon.src);
    }
    // The service worker controls the page and never caches API or Socket.IO traffic.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await page.reload();
    await page.getByRole("heading", { name: "Deep link session" }).waitFor();
    const cached = await page.evaluate(async () => {
      const out = [];
      for (const k of await caches.keys()) {
        const c = await caches.open(k);
        for (const r of await c.keys()) out.push(new URL(r.url).pathname);
      }
      return out;
    });
    assert.ok(cached.includes("/index.html"), JSON.stringify(cached));
    assert.ok(cached.some((u) => u.startsWith("/assets/")), JSON.stringify(cached));
    assert.ok(!cached.some((u) => u.startsWith("/api") || u.startsWith("/socket.io")), JSON.stringify(cached));
  });
});

/** Accessible names, landmarks and headings of the current screen. */
async function auditScreen(page) {
  return page.evaluate(() => {
    const problems = [];
    const name = (el) =>
      (el.getAttribute("aria-label") ?? "").trim() ||
      (el.getAttribute("aria-labelledby") ? document.getElementById(el.getAttribute("aria-labelledby"))?.textContent?.trim() : "") ||
      (el.labels && [...el.labels].map((l) => l.textContent.trim()).join(" ")) ||
      "";
    for (const el of document.querySelectorAll("input, select, textarea")) {
      if (el.type === "hidden") continue;
      if (!name(el)) problems.push(`unlabelled ${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}`);
    }
    for (const el of document.querySelectorAll("button, a[href]")) {
      if (!(el.textContent.trim() || name(el))) problems.push(`nameless ${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}`);
    }
    for (const el of document.querySelectorAll("img")) if (!el.hasAttribute("alt")) problems.push(`img without alt ${el.src}`);
    if (document.querySelectorAll("main").length !== 1) problems.push("not exactly one <main>");
    if (document.querySelectorAll("h1").length !== 1) problems.push(`${document.querySelectorAll("h1").length} h1`);
    if (!document.documentElement.lang) problems.push("no lang");
    // Touch targets of the bottom tabs and primary buttons: at least 44 px high.
    for (const el of document.querySelectorAll(".tab, .btn-primary")) {
      const r = el.getBoundingClientRect();
      if (r.height && r.height < 44) problems.push(`small target (${Math.round(r.height)} px): ${el.textContent.trim()}`);
    }
    return problems;
  });
}

test("accessibility: names, landmarks, keyboard order; dark theme and the wide layout", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server, "Accessible project");
    const parent = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Audit the app", priority: "high" });
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Check contrast", parentId: parent.id });
    const s = await session(server, p, [parent.id], "Auditor");
    await server.api("PATCH", `/api/sessions/${s.id}`, { needsInput: { active: true, message: "Include the sign-in screen?" } });
    const screens = [
      `/projects/${p.id}`,
      `/projects/${p.id}/tasks`,
      `/projects/${p.id}/tasks/${parent.id}`,
      `/projects/${p.id}/sessions`,
      `/projects/${p.id}/sessions/${s.id}`,
      `/projects/${p.id}/settings`,
      `/projects`,
    ];
    for (const path of screens) {
      await page.goto(`${server.url}${path}`);
      await page.locator("[data-screen]").first().waitFor();
      if (path.startsWith(`/projects/${p.id}`)) await live(page);
      assert.deepEqual(await auditScreen(page), [], `accessibility problems on ${path}`);
    }

    // Keyboard: the skip link comes first and leads into the content; the tabs are reachable.
    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    const order = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press("Tab");
      order.push(await page.evaluate(() => document.activeElement?.getAttribute("aria-label") || document.activeElement?.textContent?.trim().slice(0, 30)));
    }
    const reply = order.findIndex((x) => x === "Send reply");
    console.log(`# keyboard order: ${JSON.stringify(order)}`);
    // The Dashboard tab's name carries what waits ("Dashboard, 1 waiting for you").
    const tabs = order.findIndex((x) => x?.startsWith("Dashboard"));
    assert.ok(order[0]?.startsWith("Project:"), `first stop after the skip link: ${order[0]}`);
    assert.ok(reply > 0 && tabs > reply, `focus order: ${JSON.stringify(order)}`);

    // Dark theme from the system.
    await page.evaluate(() => document.activeElement?.blur());
    await page.emulateMedia({ colorScheme: "dark" });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, "rgb(16, 19, 23)");
    await screenshot(page, "dashboard-dark");
    await page.emulateMedia({ colorScheme: "light" });

    // Wide layout: sidebar with projects and sessions, session grid and task board.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.locator('[data-layout="wide"]').waitFor();
    await page.getByRole("complementary", { name: "Projects and sessions" }).waitFor();
    await page.locator(`.grid [data-session-id="${s.id}"]`).waitFor();
    await page.locator('[data-column="todo"] [data-task-id]').first().waitFor();
    assert.equal(await page.locator(".tabbar").count(), 0);
    await screenshot(page, "wide-overview");
  });
});

test("Supabase mode: email/password sign-in, bearer access token, refresh before expiry (GoTrue stubbed)", async () => {
  await withApp({}, async ({ server, page }) => {
    await project(server, "Supabase project");
    // The server runs without Supabase here: its auth config and the GoTrue token endpoint are
    // stubbed in the browser (same origin, so the CSP allows them).
    const supabaseUrl = `${server.url}/fake-supabase`;
    await page.route(`${server.url}/api/auth/config`, (route) =>
      route.fulfill({ json: { authMode: "supabase", supabase: { url: supabaseUrl, anonKey: "anon-test-key" } } }),
    );
    const grants = [];
    await page.route(`${supabaseUrl}/auth/v1/token**`, (route) => {
      const req = route.request();
      const grant = new URL(req.url()).searchParams.get("grant_type");
      const body = JSON.parse(req.postData() ?? "{}");
      grants.push({ grant, body, apikey: req.headers().apikey });
      if (grant === "password") {
        if (body.password !== "correct horse") {
          return route.fulfill({ status: 400, json: { error: "invalid_grant", error_description: "Invalid login credentials" } });
        }
        // Expires in 62 s: with the 60 s margin the refresh is due after ~2 s.
        return route.fulfill({ json: { access_token: "access-1", refresh_token: "refresh-1", expires_in: 62, token_type: "bearer", user: { email: body.email } } });
      }
      if (grant === "refresh_token" && body.refresh_token === "refresh-1") {
        return route.fulfill({ json: { access_token: "access-2", refresh_token: "refresh-2", expires_in: 3600, token_type: "bearer" } });
      }
      return route.fulfill({ status: 400, json: { error: "invalid_grant" } });
    });
    const bearers = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/api/projects")) bearers.push(r.headers().authorization ?? null);
    });

    await page.goto(`${server.url}/projects`);
    const form = page.getByRole("form", { name: "Sign in" });
    await form.getByLabel("Email").fill("me@example.com");
    await form.getByLabel("Password").fill("wrong");
    await form.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("Invalid login credentials").waitFor();
    await form.getByLabel("Password").fill("correct horse");
    await form.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("list", { name: "Projects" }).waitFor();
    assert.deepEqual(grants[0], { grant: "password", body: { email: "me@example.com", password: "wrong" }, apikey: "anon-test-key" });
    assert.equal(bearers.at(-1), "Bearer access-1");

    // The scheduled refresh swaps the tokens; later requests carry the new access token.
    await eventually(() => grants.find((g) => g.grant === "refresh_token"), "the refresh_token grant", 8000);
    assert.deepEqual(grants.find((g) => g.grant === "refresh_token").body, { refresh_token: "refresh-1" });
    await eventually(async () => (await page.evaluate(() => localStorage.getItem("maestro.auth.supabase")))?.includes("access-2"), "the refreshed session in storage");
    await page.reload();
    await page.getByRole("list", { name: "Projects" }).waitFor();
    assert.equal(bearers.at(-1), "Bearer access-2");
    assert.ok(!page.url().includes("access-"), "tokens never in the URL");

    // Settings shows the account; sign out forgets the session.
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByText("Signed in as me@example.com.").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("form", { name: "Sign in" }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem("maestro.auth.supabase")), null);
  });
});

test("refresh button and pull-to-refresh ask the server for a new snapshot", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server);
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Pull me" });
    let syncs = 0;
    page.on("websocket", (ws) => ws.on("framesent", (f) => String(f.payload).includes('"state:sync"') && syncs++));
    await page.goto(`${server.url}/projects/${p.id}`);
    await live(page);
    await eventually(() => syncs === 1, "the sync on connect");

    await page.getByRole("button", { name: "Refresh (re-sync with the server)" }).click();
    await eventually(() => syncs === 2, "a sync from the refresh button");
    await live(page);

    // A downward swipe from the top of the content.
    await page.evaluate(async () => {
      const main = document.querySelector("#main");
      const touch = (y) => new Touch({ identifier: 1, target: main, clientX: 180, clientY: y });
      main.dispatchEvent(new TouchEvent("touchstart", { touches: [touch(120)], bubbles: true }));
      for (let y = 130; y <= 260; y += 20) {
        main.dispatchEvent(new TouchEvent("touchmove", { touches: [touch(y)], bubbles: true }));
        await new Promise((r) => requestAnimationFrame(r));
      }
      main.dispatchEvent(new TouchEvent("touchend", { touches: [], bubbles: true }));
    });
    await eventually(() => syncs === 3, "a sync from the pull gesture");
    // A short pull does nothing.
    await page.evaluate(() => {
      const main = document.querySelector("#main");
      const touch = (y) => new Touch({ identifier: 2, target: main, clientX: 180, clientY: y });
      main.dispatchEvent(new TouchEvent("touchstart", { touches: [touch(120)], bubbles: true }));
      main.dispatchEvent(new TouchEvent("touchmove", { touches: [touch(150)], bubbles: true }));
      main.dispatchEvent(new TouchEvent("touchend", { touches: [], bubbles: true }));
    });
    await sleep(500);
    assert.equal(syncs, 3);
  });
});
