// libFuzzer target: any byte string either decodes into an exchange message whose rows and
// pairs match its header, or into a refusal (ExchangeRefused), or is rejected with
// transport::TransportError. A decoded message must survive re-encoding, as float32 and as int8,
// unchanged in shape; a refusal's reason, re-encoded, is a refusal again.
#include <cstddef>
#include <cstdint>
#include <span>

#include "transport/exchange_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    constexpr int64_t kDim = 8;  // what the receiving side expects
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    try {
        const auto message = ms::transport::decode_exchange(bytes, kDim);
        if (int64_t(message.rows.size()) != message.n_rows * kDim) __builtin_trap();
        for (const auto& pair : message.pairs)
            if (int64_t(pair.row) >= message.n_rows) __builtin_trap();
        for (const auto format :
             {ms::transport::RowFormat::float32, ms::transport::RowFormat::int8}) {
            const auto again =
                ms::transport::encode_exchange(format, kDim, message.rows, message.pairs);
            if (ms::transport::decode_exchange(again, kDim).n_rows != message.n_rows)
                __builtin_trap();
        }
    } catch (const ms::transport::ExchangeRefused& refused) {
        try {
            ms::transport::decode_exchange(ms::transport::encode_exchange_failure(refused.what()),
                                           kDim);
            __builtin_trap();
        } catch (const ms::transport::ExchangeRefused&) {
        }
    } catch (const ms::transport::TransportError&) {
    }
    return 0;
}
