#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/stable_weights.h"
#include "kernels/thread_pool.h"
#include "random_matrix.h"
#include "token_batch.h"

namespace ms::kernels {
namespace {

using namespace test_data;

std::vector<float> run(Isa isa, const RandomMatrix& w, const std::vector<float>& x,
                       int64_t n_tokens, ThreadPool* pool = nullptr) {
    std::vector<float> y(size_t(w.view.rows * n_tokens), NAN);
    matmul_with(isa, w.view, x.data(), n_tokens, y.data(), pool);
    return y;
}

std::vector<Isa> supported_simd_isas() {
    std::vector<Isa> isas;
    for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx})
        if (isa <= detected_isa()) isas.push_back(isa);
    return isas;
}

TEST(Matmul, SimdAgreesWithScalar) {
    std::mt19937 rng(1);
    for (Isa isa : supported_simd_isas())
        for (DType type : kTypes)
            for (int64_t cols : test_cols(type))
                for (int64_t rows : {1, 13, 37})
                    for (int64_t n_tokens : {1, 3, 7}) {
                        SCOPED_TRACE(::testing::Message()
                                     << isa_name(isa) << " " << dtype_name(type) << " rows=" << rows
                                     << " cols=" << cols << " tokens=" << n_tokens);
                        const RandomMatrix w(type, rows, cols, rng);
                        const auto x = random_activations(cols * n_tokens, rng);
                        const auto expected = run(Isa::Scalar, w, x, n_tokens);
                        const auto actual = run(isa, w, x, n_tokens);
                        const float tolerance = 2e-5f * std::max(1.0f, max_abs(expected));
                        for (size_t i = 0; i < expected.size(); ++i)
                            ASSERT_NEAR(actual[i], expected[i], tolerance) << "output " << i;
                    }
}

// The quantized paths differ from a float dot only by the activations' 8-bit rounding: at
// most half a step (amax/254) per element, plus the fp16 rounding of the block scale.
TEST(Matmul, ScalarCloseToDequantizedFloatDot) {
    std::mt19937 rng(2);
    for (DType type : kTypes)
        for (int64_t cols : test_cols(type)) {
            SCOPED_TRACE(::testing::Message() << dtype_name(type) << " cols=" << cols);
            const int64_t rows = 5, n_tokens = 3;
            const RandomMatrix w(type, rows, cols, rng);
            const auto x = random_activations(cols * n_tokens, rng);
            const auto y = run(Isa::Scalar, w, x, n_tokens);
            const bool quantized = traits(type).block_elems > 1;
            const int64_t act_block =
                type == DType::Q4_K || type == DType::Q5_K || type == DType::Q6_K ? 256 : 32;
            for (int64_t r = 0; r < rows; ++r) {
                const auto wr = w.dequantized_row(r);
                for (int64_t t = 0; t < n_tokens; ++t) {
                    const float* xt = x.data() + t * cols;
                    double exact = 0.0, bound = 1e-4;
                    for (int64_t k = 0; k < cols; ++k) {
                        exact += double(wr[size_t(k)]) * xt[k];
                        if (quantized) {
                            const int64_t b0 = k / act_block * act_block;
                            const float amax = std::fabs(*std::max_element(
                                xt + b0, xt + b0 + act_block,
                                [](float a, float b) { return std::fabs(a) < std::fabs(b); }));
                            bound += std::fabs(wr[size_t(k)]) * amax * (0.5 / 127 + 1e-3);
                        } else {
                            bound += std::fabs(wr[size_t(k)] * xt[k]) * 1e-5;
                        }
                    }
                    EXPECT_NEAR(y[size_t(t * rows + r)], exact, bound)
                        << "row " << r << " token " << t;
                }
            }
        }
}

TEST(DotTokens, ScalarMatchesRowsPerToken) {
    std::mt19937 rng(4);
    check_dot_tokens(scalar_dot_rows, scalar_dot_tokens, rng);
}

