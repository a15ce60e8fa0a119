#include "gguf/gguf.h"

#include <fmt/format.h>

#include <array>
#include <functional>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "gguf/byte_source.h"
#include "gguf/escape.h"
#include "gguf/reader.h"

namespace ms::gguf {
namespace {

constexpr std::array<uint8_t, 4> kMagic{'G', 'G', 'U', 'F'};
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
constexpr uint32_t kLastValueType = static_cast<uint32_t>(ValueType::F64);
// Smallest encodings, used to bound counts by the bytes left before allocating anything.
constexpr uint64_t kMinMetadataBytes = 8 + 4 + 1;        // key length, value type, one byte
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset
constexpr uint64_t kMinStringBytes = 8;

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
using NameIndex = std::unordered_map<std::string, size_t, StringHash, std::equal_to<>>;

bool is_integer(ValueType t) {
    switch (t) {
        case ValueType::U8:
        case ValueType::I8:
        case ValueType::U16:
        case ValueType::I16:
        case ValueType::U32:
        case ValueType::I32:
        case ValueType::U64:
        case ValueType::I64:
            return true;
        default:
            return false;
    }
}

// Bytes of one scalar in the file; strings and arrays have no fixed size.
uint64_t scalar_bytes(ValueType t) {
    switch (t) {
        case ValueType::U8:
        case ValueType::I8:
        case ValueType::BOOL:
            return 1;
        case ValueType::U16:
        case ValueType::I16:
            return 2;
        case ValueType::U32:
        case ValueType::I32:
        case ValueType::F32:
            return 4;
        case ValueType::U64:
        case ValueType::I64:
        case ValueType::F64:
            return 8;
        default:
            return 0;
    }
}

std::string type_description(const Value& v) {
    if (!v.is_array()) return std::string(value_type_name(v.type));
    return fmt::format("ARRAY[{}]", value_type_name(v.array_type));
}

// The value of an integer of any width as u64; nullopt for negative values and non-integers.
std::optional<uint64_t> unsigned_value(const Value& v) {
    if (!is_integer(v.type)) return std::nullopt;
    if (const auto* u = std::get_if<uint64_t>(&v.data)) return *u;
    const int64_t i = std::get<int64_t>(v.data);
    if (i < 0) return std::nullopt;
    return static_cast<uint64_t>(i);
}

ValueType read_value_type(Reader& r, std::string_view role) {
    const auto raw = r.read<uint32_t>();
    if (raw > kLastValueType) r.fail(fmt::format("unknown {} {}", role, raw));
    return static_cast<ValueType>(raw);
}

bool read_bool(Reader& r) {
    const auto byte = r.read<uint8_t>();
    if (byte > 1) r.fail(fmt::format("invalid bool value {}", byte));
    return byte == 1;
}

template <class Stored, class Wide>
std::vector<Wide> read_elements(Reader& r, uint64_t count) {
    std::vector<Wide> out;
    out.reserve(count);
    for (uint64_t i = 0; i < count; ++i) out.push_back(static_cast<Wide>(r.read<Stored>()));
    return out;
}

template <class Element, class ReadOne>
std::vector<Element> read_elements_with(uint64_t count, ReadOne read_one) {
    std::vector<Element> out;
    out.reserve(count);
    for (uint64_t i = 0; i < count; ++i) out.push_back(read_one());
    return out;
}

// Reads one scalar or string of type t into the widened variant alternative.
void read_scalar(Reader& r, ValueType t, Value& v) {
    switch (t) {
        case ValueType::U8:
            v.data = uint64_t{r.read<uint8_t>()};
            break;
        case ValueType::I8:
            v.data = int64_t{r.read<int8_t>()};
            break;
        case ValueType::U16:
            v.data = uint64_t{r.read<uint16_t>()};
            break;
        case ValueType::I16:
            v.data = int64_t{r.read<int16_t>()};
            break;
        case ValueType::U32:
            v.data = uint64_t{r.read<uint32_t>()};
            break;
        case ValueType::I32:
            v.data = int64_t{r.read<int32_t>()};
            break;
        case ValueType::U64:
            v.data = r.read<uint64_t>();
            break;
        case ValueType::I64:
            v.data = r.read<int64_t>();
            break;
        case ValueType::F32:
            v.data = double{r.read<float>()};
            break;
        case ValueType::F64:
            v.data = r.read<double>();
            break;
        case ValueType::BOOL:
            v.data = read_bool(r);
            break;
        case ValueType::STRING:
            v.data = r.read_string();
            break;
        case ValueType::ARRAY:
            r.fail("nested arrays are not supported");
    }
}

void read_array(Reader& r, Value& v) {
    const ValueType t = read_value_type(r, "array element type");
    if (t == ValueType::ARRAY) r.fail("nested arrays are not supported");
    const auto count = r.read<uint64_t>();
    const uint64_t min_element_bytes = t == ValueType::STRING ? kMinStringBytes : scalar_bytes(t);
    if (count > r.remaining() / min_element_bytes)
        r.fail(fmt::format("array count {} runs past the end of the file", count));
    v.array_type = t;
    switch (t) {
        case ValueType::U8:
            v.data = read_elements<uint8_t, uint64_t>(r, count);
            break;
        case ValueType::I8:
            v.data = read_elements<int8_t, int64_t>(r, count);
            break;
        case ValueType::U16:
            v.data = read_elements<uint16_t, uint64_t>(r, count);
            break;
        case ValueType::I16:
            v.data = read_elements<int16_t, int64_t>(r, count);
            break;
        case ValueType::U32:
            v.data = read_elements<uint32_t, uint64_t>(r, count);
            break;
        case ValueType::I32:
            v.data = read_elements<int32_t, int64_t>(r, count);
            break;
        case ValueType::U64:
            v.data = read_elements<uint64_t, uint64_t>(r, count);
            break;
        case ValueType::I64:
            v.data = read_elements<int64_t, int64_t>(r, count);
            break;
        case ValueType::F32:
            v.data = read_elements<float, double>(r, count);
            break;
        case ValueType::F64:
            v.data = read_elements<double, double>(r, count);
            break;
        case ValueType::BOOL:
            v.data = read_elements_with<bool>(count, [&] { return read_bool(r); });
            break;
        case ValueType::STRING:
            v.data = read_elements_with<std::string>(count, [&] { return r.read_string(); });
            break;
        case ValueType::ARRAY:
            break;  // rejected above
    }
}

Value read_value(Reader& r) {
    Value v;
    v.type = read_value_type(r, "value type");
    if (v.type == ValueType::ARRAY) {
        read_array(r, v);
    } else {
        read_scalar(r, v.type, v);
    }
    return v;
}

// Everything parsed from an image; tensor data pointers point into the image.
struct Contents {
    uint32_t version = 0;
    uint64_t alignment = kDefaultAlignment;
    std::vector<std::pair<std::string, Value>> metadata;
    NameIndex metadata_index;
    std::vector<TensorInfo> tensors;
    NameIndex tensor_index;
};

// Parses an image section by section.
class Parser {
public:
    explicit Parser(std::span<const uint8_t> bytes) : bytes_(bytes), reader_(bytes) {}

