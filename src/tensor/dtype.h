// Element types of model tensors and their block layouts (GGML numbering, as stored in GGUF).
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace ms {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
};

struct DTypeTraits {
    std::string_view name;
    int64_t block_elems;  // elements per block (1 for plain types)
    int64_t block_bytes;  // bytes per block
};

// Traits of a type id read from a file; nullopt when the id is not one we know.
std::optional<DTypeTraits> dtype_traits(uint32_t raw_type);
// Traits of a known type (never fails).
const DTypeTraits& traits(DType t);
std::string_view dtype_name(DType t);

// Bytes taken by a row of n elements; n must be a multiple of the block size.
inline int64_t row_bytes(DType t, int64_t n) {
    const auto& tr = traits(t);
    return n / tr.block_elems * tr.block_bytes;
}

// IEEE half and bfloat16 conversions.
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
inline float bf16_to_fp32(uint16_t h) {
    uint32_t bits = uint32_t(h) << 16;
    float f;
    __builtin_memcpy(&f, &bits, 4);
    return f;
}

}  // namespace ms
