// AMX-INT8 matmul for Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 weights against Q8_0/Q8_1 activations.
// Compiled with -mamx-tile -mamx-int8 (and AVX-512 for the float part); matmul.cpp calls it only
// when amx_available().
//
// One tile multiply gives the exact integer sums of one 32-element block for 16 weight rows x
// 16 tokens. Weights (tile A, 16 rows x 32 bytes) are unpacked to bytes per 16-row slab, once
// for all tokens; activations (tile B, the VNNI layout: 8 rows of 16 tokens x 4 bytes) are
// quantized and rearranged once per call. Each block's sums are then scaled in float exactly as
// the scalar reference does, so results are bit-identical to it (this file is compiled with
// -ffp-contract=off: no fused multiply-adds).
#include "kernels/amx.h"

#include <asm/prctl.h>
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/quant_blocks.h"
#include "kernels/stable_weights.h"
#include "kernels/thread_pool.h"

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() as the merge source of their unmasked
// forms, which -Wmaybe-uninitialized reports once they are inlined (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ms::kernels {
namespace {

// This file is compiled for AMX and AVX-512. Its buffers get an allocator type of their own, so
// std::vector's member templates are instantiated for this file only (internal linkage): the
// linker keeps one copy of an instance, and a copy built with AVX-512 instructions must never
// stand in for another file's generic std::vector<float> (seen: SIGILL on an AVX2 CPU).
template <class T>
struct LocalAllocator : std::allocator<T> {
    LocalAllocator() = default;
    template <class U>
    LocalAllocator(const LocalAllocator<U>&) {}
    template <class U>
    struct rebind {
        using other = LocalAllocator<U>;
    };
};
template <class T>
using Buffer = std::vector<T, LocalAllocator<T>>;

constexpr int kTile = 16;            // weight rows and tokens per tile multiply
constexpr int kTileBytes = 16 * 32;  // one block of 16 rows (A) or 16 tokens (B)
// Calls with fewer tokens than this go through VNNI dot products instead (same bits).
constexpr int64_t kMinTileTokens = 4;

// Linux's permission for the tile data state (arch/x86/include/uapi/asm/prctl.h).
constexpr int kXfeatureTileData = 18;

bool cpu_has_amx_int8() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const bool tile = (edx >> 24) & 1, int8 = (edx >> 25) & 1;
    return tile && int8;
}

bool request_tile_permission() {
#ifdef ARCH_REQ_XCOMP_PERM
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, kXfeatureTileData) == 0;
#else
    return false;
#endif
}

// Tiles 0 and 3: a block's sums C (16 x 16 int32); 1 and 4: weights A (16 rows x 32 bytes); 2
// and 5: activations B (8 rows x 64 bytes).
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {64, 32, 64, 64, 32, 64};
    uint8_t rows[16] = {16, 16, 8, 16, 16, 8};
};

void configure_tiles_once() {
    thread_local bool configured = false;
    if (configured) return;
    static const TileConfig config;
    _tile_loadconfig(&config);
    configured = true;
}

// One 16-row slab of weights as tile A per block (16 rows x 32 bytes at b * kTileBytes), with the
// blocks' scales as floats (block b, row r at b * 16 + r). Rows past the matrix end are zero.
struct SlabView {
    const uint8_t* bytes;
    const float* d;
    const float* m;
};

// A slab unpacked for one call.
struct WeightSlab {
    Buffer<uint8_t> bytes;
    Buffer<float> d, m;
};

// Every slab of a matrix unpacked once, kept while the matrix's memory is stable
// (stable_weights.h): slab s at s times one slab's share of each vector.
struct UnpackedMatrix {
    int64_t n_blocks = 0;
    Buffer<uint8_t> bytes;
    Buffer<float> d, m;

    SlabView slab(int64_t s) const {
        return {&bytes[size_t(s * n_blocks * kTileBytes)], &d[size_t(s * n_blocks * kTile)],
                &m[size_t(s * n_blocks * kTile)]};
    }
};

