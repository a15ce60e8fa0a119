// Token sampling: logit bias -> penalties -> greedy, or top-k -> top-p -> min-p ->
// temperature -> draw, the order llama.cpp's default chain uses. A seed makes draws
// reproducible.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace ms::engine {

struct SamplingParams {
    float temperature = 0.0f;         // <= 0: greedy
    int32_t top_k = 0;                // 0: off
    float top_p = 1.0f;               // 1: off
    float min_p = 0.0f;               // 0: off
    float repetition_penalty = 1.0f;  // 1: off (divides positive logits, multiplies negative)
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    int32_t penalty_last_n = 64;  // how many recent tokens the penalties look at
    uint64_t seed = 0;
    // (token, bias added to its logit) as OpenAI's logit_bias: -100 all but bans a token, +100
    // all but forces it. Ids outside the logits are ignored.
    std::vector<std::pair<int32_t, float>> logit_bias{};

    // Throws std::invalid_argument naming the first parameter out of range.
    void validate() const;
};

// Log-probabilities from the model's distribution (the logits before any sampling adjustment):
// the chosen token's and the top_n best, best first.
struct TokenLogprobs {
    float logprob = 0.0f;
    std::vector<std::pair<int32_t, float>> top;
};
TokenLogprobs token_logprobs(std::span<const float> logits, int32_t token, int32_t top_n);

class Sampler {
public:
    explicit Sampler(const SamplingParams& params);
    // history: the sequence so far (prompt and generated), for the penalties.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

private:
    struct Candidate {
        int32_t id;
        float logit;
    };
    void apply_logit_bias();
    void apply_penalties(std::span<const int32_t> history);
    void keep_top_k();
    void keep_top_p();
    void keep_min_p();
    int32_t draw();

    SamplingParams params_;
    std::mt19937_64 rng_;
    std::vector<Candidate> candidates_;
};

}  // namespace ms::engine
