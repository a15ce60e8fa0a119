// Kernel micro-benchmarks on SmolLM2-135M, Gemma 3 270M and Qwen2-7B shapes. Run e.g.
//   kernels_bench --benchmark_min_time=0.2 --benchmark_filter=Matvec
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/activation.h"
#include "kernels/matmul.h"
#include "kernels/thread_pool.h"

namespace {

using ms::DType;
using ms::kernels::Isa;

// Byte offsets of the fp16 scale fields in one block of the benchmarked types.
std::vector<size_t> scale_offsets(DType type) {
    switch (type) {
        case DType::Q4_1:
        case DType::Q4_K:
        case DType::Q5_K:
            return {0, 2};  // d and m (dmin)
        case DType::Q6_K:
            return {208};
        default:
            return {0};
    }
}

// Random weight bytes with small finite fp16 scales in every block's scale fields.
std::vector<uint8_t> random_weights(DType type, int64_t rows, int64_t cols) {
    std::mt19937 rng(7);
    std::vector<uint8_t> bytes(size_t(rows * ms::row_bytes(type, cols)));
    for (auto& b : bytes) b = uint8_t(rng());
    const uint16_t scale = ms::fp32_to_fp16(0.01f);
    const int64_t block = ms::traits(type).block_bytes;
    for (size_t off = 0; off < bytes.size(); off += size_t(block))
        for (size_t field : scale_offsets(type)) std::memcpy(&bytes[off + field], &scale, 2);
    return bytes;
}

// Args: isa, threads, tokens.
void matmul_bench(benchmark::State& state, DType type, int64_t rows, int64_t cols) {
    const auto isa = Isa(state.range(0));
    const int threads = int(state.range(1));
    const int64_t tokens = state.range(2);
    if (isa > ms::kernels::detected_isa()) {
        state.SkipWithError("ISA not supported by this CPU");
        return;
    }
    const auto weights = random_weights(type, rows, cols);
    const ms::kernels::MatView w{type, weights.data(), rows, cols};
    std::vector<float> x(size_t(cols * tokens), 0.5f), y(size_t(rows * tokens));
    auto pool = threads > 1 ? std::make_unique<ms::ThreadPool>(threads) : nullptr;
    for (auto _ : state) {
        ms::kernels::matmul_with(isa, w, x.data(), tokens, y.data(), pool.get());
        benchmark::ClobberMemory();
    }
    state.SetLabel(std::string(ms::kernels::isa_name(isa)));
    const double flops = 2.0 * double(rows * cols * tokens);
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GB/s"] = benchmark::Counter(double(weights.size()) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void isa_thread_args(benchmark::internal::Benchmark* b, int64_t tokens) {
    for (int isa = 0; isa <= int(Isa::Amx); ++isa)
        for (int threads : {1, 2}) b->Args({isa, threads, tokens});
    b->ArgNames({"isa", "threads", "tokens"})->UseRealTime();
}

void BM_MatvecQ4_1_576x1536(benchmark::State& s) {
    matmul_bench(s, DType::Q4_1, 576, 1536);
}
void BM_MatvecQ8_0_49152x576(benchmark::State& s) {
    matmul_bench(s, DType::Q8_0, 49152, 576);
}
void BM_PrefillQ4_1_1536x576(benchmark::State& s) {
    matmul_bench(s, DType::Q4_1, 1536, 576);
}
// The output head (Q8_0 token_embd) over a prefill batch.
void BM_PrefillQ8_0_49152x576(benchmark::State& s) {
    matmul_bench(s, DType::Q8_0, 49152, 576);
}
// K formats (rows x cols): Gemma 3 270M's ffn_down (Q4_K or Q6_K) and Qwen2-7B's ffn_up
// (Q4_K, from DeepSeek-R1-Distill-Qwen-7B Q4_K_M) over a prefill batch.
void BM_PrefillQ4_K_640x2048(benchmark::State& s) {
    matmul_bench(s, DType::Q4_K, 640, 2048);
}
void BM_PrefillQ5_K_640x2048(benchmark::State& s) {
    matmul_bench(s, DType::Q5_K, 640, 2048);
}
void BM_PrefillQ6_K_640x2048(benchmark::State& s) {
    matmul_bench(s, DType::Q6_K, 640, 2048);
}
void BM_PrefillQ4_K_18944x3584(benchmark::State& s) {
    matmul_bench(s, DType::Q4_K, 18944, 3584);
}
void BM_MatvecQ4_K_18944x3584(benchmark::State& s) {
    matmul_bench(s, DType::Q4_K, 18944, 3584);
}
// Decode batches (one row per sequence) on one core, VNNI against AMX: what a batch's (or a
// micro-batch's) size costs per token.
void decode_batch_args(benchmark::internal::Benchmark* b) {
    for (int isa : {int(Isa::Avx512Vnni), int(Isa::Amx)})
        for (int tokens : {1, 8, 16, 32, 64}) b->Args({isa, 1, tokens});
    b->ArgNames({"isa", "threads", "tokens"})->UseRealTime();
}
BENCHMARK(BM_PrefillQ4_1_1536x576)->Name("BM_DecodeQ4_1_1536x576")->Apply(decode_batch_args);
BENCHMARK(BM_MatvecQ4_1_576x1536)->Name("BM_DecodeQ4_1_576x1536")->Apply(decode_batch_args);
BENCHMARK(BM_PrefillQ8_0_49152x576)->Name("BM_DecodeQ8_0_49152x576")->Apply(decode_batch_args);
BENCHMARK(BM_MatvecQ4_1_576x1536)->Apply([](auto* b) { isa_thread_args(b, 1); });
BENCHMARK(BM_MatvecQ8_0_49152x576)->Apply([](auto* b) { isa_thread_args(b, 1); });
BENCHMARK(BM_PrefillQ4_1_1536x576)->Apply([](auto* b) { isa_thread_args(b, 64); });
BENCHMARK(BM_PrefillQ8_0_49152x576)->Apply([](auto* b) { isa_thread_args(b, 64); });
BENCHMARK(BM_PrefillQ4_K_640x2048)->Apply([](auto* b) { isa_thread_args(b, 64); });
BENCHMARK(BM_PrefillQ5_K_640x2048)->Apply([](auto* b) { isa_thread_args(b, 64); });
BENCHMARK(BM_PrefillQ6_K_640x2048)->Apply([](auto* b) { isa_thread_args(b, 64); });
BENCHMARK(BM_PrefillQ4_K_18944x3584)->Apply([](auto* b) { isa_thread_args(b, 64); });
BENCHMARK(BM_MatvecQ4_K_18944x3584)->Apply([](auto* b) { isa_thread_args(b, 1); });

// silu(gate) * up over SmolLM2-135M's FFN width (1536) at a 32-sequence decode batch. The
// kernel works in place, so each iteration restores the gates first, outside the timing.
void BM_SiluGate(benchmark::State& state) {
    const auto isa = Isa(state.range(0));
    if (isa > ms::kernels::detected_isa()) {
        state.SkipWithError("ISA not supported by this CPU");
        return;
    }
    const int64_t n = 32 * 1536;
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    std::vector<float> source(static_cast<size_t>(n)), up(source.size()), gate(source.size());
    for (auto& g : source) g = normal(rng);
    for (auto& u : up) u = normal(rng);
    for (auto _ : state) {
        gate = source;
        const auto start = std::chrono::steady_clock::now();
        ms::kernels::silu_gate_with(isa, gate.data(), up.data(), n);
        benchmark::ClobberMemory();
        state.SetIterationTime(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    state.SetLabel(std::string(ms::kernels::isa_name(isa)));
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_SiluGate)->DenseRange(0, int(Isa::Avx512))->ArgName("isa")->UseManualTime();

// Cost of one parallel_for with trivial work: the per-call overhead a decode step pays.
void BM_ParallelForOverhead(benchmark::State& state) {
    ms::ThreadPool pool(int(state.range(0)));
    std::vector<int64_t> sink(64);
    for (auto _ : state) {
        pool.parallel_for(64, [&](int64_t b, int64_t e) { sink[size_t(b)] += e; });
        benchmark::DoNotOptimize(sink.data());
    }
}
BENCHMARK(BM_ParallelForOverhead)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
