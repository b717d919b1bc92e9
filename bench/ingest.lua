-- wrk script: a realistic mix of Events API bodies from many client addresses (RFC 2544's benchmark
-- range 198.18.0.0/15, sent only as X-Forwarded-For to a server on loopback).
local paths = {"/", "/", "/", "/pricing", "/pricing", "/features", "/blog/", "/blog/privacy-first-analytics",
  "/blog/gdpr-consent", "/docs/install", "/docs/api", "/about", "/contact", "/products/item-5", "/products/item-10"}
local referrers = {"", "", "", "", "https://www.google.com/", "https://www.google.com/", "https://www.bing.com/",
  "https://duckduckgo.com/", "https://t.co/abc", "https://www.facebook.com/", "https://news.ycombinator.com/",
  "https://blog.example.org/links/"}
local uas = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
  "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0",
}
local campaigns = {"", "", "", "", "", "", "?utm_source=newsletter&utm_medium=email&utm_campaign=november",
  "?utm_source=google&utm_medium=cpc&utm_campaign=brand", "?ref=producthunt"}

-- Requests are built once per thread, in init(), and response() is not defined: both would make wrk
-- run Lua for every request, and wrk shares the machine with the server under test, so every
-- microsecond it spends is taken from the server (and from the bare ceiling alike).

-- A pool of visitors, each with a fixed address and browser, so visits have several events.
local visitors = tonumber(os.getenv("VISITORS") or "100000")
-- Requests each wrk thread prepares (2 threads: about 2 distinct requests per visitor).
local pool_size = tonumber(os.getenv("POOL") or "100000")
local pool = {}
local n = 0

local function build()
  local v = math.random(0, visitors - 1)
  local ip = "198." .. (18 + math.floor(v / 65024) % 2) .. "." .. (math.floor(v / 254) % 256) .. "." .. (v % 254 + 1)
  local path = paths[math.random(#paths)]
  local body
  if math.random() < 0.1 then
    body = '{"n":"Signup","u":"https://shop.test' .. path .. '","d":"shop.test","p":{"plan":"pro","seats":"' ..
      math.random(1, 50) .. '"}}'
  else
    body = '{"n":"pageview","u":"https://shop.test' .. path .. campaigns[math.random(#campaigns)] ..
      '","d":"shop.test","r":"' .. referrers[math.random(#referrers)] .. '"}'
  end
  return wrk.format("POST", "/api/event", {
    ["Content-Type"] = "text/plain",
    ["User-Agent"] = uas[v % #uas + 1],
    ["X-Forwarded-For"] = ip,
  }, body)
end

function init(args)
  math.randomseed(os.time() * 1000 + math.random(1, 1000))
  for i = 1, pool_size do pool[i] = build() end
  n = #pool
end

function request()
  return pool[math.random(n)]
end

-- Accepted = responses read minus those with status >= 400: the Events API answers 202 or an error,
-- never another 2xx/3xx. Socket errors produce no response and are reported separately.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("ACCEPTED %d\nOTHER %d\nSOCKET_ERRORS %d\nP50_MS %.2f\nP99_MS %.2f\n",
    summary.requests - e.status, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
