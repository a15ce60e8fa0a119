// matrixserve tokenize: text to token ids (or back) with a model's vocabulary, for scripts and
// for comparing against other tokenizers.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

namespace ms::app {
namespace {

enum class InputFormat { Whole, JsonLines, HexLines };

struct TokenizeOptions {
    std::string model = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    bool no_bos = false;
    bool special = false;
    bool json_lines = false;
    bool hex_lines = false;
    bool detokenize = false;
};

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument(std::string("not a hex digit: '") + c + "'");
}

// Hex lines carry arbitrary bytes, ill-formed UTF-8 included, which JSON strings cannot.
std::string bytes_from_hex(const std::string& hex) {
    if (hex.size() % 2 != 0) throw std::invalid_argument("odd number of hex digits");
    std::string bytes;
    for (size_t i = 0; i < hex.size(); i += 2) {
        bytes += static_cast<char>(hex_digit(hex[i]) * 16 + hex_digit(hex[i + 1]));
    }
    return bytes;
}

std::string read_all(std::istream& in) {
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void print_ids(const tok::Vocab& vocab, const std::string& text, const TokenizeOptions& o) {
    const std::optional<bool> add_bos = o.no_bos ? std::optional(false) : std::nullopt;
    std::cout << nlohmann::json(vocab.encode(text, add_bos, o.special)).dump() << '\n';
}

void tokenize(const tok::Vocab& vocab, const TokenizeOptions& o) {
    if (!o.json_lines && !o.hex_lines) {
        print_ids(vocab, read_all(std::cin), o);
        return;
    }
    for (std::string line; std::getline(std::cin, line);) {
        const std::string text =
            o.hex_lines ? bytes_from_hex(line) : nlohmann::json::parse(line).get<std::string>();
        print_ids(vocab, text, o);
    }
}

// Each line a JSON array of ids; prints the text as a JSON string (ill-formed UTF-8 as U+FFFD).
void detokenize(const tok::Vocab& vocab, const TokenizeOptions& o) {
    for (std::string line; std::getline(std::cin, line);) {
        const auto ids = nlohmann::json::parse(line).get<std::vector<tok::Token>>();
        const std::string text = vocab.decode(ids, o.special);
        std::cout << nlohmann::json(text).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace)
                  << '\n';
    }
}

void run(const TokenizeOptions& o) {
    const auto file = gguf::File::open(o.model);
    const auto vocab = tok::Vocab::from_gguf(file);
    std::ios::sync_with_stdio(false);
    if (o.detokenize) {
        detokenize(*vocab, o);
    } else {
        tokenize(*vocab, o);
    }
    std::cout.flush();
}

void add_tokenize_command(CLI::App& root) {
    auto options = std::make_shared<TokenizeOptions>();
    CLI::App* cmd = root.add_subcommand(
        "tokenize",
        "Print the token ids of stdin as a JSON array (or, with --detokenize, the text)");
    cmd->add_option("-m,--model", options->model, "GGUF file whose vocabulary to use")
        ->capture_default_str();
    cmd->add_flag("--no-bos", options->no_bos, "Never add BOS (default: the model's rule)");
    cmd->add_flag("--special", options->special,
                  "Recognise special-token texts such as <|im_start|> (and render them back)");
    auto* json_lines = cmd->add_flag("--json-lines", options->json_lines,
                                     "Each input line is a JSON string; one array per line");
    auto* hex_lines = cmd->add_flag("--hex-lines", options->hex_lines,
                                    "Each input line is hex-encoded bytes; one array per line");
    json_lines->excludes(hex_lines);
    cmd->add_flag("--detokenize", options->detokenize,
                  "Each input line is a JSON array of ids; print the text as a JSON string")
        ->excludes(json_lines)
        ->excludes(hex_lines);
    cmd->callback([options] { run(*options); });
}

const Registration registration{"tokenize", &add_tokenize_command};

}  // namespace
}  // namespace ms::app