TEST(DotTokens, Avx2MatchesScalarAndRowsPerToken) {
    if (detected_isa() < Isa::Avx2) GTEST_SKIP() << "no AVX2";
    std::mt19937 rng(5);
    check_dot_tokens(avx2_dot_rows, avx2_dot_tokens, rng);
}

TEST(DotTokens, Avx512MatchesScalarAndRowsPerToken) {
    if (detected_isa() < Isa::Avx512) GTEST_SKIP() << "no AVX-512 (see the emulated test)";
    std::mt19937 rng(6);
    check_dot_tokens(avx512_dot_rows, avx512_dot_tokens, rng);
    if (detected_isa() >= Isa::Avx512Vnni)
        check_dot_tokens(avx512_vnni_dot_rows, avx512_vnni_dot_tokens, rng);
}

TEST(DotTokens, Avx512LegacyFormatsBitIdenticalToAvx2) {
    if (detected_isa() < Isa::Avx512) GTEST_SKIP() << "no AVX-512 (see the emulated test)";
    std::mt19937 rng(13);
    check_legacy_equals_avx2(avx512_dot_rows, avx512_dot_tokens, rng);
    if (detected_isa() >= Isa::Avx512Vnni)
        check_legacy_equals_avx2(avx512_vnni_dot_rows, avx512_vnni_dot_tokens, rng);
}

// A batch of tokens gives, bit for bit, what the tokens give one at a time (the serving
// engine batches sequences and must not change their outputs).
TEST(Matmul, BatchedTokensBitIdenticalToOneAtATime) {
    std::mt19937 rng(7);
    ThreadPool pool(2);
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx})
        for (DType type : kTypes)
            for (int64_t n_tokens : kTestTokens) {
                SCOPED_TRACE(::testing::Message()
                             << isa_name(isa) << " " << dtype_name(type) << " tokens=" << n_tokens);
                const int64_t rows = 301, cols = 17 * traits(type).block_elems;
                const RandomMatrix w(type, rows, cols, rng);
                const auto x = random_activations(cols * n_tokens, rng);
                const auto batched = run(isa, w, x, n_tokens, &pool);
                std::vector<float> one_by_one(batched.size());
                for (int64_t t = 0; t < n_tokens; ++t)
                    matmul_with(isa, w.view, x.data() + t * cols, 1, one_by_one.data() + t * rows,
                                nullptr);
                ASSERT_EQ(0, std::memcmp(batched.data(), one_by_one.data(),
                                         batched.size() * sizeof(float)));
            }
}

// AMX gives the scalar reference's results bit for bit (exact integer block sums, then the
// reference's float order): for slabs of 16 rows and groups of 16 tokens with tails, one thread
// or three (with 64 blocks per row the threads also share the activations' packing).
TEST(Matmul, AmxBitIdenticalToScalar) {
    if (detected_isa() < Isa::Amx) GTEST_SKIP() << "no AMX-INT8 on this CPU (or not permitted)";
    std::mt19937 rng(8);
    ThreadPool pool(3);
    for (DType type : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0})
        for (int64_t rows : {1, 16, 37, 96})
            for (int64_t n_tokens : {1, 3, 5, 16, 33})
                for (int64_t blocks : {9, 64}) {
                    SCOPED_TRACE(::testing::Message()
                                 << dtype_name(type) << " rows=" << rows << " tokens=" << n_tokens
                                 << " blocks=" << blocks);
                    const int64_t cols = blocks * traits(type).block_elems;
                    const RandomMatrix w(type, rows, cols, rng);
                    const auto x = random_activations(cols * n_tokens, rng);
                    const auto expected = run(Isa::Scalar, w, x, n_tokens);
                    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
                        const auto actual = run(Isa::Amx, w, x, n_tokens, p);
                        ASSERT_EQ(0, std::memcmp(actual.data(), expected.data(),
                                                 actual.size() * sizeof(float)));
                    }
                }
}

