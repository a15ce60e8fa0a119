#include "loadgen/workload.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

namespace ms::loadgen {
namespace {

// Frequent words that GPT-2/Llama-style BPE vocabularies keep whole (with their leading space).
constexpr std::array words{
    "the",      "of",     "and",     "to",      "in",     "is",       "that",   "for",
    "it",       "as",     "was",     "with",    "be",     "by",       "on",     "not",
    "he",       "this",   "are",     "or",      "his",    "from",     "at",     "which",
    "but",      "have",   "an",      "had",     "they",   "you",      "were",   "their",
    "one",      "all",    "we",      "can",     "her",    "has",      "there",  "been",
    "if",       "more",   "when",    "will",    "would",  "who",      "so",     "no",
    "time",     "people", "year",    "way",     "day",    "man",      "thing",  "woman",
    "life",     "child",  "world",   "school",  "state",  "family",   "group",  "country",
    "problem",  "hand",   "part",    "place",   "case",   "week",     "system", "program",
    "question", "work",   "number",  "night",   "point",  "home",     "water",  "room",
    "mother",   "area",   "money",   "story",   "fact",   "month",    "lot",    "right",
    "study",    "book",   "eye",     "job",     "word",   "business", "issue",  "side",
    "kind",     "head",   "house",   "service", "friend", "father",   "power",  "hour",
    "game",     "line",   "end",     "member",  "law",    "car",      "city",   "name",
    "team",     "minute", "idea",    "body",    "back",   "parent",   "face",   "others",
    "level",    "office", "door",    "health",  "person", "art",      "war",    "history",
    "party",    "result", "change",  "morning", "reason", "research", "girl",   "guy",
    "moment",   "air",    "teacher", "force"};

std::string random_words(int32_t count, std::mt19937_64& rng) {
    std::uniform_int_distribution<size_t> pick(0, words.size() - 1);
    std::string text;
    for (int32_t i = 0; i < count; ++i) {
        if (i > 0) text += ' ';
        text += words[pick(rng)];
    }
    return text;
}

int32_t word_count(const std::string& text) {
    int32_t count = 0;
    bool in_word = false;
    for (const char c : text) {
        const bool space = std::isspace(static_cast<unsigned char>(c));
        count += !space && !in_word;
        in_word = !space;
    }
    return count;
}

}  // namespace

std::vector<int32_t> spread_lengths(size_t count, int32_t len, double ratio, uint64_t seed) {
    const auto low = std::max<int32_t>(1, int32_t(std::lround(len * (1 - ratio))));
    const auto high = std::max<int32_t>(low, int32_t(std::lround(len * (1 + ratio))));
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int32_t> pick(low, high);
    std::vector<int32_t> lengths(count);
    for (auto& length : lengths) length = pick(rng);
    return lengths;
}

std::vector<BenchRequest> synthetic_requests(const SyntheticOptions& o) {
    const auto inputs = spread_lengths(o.count, o.input_len, o.range_ratio, o.seed);
    const auto outputs = spread_lengths(o.count, o.output_len, o.range_ratio, o.seed + 1);
    std::mt19937_64 rng(o.seed + 2);
    std::vector<BenchRequest> requests(o.count);
    for (size_t i = 0; i < o.count; ++i) {
        requests[i].prompt = random_words(inputs[i], rng);
        requests[i].max_tokens = outputs[i];
        requests[i].expected_prompt_tokens = inputs[i];
    }
    return requests;
}

std::vector<BenchRequest> requests_from_jsonl(const std::string& path, int32_t default_max_tokens) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open prompts file " + path);
    std::vector<BenchRequest> requests;
    std::string line;
    for (int line_number = 1; std::getline(in, line); ++line_number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto where = path + ":" + std::to_string(line_number) + ": ";
        const auto doc = nlohmann::json::parse(line, nullptr, false);
        if (!doc.is_object() || !doc.contains("prompt") || !doc["prompt"].is_string())
            throw std::runtime_error(where + "expected {\"prompt\": \"...\", \"max_tokens\": N}");
        BenchRequest request;
        request.prompt = doc["prompt"].get<std::string>();
        request.max_tokens = doc.value("max_tokens", default_max_tokens);
        if (request.max_tokens < 1) throw std::runtime_error(where + "max_tokens must be >= 1");
        request.expected_prompt_tokens = word_count(request.prompt);
        requests.push_back(std::move(request));
    }
    if (requests.empty()) throw std::runtime_error("no prompts in " + path);
    return requests;
}

}  // namespace ms::loadgen