int64_t slab_count(const MatView& w) {
    return (w.rows + kTile - 1) / kTile;
}

// What an UnpackedMatrix of w takes: tile bytes and two float scales per row and block.
size_t unpacked_bytes(const MatView& w) {
    return size_t(slab_count(w) * (w.cols / kQK)) * (kTileBytes + 2 * kTile * sizeof(float));
}

// F16C's conversion: exact, like fp16_to_fp32, without its call and branches.
inline float half(uint16_t h) {
    return _cvtsh_ss(h);
}

// Formats with a minimum have unsigned values (tile multiply: unsigned x signed bytes); the
// others are signed (signed x signed).
template <typename Block>
constexpr bool kHasMin = std::is_same_v<Block, BlockQ4_1> || std::is_same_v<Block, BlockQ5_1>;
template <typename Block>
constexpr bool kHasFifthBit = std::is_same_v<Block, BlockQ5_0> || std::is_same_v<Block, BlockQ5_1>;

// A block's 32 values as bytes: element j of a nibble format is the low nibble of byte j for
// j < 16, the high nibble of byte j - 16 after; Q5 formats add bit j of qh as bit 4; the
// symmetric ones are stored offset by 8 (Q4_0) or 16 (Q5_0).
template <typename Block>
__m256i block_values(const Block& block) {
    if constexpr (std::is_same_v<Block, BlockQ8_0>) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.qs));
    } else {
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.qs));
        const __m128i low_mask = _mm_set1_epi8(0x0F);
        __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low_mask),
                                     _mm_and_si128(packed, low_mask));
        if constexpr (kHasFifthBit<Block>)
            q = _mm256_or_si256(
                q, _mm256_and_si256(_mm256_movm_epi8(load_qh(block.qh)), _mm256_set1_epi8(0x10)));
        if constexpr (std::is_same_v<Block, BlockQ4_0>) q = _mm256_sub_epi8(q, _mm256_set1_epi8(8));
        if constexpr (std::is_same_v<Block, BlockQ5_0>)
            q = _mm256_sub_epi8(q, _mm256_set1_epi8(16));
        return q;
    }
}

template <typename Block>
void block_scales(const Block& block, float& d, float& m) {
    d = half(block.d);
    if constexpr (kHasMin<Block>) m = half(block.m);
}

// Streaming a matrix larger than the caches: ask for the row one slab ahead (about twice the
// hardware prefetcher's rate alone for one token).
inline void prefetch_row(const std::byte* row, int64_t stride, const std::byte* matrix_end) {
    const std::byte* ahead = row + kTile * stride;
    for (const std::byte* p = ahead; p < std::min(ahead + stride, matrix_end); p += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}

// The scales of 16 rows at a time: the first 4 bytes of a block are d (and m, for formats with
// a minimum) in fp16, gathered from the 16 rows and converted at once.
template <typename Block>
void full_slab_scales(const std::byte* first_row, int64_t stride, int64_t n_blocks, float* d,
                      float* m) {
    const __m512i row_offsets =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(int32_t(stride)));
    for (int64_t b = 0; b < n_blocks; ++b) {
        const __m512i words =
            _mm512_i32gather_epi32(row_offsets, first_row + b * int64_t(sizeof(Block)), 1);
        _mm512_storeu_ps(d + b * kTile, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words)));
        if constexpr (kHasMin<Block>)
            _mm512_storeu_ps(m + b * kTile,
                             _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words, 16))));
    }
}

// The scales of a slab's rows (`rows` of them from `first_row`, stride bytes apart).
template <typename Block>
void slab_scales(const std::byte* first_row, int64_t stride, int64_t rows, int64_t n_blocks,
                 float* d, float* m) {
    if (rows == kTile) return full_slab_scales<Block>(first_row, stride, n_blocks, d, m);
    for (int64_t r = 0; r < rows; ++r) {
        const auto* blocks = reinterpret_cast<const Block*>(first_row + r * stride);
        for (int64_t b = 0; b < n_blocks; ++b)
            block_scales(blocks[b], d[b * kTile + r], m[b * kTile + r]);
    }
}

