// The gated feed-forward block shared by dense FFN units and every MoE expert:
// down(act(gate x) * up x), with act = SiLU (SwiGLU) unless the architecture says GELU (GeGLU).
#pragma once
#include <cstdint>

#include "kernels/matmul.h"
#include "model/unit.h"

namespace ms::model {

enum class GateActivation { Silu, GeluTanh };

struct SwiGlu {
    kernels::MatView gate, up, down;
    GateActivation activation = GateActivation::Silu;

    // out (n x down.rows) = block applied to in (n x gate.cols). scratch is reused across calls.
    void forward(const float* in, int64_t n, float* out, ThreadPool* pool,
                 Activations& gate_scratch, Activations& up_scratch) const;
};

}  // namespace ms::model
