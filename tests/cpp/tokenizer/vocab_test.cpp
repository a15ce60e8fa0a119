// Vocabularies against llama.cpp's conformance vectors and known encodings.
#include "tokenizer/vocab.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gguf/gguf.h"

namespace ms::tok {
namespace {

const std::string kModels = MS_SHARED_MODELS;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> split(const std::string& text, const std::string& separator) {
    std::vector<std::string> parts;
    size_t pos = 0;
    for (size_t at = text.find(separator); at != std::string::npos;
         at = text.find(separator, pos)) {
        parts.push_back(text.substr(pos, at - pos));
        pos = at + separator.size();
    }
    parts.push_back(text.substr(pos));
    return parts;
}

struct VocabCase {
    std::string text;
    std::vector<Token> expected;
};

// .inp: strings each followed by "\n__ggml_vocab_test__\n"; .out: one line of ids per string.
std::vector<VocabCase> read_vectors(const std::string& gguf_path) {
    const auto inputs = split(read_file(gguf_path + ".inp"), "\n__ggml_vocab_test__\n");
    const auto outputs = split(read_file(gguf_path + ".out"), "\n");
    std::vector<VocabCase> cases;
    for (size_t i = 0; i + 1 < inputs.size(); ++i) {
        VocabCase c{inputs[i], {}};
        std::istringstream ids(outputs.at(i));
        for (Token id; ids >> id;) c.expected.push_back(id);
        cases.push_back(std::move(c));
    }
    return cases;
}

struct LoadedVocab {
    gguf::File file;
    std::unique_ptr<Vocab> vocab;
};

LoadedVocab load(const std::string& path) {
    auto file = gguf::File::open(path);
    auto vocab = Vocab::from_gguf(file);
    return {std::move(file), std::move(vocab)};
}

class VocabVectors : public testing::TestWithParam<std::string> {};

TEST_P(VocabVectors, EncodesAll46Strings) {
    const std::string path = kModels + "/tokenizers/" + GetParam();
    const auto loaded = load(path);
    const auto cases = read_vectors(path);
    ASSERT_EQ(cases.size(), 46u);
    int passed = 0;
    for (const auto& c : cases) {
        const auto ids = loaded.vocab->encode(c.text, false, false);
        EXPECT_EQ(ids, c.expected) << "text: '" << c.text << "'";
        passed += ids == c.expected;
    }
    RecordProperty("vectors_passed", passed);
    EXPECT_EQ(passed, 46);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, VocabVectors,
                         testing::Values("ggml-vocab-phi-3.gguf", "ggml-vocab-gpt-2.gguf"),
                         [](const auto& info) {
                             return info.param.find("phi") != std::string::npos ? "Phi3" : "Gpt2";
                         });

TEST(SentencePiece, Stories260KEncodesPromptWithBos) {
    const auto loaded = load(kModels + "/stories260K/stories260K.gguf");
    const std::vector<Token> expected{1, 403, 407, 261, 378};
    EXPECT_EQ(loaded.vocab->encode("Once upon a time", true, false), expected);
    EXPECT_TRUE(loaded.vocab->add_bos_default());
    EXPECT_EQ(loaded.vocab->encode("Once upon a time", std::nullopt, false), expected);
}

TEST(SentencePiece, UnknownCharactersFallBackToByteTokens) {
    const auto loaded = load(kModels + "/stories260K/stories260K.gguf");
    const auto& vocab = *loaded.vocab;
    // "東" is E6 9D B1; stories260K has no token for it, so it is spelled with <0xXX> tokens.
    const auto ids = vocab.encode("東", false, false);
    ASSERT_EQ(ids.size(), 4u);  // "▁" then three bytes
    EXPECT_EQ(vocab.token_text(ids[1]), "<0xE6>");
    EXPECT_EQ(vocab.token_to_piece(ids[1]), "\xE6");
    EXPECT_EQ(vocab.decode(ids), " 東");
}

TEST(SentencePiece, TokenTypesDecideThePiece) {
    const auto loaded = load(kModels + "/tokenizers/ggml-vocab-phi-3.gguf");
    const auto& vocab = *loaded.vocab;
    EXPECT_EQ(vocab.token_to_piece(1), "");  // <s>: control
    EXPECT_EQ(vocab.token_to_piece(1, true), "<s>");
    EXPECT_EQ(vocab.token_to_piece(0), "");  // <unk>: control here
    // User-defined, but an end-of-generation text, so control: silent like in llama.cpp.
    EXPECT_EQ(vocab.token_to_piece(2), "");
    EXPECT_EQ(vocab.token_to_piece(2, true), "</s>");
    EXPECT_EQ(vocab.token_to_piece(*vocab.find("<0x0A>")), "\n");  // byte
    EXPECT_EQ(vocab.token_to_piece(*vocab.find("▁Hello")), " Hello");
    EXPECT_THROW(vocab.token_to_piece(vocab.n_tokens()), std::out_of_range);
}

TEST(SentencePiece, ParseSpecialCutsOutControlTokens) {
    const auto loaded = load(kModels + "/tokenizers/ggml-vocab-phi-3.gguf");
    const auto& vocab = *loaded.vocab;
    const Token user = *vocab.find("<|user|>");
    const Token end = *vocab.find("<|end|>");
    const auto ids = vocab.encode("<|user|>\nHi<|end|>", false, true);
    ASSERT_GE(ids.size(), 3u);
    EXPECT_EQ(ids.front(), user);
    EXPECT_EQ(ids.back(), end);
    const auto plain = vocab.encode("<|user|>", false, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), user), 0);
}

