-- POST /api/v1/tarot/read as many distinct users, each question distinct (no dedupe hits).
-- BENCH_TOKENS: one access token a line; BENCH_SALT: differs per run, so runs never repeat a question.
local tokens = {}
local counter = 0
local thread_id = 0
local next_id = 0
local salt = os.getenv("BENCH_SALT") or "0"

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
  thread_id = tonumber(id) or 0
end

function request()
  counter = counter + 1
  local token = tokens[((counter * 7 + thread_id) % #tokens) + 1]
  local body = string.format('{"question":"Will bench question %s-%d-%d turn out well?"}', salt, thread_id, counter)
  return wrk.format("POST", "/api/v1/tarot/read",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
