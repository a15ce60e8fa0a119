// qwen2, qwen3 and gemma3 built from small in-memory GGUFs with seeded random weights: they
// load, run, name missing tensors, and gemma3's sliding window hides the keys outside it.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../gguf/gguf_writer.h"
#include "gguf/gguf.h"
#include "model/model.h"

namespace {

using ms::gguf::ValueType;
using ms::gguf::testing::GgufBuilder;
using ms::gguf::testing::scalar;
using ms::gguf::testing::string_value;

constexpr uint32_t kEmbd = 16, kHeads = 2, kHeadsKv = 1, kFf = 24, kVocab = 32;

struct Shape {
    std::string arch;
    uint32_t n_layer = 2;
    uint32_t head_dim = kEmbd / kHeads;
    bool qkv_bias = false, qk_norm = false, gemma_norms = false;
};

class TinyModel {
public:
    explicit TinyModel(const Shape& shape) : shape_(shape) {
        const std::string p = shape.arch + ".";
        b_.kv("general.architecture", string_value(shape.arch));
        u32(p + "embedding_length", kEmbd);
        u32(p + "block_count", shape.n_layer);
        u32(p + "attention.head_count", kHeads);
        u32(p + "attention.head_count_kv", kHeadsKv);
        u32(p + "attention.key_length", shape.head_dim);
        u32(p + "attention.value_length", shape.head_dim);
        u32(p + "feed_forward_length", kFf);
        u32(p + "vocab_size", kVocab);
        f32(p + "attention.layer_norm_rms_epsilon", 1e-6f);
    }

    TinyModel& u32(const std::string& key, uint32_t value) {
        b_.kv(key, scalar(ValueType::U32, value));
        return *this;
    }
    TinyModel& f32(const std::string& key, float value) {
        b_.kv(key, scalar(ValueType::F32, value));
        return *this;
    }
    TinyModel& text(const std::string& key, const std::string& value) {
        b_.kv(key, string_value(value));
        return *this;
    }
    TinyModel& without(std::string tensor) {
        skipped_ = std::move(tensor);
        return *this;
    }

    std::unique_ptr<ms::model::Model> load() {
        add_tensors();
        return ms::model::Model::from_file(ms::gguf::File::from_bytes(b_.build()));
    }
    std::string load_error() {
        try {
            load();
        } catch (const std::exception& e) {
            return e.what();
        }
        return "";
    }

private:
    void add(const std::string& name, std::vector<uint64_t> dims, float mean, float stddev) {
        if (name == skipped_) return;
        uint64_t n = 1;
        for (uint64_t d : dims) n *= d;
        std::normal_distribution<float> normal(mean, stddev);
        std::vector<float> values(n);
        for (float& v : values) v = normal(rng_);
        b_.tensor_values(name, std::move(dims), values);
    }
    void matrix(const std::string& name, uint64_t in, uint64_t out) {
        add(name, {in, out}, 0.0f, 1.0f / std::sqrt(float(in)));
    }
    void norm(const std::string& name, uint64_t n) { add(name, {n}, 1.0f, 0.1f); }

