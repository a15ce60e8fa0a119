#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/amx.h"
#include "kernels/row_dot.h"
#include "kernels/thread_pool.h"

namespace ms::kernels {
namespace {

// Rows per tile: a tile of weights (about this many bytes) stays in L1/L2 while every token
// of a prefill batch is multiplied against it.
constexpr int64_t kTileBytes = 32 * 1024;
// Rows handled together: a multiple of every kernel's row group.
constexpr int64_t kRowBlock = 8;
// Multiply-adds worth one pool task; smaller matmuls run on the caller alone.
constexpr int64_t kMinMacsPerTask = 64 * 1024;

Isa probe_isa() {
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl");
    if (avx512 && __builtin_cpu_supports("avx512vnni"))
        return amx_available() ? Isa::Amx : Isa::Avx512Vnni;
    if (avx512) return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
    return Isa::Scalar;
}

// MATRIXSERVE_MAX_ISA (an isa_name) caps the instruction set, e.g. to compare AMX with VNNI in
// one binary; worker processes inherit it.
Isa initial_isa() {
    const char* cap = std::getenv("MATRIXSERVE_MAX_ISA");
    if (!cap || !*cap) return detected_isa();
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Amx})
        if (isa_name(isa) == cap) return std::min(isa, detected_isa());
    std::fprintf(stderr,
                 "matrixserve: MATRIXSERVE_MAX_ISA=%s is not one of scalar, avx2, avx512, "
                 "avx512vnni, amx; using %s\n",
                 cap, std::string(isa_name(detected_isa())).c_str());
    return detected_isa();
}

std::atomic<Isa>& active_isa_slot() {
    static std::atomic<Isa> slot{initial_isa()};
    return slot;
}

Isa clamp_isa(Isa isa) {
    return std::min(isa, detected_isa());
}

// Each ISA's tables, indexed by Isa.
struct IsaTables {
    DotRows (*rows)(DType);
    DotTokens (*tokens)(DType);
};
constexpr IsaTables kIsaTables[] = {{scalar_dot_rows, scalar_dot_tokens},
                                    {avx2_dot_rows, avx2_dot_tokens},
                                    {avx512_dot_rows, avx512_dot_tokens},
                                    {avx512_vnni_dot_rows, avx512_vnni_dot_tokens},
                                    // AMX's own kernels (amx.h) are called before these.
                                    {avx512_vnni_dot_rows, avx512_vnni_dot_tokens}};

// The kernels of the best ISA at or below isa that has a row kernel for the type. The
// multi-token kernel comes from that same ISA (or is null), so it matches the row kernel bit
// for bit.
struct Kernels {
    DotRows rows = nullptr;
    DotTokens tokens = nullptr;
};

Kernels kernels_for(Isa isa, DType type) {
    for (int level = int(isa); level >= 0; --level)
        if (const DotRows rows = kIsaTables[level].rows(type))
            return {rows, kIsaTables[level].tokens(type)};
    return {};
}

// Activations in the weight type's format, one row per token. F32 needs no copy.
const std::byte* prepare_activations(ActFormat format, const float* x, int64_t cols,
                                     int64_t n_tokens, ThreadPool* pool) {
    if (format == ActFormat::F32) return reinterpret_cast<const std::byte*>(x);
    thread_local std::vector<std::byte> scratch;
    const int64_t row_bytes = act_row_bytes(format, cols);
    scratch.resize(size_t(row_bytes * n_tokens));
    std::byte* out = scratch.data();
    auto quantize_tokens = [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
            quantize_act_row(format, x + t * cols, out + t * row_bytes, cols);
    };
    if (pool) {
        pool->parallel_for(n_tokens, quantize_tokens, std::max<int64_t>(1, kMinMacsPerTask / cols));
    } else {
        quantize_tokens(0, n_tokens);
    }
    return out;
}

}  // namespace

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar:
            return "scalar";
        case Isa::Avx2:
            return "avx2";
        case Isa::Avx512:
            return "avx512";
        case Isa::Avx512Vnni:
            return "avx512vnni";
        case Isa::Amx:
            return "amx";
    }
    return "unknown";
}

Isa detected_isa() {
    static const Isa isa = probe_isa();
    return isa;
}

Isa active_isa() {
    return active_isa_slot().load(std::memory_order_relaxed);
}

void set_active_isa(Isa isa) {
    active_isa_slot().store(clamp_isa(isa), std::memory_order_relaxed);
}

void matmul(const MatView& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
    matmul_with(active_isa(), w, x, n_tokens, y, pool);
}

void matmul_with(Isa isa, const MatView& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool* pool) {
    const Kernels kernels = kernels_for(clamp_isa(isa), w.type);
    if (!kernels.rows)
        throw std::invalid_argument("matmul: unsupported weight type " +
                                    std::string(dtype_name(w.type)));
    if (w.cols % traits(w.type).block_elems != 0)
        throw std::invalid_argument("matmul: row length is not a whole number of blocks");
    if (w.rows <= 0 || n_tokens <= 0) return;
    if (w.cols <= 0) return std::fill(y, y + w.rows * n_tokens, 0.0f);
    if (clamp_isa(isa) == Isa::Amx && amx_supports(w.type))
        return amx_matmul(w, x, n_tokens, y, pool);
    const ActFormat format = act_format(w.type);
    const std::byte* act = prepare_activations(format, x, w.cols, n_tokens, pool);
    const int64_t act_bytes = act_row_bytes(format, w.cols);
    const int64_t w_bytes = row_bytes(w.type, w.cols);
    const auto* weights = static_cast<const std::byte*>(w.data);
    // Tiles and pool tasks are whole row blocks, so the kernels' row groups stay full.
    const int64_t tile_rows = std::max<int64_t>(1, kTileBytes / w_bytes / kRowBlock) * kRowBlock;

    auto multiply_rows = [&](int64_t r0, int64_t r1) {
        for (int64_t tile = r0; tile < r1; tile += tile_rows) {
            const int64_t tile_end = std::min(r1, tile + tile_rows);
            const std::byte* tile_weights = weights + tile * w_bytes;
            // Several tokens per weight block where the ISA has a kernel for it (same results).
            if (n_tokens > 1 && kernels.tokens) {
                kernels.tokens(tile_weights, w_bytes, tile_end - tile, act, act_bytes, n_tokens,
                               w.cols, y + tile, w.rows);
            } else {
                for (int64_t t = 0; t < n_tokens; ++t)
                    kernels.rows(tile_weights, w_bytes, tile_end - tile, act + t * act_bytes,
                                 w.cols, y + t * w.rows + tile);
            }
        }
    };
    if (!pool) return multiply_rows(0, w.rows);
    const int64_t n_blocks = (w.rows + kRowBlock - 1) / kRowBlock;
    const int64_t macs_per_block = kRowBlock * w.cols * n_tokens;
    pool->parallel_for(
        n_blocks,
        [&](int64_t b0, int64_t b1) {
            multiply_rows(b0 * kRowBlock, std::min(w.rows, b1 * kRowBlock));
        },
        std::max<int64_t>(1, kMinMacsPerTask / macs_per_block));
}

void dot_rows_f32(const float* rows, int64_t stride, int64_t n_rows, const float* x, int64_t cols,
                  float* y) {
    kernels_for(active_isa(), DType::F32)
        .rows(rows, stride * int64_t(sizeof(float)), n_rows, x, cols, y);
}

}  // namespace ms::kernels
