// The worker side of the unit protocol (unit_wire.h): runs forward requests for the units the
// worker holds until the front end says stop or is gone.
#pragma once
#include <map>
#include <string>

#include "model/unit.h"
#include "runtime/experts/expert_host.h"
#include "transport/transport.h"

namespace ms::runtime {

enum class ServeEnd { stopped, front_end_gone };

// Announces readiness to the front end, then serves. A request for a unit not in `units` or a
// unit that throws gets an error reply; the worker keeps serving. Expert exchanges are served by
// `experts` (null: the worker holds no experts of expert-parallel layers); one that fails is
// reported on stderr (the front end's combine then fails).
ServeEnd serve_units(transport::Transport& transport, int front_rank,
                     const std::map<std::string, model::Unit*>& units, ThreadPool* pool,
                     ExpertHost* experts = nullptr);

}  // namespace ms::runtime
