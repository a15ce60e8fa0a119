// `matrixserve serve` once the model and engine exist: the OpenAI API over HTTP until
// SIGINT/SIGTERM, then a graceful drain.
#pragma once
#include "engine/engine.h"
#include "server/http_server.h"
#include "server/openai_service.h"
#include "tokenizer/vocab.h"

namespace ms::server {

struct ServeOptions {
    HttpServerOptions http;
    ServiceConfig service;
};

// Prints "listening on http://HOST:PORT" on stdout when ready. On the first SIGINT/SIGTERM it
// stops accepting, answers 503 to new requests and /health, lets the engine finish what it
// accepted, and returns 0 once those replies are sent. A second signal exits at once with 1.
int serve(engine::Engine& engine, const tok::Vocab& vocab, ServeOptions options);

}  // namespace ms::server
