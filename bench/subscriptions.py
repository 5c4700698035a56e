#!/usr/bin/env python3
"""Subscriptions at scale: `balancesChanged` fan-out to 1,000 WebSockets, its latency and its cost.

Run a server with room for the registrations this makes, on a fresh data directory (SQLite) or
a fresh PostgreSQL database, e.g.
  TALLY_LISTEN=127.0.0.1:8021 TALLY_DATA_DIR=$(mktemp -d) TALLY_REGISTRATIONS_PER_HOUR=100000 \\
  TALLY_RATE_LIMIT_PER_ADDRESS=0 TALLY_RATE_LIMIT_PER_USER=0 TALLY_SOCKETS_PER_ADDRESS=0 \\
    RUST_LOG=warn target/release/tally &
  (add DATABASE_URL=postgres://postgres@127.0.0.1:5432/tally_bench_subs for PostgreSQL)
then, in one command (the server's PID is needed for its /proc readings):
  python3 bench/subscriptions.py http://127.0.0.1:8021/graphql --pid $(pgrep -n -x tally)
(`--help` lists the knobs). Needs Python 3.11 and `pip install websockets` (tested with 17.4);
otherwise the standard library only. The script raises its own open-file limit.

It registers USERS users (default 4; the first one owns every book, the others joined as
WRITERs) and runs these scenarios (`--scenarios`, default all three in this order), each on
fresh books, one after the other against the same server process:
  - baseline: the same stream of entries into one book nobody subscribes to (what the
              writes cost without subscribers: compare its CPU per change);
  - one:      SUBSCRIBERS sockets (default 1000), all on one book;
  - spread:   SUBSCRIBERS sockets spread evenly over BOOKS books (default 100, 10 per book).
Each socket speaks `graphql-transport-ws` at /graphql/ws (the HTTP URL with ws:// and /ws):
connection_init with a Bearer token (sockets are dealt to the users in turn), one `subscribe`
to `balancesChanged(bookId:)`, and it counts as connected once its first event (CURRENT, at
the version the book had before the stream) arrived; CONNECT_CONCURRENCY (default 50) sockets
are being set up at a time. Then one writer sends ENTRIES createEntry mutations (default 200)
at RATE per second (default 20; each is sent at its slot, or at once when the previous one
returned late), over HTTP POST /graphql, taking the books in turn. Every entry is 123.45 paid
by the owner, split EQUAL among all the members.

Each createEntry raises its book's balance version by one, so the n-th entry into a book
(from 1) is version v0 + n; an event is matched to its entry by (book, version). The delivery
latency of an event is the time its socket received it minus the time that entry's createEntry
HTTP response was read ("from response"; can be slightly negative: the event may overtake the
response); "from send" is the same measured from just before the request was written. Both
are CLOCK_MONOTONIC readings (time.monotonic) taken by the receiving asyncio loop and by the
writer process. Printed for each scenario:
  - connecting: how long the 1,000 subscribes took, subscribe-to-CURRENT latency, server CPU;
  - server VmRSS and VmHWM (/proc/PID/status) and open fds: before the subscribers, after
    they connected (and sat idle 2 s), after the stream (all events in), and 3 s after the
    sockets were closed;
  - the stream: entries/s achieved, createEntry latency, failures;
  - events: expected (entries x subscribers of their book), CHANGED delivered, RESYNC,
    versions missing (neither heard nor covered by a RESYNC), unexpected (unknown version,
    or a version heard twice), errors and early closes; also whether each socket's first
    event was CURRENT at v0 and whether its last event's nets sum to zero, and the books'
    balance versions after the stream (must be v0 + their entries);
  - delivery latency p50/p99/max from the response and from the send, and the fan-out
    completion (per entry, its slowest subscriber) p50/p99/max;
  - server CPU (utime+stime of /proc/PID/stat) from the first send until the last event
    arrived (or the drain timeout): total, per change (entry), per delivered event;
  - the load generator's own CPU: the receiving process (all sockets, one asyncio loop) and
    the writer process, for the same stretch; and the machine's busy CPU-seconds (/proc/stat)
    with what other processes used (a shared machine skews the latencies, less the CPU).
The load generator shares the machine with the server: on a small machine the receiving loop
is busy (JSON-decoding every event), and an event waits in its queue before it is
timestamped, so the latency is an upper bound of the server's. Compare its CPU with the
server's. Access tokens are refreshed before each scenario (they live 15 minutes; a socket is
closed when its token expires, so a scenario must be shorter than that).
"""
import argparse
import asyncio
import datetime
import http.client
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
import urllib.parse
import uuid
from decimal import Decimal

