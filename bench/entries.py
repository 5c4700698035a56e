#!/usr/bin/env python3
"""Entries at scale: balances must not slow down with a book's history, and createEntry throughput.

Run a server with room for the registrations this makes, on a fresh data directory (SQLite) or
a fresh PostgreSQL database, e.g.
  TALLY_LISTEN=127.0.0.1:8013 TALLY_DATA_DIR=$(mktemp -d) TALLY_REGISTRATIONS_PER_HOUR=100000 \\
  TALLY_RATE_LIMIT_PER_ADDRESS=0 TALLY_RATE_LIMIT_PER_USER=0 TALLY_SOCKETS_PER_ADDRESS=0 \\
    cargo run --release
  (add DATABASE_URL=postgres://postgres@127.0.0.1:5432/tally_bench for PostgreSQL)
then `python3 bench/entries.py [URL] [ENTRIES]` (defaults http://127.0.0.1:8013/graphql and
100000; `--help` lists the other knobs). It registers CLIENTS users (default 16), and makes
SPLIT books in TWD that all of them are in (the first user owns them, the others joined as
WRITERs). Every entry is 123.45 paid by the client writing it, split EQUAL between that
member and the next three. Through the API only, with CLIENTS concurrent clients, it fills a
book with SMALL entries (default 100) and one with ENTRIES entries, then prints:
  - the load of the big book: entries/s and createEntry latency (a failed entry is retried
    with its idempotency key up to 5 times, then the script stops; progress goes to stderr);
  - `balances` latency, median and p95 over REQUESTS sequential queries (default 200) of each
    of the small and the big book (taking turns), and their ratio (target: within 1.5x);
  - a sanity check of each book: totalCount and the sum of paid must match what was written,
    and the nets must sum to zero;
  - latency of the first page `entries(first: 100)` of the big book, over 20 requests
    (informational);
  - createEntry throughput with CLIENTS concurrent clients writing into one fresh book for
    SECONDS seconds (default 20): entries/s, median and p95 latency;
  - every error answer seen, by code and message (INTERNAL ones with their requestId).
Standard library only. Access tokens are refreshed as they near their 15-minute expiry.
"""
import argparse
import collections
import datetime
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse
import uuid
from decimal import Decimal

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("url", nargs="?", default="http://127.0.0.1:8013/graphql")
parser.add_argument("entries", nargs="?", type=int, default=100000, help="entries in the big book")
parser.add_argument("--small", type=int, default=100, help="entries in the small book")
parser.add_argument("--clients", type=int, default=16, help="concurrent clients (and users)")
parser.add_argument("--requests", type=int, default=200, help="balances queries per book")
parser.add_argument("--seconds", type=float, default=20.0, help="length of the throughput run")
ARGS = parser.parse_args()
URL = urllib.parse.urlsplit(ARGS.url)
AMOUNT = Decimal("123.45")
SPLIT_WIDTH = 4

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }"
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
CREATE_BOOK = "mutation($i: CreateBookInput!) { createBook(input: $i) { id } }"
CREATE_INVITE = "mutation($b: ID!) { createInvite(bookId: $b, role: WRITER) { code } }"
JOIN = "mutation($c: String!) { joinBook(code: $c) { id } }"
MEMBERS = "query($b: ID!) { book(id: $b) { members { id user { id } } } }"
CREATE_ENTRY = "mutation($i: CreateEntryInput!, $k: String) { createEntry(input: $i, idempotencyKey: $k) { id } }"
BALANCES = "query($b: ID!) { book(id: $b) { balances { member { id } net } } }"
AUDIT = """query($b: ID!) { book(id: $b) { entries(first: 1) { totalCount }
  balances { member { id } paid owed net status } } }"""
PAGE = "query($b: ID!) { book(id: $b) { entries(first: 100) { totalCount nodes { id amount payers { amount } } } } }"

ERRORS = collections.Counter()
INTERNAL_IDS = []
ERRORS_LOCK = threading.Lock()


