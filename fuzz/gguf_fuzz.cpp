// libFuzzer target: any byte string either parses into a File whose every value and tensor
// can be read, or is rejected with ms::gguf::Error. Anything else (a crash, a sanitizer
// report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "gguf/gguf.h"

namespace {

// Reads every byte a File claims to own, so ASan checks the claimed extents.
uint8_t touch_everything(const ms::gguf::File& file) {
    uint8_t checksum = 0;
    for (const auto& [key, value] : file.metadata()) {
        checksum ^= static_cast<uint8_t>(key.size() + value.array_size());
        checksum ^= static_cast<uint8_t>(ms::gguf::to_display_string(value).size());
        if (file.find(key) != &value) __builtin_trap();  // lookup must agree with file order
    }
    for (const auto& t : file.tensors()) {
        if (file.find_tensor(t.name) != &t) __builtin_trap();
        checksum ^= static_cast<uint8_t>(t.n_elements());
        for (uint64_t i = 0; i < t.n_bytes; ++i) checksum ^= t.data[i];
    }
    return checksum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto file = ms::gguf::File::from_bytes(std::span(data, size));
        volatile uint8_t sink = touch_everything(file);
        (void)sink;
    } catch (const ms::gguf::Error&) {
        // Rejected inputs are the expected outcome for most mutations.
    }
    return 0;
}
