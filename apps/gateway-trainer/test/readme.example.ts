import runtime from "../src/secure_runtime/secure_runtime_service.js"

const payload = runtime.parse("{\"optimizer_name\": \"adam\", \"num_federation_rounds\": 10}")
runtime.validate(payload)
export const files = runtime.template(payload, { "breast-cancer-wisconsin_gateway-1_org-1": "gateway-1" })
// { "app/config/config_fed_client.json": "…", "app/config/config_fed_server.json": "…", "meta.json": "…" }