class Client:
    """One user over one keep-alive HTTP connection (use it from one thread only)."""

    def __init__(self):
        self.connection = None
        self.token = None
        self.refresh = None
        self.expires = 0.0

    def post(self, query, variables, token=None):
        """Sends one document; returns (seconds, answer). Transport failures are answers too."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"content-type": "application/json", "accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(URL.hostname, URL.port or 80, timeout=120)
            started = time.perf_counter()
            try:
                self.connection.request("POST", URL.path or "/", body, headers)
                response = self.connection.getresponse()
                raw = response.read()
                elapsed = time.perf_counter() - started
            except (http.client.HTTPException, OSError) as error:
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    return time.perf_counter() - started, {"errors": [{"message": repr(error), "extensions": {"code": "TRANSPORT"}}]}
                continue  # a keep-alive connection the server closed: once more on a new one
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = {"errors": [{"message": f"HTTP {response.status}: {raw[:200]!r}", "extensions": {"code": "NOT_JSON"}}]}
            return elapsed, answer

    def call(self, query, variables):
        """Like `post` with this user's token, refreshed when it has under a minute left."""
        if self.refresh and time.time() > self.expires - 60:
            _, answer = self.post(REFRESH, {"t": self.refresh})
            payload = expect(answer, "refreshToken")
            self.token, self.refresh = payload["accessToken"], payload["refreshToken"]
            self.expires = time.time() + 15 * 60
        return self.post(query, variables, self.token)

    def register(self, n):
        email = f"bench-{n}-{uuid.uuid4().hex[:12]}@example.com"
        variables = {"i": {"email": email, "name": f"Bench {n}", "password": "Correct-Horse-9"}}
        _, answer = self.post(REGISTER, variables)
        payload = expect(answer, "register")
        self.token, self.refresh = payload["accessToken"], payload["refreshToken"]
        self.expires = time.time() + 15 * 60
        self.user_id = payload["user"]["id"]


def note_errors(answer):
    """Counts the answer's errors; returns whether it had any."""
    errors = answer.get("errors") or []
    with ERRORS_LOCK:
        for error in errors:
            extensions = error.get("extensions") or {}
            ERRORS[(extensions.get("code"), error.get("message"))] += 1
            if extensions.get("code") == "INTERNAL":
                INTERNAL_IDS.append(extensions.get("requestId"))
    return bool(errors)


def expect(answer, field):
    if note_errors(answer) or not answer.get("data"):
        raise RuntimeError(f"{field} failed: {json.dumps(answer)}")
    return answer["data"][field]


def ms(seconds):
    return seconds * 1000


def p95(samples):
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def summary(samples):
    return (f"median {ms(statistics.median(samples)):.2f} ms, p95 {ms(p95(samples)):.2f} ms, "
            f"max {ms(max(samples)):.2f} ms (n={len(samples)})")


def make_book(clients, name):
    """A SPLIT book owned by the first client that every other one joined as a WRITER; returns
    its id and each client's seat (Member.id), in client order."""
    owner = clients[0]
    _, answer = owner.call(CREATE_BOOK, {"i": {"name": name, "kind": "SPLIT", "currency": "TWD"}})
    book = expect(answer, "createBook")["id"]
    _, answer = owner.call(CREATE_INVITE, {"b": book})
    code = expect(answer, "createInvite")["code"]
    for client in clients[1:]:
        _, answer = client.call(JOIN, {"c": code})
        expect(answer, "joinBook")
    _, answer = owner.call(MEMBERS, {"b": book})
    seats = {m["user"]["id"]: m["id"] for m in expect(answer, "book")["members"] if m["user"]}
    return book, [seats[client.user_id] for client in clients]


def entry_input(book, seats, writer, n):
    """The n-th entry of client `writer`: it paid, it and the next three members share."""
    shared = [seats[(writer + k) % len(seats)] for k in range(min(SPLIT_WIDTH, len(seats)))]
    day = datetime.date(2026, 1, 1) + datetime.timedelta(days=n % 365)
    return {
        "bookId": book,
        "amount": str(AMOUNT),
        "occurredOn": day.isoformat(),
        "description": f"bench entry {writer}-{n}",
        "payers": [{"memberId": seats[writer], "amount": str(AMOUNT)}],
        "split": {"mode": "EQUAL", "members": [{"memberId": seat} for seat in shared]},
    }


