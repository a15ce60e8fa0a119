// matrixserve logits: teacher-forced logits at every position of a token sequence, for
// comparing against reference implementations and computing perplexity.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "engine/session.h"
#include "model_options.h"

namespace ms::app {
namespace {

struct LogitsOptions {
    ModelOptions model;
    std::vector<int32_t> tokens;
    std::string text;
    std::string out_path;
    int n_batch = 256;
};

// Mean negative log-likelihood of tokens[i + 1] under the logits at position i.
double perplexity(const model::Activations& logits, const std::vector<int32_t>& tokens) {
    double nll = 0.0;
    for (int64_t i = 0; i + 1 < logits.rows; ++i) {
        const float* row = logits.row(i);
        double max = row[0];
        for (int64_t v = 1; v < logits.cols; ++v) max = std::max(max, double(row[v]));
        double sum = 0.0;
        for (int64_t v = 0; v < logits.cols; ++v) sum += std::exp(double(row[v]) - max);
        nll -= double(row[tokens[size_t(i + 1)]]) - max - std::log(sum);
    }
    return std::exp(nll / double(logits.rows - 1));
}

void run(LogitsOptions& o) {
    auto loaded = load_model(o.model, false);
    if (o.tokens.empty()) o.tokens = loaded.vocab->encode(o.text, std::nullopt, false);
    if (o.tokens.empty())
        throw std::invalid_argument("logits: give --tokens or a non-empty --text");
    engine::Session session(*loaded.chain, loaded.pool.get(),
                            {.n_ctx = o.model.n_ctx, .n_batch = o.n_batch, .block_size = 16});
    model::Activations logits;
    session.append(o.tokens, true, logits);
    if (!o.out_path.empty()) {
        std::ofstream out(o.out_path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(logits.data.data()),
                  std::streamsize(logits.data.size() * sizeof(float)));
        if (!out) throw std::runtime_error("logits: cannot write " + o.out_path);
    }
    nlohmann::json summary{{"tokens", o.tokens}, {"n_vocab", logits.cols}};
    if (o.tokens.size() > 1) summary["perplexity"] = perplexity(logits, o.tokens);
    std::puts(summary.dump().c_str());
}

void add_logits_command(CLI::App& root) {
    auto options = std::make_shared<LogitsOptions>();
    auto* cmd = root.add_subcommand("logits", "teacher-forced logits and perplexity of a sequence");
    options->model.add_to(*cmd);
    cmd->add_option("--tokens", options->tokens, "token ids (comma separated)")->delimiter(',');
    cmd->add_option("--text", options->text, "text to tokenize (model's BOS rule) instead");
    cmd->add_option("-o,--out", options->out_path, "write float32 logits [n_tokens x n_vocab]");
    cmd->add_option("-b,--batch", options->n_batch, "tokens per forward pass")
        ->check(CLI::PositiveNumber);
    cmd->callback([options] { run(*options); });
}

const Registration registration{"logits", &add_logits_command};

}  // namespace
}  // namespace ms::app