TEST(SentencePiece, EndOfGeneration) {
    const auto loaded = load(kModels + "/tokenizers/ggml-vocab-phi-3.gguf");
    const auto& vocab = *loaded.vocab;
    EXPECT_EQ(vocab.eos(), 32000);
    EXPECT_TRUE(vocab.is_end_of_generation(32000));  // <|endoftext|>
    EXPECT_TRUE(vocab.is_end_of_generation(*vocab.find("<|end|>")));
    EXPECT_FALSE(vocab.is_end_of_generation(*vocab.find("<|user|>")));
    EXPECT_FALSE(vocab.is_end_of_generation(vocab.bos()));
}

TEST(BytePairs, SpecialTokenOnlyWithParseSpecial) {
    const auto loaded = load(kModels + "/tokenizers/ggml-vocab-gpt-2.gguf");
    const auto& vocab = *loaded.vocab;
    EXPECT_EQ(vocab.encode("a<|endoftext|>b", false, true), (std::vector<Token>{64, 50256, 65}));
    const auto plain = vocab.encode("a<|endoftext|>b", false, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0);
    EXPECT_EQ(vocab.decode(plain), "a<|endoftext|>b");
    EXPECT_TRUE(vocab.is_end_of_generation(50256));
    EXPECT_FALSE(vocab.add_bos_default());
    EXPECT_EQ(vocab.token_to_piece(50256), "");
    EXPECT_EQ(vocab.token_to_piece(50256, true), "<|endoftext|>");
}

TEST(BytePairs, IllFormedUtf8BecomesReplacementCharacter) {
    const auto loaded = load(kModels + "/tokenizers/ggml-vocab-gpt-2.gguf");
    const auto& vocab = *loaded.vocab;
    // llama.cpp reads a byte that starts no UTF-8 sequence as U+FFFD.
    EXPECT_EQ(vocab.encode("a\xFF"
                           "b",
                           false, false),
              vocab.encode("a\uFFFD"
                           "b",
                           false, false));
}

class RoundTrip : public testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, DecodeGivesTheTextBack) {
    const std::string path = kModels + "/tokenizers/" + GetParam();
    const auto loaded = load(path);
    const bool space_prefix = GetParam().find("phi") != std::string::npos;
    for (const auto& c : read_vectors(path)) {
        const auto ids = loaded.vocab->encode(c.text, false, false);
        const std::string expected = space_prefix && !c.text.empty() ? " " + c.text : c.text;
        EXPECT_EQ(loaded.vocab->decode(ids), expected);
    }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, RoundTrip,
                         testing::Values("ggml-vocab-phi-3.gguf", "ggml-vocab-gpt-2.gguf"),
                         [](const auto& info) {
                             return info.param.find("phi") != std::string::npos ? "Phi3" : "Gpt2";
                         });

}  // namespace
}  // namespace ms::tok
