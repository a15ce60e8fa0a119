// Hyperparameters of a model, read from GGUF metadata under the architecture's prefix.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

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
    int64_t head_dim = 0;  // attention.key_length, else embedding_length / head_count
    int64_t n_rot = 0;     // rope.dimension_count: leading dimensions of a head RoPE rotates
    int64_t n_ff = 0;
    int64_t n_ctx_train = 0;
    int64_t n_expert = 0;  // 0 for dense models
    int64_t n_expert_used = 0;
    int64_t n_expert_shared = 0;     // expert_shared_count
    int64_t n_ff_expert = 0;         // expert_feed_forward_length; 0 when absent
    int64_t n_layer_dense_lead = 0;  // leading_dense_block_count: dense layers before MoE ones
    int64_t n_nextn = 0;  // nextn_predict_layers: multi-token-prediction blocks in n_layer
    // Multi-head latent attention (deepseek2), attention.*: 0 when absent.
    int64_t q_lora_rank = 0;
    int64_t kv_lora_rank = 0;
    int64_t head_dim_k_mla = 0;  // key_length_mla: a query/key head, position part included
    int64_t head_dim_v_mla = 0;  // value_length_mla
    float rms_eps = 1e-5f;
    float rope_theta = 10000.0f;        // rope.freq_base
    float rope_theta_swa = 10000.0f;    // rope.freq_base_swa: sliding-window layers (Gemma 3)
    std::string rope_scaling = "none";  // rope.scaling.type
    float rope_scaling_factor = 1.0f;   // rope.scaling.factor
    int64_t sliding_window = 0;         // attention.sliding_window; 0 when absent
    float final_logit_softcap = 0.0f;   // final_logit_softcapping; 0 when absent

    // Throws std::runtime_error naming the missing or inconsistent key.
    static HParams from_gguf(const gguf::File& file);

    // The factor RoPE positions are multiplied by: 1 without scaling, 1/factor for linear
    // scaling. Throws naming any other scaling type.
    float rope_linear_scale() const;
};

// Which layers use sliding-window attention, as llama.cpp decides: the per-layer array
// attention.sliding_window_pattern if the file has one, else a period (that key as a scalar,
// or default_period) in which every layer but the last of each period slides. All false
// when the file sets no sliding window.
std::vector<bool> sliding_window_layers(const gguf::File& f, const HParams& hp,
                                        uint32_t default_period);

}  // namespace ms::model