    Contents parse() && {
        parse_magic_and_version();
        const auto n_tensors = reader_.read<uint64_t>();
        const auto n_metadata = reader_.read<uint64_t>();
        check_count(n_metadata, kMinMetadataBytes, "metadata count");
        check_count(n_tensors, kMinTensorInfoBytes, "tensor count");
        parse_metadata(n_metadata);
        parse_alignment();
        check_count(n_tensors, kMinTensorInfoBytes, "tensor count");
        parse_tensor_infos(n_tensors);
        place_tensor_data();
        return std::move(file_);
    }

private:
    void parse_magic_and_version() {
        const auto magic = reader_.read<std::array<uint8_t, 4>>();
        if (magic != kMagic)
            throw Error(fmt::format("gguf: bad magic {:02x} {:02x} {:02x} {:02x}, not a GGUF file",
                                    magic[0], magic[1], magic[2], magic[3]));
        const auto version = reader_.read<uint32_t>();
        if (version == 1) throw Error("gguf: version 1 is not supported (only versions 2 and 3)");
        if (version != 2 && version != 3) {
            const bool big_endian = __builtin_bswap32(version) <= 3;
            throw Error(fmt::format("gguf: unsupported version {} (only versions 2 and 3){}",
                                    version,
                                    big_endian ? "; big-endian files are not supported" : ""));
        }
        file_.version = version;
    }

