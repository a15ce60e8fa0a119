// API keys for Bearer authentication, read from a file with one key per line (blank lines and
// lines starting with '#' are skipped). With no keys configured every request is allowed.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ms::server {

class ApiKeys {
public:
    ApiKeys() = default;
    explicit ApiKeys(std::vector<std::string> keys);
    // Throws std::runtime_error when the file cannot be read or holds no key.
    static ApiKeys from_file(const std::string& path);

    bool enabled() const { return !keys_.empty(); }
    // authorization: the Authorization header's value, "Bearer KEY".
    bool allows(std::string_view authorization) const;

private:
    std::vector<std::string> keys_;
};

}  // namespace ms::server
