// Tally's live dashboard: plain JavaScript, no build step, nothing from elsewhere. It speaks
// the same GraphQL API as any client: queries and mutations over POST /graphql, and the
// `balancesChanged` and `entryEvents` subscriptions over /graphql/ws (graphql-transport-ws).
// The credentials stay in this page's memory only. A dropped socket is reopened with backoff;
// each subscription starts with the book's current state, so nothing is missed across it.
"use strict";

const $ = (id) => document.getElementById(id);
const session = { accessToken: null, refreshToken: null };
let socket = null;
let retry = 0;
let bookId = null;

async function graphql(query, variables) {
  const headers = { "content-type": "application/json" };
  if (session.accessToken) headers.authorization = `Bearer ${session.accessToken}`;
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
  return body.data;
}

const AUTH = "accessToken refreshToken";

async function signedIn() {
  $("sign-in").hidden = true;
  $("board").hidden = false;
  const data = await graphql("{ books(first: 100) { nodes { id name kind } } }");
  const select = $("book");
  select.replaceChildren(
    ...data.books.nodes.map((book) => {
      const option = document.createElement("option");
      option.value = book.id;
      option.textContent = `${book.name} (${book.kind.toLowerCase()})`;
      return option;
    }),
  );
  select.onchange = () => follow(select.value);
  if (select.value) follow(select.value);
}

function failed(error) {
  $("sign-in-error").textContent = error.message;
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const data = await graphql(
      `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { ${AUTH} } }`,
      { email: $("email").value, password: $("password").value },
    );
    Object.assign(session, data.login);
    $("password").value = "";
    await signedIn();
  } catch (error) {
    failed(error);
  }
});

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  session.accessToken = $("token").value.trim();
  session.refreshToken = null;
  $("token").value = "";
  try {
    await signedIn();
  } catch (error) {
    failed(error);
  }
});

/// A JWT lives 15 minutes: when the socket is closed for the credential, a refresh token (if
/// the user logged in here) buys a new one.
async function refreshSession() {
  if (!session.refreshToken) return false;
  try {
    const data = await graphql(
      `mutation($token: String!) { refreshToken(refreshToken: $token) { ${AUTH} } }`,
      { token: session.refreshToken },
    );
    Object.assign(session, data.refreshToken);
    return true;
  } catch {
    return false;
  }
}

const BALANCES = `subscription($book: ID!) { balancesChanged(bookId: $book) {
  kind version
  balances { member { id name } paid owed net status }
  settlementSuggestions { transfers { from { name } to { name } amount } }
} }`;

const ENTRIES = `subscription($book: ID!) { entryEvents(bookId: $book) {
  kind entry { id description amount currency occurredOn deletedAt }
} }`;

function setConnection(state) {
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = state;
}

function follow(id) {
  bookId = id;
  if (socket) socket.close(1000, "switching books");
  connect();
  loadEntries();
}

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/ws`;
  const ws = new WebSocket(url, "graphql-transport-ws");
  socket = ws;
  setConnection("connecting");
  ws.onopen = () =>
    ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${session.accessToken}` } }));
  ws.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "connection_ack") {
      retry = 0;
      setConnection("live");
      ws.send(JSON.stringify({ id: "balances", type: "subscribe", payload: { query: BALANCES, variables: { book: bookId } } }));
      ws.send(JSON.stringify({ id: "entries", type: "subscribe", payload: { query: ENTRIES, variables: { book: bookId } } }));
    } else if (data.type === "ping") {
      ws.send(JSON.stringify({ type: "pong" }));
    } else if (data.type === "next" && data.payload.data) {
      if (data.id === "balances") showBalances(data.payload.data.balancesChanged);
      if (data.id === "entries") entryEvent(data.payload.data.entryEvents);
    } else if (data.type === "next" || data.type === "error") {
      $("last-kind").textContent = `error: ${JSON.stringify(data.payload)}`;
    }
  };
  ws.onclose = async (event) => {
    if (socket !== ws) return; // replaced on purpose
    setConnection("reconnecting");
    if (event.code === 4403 && !(await refreshSession())) {
      setConnection("offline");
      $("board").hidden = true;
      $("sign-in").hidden = false;
      failed(new Error("Signed out: the credential expired or was revoked."));
      return;
    }
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 250 * 2 ** retry);
  };
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function showBalances(event) {
  $("version").textContent = String(event.version);
  $("last-kind").textContent = event.kind.toLowerCase();
  $("balances").tBodies[0].replaceChildren(
    ...event.balances.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.member = row.member.id;
      const tone = { OWES: "owes", OWED: "owed" }[row.status];
      tr.append(
        cell(row.member.name),
        cell(row.paid, "money"),
        cell(row.owed, "money"),
        cell(row.net, `money net ${tone || ""}`),
      );
      return tr;
    }),
  );
  $("suggestions").replaceChildren(
    ...event.settlementSuggestions.transfers.map((transfer) => {
      const li = document.createElement("li");
      li.textContent = `${transfer.from.name} pays ${transfer.to.name} ${transfer.amount}`;
      return li;
    }),
  );
}

function entryItem(entry) {
  const li = document.createElement("li");
  li.dataset.entry = entry.id;
  li.textContent = `${entry.occurredOn} ${entry.description}: ${entry.amount} ${entry.currency}`;
  return li;
}

async function loadEntries() {
  const data = await graphql(
    `query($book: ID!) { book(id: $book) { entries(first: 10) { nodes { id description amount currency occurredOn deletedAt } } } }`,
    { book: bookId },
  );
  $("entries").replaceChildren(...data.book.entries.nodes.map(entryItem));
}

function entryEvent(event) {
  const list = $("entries");
  if (event.kind === "RESYNC") return void loadEntries();
  if (!event.entry) return;
  const existing = list.querySelector(`[data-entry="${CSS.escape(event.entry.id)}"]`);
  if (event.kind === "DELETED") return void existing?.remove();
  const item = entryItem(event.entry);
  if (existing) existing.replaceWith(item);
  else list.prepend(item);
  while (list.children.length > 10) list.lastElementChild.remove();
}
