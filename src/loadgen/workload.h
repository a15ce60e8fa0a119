// The requests of a benchmark: synthetic prompts of random words with lengths drawn around a
// target, or prompts read from a JSONL file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ms::loadgen {

struct BenchRequest {
    std::string prompt;
    int32_t max_tokens = 0;
    int32_t expected_prompt_tokens = 0;  // used when the server reports no usage
};

struct SyntheticOptions {
    size_t count = 100;
    int32_t input_len = 128;
    int32_t output_len = 64;
    double range_ratio = 0.0;  // lengths uniform in [len * (1 - r), len * (1 + r)]
    uint64_t seed = 0;
};

// Prompts of `input_len` common English words, each one token in the usual BPE vocabularies,
// so the prompt's token count is close to its word count. Every prompt starts differently, so
// a prefix cache cannot share work between requests.
std::vector<BenchRequest> synthetic_requests(const SyntheticOptions& options);

// One JSON object per line: {"prompt": "...", "max_tokens": N}; max_tokens falls back to
// `default_max_tokens`. Blank lines are skipped; throws std::runtime_error naming the line.
std::vector<BenchRequest> requests_from_jsonl(const std::string& path, int32_t default_max_tokens);

// Lengths uniform in [round(len * (1 - ratio)), round(len * (1 + ratio))], at least 1.
std::vector<int32_t> spread_lengths(size_t count, int32_t len, double ratio, uint64_t seed);

}  // namespace ms::loadgen
