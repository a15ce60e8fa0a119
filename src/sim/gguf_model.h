// Model shapes read from a GGUF file's metadata, and the bytes its weights really take.
#pragma once
#include <string>

#include "sim/catalog.h"

namespace ms::sim {

struct GgufModel {
    ModelSpec spec;
    // Mean bytes per element over the weight matrices as stored (quantized blocks included),
    // so the cost model streams the file's real weight size rather than a nominal precision.
    double weight_bytes_per_param = 0;
};

// Throws ConfigError naming the file and the missing or unsupported metadata key.
GgufModel load_gguf_model(const std::string& path);

}  // namespace ms::sim
