#include "server/auth.h"

#include <cctype>
#include <fstream>
#include <stdexcept>

namespace ms::server {
namespace {

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

// Compares every byte whatever the first difference, so timing does not reveal a prefix.
bool same_key(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char difference = 0;
    for (size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    return difference == 0;
}

// RFC 7235: the authentication scheme is case-insensitive ("Bearer", "bearer", "BEARER").
bool same_scheme(std::string_view given, std::string_view lower_case) {
    for (size_t i = 0; i < given.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(given[i])) != lower_case[i]) return false;
    return true;
}

}  // namespace

ApiKeys::ApiKeys(std::vector<std::string> keys) : keys_(std::move(keys)) {}

ApiKeys ApiKeys::from_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read API key file " + path);
    std::vector<std::string> keys;
    std::string line;
    while (std::getline(in, line)) {
        const auto key = trim(line);
        if (!key.empty() && key.front() != '#') keys.emplace_back(key);
    }
    if (keys.empty()) throw std::runtime_error("API key file " + path + " holds no key");
    return ApiKeys(std::move(keys));
}

bool ApiKeys::allows(std::string_view authorization) const {
    if (!enabled()) return true;
    constexpr std::string_view scheme = "bearer ";
    const auto value = trim(authorization);
    if (value.size() <= scheme.size() || !same_scheme(value.substr(0, scheme.size()), scheme))
        return false;
    const auto key = trim(value.substr(scheme.size()));
    bool found = false;
    for (const auto& candidate : keys_) found |= same_key(candidate, key);
    return found;
}

}  // namespace ms::server
