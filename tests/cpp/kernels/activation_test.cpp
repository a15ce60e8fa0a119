// Every SIMD silu_gate this CPU runs, against the scalar libm reference.
#include "kernels/activation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

namespace ms::kernels {
namespace {

// Relative error allowed against the reference. Measured over every float in [-100, 100]:
// at most 3.5e-7 (4 ulp, around x = -16.6, where exp(-x) is large).
constexpr double kMaxRelError = 1e-6;
// Results smaller than this are compared absolutely: where exp(-x) is near FLT_MAX the two
// may disagree on overflowing, -0 against -3e-37.
constexpr double kTiny = 1e-30;

std::vector<Isa> supported_simd_isas() {
    std::vector<Isa> isas;
    for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx})
        if (isa <= detected_isa()) isas.push_back(isa);
    return isas;
}

std::vector<float> silu(Isa isa, std::vector<float> gate, const std::vector<float>& up) {
    silu_gate_with(isa, gate.data(), up.data(), int64_t(gate.size()));
    return gate;
}

double error(float actual, float expected) {
    if (std::isnan(expected)) return std::isnan(actual) ? 0.0 : INFINITY;
    if (actual == expected) return 0.0;  // covers inf and the zeros (signs checked apart)
    return std::fabs(double(actual) - expected) / std::max(std::fabs(double(expected)), kTiny);
}

// The largest error of isa against the scalar reference on (gate, up), with where it is.
void expect_close(Isa isa, const std::vector<float>& gate, const std::vector<float>& up) {
    const auto expected = silu(Isa::Scalar, gate, up);
    const auto actual = silu(isa, gate, up);
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < gate.size(); ++i)
        if (const double e = error(actual[i], expected[i]); e > worst) worst = e, at = i;
    EXPECT_LE(worst, kMaxRelError) << isa_name(isa) << " at gate=" << gate[at] << " up=" << up[at]
                                   << ": " << actual[at] << " vs " << expected[at];
    std::ostringstream worst_text;
    worst_text << worst;
    ::testing::Test::RecordProperty(std::string(isa_name(isa)) + "_max_rel_error",
                                    worst_text.str());
    for (size_t i = 0; i < gate.size(); ++i) {
        if (expected[i] == 0.0f) {
            ASSERT_EQ(std::signbit(actual[i]), std::signbit(expected[i])) << "gate=" << gate[i];
        }
    }
}

// Every float in [-100, 100] in steps of 2^-12, and every 1021st float bit pattern in that
// range (which reaches the denormals and tiny normals), up = 1 so that the error is silu's.
TEST(SiluGate, DenseSweepAgreesWithScalar) {
    std::vector<float> gate;
    for (int i = -100 * 4096; i <= 100 * 4096; ++i) gate.push_back(float(i) / 4096.0f);
    for (uint32_t bits = 0; bits <= std::bit_cast<uint32_t>(100.0f); bits += 1021) {
        gate.push_back(std::bit_cast<float>(bits));
        gate.push_back(-std::bit_cast<float>(bits));
    }
    const std::vector<float> up(gate.size(), 1.0f);
    for (Isa isa : supported_simd_isas()) expect_close(isa, gate, up);
}

TEST(SiluGate, ExtremesNeitherOverflowNorLoseSigns) {
    const float max = std::numeric_limits<float>::max();
    const float denorm = std::numeric_limits<float>::denorm_min();
    const std::vector<float> gate = {
        0.0f,  -0.0f,  denorm, -denorm, 1e-40f, -1e-40f, 1e-38f,  -1e-38f, 86.5f,   -86.5f,
        88.0f, -88.0f, 88.72f, -88.72f, 88.73f, -88.73f, 89.0f,   -89.0f,  100.0f,  -100.0f,
        1e30f, -1e30f, max,    -max,    20.0f,  -20.0f,  -87.34f, 87.34f,  -103.9f, 103.9f};
    for (Isa isa : supported_simd_isas()) {
        // Against up = 1 and up = -3: the sign of a zero result follows both factors.
        for (float u : {1.0f, -3.0f}) {
            const std::vector<float> up(gate.size(), u);
            expect_close(isa, gate, up);
            const auto out = silu(isa, gate, up);
            for (size_t i = 0; i < gate.size(); ++i) {
                EXPECT_FALSE(std::isnan(out[i])) << "gate=" << gate[i];
                if (gate[i] >= 20.0f) {
                    EXPECT_EQ(out[i], gate[i] * u) << "gate=" << gate[i];
                }
                if (gate[i] <= -89.0f) {
                    EXPECT_EQ(out[i], 0.0f) << "gate=" << gate[i];
                }
            }
        }
    }
}

TEST(SiluGate, NonFiniteInputsDoNotDisturbNeighbours) {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> gate = {NAN, 1.0f, inf, -2.0f, -inf, 3.0f, NAN, -4.0f, 0.5f,
                                     NAN, 7.0f, inf, -1.0f, -inf, 2.0f, NAN, -5.0f};
    const std::vector<float> up(gate.size(), 1.0f);
    for (Isa isa : supported_simd_isas()) expect_close(isa, gate, up);  // NaN where scalar's is
}

// Every length up to a few vectors (the tails), random gates and ups; nothing past n is
// written.
TEST(SiluGate, TailsAndRandomDataAgreeWithScalar) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 4.0f);
    for (Isa isa : supported_simd_isas())
        for (int64_t n = 0; n <= 70; ++n) {
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " n=" << n);
            std::vector<float> gate(size_t(n) + 1), up(size_t(n) + 1);
            for (auto& g : gate) g = normal(rng);
            for (auto& u : up) u = normal(rng);
            const float sentinel = gate.back();
            gate.pop_back(), up.pop_back();
            expect_close(isa, gate, up);
            gate.push_back(sentinel);
            silu_gate_with(isa, gate.data(), up.data(), n);
            EXPECT_EQ(gate.back(), sentinel);
        }
}

// silu_gate follows active_isa (as MATRIXSERVE_MAX_ISA sets it): capped at scalar it is
// the reference bit for bit.
TEST(SiluGate, FollowsActiveIsa) {
    const std::vector<float> gate = {-3.0f, -0.5f, 0.25f, 1.5f, 7.0f};
    const std::vector<float> up = {0.5f, -2.0f, 3.0f, 1.0f, -1.0f};
    const Isa saved = active_isa();
    set_active_isa(Isa::Scalar);
    auto out = gate;
    silu_gate(out.data(), up.data(), int64_t(out.size()));
    set_active_isa(saved);
    for (size_t i = 0; i < gate.size(); ++i)
        EXPECT_EQ(out[i], gate[i] / (1.0f + std::exp(-gate[i])) * up[i]);
}

}  // namespace
}  // namespace ms::kernels
