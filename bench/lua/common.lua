-- Shared by every scenario script (loaded with dofile): parameters come from the environment,
-- and done() prints one JSON line, prefixed with BENCH_RESULT, that bench/run.py parses.

bench = {}

-- A required (or defaulted) environment variable; a typo fails loudly instead of benchmarking
-- the wrong request.
function bench.env(name, default)
   local value = os.getenv(name)
   if value == nil or value == "" then
      if default == nil then
         error("bench: environment variable " .. name .. " is not set")
      end
      return default
   end
   return value
end

-- Non-empty lines of a file, e.g. one request path per line.
function bench.read_lines(path)
   local lines = {}
   for line in io.lines(path) do
      if line ~= "" then
         lines[#lines + 1] = line
      end
   end
   if #lines == 0 then
      error("bench: no lines in " .. path)
   end
   return lines
end

-- A first-in first-out queue that does not shift elements (table.remove(t, 1) would).
function bench.queue()
   local queue = { first = 1, last = 0, items = {} }
   function queue:push(value)
      self.last = self.last + 1
      self.items[self.last] = value
   end
   function queue:pop()
      if self.first > self.last then
         return nil
      end
      local value = self.items[self.first]
      self.items[self.first] = nil
      self.first = self.first + 1
      return value
   end
   function queue:size()
      return self.last - self.first + 1
   end
   return queue
end

-- Counters a script keeps in its thread (globals, so done() can read them with thread:get).
-- Each script lists the ones it uses in bench.counter_names.
bench.counter_names = {}

function bench.count(name)
   _G[name] = (_G[name] or 0) + 1
end

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

local function counters_json()
   local parts = {}
   for _, name in ipairs(bench.counter_names) do
      local total = 0
      for _, thread in ipairs(threads) do
         total = total + (thread:get(name) or 0)
      end
      parts[#parts + 1] = string.format('"%s":%d', name, total)
   end
   return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
   local e = summary.errors
   local errors = e.connect + e.read + e.write + e.timeout + e.status
   local seconds = summary.duration / 1000000
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"rps":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,'
         .. '"errors":%d,"errors_by_kind":{"connect":%d,"read":%d,"write":%d,"timeout":%d,'
         .. '"status":%d},"counters":%s}\n',
      summary.requests, summary.duration, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      errors, e.connect, e.read, e.write, e.timeout, e.status, counters_json()
   ))
end
