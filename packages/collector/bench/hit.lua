-- wrk script: POST /collect pageviews the way the script tag sends them (text/plain JSON),
-- each from a new visitor arriving from a search engine (a visit and a touch).
-- Usage: wrk -t2 -c64 -d10s -s hit.lua http://127.0.0.1:8801 -- RUN_NAME
-- RUN_NAME keeps visitor ids of concurrent wrk runs apart.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
local prefix

function init(args)
  prefix = string.format("%s-%d-%d", args[1] or "bench", os.time(), id)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"site":"bench","vid":"v-%s-%d","url":"https://tickets.example.com/e/fest","referrer":"https://www.google.com/"}',
    prefix, counter)
  return wrk.format("POST", "/collect", {
    ["Content-Type"] = "text/plain;charset=UTF-8",
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("non-2xx: %d, socket errors: %d\n", e.status, e.connect + e.read + e.write + e.timeout))
end
