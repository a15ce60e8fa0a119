#include "model/hparams.h"

#include <stdexcept>

#include "gguf/gguf.h"

namespace ms::model {
namespace {

void require(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("model: " + what);
}

}  // namespace

HParams HParams::from_gguf(const gguf::File& f) {
    HParams hp;
    hp.arch = f.get_string("general.architecture");
    hp.name = f.get_string("general.name", "");
    const std::string p = hp.arch + ".";
    hp.n_layer = f.get_u32(p + "block_count");
    hp.n_embd = f.get_u32(p + "embedding_length");
    hp.n_head = f.get_u32(p + "attention.head_count");
    hp.n_head_kv = f.get_u32(p + "attention.head_count_kv", uint32_t(hp.n_head));
    hp.n_ff = f.get_u32(p + "feed_forward_length");
    hp.n_ctx_train = f.get_u32(p + "context_length", 2048);
    hp.n_expert = f.get_u32(p + "expert_count", 0);
    hp.n_expert_used = f.get_u32(p + "expert_used_count", 0);
    hp.n_expert_shared = f.get_u32(p + "expert_shared_count", 0);
    hp.n_ff_expert = f.get_u32(p + "expert_feed_forward_length", 0);
    hp.n_layer_dense_lead = f.get_u32(p + "leading_dense_block_count", 0);
    hp.n_nextn = f.get_u32(p + "nextn_predict_layers", 0);
    hp.q_lora_rank = f.get_u32(p + "attention.q_lora_rank", 0);
    hp.kv_lora_rank = f.get_u32(p + "attention.kv_lora_rank", 0);
    hp.head_dim_k_mla = f.get_u32(p + "attention.key_length_mla", 0);
    hp.head_dim_v_mla = f.get_u32(p + "attention.value_length_mla", 0);
    hp.rms_eps = f.get_f32(p + "attention.layer_norm_rms_epsilon", 1e-5f);
    hp.rope_theta = f.get_f32(p + "rope.freq_base", 10000.0f);
    hp.rope_theta_swa = f.get_f32(p + "rope.freq_base_swa", 10000.0f);
    hp.rope_scaling = f.get_string(p + "rope.scaling.type", "none");
    hp.rope_scaling_factor = f.get_f32(p + "rope.scaling.factor", 1.0f);
    hp.sliding_window = f.get_u32(p + "attention.sliding_window", 0);
    hp.final_logit_softcap = f.get_f32(p + "final_logit_softcapping", 0.0f);
    require(hp.n_head > 0, "attention.head_count must be positive");
    if (f.has(p + "attention.key_length")) {
        hp.head_dim = f.get_u32(p + "attention.key_length");
    } else {
        require(hp.n_embd % hp.n_head == 0,
                "embedding_length must be a multiple of attention.head_count");
        hp.head_dim = hp.n_embd / hp.n_head;
    }
    require(hp.n_head_kv > 0 && hp.n_head % hp.n_head_kv == 0,
            "attention.head_count must be a multiple of attention.head_count_kv");
    require(hp.n_layer > 0, "block_count must be positive");
    require(hp.n_nextn < hp.n_layer, "nextn_predict_layers leaves no layers");
    require(hp.head_dim > 0, "the head dimension must be positive");
    hp.n_rot = f.get_u32(p + "rope.dimension_count", uint32_t(hp.head_dim));
    require(hp.n_rot > 0 && hp.n_rot % 2 == 0, "rope.dimension_count must be even");
    require(hp.rope_scaling_factor > 0.0f, "rope.scaling.factor must be positive");
    require(hp.n_expert == 0 || (hp.n_expert_used > 0 && hp.n_expert_used <= hp.n_expert),
            "expert_used_count must be in 1..expert_count");
    if (const auto* tokens = f.find("tokenizer.ggml.tokens"))
        hp.n_vocab = int64_t(tokens->array_size());
    hp.n_vocab = f.get_u32(p + "vocab_size", uint32_t(hp.n_vocab));
    return hp;
}

float HParams::rope_linear_scale() const {
    if (rope_scaling == "none") return 1.0f;
    if (rope_scaling == "linear") return 1.0f / rope_scaling_factor;
    throw std::runtime_error("model: rope.scaling.type '" + rope_scaling +
                             "' is not supported for " + arch + " (supported: none, linear)");
}

std::vector<bool> sliding_window_layers(const gguf::File& f, const HParams& hp,
                                        uint32_t default_period) {
    std::vector<bool> sliding(size_t(hp.n_layer), false);
    if (hp.sliding_window == 0) return sliding;
    const std::string key = hp.arch + ".attention.sliding_window_pattern";
    const gguf::Value* pattern = f.find(key);
    if (pattern && pattern->is_array()) {
        const auto per_layer = f.get_int_array(key);
        require(int64_t(per_layer.size()) == hp.n_layer,
                key + " must have one entry per layer (block_count)");
        for (size_t i = 0; i < sliding.size(); ++i) sliding[i] = per_layer[i] != 0;
        return sliding;
    }
    // A period of 0 makes every layer slide, as in llama.cpp.
    const uint32_t period = f.get_u32(key, default_period);
    for (size_t i = 0; i < sliding.size(); ++i) sliding[i] = period == 0 || i % period < period - 1;
    return sliding;
}

}  // namespace ms::model
