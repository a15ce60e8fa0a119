// libFuzzer target: any byte string is either a well-formed unit request or reply, or is rejected
// with std::runtime_error. A well-formed one must re-encode to the same bytes, except int8
// activations, which are quantised again: those must re-encode to a request that decodes to the
// same shape. Anything else (a crash, a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>

#include "runtime/workers/unit_wire.h"

namespace {

bool same_bytes(const ms::transport::Bytes& encoded, std::span<const std::byte> original) {
    return encoded.size() == original.size() &&
           std::memcmp(encoded.data(), original.data(), original.size()) == 0;
}

ms::transport::Bytes encode_again(const ms::runtime::UnitRequest& request) {
    using ms::runtime::UnitOp;
    switch (request.op) {
        case UnitOp::forward:
            return ms::runtime::encode_forward(request.unit, request.micro_batch,
                                               request.batch.batch, request.x, request.format);
        case UnitOp::serve_experts:
            return ms::runtime::encode_serve_experts(request.exchange);
        case UnitOp::place_experts:
            return ms::runtime::encode_place_experts(
                int(request.exchange.layer), ms::transport::ExpertPlacement(request.placement));
        case UnitOp::stop:
            break;
    }
    return ms::runtime::encode_stop();
}

void check_request(std::span<const std::byte> bytes) {
    ms::runtime::UnitRequest request;
    try {
        request = ms::runtime::decode_request(bytes);
    } catch (const std::runtime_error&) {
        return;
    }
    const ms::transport::Bytes again = encode_again(request);
    if (request.format == ms::transport::RowFormat::float32) {
        if (!same_bytes(again, bytes)) __builtin_trap();
        return;
    }
    const ms::runtime::UnitRequest requantised = ms::runtime::decode_request(again);
    if (requantised.x.rows != request.x.rows || requantised.x.cols != request.x.cols)
        __builtin_trap();
}

void check_reply(std::span<const std::byte> bytes) {
    try {
        ms::model::Activations x;
        ms::runtime::decode_reply(bytes, x);
        // Into empty activations only an empty int8 delta fits: that one re-encodes as is.
        if (!same_bytes(ms::runtime::encode_reply(x), bytes) &&
            !(x.data.empty() && same_bytes(ms::runtime::encode_delta_reply(x, {}), bytes)))
            __builtin_trap();
    } catch (const std::runtime_error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    check_request(bytes);
    check_reply(bytes);
    return 0;
}