// Writes the slab of rows first_row.. into bytes, d and m (sized for a slab; rows past the end
// must already be zero).
template <typename Block>
void unpack_slab(const MatView& w, int64_t first_row, uint8_t* bytes, float* d, float* m) {
    const int64_t n_blocks = w.cols / kQK;
    const int64_t stride = row_bytes(w.type, w.cols);
    const int64_t rows = std::min<int64_t>(kTile, w.rows - first_row);
    const auto* matrix = static_cast<const std::byte*>(w.data);
    const std::byte* matrix_end = matrix + w.rows * stride;
    for (int64_t r = 0; r < rows; ++r) {
        const std::byte* row = matrix + (first_row + r) * stride;
        prefetch_row(row, stride, matrix_end);
        const auto* blocks = reinterpret_cast<const Block*>(row);
        for (int64_t b = 0; b < n_blocks; ++b)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(bytes + b * kTileBytes + r * kQK),
                                block_values(blocks[b]));
    }
    slab_scales<Block>(matrix + first_row * stride, stride, rows, n_blocks, d, m);
}

template <typename Block>
SlabView unpack_slab(const MatView& w, int64_t first_row, WeightSlab& slab) {
    const int64_t n_blocks = w.cols / kQK;
    if (w.rows - first_row < kTile || slab.d.size() != size_t(n_blocks * kTile)) {
        slab.bytes.assign(size_t(n_blocks * kTileBytes), 0);  // rows past the end: zero
        slab.d.assign(size_t(n_blocks * kTile), 0.0f);
        slab.m.assign(size_t(n_blocks * kTile), 0.0f);
    }
    unpack_slab<Block>(w, first_row, slab.bytes.data(), slab.d.data(), slab.m.data());
    return {slab.bytes.data(), slab.d.data(), slab.m.data()};
}

template <typename Block>
std::shared_ptr<const void> unpack_matrix(const MatView& w, ThreadPool* pool) {
    auto unpacked = std::make_shared<UnpackedMatrix>();
    const int64_t n_blocks = unpacked->n_blocks = w.cols / kQK;
    const int64_t slabs = slab_count(w);
    unpacked->bytes.assign(size_t(slabs * n_blocks * kTileBytes), 0);
    unpacked->d.assign(size_t(slabs * n_blocks * kTile), 0.0f);
    unpacked->m.assign(size_t(slabs * n_blocks * kTile), 0.0f);
    auto unpack = [&](int64_t s0, int64_t s1) {
        for (int64_t s = s0; s < s1; ++s)
            unpack_slab<Block>(w, s * kTile, &unpacked->bytes[size_t(s * n_blocks * kTileBytes)],
                               &unpacked->d[size_t(s * n_blocks * kTile)],
                               &unpacked->m[size_t(s * n_blocks * kTile)]);
    };
    if (pool)
        pool->parallel_for(slabs, unpack);
    else
        unpack(0, slabs);
    return unpacked;
}

// The activations of every group of 16 tokens as tile B per block, with their scales (d) and
// scaled sums (s, used against formats with a minimum, as Q8_1 does) as floats. Tokens past the
// end are zero.
struct PackedActivations {
    Buffer<uint8_t> bytes;  // tile path: group g, block b at (g * n_blocks + b) * kTileBytes
    Buffer<int8_t> plain;   // few tokens: token t, block b at (t * n_blocks + b) * 32
    Buffer<float> d, s;     // group g, block b, token n at (g * n_blocks + b) * 16 + n
};

