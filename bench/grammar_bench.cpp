// Time to compute a token mask per decode step, over a real vocabulary (default SmolLM2's
// 49,152 tokens), for several JSON schemas. Each run is one request: its schema is compiled to
// a fresh automaton (nothing cached) and a random walk through the masks writes a document,
// timing every mask on the way. Prints one row per schema with the median, mean and worst
// step of the first (cold) runs and of later runs that reuse the compiled automaton (a server
// caching grammars by schema, or the n > 1 choices of one request), on one thread. Usage:
// grammar_bench [-m MODEL] [-r RUNS] [--step-ms MS]
//   --step-ms: a decode step's time at batch 32 (matrixserve bench --sequences 32), to print
//   32 masks as a share of it.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "grammar/json_schema.h"
#include "grammar/token_mask.h"
#include "tokenizer/vocab.h"

using namespace ms::grammar;
using Clock = std::chrono::steady_clock;

namespace {

// The masking thread's CPU time in microseconds: on a shared machine wall time also counts
// the time the thread waited for a core, which is not the mask's cost.
double cpu_microseconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e6 + double(ts.tv_nsec) * 1e-3;
}

struct NamedSchema {
    const char* name;
    const char* schema;
};

const NamedSchema kSchemas[] = {
    {"json_object", nullptr},
    {"flat", R"({"type":"object","properties":{"name":{"type":"string","maxLength":24},
        "age":{"type":"integer","minimum":0,"maximum":150},"active":{"type":"boolean"}},
        "required":["name","age","active"],"additionalProperties":false})"},
    {"enum+pattern", R"({"type":"object","properties":{"color":{"enum":["red","green","blue"]},
        "code":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{4}$"}},"required":["color","code"]})"},
    {"array of objects", R"({"type":"object","properties":{"items":{"type":"array",
        "minItems":1,"maxItems":5,"items":{"type":"object","properties":{"id":{"type":"integer"},
        "score":{"type":"number","minimum":0,"maximum":1},"tag":{"type":"string"}},
        "required":["id","score","tag"]}}},"required":["items"]})"},
    {"recursive $ref", R"({"$defs":{"tree":{"type":"object","properties":{
        "label":{"type":"string","maxLength":12},"children":{"type":"array","maxItems":3,
        "items":{"$ref":"#/$defs/tree"}}},"required":["label","children"]}},
        "$ref":"#/$defs/tree"})"},
};

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

double mean(const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0 : sum / double(v.size());
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// One request's walk: masks until the grammar ends; returns each mask's microseconds.
std::vector<double> walk(TokenMasker& masker, const std::shared_ptr<Automaton>& automaton,
                         std::mt19937& rng) {
    const VocabIndex& v = masker.vocab();
    std::vector<uint64_t> mask(v.mask_words());
    std::vector<double> times;
    Matcher m(automaton);
    for (int step = 0; step < 256; ++step) {
        const double start = cpu_microseconds();
        masker.fill_mask(m, mask);
        times.push_back(cpu_microseconds() - start);
        std::vector<int32_t> options, closing;
        bool can_end = false;
        for (int32_t t = 0; t < v.n_tokens(); ++t) {
            if (!mask_allows(mask, t)) continue;
            if (v.is_end(t)) {
                can_end = true;
                continue;
            }
            options.push_back(t);
            if (v.token_bytes(t).find_first_of("\"]}") != std::string::npos) closing.push_back(t);
        }
        if (options.empty() || (can_end && rng() % 4 == 0)) break;
        // Like a model: mostly free tokens, and more and more often one that closes something.
        const bool close = !closing.empty() && int(rng() % 64) < step;
        const auto& from = close ? closing : options;
        masker.accept_token(m, from[rng() % from.size()]);
        if (m.is_complete()) break;
    }
    return times;
}

}  // namespace

int main(int argc, char** argv) {
    std::string model = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    int runs = 20;
    double step_ms = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "-m")) model = argv[i + 1];
        if (!std::strcmp(argv[i], "-r")) runs = std::max(2, std::atoi(argv[i + 1]));
        if (!std::strcmp(argv[i], "--step-ms")) step_ms = std::atof(argv[i + 1]);
    }
    const auto file = ms::gguf::File::open(model);
    const auto vocab_start = Clock::now();
    const auto vocab = VocabIndex::from_vocab(*ms::tok::Vocab::from_gguf(file));
    const double index_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - vocab_start).count();
    std::printf("grammar_bench: %s, %d tokens, %zu trie nodes (vocabulary + index %.0f ms)\n",
                model.c_str(), vocab->n_tokens(), vocab->n_trie_nodes(), index_ms);
    std::printf(
        "CPU: %s; 1 thread; %d runs per schema; CPU time per mask (one decode step of one "
        "sequence), microseconds\n\n",
        cpu_model().c_str(), runs);
    std::printf(
        "| schema | compile us | steps/run | cold median | cold mean | cold max | warm median | "
        "warm mean | warm max | 32 x cold mean |%s\n",
        step_ms > 0 ? " share of a batch-32 step |" : "");
    std::printf("|---|---|---|---|---|---|---|---|---|---|%s\n", step_ms > 0 ? "---|" : "");
    std::mt19937 rng(1);
    for (const auto& s : kSchemas) {
        std::vector<double> cold, warm, compile;
        size_t steps = 0;
        std::shared_ptr<Automaton> automaton;
        for (int r = 0; r < runs; ++r) {
            const bool fresh = r < runs / 2;  // the first half compile their own grammar
            if (fresh || !automaton) {
                const double start = cpu_microseconds();
                const Grammar g = s.schema ? compile_json_schema(s.schema) : json_object_grammar();
                automaton = std::make_shared<Automaton>(g);
                compile.push_back(cpu_microseconds() - start);
            }
            TokenMasker masker(vocab, automaton);
            const auto times = walk(masker, automaton, rng);
            steps += times.size();
            (fresh ? cold : warm).insert((fresh ? cold : warm).end(), times.begin(), times.end());
        }
        const double cold_mean = mean(cold);
        std::printf("| %s | %.0f | %.1f | %.1f | %.1f | %.0f | %.1f | %.1f | %.0f | %.2f ms |",
                    s.name, median(compile), double(steps) / runs, median(cold), cold_mean,
                    *std::max_element(cold.begin(), cold.end()), median(warm), mean(warm),
                    *std::max_element(warm.begin(), warm.end()), 32 * cold_mean / 1000);
        if (step_ms > 0) std::printf(" %.1f%% |", 100 * 32 * cold_mean / 1000 / step_ms);
        std::printf("\n");
    }
}