import websockets
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }"
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
CREATE_BOOK = "mutation($i: CreateBookInput!) { createBook(input: $i) { id } }"
CREATE_INVITE = "mutation($b: ID!) { createInvite(bookId: $b, role: WRITER) { code } }"
JOIN = "mutation($c: String!) { joinBook(code: $c) { id } }"
MEMBERS = "query($b: ID!) { book(id: $b) { members { id user { id } } } }"
VERSION = "query($b: ID!) { book(id: $b) { settlementSuggestions { balanceVersion } } }"
CREATE_ENTRY = "mutation($i: CreateEntryInput!, $k: String) { createEntry(input: $i, idempotencyKey: $k) { id } }"
SUBSCRIPTION = ("subscription($book: ID!) { balancesChanged(bookId: $book) { kind version "
                "balances { member { id name } net } settlementSuggestions { transfers { amount } } } }")
AMOUNT = "123.45"
PROTOCOL = Subprotocol("graphql-transport-ws")


# ---------------------------------------------------------------- HTTP (setup and the writer)

class Client:
    """One user over one keep-alive HTTP connection (blocking; one thread or process only)."""

    def __init__(self, url):
        self.url = urllib.parse.urlsplit(url)
        self.connection = None
        self.token = self.refresh = self.user_id = None

    def post(self, query, variables, token=None):
        """Sends one document; returns the decoded answer (transport failures are answers too)."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"content-type": "application/json", "accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.url.hostname, self.url.port or 80, timeout=120)
            try:
                self.connection.request("POST", self.url.path or "/", body, headers)
                response = self.connection.getresponse()
                raw = response.read()
            except (http.client.HTTPException, OSError) as error:
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    return {"errors": [{"message": repr(error), "extensions": {"code": "TRANSPORT"}}]}
                continue  # a keep-alive connection the server closed: once more on a new one
            try:
                return json.loads(raw)
            except ValueError:
                return {"errors": [{"message": f"HTTP {response.status}: {raw[:200]!r}", "extensions": {"code": "NOT_JSON"}}]}

    def call(self, query, variables):
        return self.post(query, variables, self.token)

    def register(self, n):
        email = f"bench-subs-{n}-{uuid.uuid4().hex[:12]}@example.com"
        variables = {"i": {"email": email, "name": f"Subscriber {n}", "password": "Correct-Horse-9"}}
        payload = expect(self.post(REGISTER, variables), "register")
        self.token, self.refresh = payload["accessToken"], payload["refreshToken"]
        self.user_id = payload["user"]["id"]

    def renew(self):
        payload = expect(self.post(REFRESH, {"t": self.refresh}), "refreshToken")
        self.token, self.refresh = payload["accessToken"], payload["refreshToken"]


def expect(answer, field):
    if answer.get("errors") or not answer.get("data"):
        raise RuntimeError(f"{field} failed: {json.dumps(answer)}")
    return answer["data"][field]


def make_book(users, name):
    """A SPLIT book owned by the first user that every other one joined as a WRITER; returns
    (book id, the owner's seat, every seat)."""
    owner = users[0]
    book = expect(owner.call(CREATE_BOOK, {"i": {"name": name, "kind": "SPLIT", "currency": "TWD"}}), "createBook")["id"]
    code = expect(owner.call(CREATE_INVITE, {"b": book}), "createInvite")["code"]
    for user in users[1:]:
        expect(user.call(JOIN, {"c": code}), "joinBook")
    members = expect(owner.call(MEMBERS, {"b": book}), "book")["members"]
    seats = {m["user"]["id"]: m["id"] for m in members if m["user"]}
    return book, seats[owner.user_id], [seats[user.user_id] for user in users]


def book_version(client, book):
    return expect(client.call(VERSION, {"b": book}), "book")["settlementSuggestions"]["balanceVersion"]


def write_entries(url, token, plan, rate, pipe):
    """The writer process: sends plan[i] = (book, payer seat, seats) at start + i / rate; sends
    back [(sent, returned, error or None)] and the process's own CPU seconds."""
    client = Client(url)
    client.token = token
    cpu = sum(os.times()[:2])
    results = []
    start = time.monotonic() + 0.05
    for i, (book, payer, seats) in enumerate(plan):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        entry = {
            "bookId": book,
            "amount": AMOUNT,
            "occurredOn": (datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 365)).isoformat(),
            "description": f"subscriptions bench {i}",
            "payers": [{"memberId": payer, "amount": AMOUNT}],
            "split": {"mode": "EQUAL", "members": [{"memberId": seat} for seat in seats]},
        }
        variables = {"i": entry, "k": uuid.uuid4().hex}
        sent = time.monotonic()
        answer = client.call(CREATE_ENTRY, variables)
        returned = time.monotonic()
        error = answer.get("errors") or (None if answer.get("data") else "no data")
        results.append((sent, returned, json.dumps(error) if error else None))
    pipe.send((results, sum(os.times()[:2]) - cpu))
    pipe.close()


