#!/usr/bin/env python3
"""Schemathesis against a live Tally: every query and mutation of `schema.graphql`, with
generated arguments, as an authenticated user whose data is seeded first (a SPLIT book with a
second member, a guest, entries, a payment and an invite, plus a category), so cases do not all
stop at NOT_FOUND. No answer may be an HTTP 5xx or carry an INTERNAL error.

    python3 tests/schemathesis/run.py [--examples N]

Starts the debug binary cargo built ($TALLY_BIN, else $CARGO_TARGET_DIR/debug/tally, else
target/debug/tally) on a free port with a fresh SQLite data directory, and stops it after.
Needs `pip install schemathesis` (4.x). `.ci/run` runs it with a bounded number of examples.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PASSWORD = "Correct-Horse-9"


def binary():
    if os.environ.get("TALLY_BIN"):
        return os.environ["TALLY_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "debug", "tally")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(url, query, variables=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, body, headers)) as response:
        answer = json.load(response)
    if answer.get("errors"):
        raise RuntimeError(f"seeding failed: {answer['errors']}")
    return answer["data"]


def register(url, name):
    data = graphql(
        url,
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
        {"i": {"email": f"{name.lower()}@example.com", "name": name, "password": PASSWORD}},
    )
    return data["register"]["accessToken"]


def seed(url):
    """The user schemathesis acts as, with data around them; returns their access token."""
    alice, bob = register(url, "Alice"), register(url, "Bob")
    book = graphql(
        url,
        'mutation { createBook(input: { name: "Trip", kind: SPLIT, currency: "EUR" }) { id } }',
        token=alice,
    )["createBook"]["id"]
    code = graphql(
        url,
        "mutation($b: ID!) { createInvite(bookId: $b, role: WRITER) { code } }",
        {"b": book},
        alice,
    )["createInvite"]["code"]
    graphql(url, "mutation($c: String!) { joinBook(code: $c) { id } }", {"c": code}, bob)
    graphql(url, 'mutation($b: ID!) { addGuest(bookId: $b, name: "Grandma") { id } }', {"b": book}, alice)
    graphql(url, "mutation($b: ID!) { createInvite(bookId: $b, role: READER) { code } }", {"b": book}, alice)
    members = graphql(url, "query($b: ID!) { book(id: $b) { members { id } } }", {"b": book}, alice)
    seats = [member["id"] for member in members["book"]["members"]]
    for i, amount in enumerate(["12.50", "40.00", "7.25"]):
        graphql(
            url,
            "mutation($i: CreateEntryInput!) { createEntry(input: $i) { id } }",
            {"i": {"bookId": book, "kind": "EXPENSE", "amount": amount,
                   "occurredOn": "2026-11-20", "description": f"Seeded {i}"}},
            bob if i % 2 else alice,
        )
    graphql(
        url,
        "mutation($i: PaymentInput!) { recordPayment(input: $i) { id } }",
        # The guest (who owes a third of everything) pays Bob back a little.
        {"i": {"bookId": book, "from": seats[2], "to": seats[1], "amount": "1.00",
               "occurredOn": "2026-11-21"}},
        alice,
    )
    return alice


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=20, help="examples per operation (default 20)")
    args = parser.parse_args()
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="tally-schemathesis-")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(TALLY_LISTEN=f"127.0.0.1:{port}", TALLY_DATA_DIR=data_dir,
               TALLY_REGISTRATIONS_PER_HOUR="1000", RUST_LOG="warn",
               # Thousands of cases from one address and one user: the general rate limit
               # would answer most of them RATE_LIMITED and hide the paths behind it.
               TALLY_RATE_LIMIT_PER_ADDRESS="0", TALLY_RATE_LIMIT_PER_USER="0")
    server = subprocess.Popen([binary()], env=env)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        token = seed(url)
        env = dict(os.environ, SCHEMATHESIS_HOOKS="tally_checks",
                   PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
        command = [
            "st", "run", os.path.join(ROOT, "schema.graphql"), "--url", url,
            "-H", f"Authorization: Bearer {token}",
            "--checks", "no_server_error_status,no_internal_error",
            # Ending the session it acts in would leave every later case UNAUTHENTICATED.
            "--exclude-name-regex", "^Mutation\\.(logout|logoutAll|changePassword)$",
            "--max-examples", str(args.examples), "--seed", "20261122",
            "--report-dir", os.path.join(ROOT, "target", "schemathesis"),
        ]
        return subprocess.run(command, env=env, check=False).returncode
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
