#!/usr/bin/env python3
"""Login timing parity: a wrong password and an unknown email must cost the same.

Run a server (e.g. `TALLY_LISTEN=127.0.0.1:8011 TALLY_DATA_DIR=$(mktemp -d) cargo run --release`)
and then `python3 bench/login_timing.py [URL]`. It registers three users, then times 24 logins
with a wrong password and 24 with unknown emails (staying under the per-email throttle) and
prints both medians and how many distinct response bodies it saw (must be 1).
Standard library only; the server must be on a fresh data directory.
"""
import sys
import json, time, urllib.request, statistics
URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8011/graphql"
def gql(q, v):
    req=urllib.request.Request(URL, data=json.dumps({"query":q,"variables":v}).encode(), headers={"content-type":"application/json"})
    t=time.perf_counter(); body=urllib.request.urlopen(req).read(); return time.perf_counter()-t, json.loads(body)
REG="mutation($i: RegisterInput!){ register(input:$i){ accessToken } }"
LOGIN="mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }"
for i in range(3):
    gql(REG, {"i":{"email":f"user{i}@example.com","name":f"User {i}","password":"Correct-Horse-9"}})
wrong=[]; unknown=[]; bodies=set()
for round in range(8):
    for i in range(3):
        t,b=gql(LOGIN,{"e":f"user{i}@example.com","p":"Wrong-Pass-1"}); wrong.append(t); bodies.add(json.dumps(b,sort_keys=True))
        t,b=gql(LOGIN,{"e":f"nobody{round}{i}@example.com","p":"Wrong-Pass-1"}); unknown.append(t); bodies.add(json.dumps(b,sort_keys=True))
print("wrong password: median %.1f ms (n=%d)" % (statistics.median(wrong)*1000, len(wrong)))
print("unknown email:  median %.1f ms (n=%d)" % (statistics.median(unknown)*1000, len(unknown)))
print("distinct response bodies:", len(bodies))