    void check_count(uint64_t count, uint64_t min_bytes_each, std::string_view what) const {
        if (count > reader_.remaining() / min_bytes_each)
            throw Error(fmt::format("gguf: {} {} is more than the file can hold", what, count));
    }

    void parse_metadata(uint64_t count) {
        file_.metadata.reserve(count);
        for (uint64_t i = 0; i < count; ++i) {
            reader_.set_context(fmt::format("metadata {}", i));
            std::string key = reader_.read_string();
            reader_.set_context(fmt::format("metadata {} ('{}')", i, escaped(key)));
            Value value = read_value(reader_);
            if (!file_.metadata_index.emplace(key, file_.metadata.size()).second)
                throw Error(fmt::format("gguf: duplicate metadata key '{}'", escaped(key)));
            file_.metadata.emplace_back(std::move(key), std::move(value));
        }
    }

    void parse_alignment() {
        const auto it = file_.metadata_index.find("general.alignment");
        if (it == file_.metadata_index.end()) return;
        const Value& v = file_.metadata[it->second].second;
        if (!is_integer(v.type))
            throw Error(fmt::format("gguf: general.alignment has type {}, expected an integer",
                                    type_description(v)));
        const auto alignment = unsigned_value(v);
        if (!alignment || !std::has_single_bit(*alignment))
            throw Error(
                fmt::format("gguf: general.alignment must be a nonzero power of two, got {}",
                            to_display_string(v)));
        file_.alignment = *alignment;
    }

    void parse_tensor_infos(uint64_t count) {
        file_.tensors.reserve(count);
        for (uint64_t i = 0; i < count; ++i) {
            reader_.set_context(fmt::format("tensor info {}", i));
            TensorInfo t;
            t.name = reader_.read_string();
            reader_.set_context(fmt::format("tensor info {} ('{}')", i, escaped(t.name)));
            read_dims(t);
            read_type(t);
            t.offset = reader_.read<uint64_t>();
            compute_byte_size(t);
            if (!file_.tensor_index.emplace(t.name, file_.tensors.size()).second)
                throw Error(fmt::format("gguf: duplicate tensor name '{}'", escaped(t.name)));
            file_.tensors.push_back(std::move(t));
        }
    }

    void read_dims(TensorInfo& t) {
        const auto n_dims = reader_.read<uint32_t>();
        if (n_dims > kMaxDims)
            throw Error(fmt::format("gguf: tensor '{}' has {} dimensions (at most {} supported)",
                                    escaped(t.name), n_dims, kMaxDims));
        for (uint32_t d = 0; d < n_dims; ++d) {
            const auto dim = reader_.read<uint64_t>();
            if (dim > uint64_t(std::numeric_limits<int64_t>::max()))
                throw Error(fmt::format("gguf: tensor '{}' dimension {} is negative ({})",
                                        escaped(t.name), d, static_cast<int64_t>(dim)));
            t.dims.push_back(static_cast<int64_t>(dim));
        }
    }

    void read_type(TensorInfo& t) {
        const auto raw = reader_.read<uint32_t>();
        if (!dtype_traits(raw))
            throw Error(fmt::format("gguf: tensor '{}' has unknown type {}", escaped(t.name), raw));
        t.type = static_cast<DType>(raw);
    }

