// The interactive API reference at /api/docs, in Chromium: public page, the OpenAPI document
// fetched with a credential (typed in, or the one the web app stored), rendered by the pinned
// Redoc bundle the server serves itself, under the page's CSP.
//   SERVER_BIN=/path/to/maestro-server npm run e2e
import { test } from "node:test";
import assert from "node:assert/strict";
import { withApp } from "./harness.mjs";

const TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

test("the API reference asks for a credential, then renders every operation", async () => {
  await withApp({ token: TOKEN }, async ({ server, page }) => {
    const origins = new Set();
    page.on("request", (r) => origins.add(new URL(r.url()).origin));

    await page.goto(`${server.url}/api/docs`);
    const field = page.getByLabel("API token or access token");
    await field.waitFor();
    await field.fill("not-the-token-not-the-token-not-the-token");
    await page.getByRole("button", { name: "Show the reference" }).click();
    await page.getByText("The server refused that credential.").waitFor();

    await field.fill(TOKEN);
    await page.getByRole("button", { name: "Show the reference" }).click();
    await page.getByRole("heading", { name: /Maestro Server/ }).first().waitFor({ timeout: 20000 });
    // Operations and schemas of the document are there.
    await page.getByRole("heading", { name: "Create a task" }).waitFor();
    const operations = await page.locator("#redoc h2").count();
    assert.ok(operations >= 60, `${operations} operation headings`);
    assert.equal(await field.isVisible(), false, "the form is gone");
    assert.deepEqual([...origins], [server.url], "nothing is loaded from another origin (no CDN)");

    // With the credential the web app stored, the page renders at once.
    await page.evaluate((t) => localStorage.setItem("maestro.auth.token", t), TOKEN);
    await page.reload();
    await page.getByRole("heading", { name: "Create a task" }).waitFor({ timeout: 20000 });
    assert.equal(await field.isVisible(), false);
  });
});