// Stable weights get their unpacked layout kept: the first tile call makes it, later calls use it
// (also for other token counts), the bits stay the scalar reference's, and the layout goes with
// the registration. Memory not registered never has one.
TEST(Matmul, AmxKeptLayoutIsBitIdenticalAndForgotten) {
    if (detected_isa() < Isa::Amx) GTEST_SKIP() << "no AMX-INT8 on this CPU (or not permitted)";
    std::mt19937 rng(9);
    ThreadPool pool(2);
    for (DType type : {DType::Q4_1, DType::Q5_0, DType::Q8_0}) {
        SCOPED_TRACE(dtype_name(type));
        const RandomMatrix w(type, 37, 96, rng);
        const auto x = random_activations(96 * 33, rng);
        run(Isa::Amx, w, x, 33, &pool);
        EXPECT_EQ(find_kept_layout(w.view), nullptr);  // not registered
        {
            const StableWeights stable(w.bytes.data(), w.bytes.data() + w.bytes.size());
            for (int64_t n_tokens : {33, 5, 16}) {
                const auto expected = run(Isa::Scalar, w, x, n_tokens);
                for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool})
                    EXPECT_EQ(run(Isa::Amx, w, x, n_tokens, p), expected) << n_tokens;
                EXPECT_NE(find_kept_layout(w.view), nullptr);
            }
        }
        EXPECT_EQ(find_kept_layout(w.view), nullptr);
    }
}

TEST(Matmul, PoolGivesSameResultAsSingleThread) {
    std::mt19937 rng(3);
    ThreadPool pool(3);
    for (DType type : {DType::Q4_1, DType::Q8_0, DType::Q4_K, DType::F32}) {
        const RandomMatrix w(type, 301, 512, rng);
        const auto x = random_activations(512 * 5, rng);
        EXPECT_EQ(run(detected_isa(), w, x, 5, &pool), run(detected_isa(), w, x, 5))
            << dtype_name(type);
    }
}

TEST(Matmul, UnsupportedTypeThrows) {
    const MatView w{DType::Q2_K, nullptr, 1, 256};
    std::vector<float> x(256), y(1);
    EXPECT_THROW(matmul(w, x.data(), 1, y.data(), nullptr), std::invalid_argument);
}

TEST(Matmul, RejectsPartialBlocksAndHandlesEmptyRows) {
    std::vector<float> x(64, 1.0f), y(2, NAN);
    EXPECT_THROW(matmul({DType::Q4_1, x.data(), 2, 48}, x.data(), 1, y.data(), nullptr),
                 std::invalid_argument);
    matmul({DType::F32, x.data(), 2, 0}, x.data(), 1, y.data(), nullptr);
    EXPECT_EQ(y, std::vector<float>(2, 0.0f));
}

TEST(Isa, ActiveIsClampedToDetected) {
    const Isa saved = active_isa();
    set_active_isa(Isa::Avx512Vnni);
    EXPECT_LE(active_isa(), detected_isa());
    set_active_isa(Isa::Scalar);
    EXPECT_EQ(active_isa(), Isa::Scalar);
    set_active_isa(saved);
    EXPECT_FALSE(isa_name(detected_isa()).empty());
}

}  // namespace
// Strided F32 rows (cached keys of one head) against a vector, on every ISA this CPU has.
TEST(DotRowsF32, StridedRowsMatchPlainDots) {
    const int64_t cols = 19, stride = 43, n_rows = 7;
    std::vector<float> rows(size_t(stride * n_rows)), x(cols);
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = float(int(i * 7 % 23) - 11) / 8.0f;
    for (int64_t k = 0; k < cols; ++k) x[size_t(k)] = float(k % 5) - 2.0f;
    const Isa saved = active_isa();
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx}) {
        set_active_isa(isa);
        std::vector<float> y(n_rows);
        dot_rows_f32(rows.data() + 3, stride, n_rows, x.data(), cols, y.data());
        for (int64_t r = 0; r < n_rows; ++r) {
            double want = 0.0;
            for (int64_t k = 0; k < cols; ++k)
                want += double(rows[size_t(3 + r * stride + k)]) * x[size_t(k)];
            EXPECT_NEAR(y[size_t(r)], want, 1e-4) << isa_name(active_isa()) << " row " << r;
        }
    }
    set_active_isa(saved);
}

}  // namespace ms::kernels
