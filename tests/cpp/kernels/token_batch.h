// Multi-token kernel checks shared by the native and the emulated AVX-512 tests: a DotTokens
// kernel against the scalar reference (within rounding) and against its own ISA's DotRows run
// once per token (bit for bit).
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/row_dot.h"
#include "random_matrix.h"

namespace ms::kernels::test_data {

// Token counts for the multi-token kernels: odd ones leave partial token groups.
inline const int64_t kTestTokens[] = {2, 3, 5, 17};
// Row counts that leave partial row groups.
inline const int64_t kTestRows[] = {1, 6, 13};

// n_tokens activation rows quantized for type, one after the other.
struct TokenBatch {
    std::vector<uint8_t> act;
    int64_t stride = 0;
    int64_t n_tokens = 0;

    TokenBatch(DType type, int64_t cols, int64_t tokens, std::mt19937& rng)
        : stride(act_row_bytes(act_format(type), cols)), n_tokens(tokens) {
        const auto x = random_activations(cols * tokens, rng);
        act.resize(size_t(stride * tokens));
        for (int64_t t = 0; t < tokens; ++t)
            quantize_act_row(act_format(type), x.data() + t * cols, act.data() + t * stride, cols);
    }
};

// Outputs token after token, each w.rows + 1 apart (so a kernel writing past its rows shows).
inline int64_t output_stride(const RandomMatrix& w) {
    return w.view.rows + 1;
}

inline std::vector<float> run_dot_tokens(DotTokens dot, const RandomMatrix& w,
                                         const TokenBatch& x) {
    std::vector<float> y(size_t(output_stride(w) * x.n_tokens), 0.0f);
    dot(w.view.data, row_bytes(w.view.type, w.view.cols), w.view.rows, x.act.data(), x.stride,
        x.n_tokens, w.view.cols, y.data(), output_stride(w));
    return y;
}

inline std::vector<float> run_dot_rows_per_token(DotRows dot, const RandomMatrix& w,
                                                 const TokenBatch& x) {
    std::vector<float> y(size_t(output_stride(w) * x.n_tokens), 0.0f);
    for (int64_t t = 0; t < x.n_tokens; ++t)
        dot(w.view.data, row_bytes(w.view.type, w.view.cols), w.view.rows,
            x.act.data() + t * x.stride, w.view.cols, y.data() + t * output_stride(w));
    return y;
}

// Every test shape of one type: a random matrix and token batch each, traced.
template <class Check>
void for_each_shape(DType type, std::mt19937& rng, Check check) {
    for (int64_t cols : test_cols(type))
        for (int64_t rows : kTestRows)
            for (int64_t n_tokens : kTestTokens) {
                SCOPED_TRACE(::testing::Message() << dtype_name(type) << " rows=" << rows
                                                  << " cols=" << cols << " tokens=" << n_tokens);
                const RandomMatrix w(type, rows, cols, rng);
                const TokenBatch x(type, cols, n_tokens, rng);
                check(w, x);
            }
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// For every type the tables cover and every test shape: tokens within rounding of the scalar
// reference and bit-identical to rows run once per token. Every quantized type must have a
// multi-token kernel (prefill would otherwise unpack its weights once per token).
inline void check_dot_tokens(DotRows (*rows_table)(DType), DotTokens (*tokens_table)(DType),
                             std::mt19937& rng) {
    for (DType type : kTypes) {
        const DotTokens tokens = tokens_table(type);
        const bool quantized = traits(type).block_elems > 1;
        EXPECT_TRUE(tokens || !quantized) << dtype_name(type) << " has no multi-token kernel";
        if (!tokens) continue;
        for_each_shape(type, rng, [&](const RandomMatrix& w, const TokenBatch& x) {
            const auto actual = run_dot_tokens(tokens, w, x);
            const auto reference = run_dot_tokens(scalar_dot_tokens(type), w, x);
            const float tolerance = 2e-5f * std::max(1.0f, max_abs(reference));
            for (size_t i = 0; i < reference.size(); ++i)
                ASSERT_NEAR(actual[i], reference[i], tolerance) << "output " << i;
            ASSERT_TRUE(same_bits(actual, run_dot_rows_per_token(rows_table(type), w, x)));
        });
    }
}

// The legacy 32-element formats (Q4_0 ... Q8_0): kernels of another ISA give the AVX2
// kernels' results bit for bit, rows and tokens alike (per row and token the float steps are
// llama.cpp's x86 order; dot_x86_impl.h, dot_legacy).
inline const DType kLegacyTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                                     DType::Q8_0};

inline void check_legacy_equals_avx2(DotRows (*rows_table)(DType), DotTokens (*tokens_table)(DType),
                                     std::mt19937& rng) {
    for (DType type : kLegacyTypes)
        for_each_shape(type, rng, [&](const RandomMatrix& w, const TokenBatch& x) {
            const auto expected = run_dot_tokens(avx2_dot_tokens(type), w, x);
            ASSERT_TRUE(same_bits(run_dot_tokens(tokens_table(type), w, x), expected));
            ASSERT_TRUE(same_bits(run_dot_rows_per_token(rows_table(type), w, x), expected));
        });
}

}  // namespace ms::kernels::test_data
