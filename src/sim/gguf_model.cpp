#include "sim/gguf_model.h"

#include <filesystem>

#include "gguf/gguf.h"
#include "model/hparams.h"

namespace ms::sim {
namespace {

// The shapes the cost model needs, from the hyperparameters the model itself is built from.
ModelSpec model_spec(const model::HParams& hp, const std::string& name) {
    if (hp.n_embd == 0 || hp.n_ff == 0 || hp.n_vocab == 0)
        throw std::runtime_error(
            "model: embedding_length, feed_forward_length and the vocabulary "
            "(tokenizer.ggml.tokens or vocab_size) must be positive");
    ModelSpec m;
    m.name = name;
    m.layers = int(hp.n_layer - hp.n_nextn);
    m.mtp_layers = int(hp.n_nextn);
    m.hidden = int(hp.n_embd);
    m.dense_intermediate = int(hp.n_ff);
    m.vocab = int(hp.n_vocab);
    m.heads = int(hp.n_head);
    if (hp.kv_lora_rank > 0) {
        m.attention = AttentionKind::mla;
        m.q_lora_rank = int(hp.q_lora_rank);
        m.kv_lora_rank = int(hp.kv_lora_rank);
        m.qk_rope_dim = int(hp.n_rot);
        m.qk_nope_dim = int(hp.head_dim_k_mla - hp.n_rot);
        m.v_head_dim = int(hp.head_dim_v_mla);
        if (m.qk_nope_dim < 1 || m.v_head_dim < 1)
            throw std::runtime_error("model: " + hp.arch +
                                     ".attention.key_length_mla must exceed "
                                     "rope.dimension_count and value_length_mla must be positive");
    } else {
        m.attention = AttentionKind::gqa;
        m.kv_heads = int(hp.n_head_kv);
        m.head_dim = int(hp.head_dim);
    }
    m.routed_experts = int(hp.n_expert);
    m.top_k = int(hp.n_expert_used);
    m.shared_experts = m.is_moe() ? int(hp.n_expert_shared) : 0;
    m.expert_intermediate = m.is_moe() ? int(hp.n_ff_expert > 0 ? hp.n_ff_expert : hp.n_ff) : 0;
    m.dense_layers = m.is_moe() ? int(hp.n_layer_dense_lead) : m.layers;
    return m;
}

// Matrices (two or more dimensions) are the weights matmuls stream; norms and biases are not.
double weight_bytes_per_param(const gguf::File& f) {
    double bytes = 0, elements = 0;
    for (const gguf::TensorInfo& t : f.tensors()) {
        if (t.dims.size() < 2) continue;
        bytes += double(t.n_bytes);
        elements += double(t.n_elements());
    }
    if (elements == 0) throw gguf::Error("gguf: no weight matrices in the tensor table");
    return bytes / elements;
}

}  // namespace

LoadedModel load_gguf_model(const std::string& path) {
    try {
        const gguf::File f = gguf::File::open(path);
        const std::string name = std::filesystem::path(f.path()).stem().string();
        return {model_spec(model::HParams::from_gguf(f), name), weight_bytes_per_param(f)};
    } catch (const std::runtime_error& e) {
        throw ConfigError(path + ": " + e.what());
    }
}

}  // namespace ms::sim