    void add_tensors() {
        const uint64_t q = kHeads * shape_.head_dim, kv = kHeadsKv * shape_.head_dim;
        add("token_embd.weight", {kEmbd, kVocab}, 0.0f, 1.0f);
        norm("output_norm.weight", kEmbd);
        for (uint32_t i = 0; i < shape_.n_layer; ++i) {
            const std::string blk = "blk." + std::to_string(i) + ".";
            norm(blk + "attn_norm.weight", kEmbd);
            matrix(blk + "attn_q.weight", kEmbd, q);
            matrix(blk + "attn_k.weight", kEmbd, kv);
            matrix(blk + "attn_v.weight", kEmbd, kv);
            matrix(blk + "attn_output.weight", q, kEmbd);
            if (shape_.qkv_bias) {
                add(blk + "attn_q.bias", {q}, 0.0f, 0.1f);
                add(blk + "attn_k.bias", {kv}, 0.0f, 0.1f);
                add(blk + "attn_v.bias", {kv}, 0.0f, 0.1f);
            }
            if (shape_.qk_norm) {
                norm(blk + "attn_q_norm.weight", shape_.head_dim);
                norm(blk + "attn_k_norm.weight", shape_.head_dim);
            }
            if (shape_.gemma_norms) {
                norm(blk + "post_attention_norm.weight", kEmbd);
                norm(blk + "post_ffw_norm.weight", kEmbd);
            }
            norm(blk + "ffn_norm.weight", kEmbd);
            matrix(blk + "ffn_gate.weight", kEmbd, kFf);
            matrix(blk + "ffn_up.weight", kEmbd, kFf);
            matrix(blk + "ffn_down.weight", kFf, kEmbd);
        }
    }

