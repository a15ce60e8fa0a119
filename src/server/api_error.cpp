#include "server/api_error.h"

#include <nlohmann/json.hpp>

#include "server/json_text.h"

namespace ms::server {

ApiError::ApiError(int status, std::string message, std::string type, std::string param,
                   std::string code)
    : std::runtime_error(message),
      status_(status),
      message_(std::move(message)),
      type_(std::move(type)),
      param_(std::move(param)),
      code_(std::move(code)) {}

std::string ApiError::to_json() const {
    auto or_null = [](const std::string& s) {
        return s.empty() ? nlohmann::json() : nlohmann::json(s);
    };
    const nlohmann::json body{{"error",
                               {{"message", message_},
                                {"type", type_},
                                {"param", or_null(param_)},
                                {"code", or_null(code_)}}}};
    return dump_json(body);
}

std::vector<std::pair<std::string, std::string>> ApiError::headers() const {
    if (status_ == 429 || status_ == 503) return {{"Retry-After", "1"}};
    return {};
}

ApiError ApiError::invalid(std::string message, std::string param) {
    return {400, std::move(message), "invalid_request_error", std::move(param)};
}

ApiError ApiError::unauthorized() {
    return {401, "Incorrect or missing API key: pass it as 'Authorization: Bearer KEY'.",
            "invalid_request_error", "", "invalid_api_key"};
}

ApiError ApiError::forbidden(std::string message) {
    return {403, std::move(message), "permission_error", "", "forbidden"};
}

ApiError ApiError::not_found(std::string message, std::string code) {
    return {404, std::move(message), "invalid_request_error", "", std::move(code)};
}

ApiError ApiError::method_not_allowed(const std::string& method) {
    return {405, "Method " + method + " is not allowed on this route.", "invalid_request_error", "",
            "method_not_allowed"};
}

ApiError ApiError::too_large(size_t limit_bytes) {
    return {413, "Request body is larger than " + std::to_string(limit_bytes) + " bytes.",
            "invalid_request_error", "", "request_too_large"};
}

ApiError ApiError::uri_too_long(size_t limit_bytes) {
    return {414, "Request line is longer than " + std::to_string(limit_bytes) + " bytes.",
            "invalid_request_error", "", "uri_too_long"};
}

ApiError ApiError::header_too_large(size_t limit_bytes) {
    return {431,
            "Request header or trailer fields are larger than " + std::to_string(limit_bytes) +
                " bytes.",
            "invalid_request_error", "", "header_too_large"};
}

ApiError ApiError::queue_full(std::string message) {
    return {429, std::move(message), "rate_limit_error", "", "rate_limit_exceeded"};
}

ApiError ApiError::draining() {
    return {503, "The server is shutting down.", "service_unavailable", "", "draining"};
}

ApiError ApiError::unavailable(std::string message) {
    return {503, std::move(message), "service_unavailable", "", "unavailable"};
}

ApiError ApiError::overloaded(std::string message) {
    return {503, std::move(message), "service_unavailable", "", "overloaded"};
}

ApiError ApiError::internal(std::string message) {
    return {500, std::move(message), "server_error", "", "internal_error"};
}

}  // namespace ms::server
