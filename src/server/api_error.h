// Errors reported to API clients in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Request handling throws ApiError; the service turns it into a response with its status.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ms::server {

class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string message, std::string type, std::string param = {},
             std::string code = {});

    int status() const { return status_; }
    // The whole message: what() stops at the first NUL byte, which a client may have sent.
    const std::string& message() const { return message_; }
    const std::string& type() const { return type_; }
    const std::string& param() const { return param_; }  // empty: null
    const std::string& code() const { return code_; }    // empty: null
    std::string to_json() const;
    // Extra response headers: Retry-After for 429 and 503.
    std::vector<std::pair<std::string, std::string>> headers() const;

    static ApiError invalid(std::string message, std::string param = {});  // 400
    static ApiError unauthorized();                                        // 401
    static ApiError forbidden(std::string message);                        // 403
    static ApiError not_found(std::string message, std::string code);      // 404
    static ApiError method_not_allowed(const std::string& method);         // 405
    static ApiError too_large(size_t limit_bytes);                         // 413
    static ApiError uri_too_long(size_t limit_bytes);                      // 414
    static ApiError header_too_large(size_t limit_bytes);                  // 431
    static ApiError queue_full(std::string message);                       // 429
    static ApiError draining();                                            // 503
    static ApiError unavailable(std::string message);                      // 503
    static ApiError overloaded(std::string message);                       // 503, Retry-After
    static ApiError internal(std::string message);                         // 500

private:
    int status_;
    std::string message_;
    std::string type_;
    std::string param_;
    std::string code_;
};

}  // namespace ms::server