# ---------------------------------------------------------------- the server's /proc readings

class Server:
    def __init__(self, pid):
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu(self):
        """utime + stime of the server process (all its threads), in seconds."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick  # fields 14 and 15 of proc(5)

    def machine(self):
        """CPU seconds the whole machine spent busy and in all, from /proc/stat."""
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:9]]
        idle = ticks[3] + ticks[4]  # idle, iowait
        return (sum(ticks) - idle) / self.tick, sum(ticks) / self.tick

    def memory(self):
        """VmRSS, VmHWM (MiB) and open file descriptors."""
        values = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(value.split()[0]) / 1024
        fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        return values["VmRSS"], values["VmHWM"], fds


def show_memory(reading):
    rss, hwm, fds = reading
    return f"VmRSS {rss:7.1f} MiB, VmHWM {hwm:7.1f} MiB, {fds} fds"


# ---------------------------------------------------------------- subscribers

class Subscriber:
    """One socket with one `balancesChanged` subscription; keeps what it heard."""

    def __init__(self, n, book, token, target):
        self.n, self.book, self.token, self.target = n, book, token, target
        self.events = []  # (received, kind, version)
        self.errors = []
        self.closed = None  # why the socket ended before we closed it
        self.subscribed_in = None
        self.last_nets = None
        self.socket = None
        self.finished = False  # counted in Fleet.waiting_drain


class Fleet:
    """All the subscribers of a scenario, on one asyncio loop."""

    def __init__(self, ws_url, subscribers):
        self.ws_url = ws_url
        self.subscribers = subscribers
        self.current = asyncio.Event()
        self.drained = asyncio.Event()
        self.waiting_current = len(subscribers)
        self.waiting_drain = len(subscribers)
        self.tasks = []
        self.stopping = False
        if not subscribers:  # the baseline: nothing to wait for
            self.current.set()
            self.drained.set()

    async def open(self, concurrency):
        gate = asyncio.Semaphore(concurrency)
        self.tasks = [asyncio.create_task(self.follow(sub, gate)) for sub in self.subscribers]
        await self.current.wait()

    def _current_done(self):
        self.waiting_current -= 1
        if self.waiting_current == 0:
            self.current.set()

    def _reached(self, sub):
        """`sub` heard its book's last version, or will hear nothing more."""
        if sub.finished:
            return
        sub.finished = True
        self.waiting_drain -= 1
        if self.waiting_drain == 0:
            self.drained.set()

    async def follow(self, sub, gate):
        """Connects, subscribes, waits for the first event (holding a place in `gate`), then
        hears everything until the socket closes."""
        counted = False
        try:
            async with gate:
                started = time.monotonic()
                sub.socket = socket = await connect(
                    self.ws_url, subprotocols=[PROTOCOL], compression=None, ping_interval=None,
                    max_size=None, open_timeout=120, close_timeout=5)
                init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {sub.token}"}}
                await socket.send(json.dumps(init))
                ack = json.loads(await socket.recv())
                if ack.get("type") != "connection_ack":
                    raise RuntimeError(f"no connection_ack: {ack}")
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": SUBSCRIPTION, "variables": {"book": sub.book}}}))
                while not sub.events:
                    self.hear(sub, await socket.recv(), time.monotonic())
                    if sub.errors:
                        raise RuntimeError(f"no first event: {sub.errors[0]}")
                sub.subscribed_in = sub.events[0][0] - started
            counted = True
            self._current_done()
            async for raw in socket:
                self.hear(sub, raw, time.monotonic())
        except websockets.ConnectionClosed as closed:
            if not self.stopping:
                frame = closed.rcvd
                sub.closed = f"closed {frame.code}: {frame.reason}" if frame else "closed without a close frame"
        except Exception as error:  # noqa: BLE001 (counted and reported)
            sub.closed = repr(error)
        if not counted:
            self._current_done()  # it will never be: reported with the errors
        if not self.stopping:
            sub.closed = sub.closed or "closed by the server"
            self._reached(sub)  # it will hear nothing more

    def hear(self, sub, raw, received):
        """Records one server message."""
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "next":
            payload = message.get("payload") or {}
            if payload.get("errors"):
                sub.errors.append(json.dumps(payload["errors"]))
            event = (payload.get("data") or {}).get("balancesChanged")
            if event:
                sub.events.append((received, event["kind"], event["version"]))
                sub.last_nets = event["balances"]
                if event["version"] >= sub.target:
                    self._reached(sub)
        elif kind == "ping":
            asyncio.ensure_future(sub.socket.send(json.dumps({"type": "pong"})))
        elif kind in ("error", "complete"):
            sub.errors.append(f"{kind}: {json.dumps(message.get('payload'))}")
            self._reached(sub)  # the subscription ended

    async def close(self):
        self.stopping = True
        sockets = [sub.socket for sub in self.subscribers if sub.socket is not None]
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# ---------------------------------------------------------------- one scenario

