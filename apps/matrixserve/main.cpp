// matrixserve: LLM serving system. Subcommands register themselves (commands.h).
#include <cstdio>
#include <exception>

#include "commands.h"

int main(int argc, char** argv) {
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
