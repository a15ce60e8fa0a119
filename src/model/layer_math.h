// Small per-row operations shared by the units (the big products live in kernels/).
#pragma once
#include <cstdint>

#include "model/hparams.h"

namespace ms::model {

// out = x / rms(x) * weight, over n elements (out may be x).
void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out);
// Rotates each head of vec (n_heads x head_dim) for position pos; the angles are
// position_scale * pos * theta^(-2i/head_dim) (position_scale < 1 is linear RoPE scaling).
void apply_rope(float* vec, int64_t n_heads, int64_t head_dim, int32_t pos, float theta,
                float position_scale, RopeLayout layout);
// In place: x = exp(x - max) / sum over n elements.
void softmax(float* x, int64_t n);
// gate = silu(gate) * up, elementwise (kernels::silu_gate: SIMD where the CPU has it).
void swiglu(float* gate, const float* up, int64_t n);
// gate = gelu(gate) * up, elementwise, with gelu as llama.cpp's CPU backend computes it.
void geglu(float* gate, const float* up, int64_t n);
// GELU, tanh approximation, the way llama.cpp's CPU backend evaluates it: the input rounded
// to half precision, the result rounded to half precision (it reads a 64K-entry table), and
// saturated to 0 below -10 and to x above 10. Matching it keeps logits within 1e-3 of
// llama.cpp's; the exact formula differs from the table by up to ~1e-3 relative.
float gelu_tanh_half_table(float x);
// Rounds to the nearest IEEE half-precision value (ties to even), returned as float.
float round_to_half(float x);
// The first key position a query at pos attends to: 0 for global attention, else the start
// of the window of sliding_window positions ending at pos.
int32_t first_visible_position(int32_t pos, int32_t sliding_window);

}  // namespace ms::model

namespace ms::model {
struct Activations;
// out = rms_norm of each row of x with weight (out is resized to x's shape).
void rms_norm_rows(const Activations& x, const float* weight, float eps, Activations& out);
// Each row of x, in place, RMS-normalised with weight.
void rms_norm_rows_in_place(Activations& x, const float* weight, float eps);
// Each row of x, in place: split into heads of head_dim, each RMS-normalised with weight.
void rms_norm_heads(float* row, int64_t n_heads, int64_t head_dim, const float* weight, float eps);
}  // namespace ms::model
