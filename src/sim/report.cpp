#include "sim/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ms::sim {
namespace {

void append_pool(std::string& out, const PoolReport& p) {
    const bool decode = p.name == "decode";
    out += fmt::format("\npool {}: {} devices ({:g} chips), {} steps\n", p.name, p.devices, p.chips,
                       p.steps);
    out += fmt::format("  {:<28}{:>12.1f}   ({:.1f} per device, {:.1f} per chip)\n",
                       decode ? "output tokens/s" : "prompt tokens/s", p.tokens_per_s,
                       p.tokens_per_s / p.devices, p.tokens_per_s / p.chips);
    out += fmt::format("  {:<28}{:>12.2f} ms + {:.2f} ms scheduling\n", "step time",
                       p.mean_step_s * 1e3, p.scheduling_s * 1e3);
    out += fmt::format("  {:<28}{:>12.1f}\n", "running per DP group", p.mean_batch);
    out += fmt::format("  {:<28}{:>11.1f}%   (FLOP utilisation {:.1f}%)\n", "busy",
                       100 * p.busy_fraction, 100 * p.flops_utilisation);
    const double sum = p.mean_ops.total();
    out += "  breakdown per step (each class alone, before overlap):\n";
    for (int i = 0; i < kOpClasses; ++i)
        out += fmt::format("    {:<26}{:>12.2f} ms {:>6.1f}%\n", op_class_name(OpClass(i)),
                           p.mean_ops.seconds[i] * 1e3, 100 * p.mean_ops.seconds[i] / sum);
}

nlohmann::json latency_json(const LatencyStats& s) {
    return {{"mean_ms", s.mean * 1e3}, {"p50_ms", s.p50 * 1e3}, {"p99_ms", s.p99 * 1e3}};
}

}  // namespace

std::string format_table(const SimResult& r) {
    std::string out =
        fmt::format("deployment {}: {} devices ({:g} chips)\n", r.deployment, r.devices, r.chips);
    out += fmt::format("requests finished {} of {} in {:.2f} s simulated\n", r.finished, r.requests,
                       r.makespan_s);
    out += fmt::format("output tokens/s {:.1f} total, {:.1f} per device, {:.1f} per chip\n",
                       r.output_tokens_per_s, r.output_tokens_per_s / r.devices,
                       r.output_tokens_per_s / r.chips);
    out += fmt::format("{:<8}{:>12}{:>12}{:>12}\n", "ms", "mean", "p50", "p99");
    for (const auto& [name, s] : {std::pair{"TTFT", r.ttft}, {"TPOT", r.tpot}, {"E2E", r.e2e}})
        out += fmt::format("{:<8}{:>12.2f}{:>12.2f}{:>12.2f}\n", name, s.mean * 1e3, s.p50 * 1e3,
                           s.p99 * 1e3);
    for (const PoolReport& p : r.pools) append_pool(out, p);
    return out;
}

std::string format_json(const SimResult& r) {
    nlohmann::json j = {{"deployment", r.deployment},
                        {"requests", r.requests},
                        {"finished", r.finished},
                        {"makespan_s", r.makespan_s},
                        {"devices", r.devices},
                        {"chips", r.chips},
                        {"output_tokens_per_s", r.output_tokens_per_s},
                        {"output_tokens_per_s_per_device", r.output_tokens_per_s / r.devices},
                        {"output_tokens_per_s_per_chip", r.output_tokens_per_s / r.chips},
                        {"ttft", latency_json(r.ttft)},
                        {"tpot", latency_json(r.tpot)},
                        {"e2e", latency_json(r.e2e)}};
    for (const PoolReport& p : r.pools) {
        nlohmann::json ops;
        for (int i = 0; i < kOpClasses; ++i)
            ops[op_class_name(OpClass(i))] = p.mean_ops.seconds[i] * 1e3;
        j["pools"][p.name] = {{"devices", p.devices},
                              {"chips", p.chips},
                              {"steps", p.steps},
                              {"tokens_per_s", p.tokens_per_s},
                              {"tokens_per_s_per_chip", p.tokens_per_s / p.chips},
                              {"step_ms", p.mean_step_s * 1e3},
                              {"scheduling_ms", p.scheduling_s * 1e3},
                              {"mean_batch_per_group", p.mean_batch},
                              {"busy_fraction", p.busy_fraction},
                              {"flops_utilisation", p.flops_utilisation},
                              {"breakdown_ms", ops}};
    }
    return j.dump(2) + "\n";
}

}  // namespace ms::sim

