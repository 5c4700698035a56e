// Real GraphQL subscription clients against Tally: the `graphql-ws` library (the
// graphql-transport-ws protocol) and the legacy `subscriptions-transport-ws` client (old
// Apollo clients, the `graphql-ws` subprotocol). Each follows a book's balances, sees the
// CURRENT state, then the change an entry written over HTTP makes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "graphql-ws";
import { SubscriptionClient } from "subscriptions-transport-ws";
import WebSocket from "ws";
import { expense, register, splitBook, useServer } from "./server.js";

const BALANCES = `subscription($book: ID!) {
  balancesChanged(bookId: $book) { kind version balances { member { name } net } }
}`;

let alice;
let bob;
let book;
const env = useServer({
  setup: async (server) => {
    alice = await register(server, "Alice");
    bob = await register(server, "Bob");
    book = await splitBook(server, alice, bob);
  },
});

/** Collects a subscription's events; `next(n)` waits (at most 5 s) for the n-th. */
function collector() {
  const events = [];
  const waiters = [];
  return {
    push(event) {
      events.push(event);
      for (const waiter of waiters.splice(0)) waiter();
    },
    async next(count) {
      const deadline = Date.now() + 5000;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} events: ${JSON.stringify(events)}`);
        await new Promise((done) => {
          waiters.push(done);
          setTimeout(done, 100);
        });
      }
      return events[count - 1];
    },
  };
}

test("the graphql-ws client subscribes and hears a committed entry", async () => {
  const client = createClient({
    url: env.server.ws,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${bob.token}` },
  });
  const events = collector();
  const dispose = client.subscribe(
    { query: BALANCES, variables: { book } },
    { next: (result) => events.push(result), error: (error) => events.push({ error }), complete: () => {} },
  );
  try {
    const current = await events.next(1);
    assert.equal(current.data.balancesChanged.kind, "CURRENT", JSON.stringify(current));
    await expense(env.server, alice, book, "20.00", "Dinner");
    const changed = await events.next(2);
    const payload = changed.data.balancesChanged;
    assert.equal(payload.kind, "CHANGED", JSON.stringify(changed));
    assert.equal(payload.version, current.data.balancesChanged.version + 1);
    assert.deepEqual(
      payload.balances.map((row) => [row.member.name, row.net]),
      [["Alice", "10.00"], ["Bob", "-10.00"]],
    );
  } finally {
    dispose();
    await client.dispose();
  }
});

test("an old subscriptions-transport-ws client subscribes and hears a committed entry", async () => {
  const client = new SubscriptionClient(
    env.server.ws,
    { connectionParams: { authorization: `Bearer ${bob.token}` }, reconnect: false },
    WebSocket,
  );
  const events = collector();
  const subscription = client
    .request({ query: BALANCES, variables: { book } })
    .subscribe({ next: (result) => events.push(result), error: (error) => events.push({ error }) });
  try {
    const current = await events.next(1);
    assert.equal(current.data.balancesChanged.kind, "CURRENT", JSON.stringify(current));
    await expense(env.server, alice, book, "6.00", "Coffee");
    const changed = await events.next(2);
    assert.equal(changed.data.balancesChanged.kind, "CHANGED", JSON.stringify(changed));
    assert.equal(changed.data.balancesChanged.version, current.data.balancesChanged.version + 1);
  } finally {
    subscription.unsubscribe();
    client.close();
  }
});

test("the graphql-ws client is refused a book it is not a member of", async () => {
  const carol = await register(env.server, "Carol");
  const client = createClient({
    url: env.server.ws,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${carol.token}` },
  });
  const events = collector();
  client.subscribe(
    { query: BALANCES, variables: { book } },
    { next: (result) => events.push(result), error: (error) => events.push({ error }), complete: () => {} },
  );
  try {
    const refused = await events.next(1);
    assert.equal(refused.errors?.[0]?.extensions?.code, "NOT_FOUND", JSON.stringify(refused));
  } finally {
    await client.dispose();
  }
});