    Shape shape_;
    GgufBuilder b_;
    std::mt19937 rng_{42};
    std::string skipped_;
};

const Shape kQwen2{.arch = "qwen2", .qkv_bias = true};
const Shape kQwen3{.arch = "qwen3", .head_dim = 12, .qk_norm = true};  // 12 != 16 / 2
const Shape kGemma3{.arch = "gemma3", .qk_norm = true, .gemma_norms = true};

// Teacher-forced logits of one sequence, one row per token.
ms::model::Activations run(ms::model::Model& model, const std::vector<int32_t>& tokens) {
    model.reserve_kv(2, 16);
    const std::vector<int32_t> table{0, 1};
    ms::model::Batch batch;
    batch.block_tables = {table};
    for (size_t i = 0; i < tokens.size(); ++i) batch.add(tokens[i], int32_t(i), 0, true);
    ms::model::Activations logits;
    model.forward(batch, nullptr, logits);
    return logits;
}

float max_row_diff(const ms::model::Activations& a, const ms::model::Activations& b, int64_t r) {
    float diff = 0.0f;
    for (int64_t c = 0; c < a.cols; ++c) diff = std::max(diff, std::abs(a.row(r)[c] - b.row(r)[c]));
    return diff;
}

TEST(DenseArchs, EachLoadsAndGivesFiniteLogits) {
    for (const Shape& shape : {kQwen2, kQwen3, kGemma3}) {
        auto model = TinyModel(shape).load();
        EXPECT_EQ(model->hparams().head_dim, shape.head_dim) << shape.arch;
        const auto logits = run(*model, {1, 5, 9, 2, 30});
        ASSERT_EQ(logits.rows, 5) << shape.arch;
        ASSERT_EQ(logits.cols, kVocab) << shape.arch;
        for (float v : logits.data) ASSERT_TRUE(std::isfinite(v)) << shape.arch;
        float rows_differ = 0.0f;
        for (int64_t c = 0; c < logits.cols; ++c)
            rows_differ = std::max(rows_differ, std::abs(logits.row(0)[c] - logits.row(4)[c]));
        EXPECT_GT(rows_differ, 1e-3f) << shape.arch << ": positions give the same logits";
    }
}

TEST(DenseArchs, KvBytesFollowKeyLength) {
    auto model = TinyModel(kQwen3).load();
    EXPECT_EQ(model->kv_bytes_per_token(), 2 /*layers*/ * 2 /*K and V*/ * kHeadsKv * 12 * 4);
}

TEST(DenseArchs, MissingArchitectureTensorsAreNamed) {
    const std::vector<std::pair<Shape, std::string>> cases{
        {kQwen2, "blk.1.attn_v.bias"},
        {kQwen3, "blk.0.attn_k_norm.weight"},
        {kGemma3, "blk.1.post_attention_norm.weight"},
        {kGemma3, "blk.0.post_ffw_norm.weight"},
        {kGemma3, "blk.0.attn_q_norm.weight"}};
    for (const auto& [shape, tensor] : cases) {
        const std::string error = TinyModel(shape).without(tensor).load_error();
        EXPECT_NE(error.find("missing tensor '" + tensor + "'"), std::string::npos) << error;
    }
}

TEST(DenseArchs, UnsupportedRopeScalingIsNamed) {
    const std::string error =
        TinyModel(kQwen2).text("qwen2.rope.scaling.type", "yarn").load_error();
    EXPECT_NE(error.find("rope.scaling.type 'yarn'"), std::string::npos) << error;
}

TEST(DenseArchs, PartialRopeIsRefusedByName) {
    const std::string error = TinyModel(kQwen3).u32("qwen3.rope.dimension_count", 4).load_error();
    EXPECT_NE(error.find("rope.dimension_count 4 differs from the head dimension 12"),
              std::string::npos)
        << error;
}

TEST(DenseArchs, LinearRopeScalingChangesLogits) {
    auto plain = TinyModel(kQwen2).load();
    auto scaled = TinyModel(kQwen2)
                      .text("qwen2.rope.scaling.type", "linear")
                      .f32("qwen2.rope.scaling.factor", 4.0f)
                      .load();
    const std::vector<int32_t> tokens{1, 5, 9, 2};
    const auto a = run(*plain, tokens), b = run(*scaled, tokens);
    EXPECT_EQ(max_row_diff(a, b, 0), 0.0f);  // position 0 has no rotation to scale
    EXPECT_GT(max_row_diff(a, b, 3), 1e-4f);
}

// One gemma3 layer with a window of 3: llama.cpp's pattern makes layer 0 of a one-layer model
// sliding, so position p sees positions p-2..p and a change at position 0 reaches positions
// 0..2 only. With sliding_window_pattern 1 the layer is global and it reaches every position.
TEST(Gemma3, SlidingWindowHidesKeysOutsideIt) {
    Shape one_layer = kGemma3;
    one_layer.n_layer = 1;
    auto sliding = TinyModel(one_layer).u32("gemma3.attention.sliding_window", 3).load();
    auto global = TinyModel(one_layer)
                      .u32("gemma3.attention.sliding_window", 3)
                      .u32("gemma3.attention.sliding_window_pattern", 1)
                      .load();
    const std::vector<int32_t> a{4, 7, 11, 3, 20, 8}, b{29, 7, 11, 3, 20, 8};
    const auto sliding_a = run(*sliding, a), sliding_b = run(*sliding, b);
    for (int64_t pos = 0; pos < 3; ++pos)
        EXPECT_GT(max_row_diff(sliding_a, sliding_b, pos), 1e-3f) << pos;
    for (int64_t pos = 3; pos < 6; ++pos)
        EXPECT_LT(max_row_diff(sliding_a, sliding_b, pos), 1e-6f) << pos;
    const auto global_a = run(*global, a), global_b = run(*global, b);
    EXPECT_GT(max_row_diff(global_a, global_b, 5), 1e-3f);
}

TEST(Gemma3, SlidingLayersFollowLlamaCppPattern) {
    const auto layers = [](TinyModel m) {
        auto model = m.load();
        return ms::model::sliding_window_layers(model->file(), model->hparams(), 6);
    };
    Shape twelve = kGemma3;
    twelve.n_layer = 12;
    const std::vector<bool> five_then_one{1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0};
    EXPECT_EQ(layers(TinyModel(twelve).u32("gemma3.attention.sliding_window", 8)), five_then_one);
    EXPECT_EQ(layers(TinyModel(twelve)), std::vector<bool>(12, false));  // no window key
    const std::vector<bool> two_then_one{1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0};
    EXPECT_EQ(layers(TinyModel(twelve)
                         .u32("gemma3.attention.sliding_window", 8)
                         .u32("gemma3.attention.sliding_window_pattern", 3)),
              two_then_one);
}

}  // namespace
