// The AVX-512 kernels, built against SIMDe's emulation (see CMakeLists.txt), checked against
// the scalar ones, so they are tested on CPUs without AVX-512 too.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/row_dot.h"
#include "random_matrix.h"
#include "token_batch.h"

namespace ms::kernels {

// The emulated builds of avx512_dot_rows and avx512_vnni_dot_rows, renamed at compile time.
DotRows emulated_avx512_dot_rows(DType type);
DotRows emulated_avx512_vnni_dot_rows(DType type);
DotTokens emulated_avx512_dot_tokens(DType type);
DotTokens emulated_avx512_vnni_dot_tokens(DType type);

namespace {

using namespace test_data;

std::vector<float> dot_all_rows(DotRows dot, const RandomMatrix& w,
                                const std::vector<uint8_t>& act) {
    std::vector<float> y(size_t(w.view.rows));
    dot(w.view.data, row_bytes(w.view.type, w.view.cols), w.view.rows, act.data(), w.view.cols,
        y.data());
    return y;
}

TEST(EmulatedAvx512, AgreesWithScalar) {
    std::mt19937 rng(11);
    using Table = DotRows (*)(DType);
    const std::pair<const char*, Table> tables[] = {{"avx512", emulated_avx512_dot_rows},
                                                    {"avx512vnni", emulated_avx512_vnni_dot_rows}};
    for (const auto& [name, table] : tables)
        for (DType type : kTypes) {
            const DotRows dot = table(type);
            if (!dot) continue;  // this ISA defers the type to a lower one
            for (int64_t cols : test_cols(type))
                for (int64_t rows : {1, 6}) {
                    SCOPED_TRACE(::testing::Message() << name << " " << dtype_name(type)
                                                      << " rows=" << rows << " cols=" << cols);
                    const RandomMatrix w(type, rows, cols, rng);
                    const auto x = random_activations(cols, rng);
                    const ActFormat format = act_format(type);
                    std::vector<uint8_t> act(size_t(act_row_bytes(format, cols)));
                    quantize_act_row(format, x.data(), act.data(), cols);
                    const auto expected = dot_all_rows(scalar_dot_rows(type), w, act);
                    const auto actual = dot_all_rows(dot, w, act);
                    const float tolerance = 2e-5f * std::max(1.0f, max_abs(expected));
                    for (size_t r = 0; r < expected.size(); ++r)
                        ASSERT_NEAR(actual[r], expected[r], tolerance) << "row " << r;
                }
        }
}

// On AVX-512 CPUs without AMX llama.cpp sums the legacy formats as it does on AVX2; so do ours.
TEST(EmulatedAvx512, LegacyFormatsBitIdenticalToAvx2) {
    if (detected_isa() < Isa::Avx2) GTEST_SKIP() << "no AVX2 to compare with";
    std::mt19937 rng(14);
    check_legacy_equals_avx2(emulated_avx512_dot_rows, emulated_avx512_dot_tokens, rng);
    check_legacy_equals_avx2(emulated_avx512_vnni_dot_rows, emulated_avx512_vnni_dot_tokens, rng);
}

TEST(EmulatedAvx512, TokensMatchScalarAndRowsPerToken) {
    std::mt19937 rng(12);
    check_dot_tokens(emulated_avx512_dot_rows, emulated_avx512_dot_tokens, rng);
    check_dot_tokens(emulated_avx512_vnni_dot_rows, emulated_avx512_vnni_dot_tokens, rng);
}

}  // namespace
}  // namespace ms::kernels
