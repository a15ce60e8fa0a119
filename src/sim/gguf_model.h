// Model shapes read from a GGUF file's metadata, and the bytes its weights really take.
#pragma once
#include <string>

#include "sim/catalog.h"

namespace ms::sim {

struct LoadedModel {
    ModelSpec spec;
    // From a GGUF file: mean bytes per element over its weight matrices as stored (quantized
    // blocks included), so the cost model streams the real weight size rather than a nominal
    // precision. 0 for catalog models: the deployment's precision decides.
    double weight_bytes_per_param = 0;
};

// Throws ConfigError naming the file and the missing or unsupported metadata key.
LoadedModel load_gguf_model(const std::string& path);

}  // namespace ms::sim
