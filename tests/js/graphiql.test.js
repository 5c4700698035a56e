// GraphiQL at GET /graphql in headless Chromium. The page takes GraphiQL and React from unpkg
// at exact versions pinned by Subresource Integrity hashes; this machine has no internet, so
// the test answers those requests with the same files from npm (tests/js/node_modules,
// installed at the same exact versions): the browser checks them against the page's hashes,
// so a wrong pin fails here. Then: the docs explorer lists `Query.books`, and a query typed
// into the editor runs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { useServer } from "./server.js";

const modules = resolve(import.meta.dirname, "node_modules");

const env = useServer({ browser: true });

/** Serves `https://unpkg.com/<package>@<version>/<path>` from node_modules, if the versions agree. */
async function fromNpm(route) {
  const url = new URL(route.request().url());
  const match = url.pathname.match(/^\/((?:@[^/]+\/)?[^@/]+)@([^/]+)\/(.+)$/);
  if (!match) return route.abort();
  const [, name, version, path] = match;
  const installed = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;
  if (installed !== version) return route.abort();
  const type = path.endsWith(".css") ? "text/css" : "text/javascript";
  return route.fulfill({
    body: readFileSync(join(modules, name, path)),
    contentType: type,
    headers: { "access-control-allow-origin": "*" },
  });
}

test("GraphiQL loads the schema and runs a typed query", async () => {
  const page = await env.browser.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.route("https://unpkg.com/**", fromNpm);

  const response = await page.goto(`${env.server.base}/graphql`);
  assert.match(response.headers()["content-security-policy"], /script-src 'self' https:\/\/unpkg\.com;/);
  await page.waitForSelector(".graphiql-container", { timeout: 20000 });

  // The docs explorer: the schema was read by introspection.
  await page.click('[aria-label="Show Documentation Explorer"]');
  await page.click(".graphiql-doc-explorer-content a:text('Query')");
  await page.waitForSelector(".graphiql-doc-explorer-content a:text('books')");

  // Type a query into the editor and run it.
  await page.click(".graphiql-query-editor .CodeMirror");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type("{ serverVersion }");
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    () => document.querySelector(".graphiql-response")?.textContent.includes("serverVersion"),
    null,
    { timeout: 10000 },
  );
  const answer = await page.textContent(".graphiql-response");
  assert.match(answer, /"serverVersion": "\d+\.\d+\.\d+"/);
  assert.deepEqual(problems, []);
  await page.close();
});