// One 32-element block of activations to 8 bits, byte for byte as quantize_act_row's Q8_0/Q8_1
// (amax / 127 as the scale, values rounded half to even; every step is exact or correctly
// rounded, so the vector form gives the same bytes): the values into qs, the scale rounded to
// fp16 into d, and d * sum(qs) rounded to fp16 into s.
inline void quantize_block(const float* x, int8_t* qs, float& d, float& s) {
    const __m512 low = _mm512_loadu_ps(x), high = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(low), _mm512_abs_ps(high)));
    const float scale = amax / 127.0f;
    const __m512 inv_scale = _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    const __m512i q_low = _mm512_cvtps_epi32(_mm512_roundscale_ps(
        _mm512_mul_ps(low, inv_scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m512i q_high = _mm512_cvtps_epi32(_mm512_roundscale_ps(
        _mm512_mul_ps(high, inv_scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtepi32_epi8(q_low));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtepi32_epi8(q_high));
    const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q_low, q_high));
    // F16C rounds to nearest even like fp32_to_fp16 (the values are finite).
    d = half(_cvtss_sh(scale, _MM_FROUND_TO_NEAREST_INT));
    s = half(_cvtss_sh(float(sum) * scale, _MM_FROUND_TO_NEAREST_INT));
}

// Token t of x into out (sized by pack_activations): its values into the tiles or, for the
// few-token path, plain.
void pack_token(const float* x, int64_t cols, int64_t t, bool tiles, PackedActivations& out) {
    const int64_t n_blocks = cols / kQK;
    const int64_t g = t / kTile, n = t % kTile;
    for (int64_t b = 0; b < n_blocks; ++b) {
        const size_t at = size_t((g * n_blocks + b) * kTile + n);
        if (!tiles) {
            quantize_block(x + t * cols + b * kQK, &out.plain[size_t((t * n_blocks + b) * kQK)],
                           out.d[at], out.s[at]);
            continue;
        }
        int8_t qs[kQK];
        quantize_block(x + t * cols + b * kQK, qs, out.d[at], out.s[at]);
        // VNNI layout: tile row i holds elements 4i..4i+3 of every token.
        auto* tile =
            reinterpret_cast<uint32_t*>(&out.bytes[size_t((g * n_blocks + b) * kTileBytes)]);
        for (int i = 0; i < kQK / 4; ++i) std::memcpy(&tile[i * kTile + n], qs + 4 * i, 4);
    }
}

// Tokens go to the pool's threads (each writes only its own bytes).
void pack_activations(const float* x, int64_t cols, int64_t n_tokens, PackedActivations& out,
                      ThreadPool* pool) {
    const int64_t n_blocks = cols / kQK;
    const int64_t groups = (n_tokens + kTile - 1) / kTile;
    const bool tiles = n_tokens >= kMinTileTokens;
    // Every lane is written unless the last group has tokens past the end, which must be zero.
    const auto size = [padded = n_tokens % kTile != 0](auto& v, int64_t n) {
        if (padded)
            v.assign(size_t(n), {});
        else
            v.resize(size_t(n));
    };
    if (tiles)
        size(out.bytes, groups * n_blocks * kTileBytes);
    else
        out.plain.resize(size_t(n_tokens * n_blocks * kQK));
    size(out.d, groups * n_blocks * kTile);
    size(out.s, groups * n_blocks * kTile);
    auto pack = [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) pack_token(x, cols, t, tiles, out);
    };
    if (pool && n_tokens > 1)
        pool->parallel_for(n_tokens, pack, std::max<int64_t>(1, 16 * 1024 / cols));
    else
        pack(0, n_tokens);
}

// One block's share of 16 (row, token) results, in the scalar reference's float order:
// (d_w * d_x) * float(block sum) [+ m_w * s_x]. Both paths below use it, so they give the same
// bits.
template <typename Block>
inline __m512 block_term(__m512 w_d, __m512 x_d, __m512 block_sum, __m512 w_m, __m512 x_s) {
    const __m512 term = _mm512_mul_ps(_mm512_mul_ps(w_d, x_d), block_sum);
    if constexpr (kHasMin<Block>) return _mm512_add_ps(term, _mm512_mul_ps(w_m, x_s));
    return term;
}