    // Fills n_bytes from dims and type, rejecting partial blocks and any int64 overflow.
    static void compute_byte_size(TensorInfo& t) {
        const auto& tr = traits(t.type);
        int64_t elements = 1;
        for (const int64_t dim : t.dims)
            if (__builtin_mul_overflow(elements, dim, &elements))
                throw Error(fmt::format("gguf: tensor '{}' element count overflows int64 (dims {})",
                                        escaped(t.name), fmt::join(t.dims, " x ")));
        if (t.row_size() % tr.block_elems != 0)
            throw Error(fmt::format(
                "gguf: tensor '{}' row of {} elements is not a multiple of the block size {} of {}",
                escaped(t.name), t.row_size(), tr.block_elems, tr.name));
        int64_t bytes = 0;
        if (__builtin_mul_overflow(elements / tr.block_elems, tr.block_bytes, &bytes))
            throw Error(fmt::format("gguf: tensor '{}' byte size overflows int64 (dims {})",
                                    escaped(t.name), fmt::join(t.dims, " x ")));
        t.n_bytes = static_cast<uint64_t>(bytes);
    }

    // The data section starts at the first aligned offset after the tensor table.
    void place_tensor_data() {
        if (file_.tensors.empty()) return;
        const uint64_t table_end = reader_.offset();
        const uint64_t data_start =
            table_end + (file_.alignment - table_end % file_.alignment) % file_.alignment;
        if (data_start > bytes_.size())
            throw Error(fmt::format(
                "gguf: tensor data section at offset {} is past the end of the file ({} bytes)",
                data_start, bytes_.size()));
        const uint64_t data_size = bytes_.size() - data_start;
        for (TensorInfo& t : file_.tensors) {
            if (t.offset % file_.alignment != 0)
                throw Error(
                    fmt::format("gguf: tensor '{}' offset {} is not a multiple of the alignment {}",
                                escaped(t.name), t.offset, file_.alignment));
            if (t.offset > data_size || t.n_bytes > data_size - t.offset)
                throw Error(fmt::format(
                    "gguf: tensor '{}' data (offset {}, {} bytes) runs past the end of the file",
                    escaped(t.name), t.offset, t.n_bytes));
            t.data = bytes_.data() + data_start + t.offset;
        }
    }

    std::span<const uint8_t> bytes_;
    Reader reader_;
    Contents file_;
};

const Value& require(const Contents& c, std::string_view key) {
    const auto it = c.metadata_index.find(key);
    if (it == c.metadata_index.end())
        throw Error(fmt::format("gguf: missing key '{}'", escaped(key)));
    return c.metadata[it->second].second;
}

[[noreturn]] void throw_wrong_type(std::string_view key, const Value& v,
                                   std::string_view expected) {
    throw Error(fmt::format("gguf: key '{}' has type {}, expected {}", escaped(key),
                            type_description(v), expected));
}

// An integer value of any width, checked against [0, max] of the requested type.
uint64_t integer_value(std::string_view key, const Value& v, uint64_t max,
                       std::string_view type_name) {
    if (!is_integer(v.type)) throw_wrong_type(key, v, "an integer");
    const auto value = unsigned_value(v);
    if (!value || *value > max)
        throw Error(fmt::format("gguf: key '{}' value {} does not fit in {}", escaped(key),
                                to_display_string(v), type_name));
    return *value;
}

}  // namespace

struct File::Impl {
    explicit Impl(ByteSource bytes)
        : source(std::move(bytes)), contents(Parser(source.bytes()).parse()) {}

