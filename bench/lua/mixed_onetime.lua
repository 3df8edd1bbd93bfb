-- mixed (onetime): create -> read the receipt -> reveal, each step sent only after the previous
-- one answered. Answers come back in any order over the 32 connections, so the script tells
-- them apart by content: an answer with a metadata_key it has not seen yet is a create's, one
-- with a key it is waiting on is that receipt's, and a reveal's answer has no metadata_key.
-- request() sends a queued follow-up when there is one, else a new create.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

bench.counter_names = { "creates", "receipts", "reveals" }

local create_body = bench.env("BENCH_BODY")
local follow_ups = bench.queue()
local secret_key_of = {} -- metadata key -> secret key, while the receipt read is on its way

function init(args)
   creates, receipts, reveals = 0, 0, 0
end

function request()
   local follow_up = follow_ups:pop()
   if follow_up then
      return follow_up
   end
   creates = creates + 1
   local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
   return wrk.format("POST", wrk.path, headers, create_body)
end

function response(status, headers, body)
   if status ~= 200 then
      return -- counted as an error by wrk; the chain of that secret ends here
   end
   local metadata_key = body:match('"metadata_key":"(%w+)"')
   if metadata_key == nil then
      return -- a reveal's answer: the chain is complete
   end
   local waiting_secret_key = secret_key_of[metadata_key]
   if waiting_secret_key == nil then
      secret_key_of[metadata_key] = body:match('"secret_key":"(%w+)"')
      receipts = receipts + 1
      follow_ups:push(wrk.format("GET", "/api/v1/receipt/" .. metadata_key, {}))
   else
      secret_key_of[metadata_key] = nil
      reveals = reveals + 1
      follow_ups:push(wrk.format("POST", "/api/v1/secret/" .. waiting_secret_key, {}, ""))
   end
end