// The exact integer sums of one block for the slab's 16 rows x the group's 16 tokens. Two sets
// of tiles, (C, A, B) = (0, 1, 2) and (3, 4, 5), take alternate blocks, so one block's multiply
// overlaps the next one's loads. (The tile intrinsics are macros that need literal numbers.)
#define MS_AMX_BLOCK_SUMS(C, A, B)                                       \
    do {                                                                 \
        _tile_zero(C);                                                   \
        _tile_loadd(A, weights, kQK);                                    \
        _tile_loadd(B, activations, 64);                                 \
        if constexpr (kHasMin<Block>)                                    \
            _tile_dpbusd(C, A, B); /* unsigned nibbles x signed bytes */ \
        else                                                             \
            _tile_dpbssd(C, A, B);                                       \
        _tile_stored(C, sums, 64);                                       \
    } while (false)

template <typename Block>
void block_sums(bool second_set, const uint8_t* weights, const uint8_t* activations,
                int32_t* sums) {
    if (second_set)
        MS_AMX_BLOCK_SUMS(3, 4, 5);
    else
        MS_AMX_BLOCK_SUMS(0, 1, 2);
}
#undef MS_AMX_BLOCK_SUMS

// y for one slab of 16 rows and one group of 16 tokens: first every block's integer sums, then
// per (row, token), block by block, sum += (d_w * d_x) * float(block sum) [+ m_w * s_x], the
// scalar reference's order.
template <typename Block>
void multiply_slab(SlabView slab, const PackedActivations& acts, int64_t n_blocks, int64_t group,
                   float out[kTile][kTile]) {
    constexpr int64_t kSums = kTile * kTile;
    thread_local Buffer<int32_t> storage;
    storage.resize(size_t((n_blocks + 1) * kSums));
    // 64-byte aligned, so each row of sums is one aligned load
    int32_t* sums = storage.data() + (-(reinterpret_cast<uintptr_t>(storage.data()) / 4) & 15);
    const uint8_t* act_tiles = &acts.bytes[size_t(group * n_blocks * kTileBytes)];
    for (int64_t b = 0; b < n_blocks; ++b) {
        const uint8_t* weights = slab.bytes + b * kTileBytes;
        const uint8_t* activations = act_tiles + b * kTileBytes;
        block_sums<Block>(b % 2 == 1, weights, activations, sums + b * kSums);
    }
    __m512 acc[kTile];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b) {
        const int64_t at = group * n_blocks + b;
        const __m512 x_d = _mm512_loadu_ps(&acts.d[size_t(at * kTile)]);
        const __m512 x_s = _mm512_loadu_ps(&acts.s[size_t(at * kTile)]);
        const float* w_d = slab.d + b * kTile;
        const float* w_m = slab.m + b * kTile;
        const int32_t* block = sums + b * kSums;
#pragma GCC unroll 16
        for (int r = 0; r < kTile; ++r) {
            const __m512 block_sum = _mm512_cvtepi32_ps(_mm512_load_si512(block + r * kTile));
            acc[r] = _mm512_add_ps(acc[r], block_term<Block>(_mm512_set1_ps(w_d[r]), x_d, block_sum,
                                                             _mm512_set1_ps(w_m[r]), x_s));
        }
    }
    for (int r = 0; r < kTile; ++r) _mm512_storeu_ps(out[r], acc[r]);
}

inline int32_t add_lanes(__m256i v) {
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4E));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xB1));
    return _mm_cvtsi128_si32(sum);
}

