// The messages between a front end and a worker that runs some of its units. Every request is
//   u32 op | op = forward: string unit name, u32 micro-batch, the batch (tokens, pos, seq,
//   want_logits, block tables, block size) and the activations (i64 rows, i64 cols, u32 row
//   format, the rows as transport/row_codec.h encodes them)
//          | op = serve_experts: u32 step, u32 micro-batch, u32 layer: take part in that expert
//            exchange (transport/expert_exchange.h); its results go back as the exchange's
//            combine message, not as a reply
//          | op = place_experts: u32 layer, then per expert of the layer the ranks holding it
//            (u64 count, i32 ranks): from now on the worker holds the experts placed on it
// and every reply to a forward, on the reply tag of its micro-batch, is
//   u32 status | ok: the activations | error: string message
// in host byte order (front end and workers share one architecture). Strings and vectors are a
// u64 count then the elements. An int8 forward (`activations: int8`, residual units only) gets
// an int8 ok reply carrying the unit's delta, output - decoded input, which the front end adds to
// its own exact activations: its residual stream never takes a round trip's rounding, only the
// delta's. Float32 replies carry the output itself (embedding and head always travel so).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/unit.h"
#include "transport/expert_exchange.h"
#include "transport/row_codec.h"
#include "transport/transport.h"

namespace ms::runtime {

enum class UnitOp : uint32_t { forward = 1, stop = 2, serve_experts = 3, place_experts = 4 };

// The streams between the front end and one worker: requests go one way, replies the other, and
// the worker announces once that its units are loaded.
constexpr transport::Tag kUnitRequestTag = transport::make_tag(transport::TagKind::control, 0);
constexpr transport::Tag kWorkerReadyTag = transport::make_tag(transport::TagKind::control, 1);
// Replies to forwards of different micro-batches may be awaited in any order.
constexpr transport::Tag unit_reply_tag(uint32_t micro_batch) {
    return transport::make_tag(transport::TagKind::activations, 0, micro_batch);
}

// A batch as a worker sees it: owns the block tables the Batch's spans point into.
struct ReceivedBatch {
    model::Batch batch;
    std::vector<std::vector<int32_t>> block_tables;
};

struct UnitRequest {
    UnitOp op = UnitOp::stop;
    std::string unit;
    uint32_t micro_batch = 0;  // forward: < model::kMaxMicroBatches
    ReceivedBatch batch;
    model::Activations x;
    transport::RowFormat format = transport::RowFormat::float32;  // how x travelled
    transport::ExchangeId exchange;               // serve_experts; place_experts: the layer
    std::vector<std::vector<int32_t>> placement;  // place_experts: expert -> ranks
};

transport::Bytes encode_forward(const std::string& unit, uint32_t micro_batch,
                                const model::Batch& batch, const model::Activations& x,
                                transport::RowFormat format);
transport::Bytes encode_stop();
transport::Bytes encode_serve_experts(transport::ExchangeId exchange);
transport::Bytes encode_place_experts(int layer, const transport::ExpertPlacement& placement);
// Throws std::runtime_error naming what is malformed (also a placement ExpertPlacement refuses).
UnitRequest decode_request(std::span<const std::byte> bytes);

transport::Bytes encode_reply(const model::Activations& y);
// The reply to an int8 forward whose decoded activations were `input`: y must keep their shape.
transport::Bytes encode_delta_reply(const model::Activations& y, std::span<const float> input);
transport::Bytes encode_error_reply(const std::string& message);
// Sets x to a float32 ok reply's activations or adds an int8 one's delta to it; throws
// std::runtime_error with the worker's message for an error.
void decode_reply(std::span<const std::byte> bytes, model::Activations& x);

}  // namespace ms::runtime
