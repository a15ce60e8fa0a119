// Small per-row operations shared by the units (the big products live in kernels/).
#pragma once
#include <cstdint>

#include "model/hparams.h"

namespace ms::model {

// out = x / rms(x) * weight, over n elements.
void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out);
// Rotates each head of vec (n_heads x head_dim) for position pos.
void apply_rope(float* vec, int64_t n_heads, int64_t head_dim, int32_t pos, float theta,
                RopeLayout layout);
// In place: x = exp(x - max) / sum over n elements.
void softmax(float* x, int64_t n);
// gate = silu(gate) * up, elementwise.
void swiglu(float* gate, const float* up, int64_t n);

}  // namespace ms::model

namespace ms::model {
struct Activations;
// out = rms_norm of each row of x with weight (out is resized to x's shape).
void rms_norm_rows(const Activations& x, const float* weight, float eps, Activations& out);
}  // namespace ms::model