// Few tokens (a tile multiply would be mostly padding): the same exact block sums from AVX-512
// VNNI dot products, weights read straight from the matrix a row at a time, then the same float
// steps per (row, token) as multiply_slab, so the results are the same bits.
template <typename Block>
void multiply_few_tokens(const MatView& w, const PackedActivations& acts, int64_t n_tokens,
                         float* y, int64_t first_slab, int64_t end_slab) {
    const int64_t n_blocks = w.cols / kQK;
    const int64_t stride = row_bytes(w.type, w.cols);
    const auto* matrix = static_cast<const std::byte*>(w.data);
    const std::byte* matrix_end = matrix + w.rows * stride;
    thread_local Buffer<int32_t> sums;    // token n, block b, row r at (n * n_blocks + b) * 16 + r
    thread_local Buffer<float> w_d, w_m;  // block b, row r at b * 16 + r
    for (int64_t s = first_slab; s < end_slab; ++s) {
        const int64_t row0 = s * kTile;
        const int64_t rows = std::min<int64_t>(kTile, w.rows - row0);
        sums.resize(size_t(n_tokens * n_blocks * kTile));
        w_d.resize(size_t(n_blocks * kTile));
        w_m.resize(size_t(n_blocks * kTile));
        if (rows < kTile) {  // the lanes of rows past the end: zero
            std::fill(sums.begin(), sums.end(), 0);
            std::fill(w_d.begin(), w_d.end(), 0.0f);
            std::fill(w_m.begin(), w_m.end(), 0.0f);
        }
        slab_scales<Block>(matrix + row0 * stride, stride, rows, n_blocks, w_d.data(), w_m.data());
        for (int64_t r = 0; r < rows; ++r) {
            const std::byte* row = matrix + (row0 + r) * stride;
            prefetch_row(row, stride, matrix_end);
            const auto* blocks = reinterpret_cast<const Block*>(row);
            for (int64_t b = 0; b < n_blocks; ++b) {
                const __m256i v = block_values(blocks[b]);
                for (int64_t n = 0; n < n_tokens; ++n) {
                    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                        &acts.plain[size_t((n * n_blocks + b) * kQK)]));
                    const __m256i zero = _mm256_setzero_si256();
                    // Signed weights: |w| * (x * sign(w)), as activations never reach -128.
                    sums[size_t((n * n_blocks + b) * kTile + r)] =
                        add_lanes(kHasMin<Block> ? _mm256_dpbusd_epi32(zero, v, x)
                                                 : _mm256_dpbusd_epi32(zero, _mm256_abs_epi8(v),
                                                                       _mm256_sign_epi8(x, v)));
                }
            }
        }
        for (int64_t n = 0; n < n_tokens; ++n) {
            __m512 acc = _mm512_setzero_ps();
            for (int64_t b = 0; b < n_blocks; ++b) {
                const int64_t at = b * kTile + n;  // in the first group of packed activations
                const __m512 block_sum = _mm512_cvtepi32_ps(
                    _mm512_loadu_si512(&sums[size_t((n * n_blocks + b) * kTile)]));
                acc = _mm512_add_ps(acc,
                                    block_term<Block>(_mm512_loadu_ps(&w_d[size_t(b * kTile)]),
                                                      _mm512_set1_ps(acts.d[size_t(at)]), block_sum,
                                                      _mm512_loadu_ps(&w_m[size_t(b * kTile)]),
                                                      _mm512_set1_ps(acts.s[size_t(at)])));
            }
            alignas(64) float column[kTile];
            _mm512_store_ps(column, acc);
            for (int64_t r = 0; r < rows; ++r) y[n * w.rows + row0 + r] = column[r];
        }
    }
}

