-- mixed (snappass): create -> GET the link (its preview page) -> POST the link (reveal).
-- The preview must finish before the reveal is sent (else the preview answers 404), but a
-- preview page does not say which secret it was for. So previews go out in waves: a wave takes
-- new previews until its first answer arrives, and its reveals are queued only once every
-- preview of the wave has answered. If a wave never completes (its previews failed, which wrk
-- counts as errors), it is released after 2 s and "forced_waves" says so.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

bench.counter_names = { "creates", "previews", "reveals", "forced_waves" }

local create_body = bench.env("BENCH_BODY")
local create_headers = {
   ["Content-Type"] = "application/x-www-form-urlencoded",
   ["Accept"] = "application/json",
}
local to_preview = bench.queue() -- link paths of created secrets
local to_reveal = bench.queue() -- link paths whose preview has answered
local wave = {} -- link paths previewed in the current wave
local wave_open = true
local wave_closed_at = 0
local previews_in_flight = 0

function init(args)
   creates, previews, reveals, forced_waves = 0, 0, 0, 0
end

local function release_wave()
   for _, path in ipairs(wave) do
      to_reveal:push(path)
   end
   wave, wave_open, previews_in_flight = {}, true, 0
end

function request()
   if not wave_open and os.time() - wave_closed_at >= 2 then
      forced_waves = forced_waves + 1
      release_wave()
   end
   local path = to_reveal:pop()
   if path then
      reveals = reveals + 1
      return wrk.format("POST", path, {}, "")
   end
   if wave_open then
      path = to_preview:pop()
      if path then
         wave[#wave + 1] = path
         previews_in_flight = previews_in_flight + 1
         previews = previews + 1
         return wrk.format("GET", path, {})
      end
   end
   creates = creates + 1
   return wrk.format("POST", wrk.path, create_headers, create_body)
end

function response(status, headers, body)
   local link_path = body:match('"link":%s*"https?://[^/"]+(/[^"]*)"')
   if link_path then
      to_preview:push(link_path)
   elseif status == 200 and body:find('id="revealSecret"', 1, true) then
      if wave_open then
         wave_open, wave_closed_at = false, os.time()
      end
      previews_in_flight = previews_in_flight - 1
      if previews_in_flight == 0 then
         release_wave()
      end
   end
end
