// Hyperparameters of a model, read from GGUF metadata under the architecture's prefix.
#pragma once
#include <cstdint>
#include <string>

namespace ms::gguf {
class File;
}

namespace ms::model {

// How RoPE pairs the dimensions of a head: llama.cpp's "norm" layout rotates adjacent pairs
// (2i, 2i+1); the "neox" layout (Hugging Face's rotate_half) pairs i with i + head_dim/2.
enum class RopeLayout { AdjacentPairs, RotateHalf };

struct HParams {
    std::string arch;
    std::string name;
    int64_t n_vocab = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t n_ff = 0;
    int64_t n_ctx_train = 0;
    int64_t n_expert = 0;  // 0 for dense models
    int64_t n_expert_used = 0;
    float rms_eps = 1e-5f;
    float rope_theta = 10000.0f;
    RopeLayout rope_layout = RopeLayout::AdjacentPairs;

    // Throws std::runtime_error naming the missing or inconsistent key.
    static HParams from_gguf(const gguf::File& file);
};

}  // namespace ms::model