def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def percentiles(samples):
    """(p50, p99, max) of a non-empty list."""
    if len(samples) == 1:
        return samples[0], samples[0], samples[0]
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[98], max(samples)


def describe(samples):
    if not samples:
        return "no samples"
    p50, p99, top = percentiles(samples)
    return f"p50 {ms(p50)}, p99 {ms(p99)}, max {ms(top)}, min {ms(min(samples))} (n={len(samples)})"


async def run_fleet(args, server, fleet, start_writer):
    """Connects the fleet, streams the entries, waits for the events; returns the readings."""
    readings = {}
    cpu = server.cpu()
    started = time.monotonic()
    await fleet.open(args.connect_concurrency)
    readings["connect_seconds"] = time.monotonic() - started
    readings["connect_cpu"] = server.cpu() - cpu
    await asyncio.sleep(2)
    readings["memory_connected"] = server.memory()

    own_cpu = sum(os.times()[:2])
    cpu = server.cpu()
    machine = server.machine()
    pipe, process = start_writer()
    loop = asyncio.get_running_loop()
    results, writer_cpu = await loop.run_in_executor(None, pipe.recv)
    process.join()
    writes_done = time.monotonic()
    try:
        await asyncio.wait_for(fleet.drained.wait(), args.drain)
    except TimeoutError:
        pass
    readings["drain_seconds"] = time.monotonic() - writes_done
    readings["stream_cpu"] = server.cpu() - cpu
    busy, total = server.machine()
    readings["machine_busy"], readings["machine_total"] = busy - machine[0], total - machine[1]
    readings["own_cpu"] = sum(os.times()[:2]) - own_cpu
    readings["writer_cpu"] = writer_cpu
    readings["results"] = results
    readings["memory_streamed"] = server.memory()
    await fleet.close()
    return readings


