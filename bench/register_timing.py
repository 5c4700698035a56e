#!/usr/bin/env python3
"""Registration timing parity: registering a taken email must cost what a new one costs.

Run a server with room for the registrations this makes, e.g.
  TALLY_LISTEN=127.0.0.1:8012 TALLY_DATA_DIR=$(mktemp -d) TALLY_REGISTRATIONS_PER_HOUR=1000 \\
    cargo run --release
then `python3 bench/register_timing.py [URL] [N]` (default N = 24). It registers one account,
then alternates N registrations of new emails with N registrations of the taken one, and
prints both medians, their gap, and the answers seen for the taken email. Standard library only.
"""
import json
import statistics
import sys
import time
import urllib.request
import uuid

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8012/graphql"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 24
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }"


def register(email):
    body = {"query": REGISTER, "variables": {"i": {"email": email, "name": "Timing", "password": "Correct-Horse-9"}}}
    request = urllib.request.Request(URL, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    started = time.perf_counter()
    answer = json.loads(urllib.request.urlopen(request).read())
    return time.perf_counter() - started, answer


register("taken@example.com")
new, taken, codes = [], [], set()
for _ in range(N):
    elapsed, answer = register(f"{uuid.uuid4().hex}@example.com")
    assert "errors" not in answer, answer
    new.append(elapsed)
    elapsed, answer = register("taken@example.com")
    taken.append(elapsed)
    codes.add(answer["errors"][0]["extensions"]["code"])
new_ms, taken_ms = statistics.median(new) * 1000, statistics.median(taken) * 1000
print(f"new email:   median {new_ms:.1f} ms (n={len(new)})")
print(f"taken email: median {taken_ms:.1f} ms (n={len(taken)})")
print(f"gap: {abs(new_ms - taken_ms):.1f} ms; answers for the taken email: {sorted(codes)}")
