// libFuzzer target: any byte string either compiles as a JSON schema or is refused with a
// SchemaError whose path is a JSON pointer into the schema ("#..."). A compiled schema runs:
// its own text is fed to the matcher byte by byte. Anything else (a crash, a sanitizer report,
// another exception type, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "grammar/json_schema.h"
#include "grammar/matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    ms::grammar::SchemaOptions options;
    options.max_repeat = 200;  // keeps each input's grammar small enough to run many
    try {
        const auto grammar = ms::grammar::compile_json_schema(text, options);
        ms::grammar::Matcher matcher(std::make_shared<ms::grammar::Automaton>(grammar, 20000));
        for (char c : text)
            if (!matcher.accept(uint8_t(c))) break;
        (void)matcher.can_finish();
    } catch (const ms::grammar::SchemaError& e) {
        if (e.path().empty() || e.path()[0] != '#') __builtin_trap();
    } catch (const std::length_error&) {
        // The automaton's state limit: the server fails such a request.
    }
    return 0;
}