def scenario(args, server, users, name, books_count, subscribers_count):
    print(f"\n== scenario {name}: {subscribers_count} subscribers over {books_count} book(s) "
          f"({subscribers_count // books_count} per book), {len(users)} users, "
          f"{args.entries} entries at {args.rate:g}/s ==", flush=True)
    for user in users:
        user.renew()
    books = []
    for b in range(books_count):
        books.append(make_book(users, f"Subs bench {name} {b}"))
    v0 = {book: book_version(users[0], book) for book, _, _ in books}
    plan = [books[i % books_count] for i in range(args.entries)]
    per_book = {book: 0 for book, _, _ in books}
    expected_version = []  # of each entry
    for book, _, _ in plan:
        per_book[book] += 1
        expected_version.append((book, v0[book] + per_book[book]))
    target = {book: v0[book] + count for book, count in per_book.items()}
    subscribers = [Subscriber(n, books[n % books_count][0], users[n % len(users)].token, target[books[n % books_count][0]])
                   for n in range(subscribers_count)]
    memory_before = server.memory()

    def start_writer():
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=write_entries, args=(
            args.url, users[0].token, plan, args.rate, sending))
        process.start()
        sending.close()
        return receiving, process

    ws_url = urllib.parse.urlunsplit(("ws", urllib.parse.urlsplit(args.url).netloc,
                                      urllib.parse.urlsplit(args.url).path.rstrip("/") + "/ws", "", ""))
    fleet = Fleet(ws_url, subscribers)
    readings = asyncio.run(run_fleet(args, server, fleet, start_writer))
    time.sleep(3)
    memory_closed = server.memory()
    versions_after = {book: book_version(users[0], book) for book, _, _ in books}

    # -- the stream
    results = readings["results"]
    failed = [error for _, _, error in results if error]
    span = results[-1][1] - results[0][0]
    write_latency = [returned - sent for sent, returned, _ in results]
    sent_at = {key: (sent, returned) for key, (sent, returned, error) in zip(expected_version, results) if not error}

    # -- the events
    changed = resync = missing = unexpected = bad_first = bad_nets = 0
    from_response, from_send = [], []
    slowest = {}
    errors, closes = [], []
    subscribed_in = [sub.subscribed_in for sub in subscribers if sub.subscribed_in is not None]
    for sub in subscribers:
        errors.extend(sub.errors)
        if sub.closed:
            closes.append(sub.closed)
        if not sub.events or sub.events[0][1] != "CURRENT" or sub.events[0][2] != v0[sub.book]:
            bad_first += 1
        if sub.last_nets is not None and sum(Decimal(b["net"]) for b in sub.last_nets) != 0:
            bad_nets += 1
        wanted = {v for book, v in expected_version if book == sub.book}
        heard = set()
        covered = set()
        last = v0[sub.book]
        for received, kind, version in sub.events[1:]:
            if kind == "RESYNC":
                resync += 1
                covered.update(range(last + 1, version + 1))
            elif kind == "CHANGED":
                changed += 1
            if version in heard or (sub.book, version) not in sent_at:
                unexpected += 1
            heard.add(version)
            last = max(last, version)
            times = sent_at.get((sub.book, version))
            if times:
                from_send.append(received - times[0])
                from_response.append(received - times[1])
                key = (sub.book, version)
                slowest[key] = max(slowest.get(key, float("-inf")), received - times[1])
        missing += len(wanted - heard - covered)
    subscribers_of = {book: sum(1 for sub in subscribers if sub.book == book) for book, _, _ in books}
    expected = sum(subscribers_of[book] for book, _ in expected_version)
    delivered = changed + resync
    versions_ok = all(versions_after[book] == target[book] for book in target)

    print(f"connect: {len(subscribed_in)}/{subscribers_count} subscribed in {readings['connect_seconds']:.2f} s "
          f"({args.connect_concurrency} at a time); subscribe -> CURRENT {describe(subscribed_in)}; "
          f"server CPU {readings['connect_cpu']:.2f} s")
    print(f"server memory before subscribers:  {show_memory(memory_before)}")
    print(f"server memory connected, idle 2 s: {show_memory(readings['memory_connected'])}")
    print(f"server memory after the stream:    {show_memory(readings['memory_streamed'])}")
    print(f"server memory 3 s after closing:   {show_memory(memory_closed)}")
    print(f"stream: {len(results)} createEntry in {span:.2f} s = {len(results) / span:.1f}/s "
          f"({len(failed)} failed); createEntry {describe(write_latency)}")
    print(f"events: expected {expected}, delivered {delivered} (CHANGED {changed}, RESYNC {resync}), "
          f"versions missing {missing}, unexpected {unexpected}; first event not CURRENT at v0: {bad_first}; "
          f"last event's nets not summing to 0: {bad_nets}; book versions after = v0 + entries: {versions_ok}; "
          f"waited {readings['drain_seconds']:.2f} s after the last response"
          f"{'' if fleet.drained.is_set() else ' (DRAIN TIMEOUT: some subscribers never reached the last version)'}")
    print(f"delivery latency from createEntry response: {describe(from_response)}")
    print(f"delivery latency from createEntry send:     {describe(from_send)}")
    print(f"fan-out completion (per entry, slowest subscriber, from response): {describe(list(slowest.values()))}")
    cpu = readings["stream_cpu"]
    per_event = f", {cpu / delivered * 1e6:.1f} us per delivered event" if delivered else ""
    print(f"server CPU over the stream: {cpu:.2f} s = {cpu / len(results) * 1000:.2f} ms per change{per_event}")
    print(f"load generator CPU over the stream: receiver {readings['own_cpu']:.2f} s, writer {readings['writer_cpu']:.2f} s")
    others = readings["machine_busy"] - cpu - readings["own_cpu"] - readings["writer_cpu"]
    print(f"machine over the stream: {readings['machine_busy']:.2f} of {readings['machine_total']:.2f} CPU-seconds busy; "
          f"other processes (not the server, not this script) {max(others, 0):.2f} s")
    for label, items in (("errors", errors + failed), ("early closes", closes)):
        if items:
            counts = {}
            for item in items:
                counts[item] = counts.get(item, 0) + 1
            print(f"{label}:")
            for item, count in sorted(counts.items(), key=lambda pair: -pair[1])[:10]:
                print(f"  {count:5d} x {item[:300]}")
        else:
            print(f"{label}: none")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8021/graphql")
    parser.add_argument("--pid", type=int, required=True, help="the server's process id (for /proc)")
    parser.add_argument("--scenarios", default="baseline,one,spread",
                        help="comma-separated, run in this order: baseline, one, spread")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--books", type=int, default=100, help="books of the spread scenario")
    parser.add_argument("--users", type=int, default=4, help="users (sockets are dealt to them in turn)")
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="entries per second")
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait for the events after the last write")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.subscribers + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(wanted, 65536), hard), hard))
    server = Server(args.pid)
    server.cpu()  # fail early on a wrong pid

    users = [Client(args.url) for _ in range(args.users)]
    for n, user in enumerate(users):
        user.register(n)
    version = expect(users[0].post("{ serverVersion }", {}), "serverVersion")
    print(f"server {args.url} (version {version}, pid {args.pid}); Python {sys.version.split()[0]}, "
          f"websockets {websockets.__version__}; {os.cpu_count()} CPUs")
    runs = {"baseline": (1, 0), "one": (1, args.subscribers), "spread": (args.books, args.subscribers)}
    for name in args.scenarios.split(","):
        if name not in runs:
            parser.error(f"unknown scenario {name!r}")
        scenario(args, server, users, name, *runs[name])


if __name__ == "__main__":
    main()
