// A head shared between workers (deployment `vocab_share`): each holder computes the logits of
// its own rows of the output matrix, so a worker that would sit idle while the front end runs
// the head (the step's largest matmul) takes part of it.
#pragma once
#include <map>
#include <memory>

#include "model/model.h"
#include "runtime/deployment/worker_group.h"
#include "runtime/workers/remote_unit.h"

namespace ms::runtime {

// Whether several workers of the group share the head.
bool head_is_shared(const WorkerGroup& group);

// The part of the head worker `index` computes when the head is shared and it holds a part;
// else null.
std::unique_ptr<model::Unit> head_part_of(const model::Model& model, const WorkerGroup& group,
                                          size_t index);

// Replaces the front end's head by one that sends the hidden states to the other holders of a
// shared head (`workers`, by plan index), computes its own part meanwhile and joins the logits in
// vocabulary order. An error of one part fails the step after every part has answered (no reply
// is left behind). Does nothing when the head is not shared.
void install_shared_head(model::Model& model, const WorkerGroup& group,
                         const std::map<int, WorkerConnection*>& workers);

}  // namespace ms::runtime
