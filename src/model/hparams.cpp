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
    hp.n_embd = f.get_u32(p + "embedding_length");
    hp.n_layer = f.get_u32(p + "block_count");
    hp.n_head = f.get_u32(p + "attention.head_count");
    hp.n_head_kv = f.get_u32(p + "attention.head_count_kv", uint32_t(hp.n_head));
    hp.n_ff = f.get_u32(p + "feed_forward_length");
    hp.n_ctx_train = f.get_u32(p + "context_length", 2048);
    hp.n_expert = f.get_u32(p + "expert_count", 0);
    hp.n_expert_used = f.get_u32(p + "expert_used_count", 0);
    hp.rms_eps = f.get_f32(p + "attention.layer_norm_rms_epsilon", 1e-5f);
    hp.rope_theta = f.get_f32(p + "rope.freq_base", 10000.0f);
    require(hp.n_head > 0 && hp.n_embd % hp.n_head == 0,
            "embedding_length must be a multiple of attention.head_count");
    hp.head_dim = f.get_u32(p + "attention.key_length", uint32_t(hp.n_embd / hp.n_head));
    require(hp.n_head_kv > 0 && hp.n_head % hp.n_head_kv == 0,
            "attention.head_count must be a multiple of attention.head_count_kv");
    require(hp.n_layer > 0, "block_count must be positive");
    require(hp.head_dim % 2 == 0, "head dimension must be even for RoPE");
    require(hp.n_expert == 0 || (hp.n_expert_used > 0 && hp.n_expert_used <= hp.n_expert),
            "expert_used_count must be in 1..expert_count");
    if (const auto* tokens = f.find("tokenizer.ggml.tokens"))
        hp.n_vocab = int64_t(tokens->array_size());
    hp.n_vocab = f.get_u32(p + "vocab_size", uint32_t(hp.n_vocab));
    return hp;
}

}  // namespace ms::model
