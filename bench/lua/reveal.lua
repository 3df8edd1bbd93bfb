-- reveal: each request POSTs to a different pre-created secret, read from BENCH_PATHS (one path
-- per line). If the paths run out, they are used again: those requests answer 404 and count as
-- errors, and "reused" says how many there were, so running short never goes unnoticed.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

bench.counter_names = { "reused" }

local requests_ready = {}
local next_index = 1

function init(args)
   -- Built once here: formatting a request per call would cost the load generator CPU.
   for _, path in ipairs(bench.read_lines(bench.env("BENCH_PATHS"))) do
      requests_ready[#requests_ready + 1] = wrk.format("POST", path, {}, "")
   end
   reused, used_up = 0, false
end

function request()
   if next_index > #requests_ready then
      next_index = 1
      used_up = true
   end
   if used_up then
      reused = reused + 1
   end
   local ready = requests_ready[next_index]
   next_index = next_index + 1
   return ready
end
