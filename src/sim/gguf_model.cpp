#include "sim/gguf_model.h"

#include <filesystem>

#include "gguf/gguf.h"

namespace ms::sim {
namespace {

// Metadata keys of one architecture: `llama.block_count` and so on.
class ArchKeys {
public:
    explicit ArchKeys(const gguf::File& f)
        : f_(f), prefix_(f.get_string("general.architecture") + ".") {}

    // A required size: at least 1 (a zero would divide by zero or mean an empty model).
    int count(const std::string& key) const {
        const uint32_t n = f_.get_u32(prefix_ + key);
        if (n == 0) throw gguf::Error("gguf: key '" + prefix_ + key + "' is 0");
        return int(n);
    }
    int count_or(const std::string& key, int fallback) const {
        return int(f_.get_u32(prefix_ + key, uint32_t(fallback)));
    }
    bool has(const std::string& key) const { return f_.has(prefix_ + key); }
    const std::string& prefix() const { return prefix_; }

private:
    const gguf::File& f_;
    std::string prefix_;
};

int vocab_size(const gguf::File& f, const ArchKeys& keys) {
    if (const gguf::Value* tokens = f.find("tokenizer.ggml.tokens"))
        return int(tokens->array_size());
    if (keys.has("vocab_size")) return keys.count("vocab_size");
    throw gguf::Error("gguf: missing key 'tokenizer.ggml.tokens' (and no '" + keys.prefix() +
                      "vocab_size')");
}

void read_attention(const ArchKeys& keys, ModelSpec& m) {
    if (keys.has("attention.kv_lora_rank"))
        throw gguf::Error("gguf: multi-head latent attention (" + keys.prefix() +
                          "attention.kv_lora_rank) is not read from GGUF; use models.yaml");
    m.attention = AttentionKind::gqa;
    m.heads = keys.count("attention.head_count");
    m.kv_heads = keys.count_or("attention.head_count_kv", m.heads);
    m.head_dim = keys.count_or("attention.key_length", m.hidden / m.heads);
}

void read_moe(const ArchKeys& keys, ModelSpec& m) {
    m.routed_experts = keys.count_or("expert_count", 0);
    if (m.routed_experts == 0) return;
    m.top_k = keys.count("expert_used_count");
    m.shared_experts = keys.count_or("expert_shared_count", 0);
    m.expert_intermediate = keys.count_or("expert_feed_forward_length", m.dense_intermediate);
    m.dense_layers = keys.count_or("leading_dense_block_count", 0);
    if (m.top_k > m.routed_experts)
        throw gguf::Error("gguf: " + keys.prefix() + "expert_used_count is larger than " +
                          keys.prefix() + "expert_count");
}

ModelSpec read_shapes(const gguf::File& f) {
    const ArchKeys keys(f);
    ModelSpec m;
    m.name = std::filesystem::path(f.path()).stem().string();
    m.layers = keys.count("block_count");
    m.hidden = keys.count("embedding_length");
    m.dense_intermediate = keys.count("feed_forward_length");
    m.vocab = vocab_size(f, keys);
    read_attention(keys, m);
    read_moe(keys, m);
    if (!m.is_moe()) m.dense_layers = m.layers;
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
        return {read_shapes(f), weight_bytes_per_param(f)};
    } catch (const gguf::Error& e) {
        throw ConfigError(path + ": " + e.what());
    }
}

}  // namespace ms::sim
