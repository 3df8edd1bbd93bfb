-- create: the same form POST to the URL wrk was given, over and over (a static request, so wrk
-- builds it once). BENCH_BODY is the URL-encoded form; BENCH_ACCEPT an optional Accept header.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.body = bench.env("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local accept = bench.env("BENCH_ACCEPT", "")
if accept ~= "" then
   wrk.headers["Accept"] = accept
end
