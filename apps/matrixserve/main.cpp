// matrixserve: LLM serving system. Subcommands register themselves (commands.h).
#include <malloc.h>

#include <cstdio>
#include <exception>

#include "commands.h"

namespace {

// A step's large buffers (a batch's logits, a worker's reply: megabytes) would otherwise be
// mapped and unmapped by malloc every step, each time paying a page fault per 4 KiB: in a split
// deployment's head, 1.7 ms instead of 0.6 ms to encode a 3 MB reply. Freed memory stays in the
// heap instead (up to kTrimBytes of it).
void keep_freed_memory() {
    constexpr int kMmapBytes = 32 << 20;   // glibc's largest threshold; bigger buffers are mapped
    constexpr int kTrimBytes = 256 << 20;  // unused heap beyond this goes back to the system
    mallopt(M_MMAP_THRESHOLD, kMmapBytes);
    mallopt(M_TRIM_THRESHOLD, kTrimBytes);
}

}  // namespace

int main(int argc, char** argv) {
    keep_freed_memory();
    CLI::App app{"matrixserve: disaggregated LLM serving on CPUs and a supernode simulator"};
    app.require_subcommand(1);
    ms::app::add_registered_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "matrixserve: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
