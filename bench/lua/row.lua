local counter = 0
function request()
  counter = counter + 1
  return wrk.format("GET", "/row/" .. ((counter % 1000) + 1))
end
