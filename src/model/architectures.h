// Builders that turn a model file into its chain of units, one per architecture.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "model/hparams.h"
#include "model/unit.h"
#include "model/units.h"

namespace ms::gguf {
class File;
}

namespace ms::model {

using UnitChain = std::vector<std::unique_ptr<Unit>>;

// Embedding, then per layer attention as spec says and a SwiGLU FFN, then the head: the
// layout Llama and Qwen2/3 share. With expert_count set each FFN is a mixture of experts as
// `experts` says (default: Mixtral's routing).
UnitChain build_uniform_decoder(const gguf::File& f, const HParams& hp,
                                const AttentionSpec& attention,
                                const std::optional<MoeSpec>& experts = std::nullopt);

// Llama (dense, or Mixtral-style MoE when expert_count is set).
UnitChain build_llama(const gguf::File& f, HParams& hp);
// Qwen2: QKV bias, rotate-half RoPE.
UnitChain build_qwen2(const gguf::File& f, HParams& hp);
// Qwen2-MoE: Qwen2 attention; routed experts (softmax top-k) and a sigmoid-gated shared one.
UnitChain build_qwen2moe(const gguf::File& f, HParams& hp);
// Qwen3: per-head QK RMSNorm, rotate-half RoPE, head_dim from attention.key_length.
UnitChain build_qwen3(const gguf::File& f, HParams& hp);
// Qwen3-MoE: Qwen3 attention; routed experts, softmax top-k renormalised.
UnitChain build_qwen3moe(const gguf::File& f, HParams& hp);
// Gemma 3 (text): interleaved sliding-window and global attention, QK-norm, four norms per
// block, GELU-gated FFN, scaled embeddings, tied classifier.
UnitChain build_gemma3(const gguf::File& f, HParams& hp);
// DeepSeek-V2/V3/R1, Kimi K2: MLA attention; leading dense FFN layers, then routed and shared
// experts.
UnitChain build_deepseek2(const gguf::File& f, HParams& hp);

}  // namespace ms::model
