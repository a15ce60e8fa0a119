#include "model/swiglu.h"

#include "model/layer_math.h"

namespace ms::model {

void SwiGlu::forward(const float* in, int64_t n, float* out, ThreadPool* pool,
                     Activations& gate_scratch, Activations& up_scratch) const {
    gate_scratch.resize(n, gate.rows);
    up_scratch.resize(n, up.rows);
    kernels::matmul(gate, in, n, gate_scratch.data.data(), pool);
    kernels::matmul(up, in, n, up_scratch.data.data(), pool);
    const int64_t count = n * gate.rows;
    if (activation == GateActivation::Silu)
        swiglu(gate_scratch.data.data(), up_scratch.data.data(), count);
    else
        geglu(gate_scratch.data.data(), up_scratch.data.data(), count);
    kernels::matmul(down, gate_scratch.data.data(), n, out, pool);
}

}  // namespace ms::model
