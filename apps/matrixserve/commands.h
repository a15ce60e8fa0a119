// Subcommands of the `matrixserve` binary. Each cmd_*.cpp defines one and registers it with
//   static const ms::app::Registration reg{"name", &add_name_command};
// where add_name_command adds the subcommand (options and callback) to the root CLI::App.
#pragma once
#include <CLI/CLI.hpp>

namespace ms::app {

using AddCommand = void (*)(CLI::App& root);

struct Registration {
    Registration(const char* name, AddCommand add);
};

void add_registered_commands(CLI::App& root);

}  // namespace ms::app
