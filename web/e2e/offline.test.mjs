// Offline-first (issue 27): the device keeps the last snapshot of a project (IndexedDB) and
// the server's client config, so a cold start without the network shows them, with when they
// were synced, and the app comes back live by itself when the network returns. Replies and
// task changes made offline are kept on the device and sent once when it is back, each with
// an Idempotency-Key, so a retry after a lost answer is not applied twice.
//   SERVER_BIN=/path/to/maestro-server npm run e2e
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, project, withApp } from "./harness.mjs";

/** Waits until the device keeps a snapshot (written when it arrives). */
async function kept(page) {
  await eventually(
    () =>
      page.evaluate(
        () =>
          new Promise((ok) => {
            const r = indexedDB.open("maestro-offline");
            r.onsuccess = () => {
              const tx = r.result.transaction("snapshots", "readonly");
              const c = tx.objectStore("snapshots").count();
              c.onsuccess = () => ok(c.result > 0);
              c.onerror = () => ok(false);
            };
            r.onerror = () => ok(false);
          }),
      ),
    "the snapshot kept on the device",
  );
}

test("offline: a cold start shows the device's last copy, read-only, and comes back live on its own", async () => {
  await withApp({}, async ({ server, page, context }) => {
    const p = await project(server, "Offline project");
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Written before the tunnel dropped" });
    await page.goto(`${server.url}/projects/${p.id}/tasks`);
    await page.waitForSelector('[data-conn="live"]', { timeout: 10000 });
    await page.getByText("Written before the tunnel dropped").waitFor();
    await page.evaluate(async () => navigator.serviceWorker.ready);
    await kept(page);

    await context.setOffline(true);
    const t0 = Date.now();
    await page.reload();
    // The shell from the service worker, the data from the device, and one clear notice.
    await page.getByText("Written before the tunnel dropped").waitFor({ timeout: 10000 });
    console.log(`offline cold start: the kept snapshot on screen ${Date.now() - t0} ms after the reload began (wall clock)`);
    await page.locator("[data-offline-copy]").waitFor();
    assert.equal(await page.locator('[role="alert"]').count(), 0, "no error alert offline");

    // Meanwhile on the server: seen once the network returns, without a tap.
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Written while the phone was offline" });
    await context.setOffline(false);
    await page.getByText("Written while the phone was offline").waitFor({ timeout: 15000 });
    await page.locator("[data-offline-copy]").waitFor({ state: "detached" });
  });
});

test("offline: a reply and a task change are kept on the device and sent once when back, even when an answer is lost", async () => {
  await withApp({}, async ({ server, page, context }) => {
    const p = await project(server, "Queued changes");
    const task = await server.api("POST", "/api/tasks", { projectId: p.id, title: "Finish the migration" });
    const agent = await server.api("POST", "/api/sessions", { projectId: p.id, taskIds: [], name: "Worker: migration", status: "working" });
    await server.api("PATCH", `/api/sessions/${agent.id}`, { needsInput: { active: true, message: "Run it on production?" } });
    await page.goto(`${server.url}/projects/${p.id}`);
    await page.waitForSelector('[data-conn="live"]', { timeout: 10000 });
    await page.evaluate(async () => navigator.serviceWorker.ready);
    await kept(page);

    // Offline (a cold start, so nothing is connected): answer the agent and close the task.
    await context.setOffline(true);
    await page.reload();
    const card = page.locator(`.card-input[data-session-id="${agent.id}"]`);
    await card.waitFor({ timeout: 10000 });
    await card.getByLabel("Your answer").fill("Yes, after the backup.");
    await card.getByRole("button", { name: "Send reply" }).click();
    await page.locator('[data-outbox="1"]').waitFor({ timeout: 5000 });
    await page.goto(`${server.url}/projects/${p.id}/tasks/${task.id}`);
    await page.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit task" });
    await edit.getByLabel("Status").selectOption("completed");
    await edit.getByRole("button", { name: "Save changes" }).click();
    // Kept on the device (the sheet closes first: it leaves through history.back()), and
    // still there after a reload.
    await edit.waitFor({ state: "detached" });
    await page.locator('[data-outbox="2"]').waitFor({ timeout: 5000 });
    await page.waitForLoadState("load");
    await page.reload();
    await page.locator('[data-outbox="2"]').waitFor({ timeout: 10000 });

    // Back online, but the answer to the reply is lost on the way back (the server did
    // receive it): the app keeps the reply and sends it again with the same key.
    let tries = 0;
    const keys = [];
    await page.route("**/api/sessions/*/reply", async (route) => {
      tries++;
      keys.push(route.request().headers()["idempotency-key"]);
      if (tries === 1) {
        await route.fetch();
        await route.abort("failed");
      } else await route.continue();
    });
    await context.setOffline(false);
    await eventually(() => tries >= 1, "the first send");
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    await page.locator("[data-outbox]").waitFor({ state: "detached", timeout: 15000 });
    assert.ok(tries >= 2, `sent ${tries} times`);
    assert.equal(new Set(keys).size, 1, "every try carries the same Idempotency-Key");
    assert.ok(keys[0] && keys[0].length >= 8);

    const replies = await server.api("GET", `/api/mail/inbox/${agent.id}?projectId=${p.id}&type=response`);
    assert.equal(replies.length, 1, "the agent got one answer");
    assert.deepEqual(replies[0].body, { answer: "Yes, after the backup." });
    assert.equal((await server.api("GET", `/api/sessions/${agent.id}`)).needsInput?.active, false);
    assert.equal((await server.api("GET", `/api/tasks/${task.id}`)).status, "completed");
  });
});
