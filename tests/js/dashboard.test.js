// The live dashboard page (/dashboard) in headless Chromium: Debian's `chromium`, driven by
// playwright-core (Playwright's own browser download is not used). Log in on the page, pick the
// book, write an entry over HTTP from the test, and see the balances change without a reload;
// then restart the server (the socket closes with 1001) and see the page reconnect and stay
// live. A screenshot is saved under target/ (CI keeps it as an artifact).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { PASSWORD, expense, register, splitBook, useServer } from "./server.js";

const artifacts = resolve(import.meta.dirname, "../../target/browser");

const env = useServer({ browser: true });

test("the dashboard shows balances changing live, and reconnects", async () => {
  const alice = await register(env.server, "Alice");
  const bob = await register(env.server, "Bob");
  const book = await splitBook(env.server, alice, bob);
  const page = await env.browser.newPage();
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));

  const response = await page.goto(`${env.server.base}/dashboard`);
  assert.match(response.headers()["content-security-policy"], /default-src 'none'/);
  await page.fill("#email", bob.email);
  await page.fill("#password", PASSWORD);
  await page.click("#login-form button");
  // Bob's books: his personal book and the trip; follow the trip.
  await page.waitForSelector(`#book option[value="${book}"]`, { state: "attached" });
  await page.selectOption("#book", book);
  await page.waitForSelector("#connection[data-state=live]");
  // The trip's two members (the personal book, shown first, has one).
  await page.waitForFunction(() => document.querySelectorAll("#balances tbody tr").length === 2);
  assert.equal(await page.textContent("#last-kind"), "current");

  await expense(env.server, alice, book, "30.00", "Dinner");
  const bobNet = page.locator("#balances tbody tr", { hasText: "Bob" }).locator("td.net");
  await page.waitForFunction(
    () => [...document.querySelectorAll("#balances td.net")].some((cell) => cell.textContent === "-15.00"),
  );
  assert.equal(await bobNet.textContent(), "-15.00");
  assert.equal(await page.textContent("#last-kind"), "changed");
  await page.waitForSelector("#entries li:text('Dinner')");
  assert.match(await page.textContent("#suggestions"), /Bob pays Alice 15\.00/);

  // The server goes away and comes back: the page reconnects by itself.
  await env.server.restart();
  await page.waitForSelector("#connection[data-state=live]", { timeout: 15000 });
  await expense(env.server, alice, book, "10.00", "Taxi");
  await page.waitForFunction(
    () => [...document.querySelectorAll("#balances td.net")].some((cell) => cell.textContent === "-20.00"),
  );

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test("the dashboard page loads nothing from elsewhere and runs no inline script", async () => {
  const page = await env.browser.newPage();
  const foreign = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(env.server.base) && !request.url().startsWith("ws://127.0.0.1")) {
      foreign.push(request.url());
    }
  });
  await page.goto(`${env.server.base}/dashboard`);
  await page.waitForSelector("#login-form");
  // An inline script injected into the page is refused by the policy.
  const ran = await page.evaluate(() => {
    window.inlineRan = false;
    const script = document.createElement("script");
    script.textContent = "window.inlineRan = true";
    document.body.append(script);
    return window.inlineRan;
  });
  assert.equal(ran, false);
  assert.deepEqual(foreign, []);
  await page.close();
});
