-- wrk script: consents recorded through an API collection point (no double opt-in, so every 201
-- is one hash-chained, signed ledger row committed to disk). Emails come from a pool, so some
-- requests renew an existing consent instead of giving a new one; both write a row.
local notice = os.getenv("NOTICE")
local token = os.getenv("TOKEN")
local path = os.getenv("SIGNUP_PATH")
local pool = {}

function init(args)
  math.randomseed(os.time() * 1000 + math.random(1, 1000))
  for i = 1, 20000 do
    local body = '{"email":"person' .. math.random(1, 1000000) .. '@example.com","name":"Bench Person",' ..
      '"purposes":["news"],"notice":"' .. notice .. '","page_url":"https://shop.test/signup"}'
    pool[i] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. token,
      ["User-Agent"] = "bench",
    }, body)
  end
end

function request()
  return pool[math.random(#pool)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("ACCEPTED %d\nOTHER %d\nSOCKET_ERRORS %d\nP50_MS %.2f\nP99_MS %.2f\n",
    summary.requests - e.status, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
