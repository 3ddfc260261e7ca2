-- GET /api/v1/reading/{id}: each line of BENCH_READINGS is "<token> <job_id>".
local pairs_ = {}
local counter = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_READINGS")) do
    local token, job = line:match("(%S+) (%S+)")
    pairs_[#pairs_ + 1] = {token, job}
  end
end

function request()
  counter = counter + 1
  local p = pairs_[(counter % #pairs_) + 1]
  return wrk.format("GET", "/api/v1/reading/" .. p[2], {["Authorization"] = "Bearer " .. p[1]})
end