namespace ms::sim {
namespace {

constexpr const char* kColors[kOpClasses] = {"#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"};

// Left panel: one stacked bar per pool, the step split by operator class.
std::string breakdown_panel(const SimResult& r) {
    std::string s = "<text x='20' y='24' font-size='14'>step breakdown (ms)</text>\n";
    double longest = 0;
    for (const PoolReport& p : r.pools) longest = std::max(longest, p.mean_ops.total());
    const double scale = longest > 0 ? 300 / longest : 0;
    int x = 60;
    for (const PoolReport& p : r.pools) {
        double y = 340;
        for (int i = 0; i < kOpClasses; ++i) {
            const double h = p.mean_ops.seconds[i] * scale;
            y -= h;
            s += fmt::format("<rect x='{}' y='{:.1f}' width='60' height='{:.1f}' fill='{}'/>\n", x,
                             y, h, kColors[i]);
        }
        s += fmt::format("<text x='{}' y='358' font-size='12'>{} {:.1f}</text>\n", x, p.name,
                         p.mean_ops.total() * 1e3);
        x += 90;
    }
    for (int i = 0; i < kOpClasses; ++i)
        s += fmt::format(
            "<rect x='250' y='{}' width='12' height='12' fill='{}'/><text x='268' y='{}' "
            "font-size='12'>{}</text>\n",
            50 + 20 * i, kColors[i], 61 + 20 * i, op_class_name(OpClass(i)));
    return s;
}

// Right panel: TPOT against tokens/s per chip across batch sizes.
std::string curve_panel(const std::vector<CurvePoint>& curve) {
    std::string s =
        "<text x='420' y='24' font-size='14'>TPOT (ms) vs tokens/s per chip</text>\n"
        "<line x1='420' y1='340' x2='760' y2='340' stroke='black'/>\n"
        "<line x1='420' y1='40' x2='420' y2='340' stroke='black'/>\n";
    double max_x = 0, max_y = 0;
    for (const CurvePoint& p : curve)
        max_x = std::max(max_x, p.tokens_per_s_per_chip), max_y = std::max(max_y, p.tpot_s);
    if (max_x <= 0 || max_y <= 0) return s;
    std::string path;
    for (const CurvePoint& p : curve) {
        const double x = 420 + 330 * p.tokens_per_s_per_chip / max_x;
        const double y = 340 - 290 * p.tpot_s / max_y;
        path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", x, y);
        s += fmt::format(
            "<circle cx='{:.1f}' cy='{:.1f}' r='3'/><text x='{:.1f}' y='{:.1f}' "
            "font-size='10'>b{} {:.0f}ms</text>\n",
            x, y, x + 4, y - 4, p.batch_per_group, p.tpot_s * 1e3);
    }
    s += "<path d='" + path + "' fill='none' stroke='#4c72b0'/>\n";
    s += fmt::format("<text x='700' y='358' font-size='10'>{:.0f}</text>\n", max_x);
    return s;
}

}  // namespace

std::string format_svg(const SimResult& r, const std::vector<CurvePoint>& curve) {
    return "<svg xmlns='http://www.w3.org/2000/svg' width='800' height='380' "
           "font-family='sans-serif'>\n<rect width='800' height='380' fill='white'/>\n" +
           breakdown_panel(r) + curve_panel(curve) + "</svg>\n";
}

}  // namespace ms::sim
