// A Tally server for the client tests: the debug binary cargo built (or $TALLY_BIN), on a free
// port, with its own SQLite data directory, stopped when the tests end. Plus the few API calls
// the tests make over plain HTTP.
import { spawn } from "node:child_process";
import { after, before } from "node:test";
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

function binary() {
  if (process.env.TALLY_BIN) return process.env.TALLY_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(root, "target");
  return join(target, "debug", "tally");
}

function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

/** Runs the binary on `port` with `dataDir`; resolves once it answers /healthz. */
async function launch(port, dataDir) {
  // Always the embedded SQLite default, whatever DATABASE_URL the caller's shell has.
  const { DATABASE_URL: _, ...env } = process.env;
  const child = spawn(binary(), [], {
    env: {
      ...env,
      TALLY_LISTEN: `127.0.0.1:${port}`,
      TALLY_DATA_DIR: dataDir,
      RUST_LOG: "warn",
      // The audit and the browser tests send bursts from one address; the rate limit has its
      // own tests in tests/api.
      TALLY_RATE_LIMIT_PER_ADDRESS: "0",
      TALLY_RATE_LIMIT_PER_USER: "0",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise((done) => child.once("exit", done));
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (attempt > 300 || child.exitCode !== null) {
      child.kill();
      throw new Error(`tally (${binary()}) did not start on port ${port}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return async () => {
    child.kill("SIGTERM");
    await exited;
  };
}

/** Starts a server on a free port with a fresh data directory. */
export async function startServer() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "tally-js-"));
  let stop = await launch(port, dataDir);
  return {
    base: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/graphql/ws`,
    /** Stops the server (its sockets close with 1001) and starts it again on the same data. */
    async restart() {
      await stop();
      stop = await launch(port, dataDir);
    },
    async stop() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** POSTs a GraphQL request; returns `data`, throws on errors. */
export async function graphql(server, query, variables = {}, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${server.base}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export const PASSWORD = "Correct-Horse-9";

/** Registers `name` (e-mail `<name>@example.com`); returns its access token and id. */
export async function register(server, name) {
  const data = await graphql(
    server,
    `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
    { input: { email: `${name.toLowerCase()}@example.com`, name, password: PASSWORD } },
  );
  return { token: data.register.accessToken, id: data.register.user.id, email: `${name.toLowerCase()}@example.com` };
}

/** A SPLIT book in EUR owned by `owner`, with `other` joined as a WRITER. */
export async function splitBook(server, owner, other) {
  const created = await graphql(
    server,
    `mutation { createBook(input: { name: "Trip", kind: SPLIT, currency: "EUR" }) { id } }`,
    {},
    owner.token,
  );
  const book = created.createBook.id;
  const invite = await graphql(
    server,
    `mutation($b: ID!) { createInvite(bookId: $b, role: WRITER) { code } }`,
    { b: book },
    owner.token,
  );
  await graphql(
    server,
    `mutation($c: String!) { joinBook(code: $c) { id } }`,
    { c: invite.createInvite.code },
    other.token,
  );
  return book;
}

/** `user` records an expense of `amount` they paid, split equally among all members. */
export async function expense(server, user, book, amount, description) {
  const data = await graphql(
    server,
    `mutation($input: CreateEntryInput!) { createEntry(input: $input) { id } }`,
    { input: { bookId: book, kind: "EXPENSE", amount, occurredOn: "2026-11-20", description } },
    user.token,
  );
  return data.createEntry.id;
}

/** Headless Chromium: Debian's package (or $CHROMIUM), driven by playwright-core. */
function launchChromium() {
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  return chromium.launch({ executablePath, args: ["--no-sandbox"] });
}

/**
 * A server for this file's tests, started before them and stopped after (with `browser`, also
 * headless Chromium); its `server` and `browser` are set once the tests run. `setup(server)`
 * runs right after the start, in the same hook (node:test does not order separate hooks).
 */
export function useServer({ browser = false, setup } = {}) {
  const context = { server: null, browser: null };
  before(async () => {
    context.server = await startServer();
    if (browser) context.browser = await launchChromium();
    await setup?.(context.server);
  });
  after(async () => {
    await context.browser?.close();
    await context.server?.stop();
  });
  return context;
}
