#include "loadgen/workload.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>

namespace ms::loadgen {
namespace {

size_t words_in(const std::string& text) {
    return size_t(std::count(text.begin(), text.end(), ' ')) + 1;
}

TEST(SpreadLengths, StaysInRangeAndCoversIt) {
    const auto lengths = spread_lengths(2000, 100, 0.5, 1);
    std::set<int32_t> seen(lengths.begin(), lengths.end());
    EXPECT_EQ(*seen.begin(), 50);
    EXPECT_EQ(*seen.rbegin(), 150);
    EXPECT_EQ(spread_lengths(3, 7, 0.0, 1), (std::vector<int32_t>{7, 7, 7}));
    EXPECT_GE(spread_lengths(1, 1, 1.0, 1).front(), 1);  // never below one token
}

TEST(SyntheticRequests, PromptsHaveTheDrawnWordCountsAndDiffer) {
    const auto requests = synthetic_requests(
        {.count = 20, .input_len = 64, .output_len = 16, .range_ratio = 0.25, .seed = 3});
    ASSERT_EQ(requests.size(), 20u);
    std::set<std::string> prompts;
    for (const auto& r : requests) {
        EXPECT_EQ(words_in(r.prompt), size_t(r.expected_prompt_tokens));
        EXPECT_GE(r.expected_prompt_tokens, 48);
        EXPECT_LE(r.expected_prompt_tokens, 80);
        EXPECT_GE(r.max_tokens, 12);
        EXPECT_LE(r.max_tokens, 20);
        prompts.insert(r.prompt);
    }
    EXPECT_EQ(prompts.size(), 20u);
}

class PromptsFile : public ::testing::Test {
protected:
    std::string write(const std::string& text) {
        std::ofstream(path_) << text;
        return path_;
    }
    void TearDown() override { std::remove(path_.c_str()); }
    std::string path_ = ::testing::TempDir() + "loadgen_prompts.jsonl";
};

TEST_F(PromptsFile, ReadsPromptsWithDefaultMaxTokens) {
    const auto requests = requests_from_jsonl(
        write("{\"prompt\": \"hello there\", \"max_tokens\": 5}\n\n{\"prompt\": \"hi\"}\n"), 32);
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].prompt, "hello there");
    EXPECT_EQ(requests[0].max_tokens, 5);
    EXPECT_EQ(requests[0].expected_prompt_tokens, 2);
    EXPECT_EQ(requests[1].max_tokens, 32);
}

TEST_F(PromptsFile, NamesTheBadLine) {
    try {
        requests_from_jsonl(write("{\"prompt\": \"ok\"}\n{\"text\": \"no prompt\"}\n"), 8);
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
    }
    EXPECT_THROW(requests_from_jsonl(write(""), 8), std::runtime_error);
    EXPECT_THROW(requests_from_jsonl("/nonexistent/prompts.jsonl", 8), std::runtime_error);
}

}  // namespace
}  // namespace ms::loadgen
