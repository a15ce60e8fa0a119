// libFuzzer target: any text either parses into a Deployment (and plans against a small MoE
// model's shape) or is rejected with runtime::DeploymentError. Anything else (a crash, a
// sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/deployment/deployment.h"

namespace {

ms::model::HParams small_moe() {
    ms::model::HParams hp;
    hp.arch = "llama";
    hp.n_vocab = 512;
    hp.n_embd = 64;
    hp.n_layer = 5;
    hp.n_head = 8;
    hp.n_head_kv = 4;
    hp.head_dim = 8;
    hp.n_ff = 172;
    hp.n_expert = 4;
    hp.n_expert_used = 2;
    return hp;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ms::model::HParams hp = small_moe();
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto deployment = ms::runtime::parse_deployment(text, "fuzz.yaml");
        (void)ms::runtime::plan_workers(deployment, hp);
    } catch (const ms::runtime::DeploymentError&) {
    }
    return 0;
}
