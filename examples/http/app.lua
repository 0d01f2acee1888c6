-- An HTTP app: `cu serve examples/http/app.lua`, or `wasmtime serve` with target/cu-http.wasm
-- (docs/SERVE.md). greet.lua beside it is found by `require`.
local greet = require("greet")

function handle(request)
  if request.method == "POST" and request.path == "/hits" then
    _home.hits = (_home.hits or 0) + 1
    return { status = 201, body = { hits = _home.hits } }
  end
  return { headers = { ["cache-control"] = "no-store" }, body = greet(request.query) .. "\n" }
end