// With `unpacked` (the matrix's kept layout, or null) no slab is unpacked here.
template <typename Block>
void multiply(const MatView& w, const UnpackedMatrix* unpacked, const PackedActivations& acts,
              int64_t n_tokens, float* y, int64_t first_slab, int64_t end_slab) {
    if (n_tokens < kMinTileTokens)
        return multiply_few_tokens<Block>(w, acts, n_tokens, y, first_slab, end_slab);
    configure_tiles_once();
    thread_local WeightSlab scratch;
    const int64_t n_blocks = w.cols / kQK;
    const int64_t groups = (n_tokens + kTile - 1) / kTile;
    for (int64_t s = first_slab; s < end_slab; ++s) {
        const int64_t row0 = s * kTile;
        const int64_t rows = std::min<int64_t>(kTile, w.rows - row0);
        const SlabView slab = unpacked ? unpacked->slab(s) : unpack_slab<Block>(w, row0, scratch);
        for (int64_t g = 0; g < groups; ++g) {
            float out[kTile][kTile];  // [row][token]
            multiply_slab<Block>(slab, acts, n_blocks, g, out);
            const int64_t tokens = std::min<int64_t>(kTile, n_tokens - g * kTile);
            for (int64_t n = 0; n < tokens; ++n)
                for (int64_t r = 0; r < rows; ++r)
                    y[(g * kTile + n) * w.rows + row0 + r] = out[r][n];
        }
    }
}

struct FormatKernels {
    void (*multiply)(const MatView&, const UnpackedMatrix*, const PackedActivations&, int64_t,
                     float*, int64_t, int64_t) = nullptr;
    std::shared_ptr<const void> (*unpack)(const MatView&, ThreadPool*) = nullptr;
};

template <typename Block>
constexpr FormatKernels kFormat{multiply<Block>, unpack_matrix<Block>};

FormatKernels kernels_for(DType type) {
    switch (type) {
        case DType::Q4_0:
            return kFormat<BlockQ4_0>;
        case DType::Q4_1:
            return kFormat<BlockQ4_1>;
        case DType::Q5_0:
            return kFormat<BlockQ5_0>;
        case DType::Q5_1:
            return kFormat<BlockQ5_1>;
        case DType::Q8_0:
            return kFormat<BlockQ8_0>;
        default:
            return {};
    }
}

// The matrix's kept unpacked layout, made now if its memory is stable and the budget has room;
// null otherwise (each call then unpacks the slabs it multiplies).
std::shared_ptr<const UnpackedMatrix> kept_unpacked(const MatView& w, const FormatKernels& kernels,
                                                    ThreadPool* pool) {
    std::shared_ptr<const void> layout = find_kept_layout(w);
    if (!layout) {
        if (!may_keep_layout(w, unpacked_bytes(w))) return nullptr;
        layout = keep_layout(w, kernels.unpack(w, pool), unpacked_bytes(w));
    }
    return std::static_pointer_cast<const UnpackedMatrix>(layout);
}

}  // namespace

bool amx_available() {
    static const bool available = cpu_has_amx_int8() && request_tile_permission();
    return available;
}

bool amx_supports(DType type) {
    return kernels_for(type).multiply != nullptr;
}

void amx_matmul(const MatView& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
    thread_local PackedActivations scratch;
    // (a lambda names a thread_local as the running thread's own: pass the caller's by reference)
    const PackedActivations& acts = scratch;
    pack_activations(x, w.cols, n_tokens, scratch, pool);
    const FormatKernels kernels = kernels_for(w.type);
    // Calls of few tokens read the weights straight from the matrix.
    const std::shared_ptr<const UnpackedMatrix> unpacked =
        n_tokens >= kMinTileTokens ? kept_unpacked(w, kernels, pool) : nullptr;
    const auto run = [&](int64_t s0, int64_t s1) {
        kernels.multiply(w, unpacked.get(), acts, n_tokens, y, s0, s1);
    };
    const int64_t slabs = slab_count(w);
    if (!pool) return run(0, slabs);
    // A slab is 16 rows x cols x tokens multiply-adds; a task is at least 64K of them (as in
    // matmul.cpp).
    const int64_t grain = std::max<int64_t>(1, 64 * 1024 / (kTile * w.cols * n_tokens));
    pool->parallel_for(slabs, run, grain);
}

}  // namespace ms::kernels
