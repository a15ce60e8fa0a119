#include "server/json_text.h"

#include <nlohmann/json.hpp>

namespace ms::server {

std::string dump_json(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sse_event(const nlohmann::json& value) {
    // A compact dump has no raw newlines, so one "data:" line carries the whole event.
    return "data: " + dump_json(value) + "\n\n";
}

std::string sse_done() {
    return "data: [DONE]\n\n";
}

}  // namespace ms::server
