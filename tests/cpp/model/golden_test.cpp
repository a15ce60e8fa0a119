// The tiny real models against llama.cpp's golden greedy runs (../shared/models/stories260K).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/sampler.h"
#include "engine/session.h"
#include "executor/chain_executor.h"
#include "kernels/thread_pool.h"
#include "model/model.h"

namespace {

const std::string kDir = std::string(MS_SHARED_MODELS) + "/stories260K/";

nlohmann::json read_golden(const std::string& stem) {
    std::ifstream in(kDir + "golden/" + stem + ".greedy.json");
    if (!in) throw std::runtime_error("missing golden file for " + stem);
    return nlohmann::json::parse(in);
}

class Golden : public ::testing::TestWithParam<const char*> {};

TEST_P(Golden, GreedyTokensAndFirstLogitsMatchLlamaCpp) {
    const std::string stem = GetParam();
    const auto golden = read_golden(stem);
    auto model = ms::model::Model::load(kDir + stem + ".gguf");
    ms::ThreadPool pool(2);
    ms::executor::ChainExecutor chain(*model);
    ms::engine::Session session(chain, &pool, {.n_ctx = 512, .n_batch = 64, .block_size = 16});
    ms::engine::Sampler greedy({});

    const auto prompt = golden["prompt_tokens"].get<std::vector<int32_t>>();
    ms::model::Activations logits;
    session.append(prompt, false, logits);

    const auto want_logits = golden["steps"][0]["logits"].get<std::vector<float>>();
    ASSERT_EQ(logits.cols, int64_t(want_logits.size()));
    float max_diff = 0.0f;
    for (size_t i = 0; i < want_logits.size(); ++i)
        max_diff = std::max(max_diff, std::abs(logits.row(0)[i] - want_logits[i]));
    EXPECT_LT(max_diff, 1e-4f) << stem << ": step-0 logits differ by " << max_diff;

    const auto want = golden["generated_tokens"].get<std::vector<int32_t>>();
    std::vector<int32_t> got;
    for (size_t step = 0; step < want.size(); ++step) {
        const int32_t next = greedy.sample({logits.row(0), size_t(logits.cols)}, session.tokens());
        got.push_back(next);
        session.append({&next, 1}, false, logits);
    }
    EXPECT_EQ(got, want) << stem;
}

INSTANTIATE_TEST_SUITE_P(Stories260K, Golden,
                         ::testing::Values("stories260K", "stories260K-moe4x2",
                                           "stories260K-moe4x2-perturbed"),
                         [](const auto& info) {
                             std::string name = info.param;
                             for (char& c : name)
                                 if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                             return name;
                         });

// Batching must not change results: two sequences decoded together give the same logits as
// each alone.
TEST(Batching, TwoSequencesInOneBatchMatchSingleRuns) {
    auto model = ms::model::Model::load(kDir + "stories260K.gguf");
    model->reserve_kv(8, 16);
    const std::vector<int32_t> a{1, 403, 407, 261}, b{1, 261, 378};
    const std::vector<int32_t> table_a{0, 1}, table_b{2, 3};

    auto run = [&](const std::vector<std::pair<const std::vector<int32_t>*, int>>& seqs) {
        ms::model::Batch batch;
        batch.block_size = 16;
        batch.block_tables = {table_a, table_b};
        for (const auto& [tokens, seq] : seqs)
            for (size_t i = 0; i < tokens->size(); ++i)
                batch.add((*tokens)[i], int32_t(i), seq, i + 1 == tokens->size());
        ms::model::Activations logits;
        model->forward(batch, nullptr, logits);
        return logits;
    };
    const auto alone_a = run({{&a, 0}});
    const auto alone_b = run({{&b, 1}});
    const auto together = run({{&a, 0}, {&b, 1}});
    ASSERT_EQ(together.rows, 2);
    for (int64_t v = 0; v < together.cols; ++v) {
        EXPECT_NEAR(together.row(0)[v], alone_a.row(0)[v], 1e-5f);
        EXPECT_NEAR(together.row(1)[v], alone_b.row(0)[v], 1e-5f);
    }
}

}  // namespace
