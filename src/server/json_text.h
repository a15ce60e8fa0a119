// JSON to text for the wire. Token pieces can be partial UTF-8 characters; they are written
// with U+FFFD instead of making the dump throw.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace ms::server {

std::string dump_json(const nlohmann::json& value);

// One server-sent event carrying a JSON value: "data: {...}\n\n".
std::string sse_event(const nlohmann::json& value);
// The event that ends an OpenAI stream: "data: [DONE]\n\n".
std::string sse_done();

}  // namespace ms::server
