// Offline-first (issue 27): the device keeps the last snapshot of a project (IndexedDB) and
// the server's client config, so a cold start without the network shows them read-only, with
// when they were synced, and the app comes back live by itself when the network returns.
//   SERVER_BIN=/path/to/maestro-server npm run e2e
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, project, withApp } from "./harness.mjs";

test("offline: a cold start shows the device's last copy, read-only, and comes back live on its own", async () => {
  await withApp({}, async ({ server, page, context }) => {
    const p = await project(server, "Offline project");
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Written before the tunnel dropped" });
    await page.goto(`${server.url}/projects/${p.id}/tasks`);
    await page.waitForSelector('[data-conn="live"]', { timeout: 10000 });
    await page.getByText("Written before the tunnel dropped").waitFor();
    await page.evaluate(async () => navigator.serviceWorker.ready);
    // The copy is written when the snapshot arrives; give IndexedDB its moment.
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

    await context.setOffline(true);
    await page.reload();
    // The shell from the service worker, the data from the device, and one clear notice.
    await page.getByText("Written before the tunnel dropped").waitFor({ timeout: 10000 });
    await page.locator("[data-offline-copy]").waitFor();
    assert.equal(await page.locator('[role="alert"]').count(), 0, "no error alert offline");

    // Meanwhile on the server: seen once the network returns, without a tap.
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "Written while the phone was offline" });
    await context.setOffline(false);
    await page.getByText("Written while the phone was offline").waitFor({ timeout: 15000 });
    await page.locator("[data-offline-copy]").waitFor({ state: "detached" });
  });
});