    ByteSource source;
    std::string path;
    Contents contents;
};

File::File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::open(const std::string& path) {
    try {
        auto impl = std::make_unique<Impl>(ByteSource::map_file(path));
        impl->path = path;
        return File(std::move(impl));
    } catch (const Error& e) {
        throw Error(fmt::format("{} (in {})", e.what(), path));
    }
}

File File::from_bytes(std::span<const uint8_t> bytes) {
    return File(std::make_unique<Impl>(ByteSource::copy_of(bytes)));
}

uint32_t File::version() const {
    return impl_->contents.version;
}
uint64_t File::alignment() const {
    return impl_->contents.alignment;
}
const std::string& File::path() const {
    return impl_->path;
}

const std::vector<std::pair<std::string, Value>>& File::metadata() const {
    return impl_->contents.metadata;
}

const Value* File::find(std::string_view key) const {
    const auto it = impl_->contents.metadata_index.find(key);
    return it == impl_->contents.metadata_index.end()
               ? nullptr
               : &impl_->contents.metadata[it->second].second;
}

const std::vector<TensorInfo>& File::tensors() const {
    return impl_->contents.tensors;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
    const auto it = impl_->contents.tensor_index.find(name);
    return it == impl_->contents.tensor_index.end() ? nullptr
                                                    : &impl_->contents.tensors[it->second];
}

const TensorInfo& File::tensor(std::string_view name) const {
    if (const TensorInfo* t = find_tensor(name)) return *t;
    throw Error(fmt::format("gguf: missing tensor '{}'", escaped(name)));
}

std::string File::get_string(std::string_view key) const {
    const Value& v = require(impl_->contents, key);
    if (v.type != ValueType::STRING) throw_wrong_type(key, v, "STRING");
    return std::get<std::string>(v.data);
}

uint64_t File::get_u64(std::string_view key) const {
    return integer_value(key, require(impl_->contents, key), std::numeric_limits<uint64_t>::max(),
                         "u64");
}

uint32_t File::get_u32(std::string_view key) const {
    return static_cast<uint32_t>(integer_value(key, require(impl_->contents, key),
                                               std::numeric_limits<uint32_t>::max(), "u32"));
}

float File::get_f32(std::string_view key) const {
    const Value& v = require(impl_->contents, key);
    if (v.type != ValueType::F32 && v.type != ValueType::F64) throw_wrong_type(key, v, "F32");
    return static_cast<float>(std::get<double>(v.data));
}

bool File::get_bool(std::string_view key) const {
    const Value& v = require(impl_->contents, key);
    if (v.type != ValueType::BOOL) throw_wrong_type(key, v, "BOOL");
    return std::get<bool>(v.data);
}

std::string File::get_string(std::string_view key, std::string_view fallback) const {
    return has(key) ? get_string(key) : std::string(fallback);
}

uint32_t File::get_u32(std::string_view key, uint32_t fallback) const {
    return has(key) ? get_u32(key) : fallback;
}

float File::get_f32(std::string_view key, float fallback) const {
    return has(key) ? get_f32(key) : fallback;
}

bool File::get_bool(std::string_view key, bool fallback) const {
    return has(key) ? get_bool(key) : fallback;
}

const std::vector<std::string>& File::get_string_array(std::string_view key) const {
    const Value& v = require(impl_->contents, key);
    if (!v.is_array() || v.array_type != ValueType::STRING)
        throw_wrong_type(key, v, "ARRAY[STRING]");
    return std::get<std::vector<std::string>>(v.data);
}

std::vector<float> File::get_f32_array(std::string_view key) const {
    const Value& v = require(impl_->contents, key);
    if (!v.is_array() || (v.array_type != ValueType::F32 && v.array_type != ValueType::F64))
        throw_wrong_type(key, v, "ARRAY[F32]");
    const auto& values = std::get<std::vector<double>>(v.data);
    return {values.begin(), values.end()};
}

std::vector<int64_t> File::get_int_array(std::string_view key) const {
    const Value& v = require(impl_->contents, key);
    if (!v.is_array() || !is_integer(v.array_type)) throw_wrong_type(key, v, "an integer array");
    if (const auto* signed_values = std::get_if<std::vector<int64_t>>(&v.data))
        return *signed_values;
    const auto& values = std::get<std::vector<uint64_t>>(v.data);
    std::vector<int64_t> out;
    out.reserve(values.size());
    for (const uint64_t u : values) {
        if (u > uint64_t(std::numeric_limits<int64_t>::max()))
            throw Error(
                fmt::format("gguf: key '{}' element {} does not fit in int64", escaped(key), u));
        out.push_back(static_cast<int64_t>(u));
    }
    return out;
}

int64_t TensorInfo::n_elements() const {
    int64_t n = 1;
    for (const int64_t d : dims) n *= d;  // validated against overflow when parsed
    return n;
}

}  // namespace ms::gguf
