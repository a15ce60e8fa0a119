#include "commands.h"

#include <map>
#include <string>

namespace ms::app {
namespace {

std::map<std::string, AddCommand>& registry() {
    static std::map<std::string, AddCommand> commands;  // ordered: stable --help listing
    return commands;
}

}  // namespace

Registration::Registration(const char* name, AddCommand add) {
    registry()[name] = add;
}

void add_registered_commands(CLI::App& root) {
    for (const auto& [name, add] : registry()) add(root);
}

}  // namespace ms::app
