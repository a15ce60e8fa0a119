// `matrixserve inspect MODEL [--tensors]`: what a GGUF file holds, after full validation.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include "commands.h"
#include "gguf/gguf.h"
#include "model/model.h"

namespace ms::app {
namespace {

struct InspectOptions {
    std::string model;
    bool tensors = false;
};

std::string type_column(const gguf::Value& v) {
    if (!v.is_array()) return std::string(gguf::value_type_name(v.type));
    return fmt::format("{}[{}]", gguf::value_type_name(v.array_type), v.array_size());
}

std::string dims_text(const gguf::TensorInfo& t) {
    return fmt::format("[{}]", fmt::join(t.dims, ", "));
}

void print_metadata(const gguf::File& file) {
    fmt::print("metadata: {} keys\n", file.metadata().size());
    size_t key_width = 0;
    for (const auto& [key, value] : file.metadata()) key_width = std::max(key_width, key.size());
    for (const auto& [key, value] : file.metadata())
        fmt::print("  {:<{}}  {:<14} {}\n", key, key_width, type_column(value),
                   gguf::to_display_string(value));
}

void print_tensor_table(const gguf::File& file) {
    size_t name_width = 4;
    for (const auto& t : file.tensors()) name_width = std::max(name_width, t.name.size());
    fmt::print("  {:<{}}  {:<6} {:<24} {:>12}\n", "name", name_width, "type", "dims", "bytes");
    for (const auto& t : file.tensors())
        fmt::print("  {:<{}}  {:<6} {:<24} {:>12}\n", t.name, name_width, dtype_name(t.type),
                   dims_text(t), t.n_bytes);
}

void print_type_totals(const gguf::File& file) {
    struct Total {
        size_t count = 0;
        uint64_t bytes = 0;
    };
    std::map<std::string_view, Total> totals;  // ordered by type name: stable output
    uint64_t all_bytes = 0;
    for (const auto& t : file.tensors()) {
        auto& total = totals[dtype_name(t.type)];
        ++total.count;
        total.bytes += t.n_bytes;
        all_bytes += t.n_bytes;
    }
    fmt::print("per type:\n");
    for (const auto& [type, total] : totals)
        fmt::print("  {:<6} {:>6} tensors {:>14} bytes\n", type, total.count, total.bytes);
    fmt::print("  {:<6} {:>6} tensors {:>14} bytes\n", "total", file.tensors().size(), all_bytes);
}

// What the engine's KV cache takes per token for this model, beside what it would take if
// every query head cached full keys and values (grouped-query and latent attention store
// less). Only for architectures the engine can build.
void print_kv_cache(const std::string& path) {
    try {
        const auto model = model::Model::load(path);
        const int64_t stored = model->kv_bytes_per_token();
        const int64_t full = model->uncompressed_kv_bytes_per_token();
        fmt::print(
            "kv cache: {} bytes per token (F32, {} layers); full multi-head attention: {} "
            "bytes per token ({:.2f}x)\n",
            stored, model->hparams().n_layer, full, double(full) / double(stored));
    } catch (const std::exception& e) {
        fmt::print("kv cache: not available ({})\n", e.what());
    }
}

void run_inspect(const InspectOptions& options) {
    const auto file = gguf::File::open(options.model);
    fmt::print("file: {}\nversion: {}\nalignment: {}\n", file.path(), file.version(),
               file.alignment());
    print_metadata(file);
    fmt::print("tensors: {}\n", file.tensors().size());
    if (options.tensors) print_tensor_table(file);
    print_type_totals(file);
    print_kv_cache(options.model);
}

void add_inspect_command(CLI::App& root) {
    auto options = std::make_shared<InspectOptions>();
    auto* cmd = root.add_subcommand("inspect", "Validate a GGUF model and print what it holds");
    cmd->add_option("model", options->model, "GGUF file")->required();
    cmd->add_flag("--tensors", options->tensors, "List every tensor (name, type, dims, bytes)");
    cmd->callback([options] { run_inspect(*options); });
}

const Registration registration{"inspect", &add_inspect_command};

}  // namespace
}  // namespace ms::app