def fill(clients, book, seats, total, label):
    """Writes exactly `total` entries with every client at once (an entry that fails is retried
    with its idempotency key). Returns (entries/s, latencies, failed attempts)."""
    latencies, failures = [], [0]
    done = [0]
    lock = threading.Lock()
    step = max(total // 10, 1)

    def work(writer):
        client = clients[writer]
        for n in range(writer, total, len(clients)):
            variables = {"i": entry_input(book, seats, writer, n), "k": uuid.uuid4().hex}
            for _ in range(5):
                elapsed, answer = client.call(CREATE_ENTRY, variables)
                if not note_errors(answer):
                    break
                with lock:
                    failures[0] += 1
            else:
                raise RuntimeError(f"createEntry kept failing: {json.dumps(answer)}")
            with lock:
                latencies.append(elapsed)
                done[0] += 1
                if total >= 1000 and done[0] % step == 0:
                    print(f"  {label}: {done[0]}/{total} entries, {time.perf_counter() - started:.0f} s", file=sys.stderr)

    started = time.perf_counter()
    run_threads(work, len(clients))
    elapsed = time.perf_counter() - started
    if done[0] != total:
        sys.exit(f"{label}: wrote {done[0]} of {total} entries")
    return total / elapsed, latencies, failures[0]


def run_threads(work, count):
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def balances_latency(client, books, requests):
    """`requests` sequential balances queries of each book, taking turns so neither is favoured
    by warm-up or by the other work on the machine; returns the samples of each book."""
    for _ in range(10):  # warm-up, not counted
        for book in books:
            client.call(BALANCES, {"b": book})
    samples = [[] for _ in books]
    for _ in range(requests):
        for book, mine in zip(books, samples):
            elapsed, answer = client.call(BALANCES, {"b": book})
            expect(answer, "book")
            mine.append(elapsed)
    return samples


def audit(client, book, expected_entries):
    """Checks totalCount, the sum of paid and the sum of nets; returns a line saying so."""
    _, answer = client.call(AUDIT, {"b": book})
    data = expect(answer, "book")
    count = data["entries"]["totalCount"]
    paid = sum(Decimal(b["paid"]) for b in data["balances"])
    owed = sum(Decimal(b["owed"]) for b in data["balances"])
    net = sum(Decimal(b["net"]) for b in data["balances"])
    want = AMOUNT * expected_entries
    ok = count == expected_entries and paid == want and owed == want and net == 0
    return f"{'ok' if ok else 'MISMATCH'}: totalCount {count} (wrote {expected_entries}), paid {paid}, owed {owed} (want {want}), sum of nets {net}"


def throughput(clients, book, seats, seconds):
    """Every client writes entries into `book` for `seconds`; returns (ok, failed, s, latencies)."""
    latencies, failed = [], [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def work(writer):
        client, n, mine, bad = clients[writer], 0, [], 0
        while time.perf_counter() < deadline:
            variables = {"i": entry_input(book, seats, writer, n), "k": uuid.uuid4().hex}
            elapsed, answer = client.call(CREATE_ENTRY, variables)
            n += 1
            if note_errors(answer):
                bad += 1
            else:
                mine.append(elapsed)
        with lock:
            latencies.extend(mine)
            failed[0] += bad

    started = time.perf_counter()
    run_threads(work, len(clients))
    return len(latencies), failed[0], time.perf_counter() - started, latencies


clients = [Client() for _ in range(ARGS.clients)]
for n, client in enumerate(clients):
    client.register(n)
_, answer = clients[0].post("{ serverVersion }", {})
print(f"server {ARGS.url} (version {expect(answer, 'serverVersion')}), {len(clients)} clients, "
      f"books of {len(clients)} members, entries split EQUAL among {min(SPLIT_WIDTH, len(clients))}")

small, small_seats = make_book(clients, "Bench small")
big, big_seats = make_book(clients, "Bench big")
fill(clients, small, small_seats, ARGS.small, "small book")
rate, load_latencies, load_failures = fill(clients, big, big_seats, ARGS.entries, "big book")
print(f"load of {ARGS.entries} entries: {rate:.1f} entries/s; createEntry {summary(load_latencies)}; "
      f"failed attempts (retried): {load_failures}")

small_samples, big_samples = balances_latency(clients[0], [small, big], ARGS.requests)
print(f"balances, {ARGS.small} entries: {summary(small_samples)}")
print(f"balances, {ARGS.entries} entries: {summary(big_samples)}")
median_ratio = statistics.median(big_samples) / statistics.median(small_samples)
p95_ratio = p95(big_samples) / p95(small_samples)
verdict = "within" if median_ratio <= 1.5 else "OVER"
print(f"ratio big/small: median {median_ratio:.2f}x, p95 {p95_ratio:.2f}x ({verdict} the 1.5x target on the median)")
print(f"audit, small book: {audit(clients[0], small, ARGS.small)}")
print(f"audit, big book:   {audit(clients[0], big, ARGS.entries)}")

page = []
for i in range(25):
    elapsed, answer = clients[0].call(PAGE, {"b": big})
    if note_errors(answer):
        print(f"entries page: error {json.dumps(answer['errors'])}")
        break
    if i >= 5:  # the first five warm up
        page.append(elapsed)
if page:
    print(f"entries(first: 100) page of the big book (totalCount {answer['data']['book']['entries']['totalCount']}): {summary(page)}")

hot, hot_seats = make_book(clients, "Bench throughput")
ok, failed, elapsed, latencies = throughput(clients, hot, hot_seats, ARGS.seconds)
print(f"createEntry, {len(clients)} concurrent clients, one book, {elapsed:.1f} s: {ok / elapsed:.1f} entries/s "
      f"({ok} written, {failed} failed); {summary(latencies) if latencies else 'no successes'}")
print(f"audit, throughput book: {audit(clients[0], hot, ok)}")

if ERRORS:
    print("error answers seen:")
    for (code, message), count in ERRORS.most_common():
        print(f"  {count:6d} x {code}: {message}")
    if INTERNAL_IDS:
        print(f"  INTERNAL requestIds (first 10): {INTERNAL_IDS[:10]}")
else:
    print("error answers seen: none")
