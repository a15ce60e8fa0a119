// Small valid GGUF images shared by the tests and the fuzz seed corpus.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "gguf_writer.h"

namespace ms::gguf::testing {

// A model-like image: a few metadata types, a vocabulary and two tensors (F32, Q8_0).
inline std::vector<uint8_t> small_model_image() {
    return GgufBuilder()
        .kv("general.architecture", string_value("llama"))
        .kv("llama.embedding_length", scalar(ValueType::U32, uint32_t{8}))
        .kv("llama.rope.freq_base", scalar(ValueType::F32, 10000.0f))
        .kv("tokenizer.ggml.tokens", string_array({"<unk>", "a", "b"}))
        .kv("tokenizer.ggml.scores", array(ValueType::F32, std::vector<float>{0.f, -1.f, -2.f}))
        .tensor("token_embd.weight", {8, 3})
        .tensor("blk.0.ffn_up.weight", {32, 2}, DType::Q8_0)
        .build();
}

// An image holding one key of every scalar type, every array element type and no tensors.
inline std::vector<uint8_t> every_value_type_image() {
    return GgufBuilder()
        .version(2)
        .kv("u8", scalar(ValueType::U8, uint8_t{200}))
        .kv("i8", scalar(ValueType::I8, int8_t{-100}))
        .kv("u16", scalar(ValueType::U16, uint16_t{60000}))
        .kv("i16", scalar(ValueType::I16, int16_t{-30000}))
        .kv("u32", scalar(ValueType::U32, uint32_t{4000000000u}))
        .kv("i32", scalar(ValueType::I32, int32_t{-2000000000}))
        .kv("f32", scalar(ValueType::F32, 1.5f))
        .kv("bool", scalar(ValueType::BOOL, uint8_t{1}))
        .kv("string", string_value("hello"))
        .kv("u64", scalar(ValueType::U64, uint64_t{1} << 40))
        .kv("i64", scalar(ValueType::I64, int64_t{-(int64_t{1} << 40)}))
        .kv("f64", scalar(ValueType::F64, 0.25))
        .kv("array.u8", array(ValueType::U8, std::vector<uint8_t>{1, 255}))
        .kv("array.i8", array(ValueType::I8, std::vector<int8_t>{-1, 127}))
        .kv("array.u16", array(ValueType::U16, std::vector<uint16_t>{2, 65535}))
        .kv("array.i16", array(ValueType::I16, std::vector<int16_t>{-2, 32767}))
        .kv("array.u32", array(ValueType::U32, std::vector<uint32_t>{3, 4294967295u}))
        .kv("array.i32", array(ValueType::I32, std::vector<int32_t>{-3, 7}))
        .kv("array.f32", array(ValueType::F32, std::vector<float>{0.5f, -2.f}))
        .kv("array.bool", array(ValueType::BOOL, std::vector<uint8_t>{0, 1, 1}))
        .kv("array.string", string_array({"x", "", "yz"}))
        .kv("array.u64", array(ValueType::U64, std::vector<uint64_t>{4, uint64_t{1} << 63}))
        .kv("array.i64", array(ValueType::I64, std::vector<int64_t>{-4, int64_t{1} << 62}))
        .kv("array.f64", array(ValueType::F64, std::vector<double>{0.125, 1e300}))
        .kv("array.empty", array(ValueType::U32, std::vector<uint32_t>{}))
        .build();
}

// Seeds for fuzz/corpus/gguf, by file name.
inline std::vector<std::pair<std::string, std::vector<uint8_t>>> fuzz_seed_images() {
    return {
        {"small_model.gguf", small_model_image()},
        {"every_value_type.gguf", every_value_type_image()},
        {"aligned64_q4k.gguf", GgufBuilder()
                                   .alignment(64)
                                   .tensor("a", {256}, DType::Q4_K)
                                   .tensor("b", {4, 1, 2, 1}, DType::F16)
                                   .build()},
    };
}

}  // namespace ms::gguf::testing
