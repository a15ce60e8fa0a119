// Metadata values: type names, sizes and their human-readable rendering.
#include <fmt/format.h>

#include "gguf/escape.h"
#include "gguf/gguf.h"

namespace ms::gguf {
namespace {

constexpr size_t kMaxDisplayedStringBytes = 120;

template <class T>
constexpr bool kIsVector = false;
template <class T>
constexpr bool kIsVector<std::vector<T>> = true;

std::string display_string(const std::string& s) {
    std::string out = fmt::format("\"{}\"", escaped(s, kMaxDisplayedStringBytes));
    if (s.size() > kMaxDisplayedStringBytes) out += fmt::format(" ({} bytes)", s.size());
    return out;
}

// F32 values are stored widened; print them at float precision ("1e-05", not 9.99...e-06).
std::string display_float(double d, ValueType stored_as) {
    return stored_as == ValueType::F32 ? fmt::format("{}", static_cast<float>(d))
                                       : fmt::format("{}", d);
}

std::string display_scalar(const Value& v) {
    switch (v.type) {
        case ValueType::F32:
        case ValueType::F64:
            return display_float(std::get<double>(v.data), v.type);
        case ValueType::BOOL:
            return std::get<bool>(v.data) ? "true" : "false";
        case ValueType::STRING:
            return display_string(std::get<std::string>(v.data));
        default:
            if (const auto* u = std::get_if<uint64_t>(&v.data)) return fmt::format("{}", *u);
            return fmt::format("{}", std::get<int64_t>(v.data));
    }
}

template <class T>
std::string display_element(const T& element, ValueType type) {
    if constexpr (std::is_same_v<T, std::string>) {
        return display_string(element);
    } else if constexpr (std::is_same_v<T, double>) {
        return display_float(element, type);
    } else if constexpr (std::is_same_v<T, bool>) {
        return element ? "true" : "false";
    } else {
        return fmt::format("{}", element);
    }
}

template <class T>
std::string display_array(const std::vector<T>& elements, ValueType type, size_t max_items) {
    std::string out = "[";
    for (size_t i = 0; i < elements.size() && i < max_items; ++i) {
        if (i > 0) out += ", ";
        out += display_element<T>(elements[i], type);
    }
    if (elements.size() > max_items)
        out += fmt::format("{}... {} more", max_items > 0 ? ", " : "", elements.size() - max_items);
    return out + "]";
}

}  // namespace

std::string_view value_type_name(ValueType t) {
    switch (t) {
        case ValueType::U8:
            return "U8";
        case ValueType::I8:
            return "I8";
        case ValueType::U16:
            return "U16";
        case ValueType::I16:
            return "I16";
        case ValueType::U32:
            return "U32";
        case ValueType::I32:
            return "I32";
        case ValueType::F32:
            return "F32";
        case ValueType::BOOL:
            return "BOOL";
        case ValueType::STRING:
            return "STRING";
        case ValueType::ARRAY:
            return "ARRAY";
        case ValueType::U64:
            return "U64";
        case ValueType::I64:
            return "I64";
        case ValueType::F64:
            return "F64";
    }
    return "UNKNOWN";
}

size_t Value::array_size() const {
    return std::visit(
        [](const auto& d) -> size_t {
            if constexpr (kIsVector<std::decay_t<decltype(d)>>) return d.size();
            return 0;
        },
        data);
}

std::string to_display_string(const Value& v, size_t max_array_items) {
    return std::visit(
        [&](const auto& d) -> std::string {
            if constexpr (kIsVector<std::decay_t<decltype(d)>>)
                return display_array(d, v.array_type, max_array_items);
            return display_scalar(v);
        },
        v.data);
}

}  // namespace ms::gguf
