#include <cmath>
#include <stdexcept>

#include "gguf/gguf.h"
#include "model/attention_mla.h"

namespace ms::model {
namespace {

// YaRN's attention-magnitude correction for a context stretched by `factor`; llama.cpp uses
// it clamped (no correction when not stretched) when choosing the factor and unclamped when
// cancelling and re-applying it, and we follow both to agree with its scores.
float magnitude_correction(float factor, float weight) {
    return 1.0f + 0.1f * weight * std::log(factor);
}
float clamped_magnitude_correction(float factor, float weight) {
    return factor <= 1.0f ? 1.0f : magnitude_correction(factor, weight);
}

// Rope and softmax scale. For deepseek2 llama.cpp folds YaRN's magnitude correction into the
// softmax scale (squared: it scales both q and k) instead of the rotation.
void set_position_scaling(const gguf::File& f, const HParams& hp, MlaSpec& spec) {
    const std::string p = hp.arch + ".";
    const std::string type = f.get_string(p + "rope.scaling.type", "linear");
    if (type != "yarn" && type != "linear" && type != "none")
        throw std::runtime_error("model: " + p + "rope.scaling.type '" + type +
                                 "' is not supported for MLA (yarn, linear, none)");
    float factor = f.get_f32(p + "rope.scaling.factor", f.get_f32(p + "rope.scale_linear", 0.0f));
    if (factor == 0.0f || type == "none") factor = 1.0f;
    // The converter stores 0.1 * mscale_all_dim.
    const float log_multiplier = f.get_f32(p + "rope.scaling.yarn_log_multiplier", 0.0f) / 0.1f;
    const float attn_factor = f.get_f32(p + "rope.scaling.attn_factor", 1.0f);

    float rotation_factor = attn_factor;  // what llama.cpp hands its rope as attn_factor
    if (type == "yarn") {
        const float chosen =
            log_multiplier != 0.0f ? 1.0f : clamped_magnitude_correction(factor, 1.0f);
        rotation_factor *= chosen / magnitude_correction(factor, 1.0f);
        const int64_t n_ctx_orig =
            f.get_u32(p + "rope.scaling.original_context_length", uint32_t(hp.n_ctx_train));
        spec.rope = Rope::yarn(hp.rope_theta, spec.qk_rope_dim, RopeLayout::AdjacentPairs, factor,
                               n_ctx_orig, rotation_factor * magnitude_correction(factor, 1.0f));
    } else {
        spec.rope = Rope::plain(hp.rope_theta, spec.qk_rope_dim, RopeLayout::AdjacentPairs);
        spec.rope.freq_scale = 1.0f / factor;
        spec.rope.magnitude = rotation_factor;
    }
    const float mscale = rotation_factor * magnitude_correction(factor, 1.0f) *
                         magnitude_correction(factor, log_multiplier);
    spec.kq_scale = mscale * mscale / std::sqrt(float(spec.qk_nope_dim + spec.qk_rope_dim));
}

}  // namespace

MlaSpec MlaSpec::from_gguf(const gguf::File& f, const HParams& hp) {
    const std::string p = hp.arch + ".";
    MlaSpec spec;
    spec.n_head = hp.n_head;
    spec.q_lora_rank = hp.q_lora_rank;
    spec.kv_lora_rank = hp.kv_lora_rank;
    spec.qk_rope_dim = hp.n_rot;
    if (hp.head_dim_k_mla == 0 || hp.head_dim_v_mla == 0)
        throw std::runtime_error(
            "model: " + p +
            "attention.key_length_mla/value_length_mla missing: this file uses "
            "the old attn_kv_b layout; reconvert it with a llama.cpp that writes attn_k_b and "
            "attn_v_b (needed for the compressed KV cache)");
    spec.v_head_dim = hp.head_dim_v_mla;
    spec.qk_nope_dim = hp.head_dim_k_mla - spec.qk_rope_dim;
    if (spec.qk_nope_dim < 1 || spec.qk_rope_dim % 2 != 0 || spec.kv_lora_rank < 1)
        throw std::runtime_error("model: " + p +
                                 "attention.key_length_mla must exceed an even "
                                 "rope.dimension_count, and kv_lora_rank must be positive");
    set_position_scaling(f, hp, spec);
    return spec;
}

}  // namespace ms::model
