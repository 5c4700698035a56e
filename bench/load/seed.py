#!/usr/bin/env python3
"""Seeds a Tally server for the load benchmark, through its public API only, and writes what
the load script needs (tokens, book ids, seats) as a Lua table.

  python3 bench/load/seed.py URL OUT.lua [--entries N] [--users 20]

It registers USERS people (then logs each in again: the memory target counts password
hashes, and tokens are renewed before their 15 minutes end), makes books of 5, 10 and 15 members, a "small" book and a "hot" book of all USERS
members, and writes 100 entries into the small book and N (default 100,000) into the hot one
with 16 concurrent writers. Every entry: one member paid 123.45, split EQUAL among five.
Standard library only; prints its progress and how long the seeding took to stderr.
"""
import argparse
import datetime
import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("url")
parser.add_argument("out")
parser.add_argument("--entries", type=int, default=100_000)
parser.add_argument("--users", type=int, default=20)
ARGS = parser.parse_args()
URL = urllib.parse.urlsplit(ARGS.url)
PASSWORD = "Correct-Horse-Battery-42"
WRITERS = 16
SPLIT_WIDTH = 5

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
CREATE_BOOK = "mutation($i: CreateBookInput!) { createBook(input: $i) { id } }"
CREATE_INVITE = "mutation($b: ID!) { createInvite(bookId: $b, role: WRITER) { code } }"
JOIN = "mutation($c: String!) { joinBook(code: $c) { id } }"
MEMBERS = "query($b: ID!) { book(id: $b) { members { id user { id } } } }"
CREATE_ENTRY = ("mutation($i: CreateEntryInput!, $k: String) "
                "{ createEntry(input: $i, idempotencyKey: $k) { id } }")


# Access tokens last 15 minutes; a long seeding (PostgreSQL writes 100,000 entries in about
# 11) and the runs after it must not outlive them.
TOKEN_MAX_AGE = 10 * 60


class Client:
    """One person: a kept-alive connection and an access token, renewed by logging in again
    before it expires."""

    def __init__(self):
        self.connection = None
        self.token = None
        self.user_id = None
        self.email = None
        self.token_at = 0.0

    def login(self):
        self.token = None
        self.token = self.call(LOGIN, {"e": self.email, "p": PASSWORD})["login"]["accessToken"]
        self.token_at = time.monotonic()

    def fresh(self):
        """Logs in again when the token is near its end."""
        if time.monotonic() - self.token_at > TOKEN_MAX_AGE:
            self.login()

    def call(self, query, variables):
        body = json.dumps({"query": query, "variables": variables})
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(3):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(URL.hostname, URL.port, timeout=60)
                self.connection.request("POST", URL.path, body, headers)
                answer = json.loads(self.connection.getresponse().read())
                break
            except (OSError, http.client.HTTPException):
                # A dropped keep-alive connection: open a new one and send again.
                self.connection = None
                if attempt == 2:
                    raise
        if answer.get("errors"):
            raise RuntimeError(f"{query.split('(')[0]}: {json.dumps(answer['errors'])}")
        return answer["data"]


def register(n):
    client = Client()
    client.email = f"load-{n}-{uuid.uuid4().hex[:8]}@example.com"
    data = client.call(REGISTER, {"i": {"email": client.email, "password": PASSWORD, "name": f"Person {n}"}})
    client.user_id = data["register"]["user"]["id"]
    client.login()
    return client


def in_threads(work, items, threads):
    """Runs work(item) for every item with `threads` threads; the first failure stops all."""
    items, results, failures, lock = list(items), {}, [], threading.Lock()

    def worker():
        while True:
            with lock:
                if not items or failures:
                    return
                item = items.pop()
            try:
                results[item] = work(item)
            except Exception as error:  # noqa: BLE001 - reported below, stops the seeding
                failures.append(error)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise failures[0]
    return results


def make_book(owner, members, name):
    """A SPLIT book of `owner` and `members` (WRITERs); returns its id and each one's seat."""
    book = owner.call(CREATE_BOOK, {"i": {"name": name, "kind": "SPLIT", "currency": "EUR"}})["createBook"]["id"]
    code = owner.call(CREATE_INVITE, {"b": book})["createInvite"]["code"]
    for member in members:
        member.call(JOIN, {"c": code})
    seats = {m["user"]["id"]: m["id"] for m in owner.call(MEMBERS, {"b": book})["book"]["members"]}
    return book, [seats[client.user_id] for client in [owner, *members]]


def fill(clients, book, seats, total):
    """Writes `total` entries into `book`, WRITERS at a time; each writer keeps one client."""
    started = time.monotonic()
    counter = iter(range(total))
    lock = threading.Lock()

    def writer(w):
        client = clients[w % len(clients)]
        # Its own connection, as the same person.
        mine = Client()
        mine.email, mine.user_id = client.email, client.user_id
        mine.login()
        seat = w % len(clients)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            shared = [seats[(seat + k) % len(seats)] for k in range(SPLIT_WIDTH)]
            day = datetime.date(2026, 1, 1) + datetime.timedelta(days=n % 365)
            entry = {"bookId": book, "amount": "123.45", "occurredOn": day.isoformat(),
                     "description": f"load entry {n}",
                     "payers": [{"memberId": seats[seat], "amount": "123.45"}],
                     "split": {"mode": "EQUAL", "members": [{"memberId": s} for s in shared]}}
            mine.fresh()
            mine.call(CREATE_ENTRY, {"i": entry, "k": str(uuid.uuid4())})
            if n and n % 10_000 == 0:
                print(f"  {n} entries, {n / (time.monotonic() - started):.0f}/s", file=sys.stderr)

    in_threads(writer, range(WRITERS), WRITERS)
    return time.monotonic() - started


def lua(value):
    if isinstance(value, list):
        return "{" + ", ".join(lua(item) for item in value) + "}"
    return json.dumps(value)


def main():
    started = time.monotonic()
    clients = [c for _, c in sorted(in_threads(register, range(ARGS.users), 4).items())]
    print(f"registered and logged in {len(clients)} people", file=sys.stderr)
    for size in (5, 10, 15):
        make_book(clients[0], clients[1:size], f"Book of {size}")
    small, small_seats = make_book(clients[0], clients[1:], "Small")
    hot, hot_seats = make_book(clients[0], clients[1:], "Hot")
    fill(clients, small, small_seats, 100)
    seconds = fill(clients, hot, hot_seats, ARGS.entries)
    print(f"hot book: {ARGS.entries} entries in {seconds:.0f} s ({ARGS.entries / seconds:.0f}/s); "
          f"seeding took {time.monotonic() - started:.0f} s", file=sys.stderr)
    # Fresh tokens for the runs that follow (they last 15 minutes).
    for client in clients:
        client.login()
    # Person i is seat i of both member books: the load script writes as the person it
    # authenticates as.
    with open(ARGS.out, "w") as out:
        out.write("return {\n")
        out.write(f"  tokens = {lua([c.token for c in clients])},\n")
        out.write(f"  hot = {lua(hot)}, hot_seats = {lua(hot_seats)},\n")
        out.write(f"  small = {lua(small)}, small_seats = {lua(small_seats)},\n")
        out.write("}\n")


main()
