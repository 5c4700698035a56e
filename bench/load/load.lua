-- wrk script for bench/load/run.sh: sends one kind of request, or the mix, as the seeded people
-- (round robin over their tokens), and counts answers by outcome. GraphQL errors come with
-- HTTP 200, so every body is searched for "errors": a fast wrong answer must not pass for a
-- fast right one.
--
-- Environment: DATA (the Lua table seed.py wrote), KIND (typename | roster | balances | read |
-- count | create | pay | mix), BOOK (hot | small).

local data = dofile(os.getenv("DATA"))
local kind = os.getenv("KIND") or "mix"
local which = os.getenv("BOOK") or "hot"
local book, seats = data[which], data[which .. "_seats"]

local documents = {
  typename = '{ __typename }',
  roster = 'query($b: ID!) { book(id: $b) { name myRole members { role user { id name } } } }',
  balances = 'query($b: ID!) { book(id: $b) { balances { member { id name } paid owed net status } } }',
  -- The mix's read: what a book's page shows, balances and the latest entries.
  read = 'query($b: ID!) { book(id: $b) { balances { member { id name } paid owed net status } '
    .. 'entries(first: 20) { pageInfo { hasNextPage endCursor } nodes { id amount description occurredOn '
    .. 'payers { amount member { name } } split { mode allocations { amount member { name } } } } } } }',
  -- How many entries a book has: a COUNT over them (it grows with the book, shown apart).
  count = 'query($b: ID!) { book(id: $b) { entries(first: 1) { totalCount } } }',
  create = 'mutation($i: CreateEntryInput!) { createEntry(input: $i) { id version } }',
  pay = 'mutation($i: PaymentInput!) { recordPayment(input: $i) { id } }',
}

local function quote(text)
  return '"' .. text:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end

local function ids(list)
  local quoted = {}
  for i, id in ipairs(list) do quoted[i] = quote(id) end
  return table.concat(quoted, ",")
end

local n = 0

-- The body of one request of `what` as person `who` (1-based: also their seat in the book).
local function body(what, who)
  if what == "create" then
    local shared = {}
    for k = 0, 4 do
      shared[#shared + 1] = '{"memberId":' .. quote(seats[(who - 1 + k) % #seats + 1]) .. '}'
    end
    return '{"query":' .. quote(documents.create) .. ',"variables":{"i":{"bookId":' .. quote(book)
      .. ',"amount":"123.45","occurredOn":"2026-11-22","description":"load",'
      .. '"payers":[{"memberId":' .. quote(seats[who]) .. ',"amount":"123.45"}],'
      .. '"split":{"mode":"EQUAL","members":[' .. table.concat(shared, ",") .. ']}}}}'
  elseif what == "pay" then
    return '{"query":' .. quote(documents.pay) .. ',"variables":{"i":{"bookId":' .. quote(book)
      .. ',"from":' .. quote(seats[who]) .. ',"to":' .. quote(seats[who % #seats + 1])
      .. ',"amount":"10.00","occurredOn":"2026-11-22","allowOverpay":true}}}'
  end
  return '{"query":' .. quote(documents[what]) .. ',"variables":{"b":' .. quote(book) .. '}}'
end

-- Each wrk thread runs this script in its own Lua state, and done() runs in yet another (the
-- main one): the threads' counts are read back through the handles setup() keeps. Read
-- in-place, they would always be zero there.
http_errors, graphql_errors, sample = 0, 0, nil
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function request()
  n = n + 1
  local who = n % #data.tokens + 1
  local what = kind
  if kind == "mix" then
    -- 70% reads, 20% createEntry, 10% recordPayment.
    local roll = n % 10
    what = roll < 7 and "read" or (roll < 9 and "create" or "pay")
  end
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. data.tokens[who],
  }, body(what, who))
end

function response(status, headers, answer)
  if status ~= 200 then
    http_errors = http_errors + 1
    sample = sample or answer
  elseif answer:find('"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
    sample = sample or answer
  end
end

function done(summary, latency, requests)
  local http, graphql, first = 0, 0, nil
  for _, thread in ipairs(threads) do
    http = http + thread:get("http_errors")
    graphql = graphql + thread:get("graphql_errors")
    first = first or thread:get("sample")
  end
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f http_errors=%d graphql_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, http, graphql,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  if first then io.write("first error: " .. first:sub(1, 300) .. "\n") end
end
