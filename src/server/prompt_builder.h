// From a parsed API request to what the engine runs: the prompt's token ids (chat template
// applied for chat), then one GenerationRequest per choice (n), each with its own seed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "server/request_parser.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/vocab.h"

namespace ms::server {

// Chat: special tokens come from the template only, never from message content. Completions:
// text is text unless request.parse_special. Throws ApiError (400) for token ids outside the
// vocabulary (in the prompt or logit_bias), an empty prompt, or a model without a usable chat
// template.
std::vector<int32_t> build_prompt(const ParsedRequest& request, const tok::Vocab& vocab,
                                  const tok::ChatTemplate& chat_template);

// Choice i gets seed (request.seed or random_seed) + i. max_tokens defaults to 16 for
// completions and the rest of the context for chat, and never reaches past n_ctx. Throws
// ApiError (400) when the prompt leaves no room to generate.
std::vector<engine::GenerationRequest> make_generation_requests(const ParsedRequest& request,
                                                                std::vector<int32_t> prompt,
                                                                int32_t n_ctx,
                                                                uint64_t random_seed);

// What echo puts before each choice's text: the prompt as sent (token ids as their text, with
// special tokens shown), or "" without echo.
std::string echo_text(const ParsedRequest& request, const tok::Vocab& vocab);

}  // namespace ms::server
