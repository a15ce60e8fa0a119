#include "runtime/workers/shared_head.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "model/units.h"

namespace ms::runtime {
namespace {

struct HeadPart {
    std::unique_ptr<model::Unit> unit;
    int64_t first_row = 0;
    int64_t rows = 0;
};

class SharedHead final : public model::Unit {
public:
    SharedHead(std::optional<HeadPart> local, std::vector<HeadPart> remote, int64_t n_vocab)
        : local_(std::move(local)), remote_(std::move(remote)), n_vocab_(n_vocab) {
        for (auto& replies : replies_) replies.resize(remote_.size());
    }

    std::string name() const override { return "head"; }

    void forward(const model::StepContext& ctx, model::Activations& x) override {
        if (begin(ctx, x, 0)) end(x, 0);
    }

    // The other workers' parts start first; the front end's own part runs meanwhile, in x.
    bool begin(const model::StepContext& ctx, model::Activations& x, int micro_batch) override {
        for (size_t k = 0; k < remote_.size(); ++k) {
            try {
                remote_[k].unit->begin(ctx, x, micro_batch);
            } catch (...) {
                end_remote_parts(k, micro_batch);
                throw;
            }
        }
        try {
            if (local_) local_->unit->forward(ctx, x);
        } catch (...) {
            end_remote_parts(remote_.size(), micro_batch);
            throw;
        }
        return true;
    }

    void end(model::Activations& x, int micro_batch) override {
        const auto& replies = replies_.at(size_t(micro_batch));
        end_remote_parts(remote_.size(), micro_batch, true);
        const int64_t rows = local_ ? x.rows : replies.front().rows;
        // The joined logits take the place of x, whose buffer is kept for the next step's.
        model::Activations& logits = joined_.at(size_t(micro_batch));
        logits.resize(rows, n_vocab_);
        if (local_) copy_columns(x, *local_, logits);
        for (size_t k = 0; k < remote_.size(); ++k) copy_columns(replies[k], remote_[k], logits);
        std::swap(x, logits);
    }

private:
    // Ends the first n remote parts' calls; with rethrow, the first error is thrown after all.
    void end_remote_parts(size_t n, int micro_batch, bool rethrow = false) {
        auto& replies = replies_.at(size_t(micro_batch));
        std::exception_ptr first_error;
        for (size_t k = 0; k < n; ++k) {
            try {
                remote_[k].unit->end(replies[k], micro_batch);
            } catch (...) {
                if (!first_error) first_error = std::current_exception();
            }
        }
        if (rethrow && first_error) std::rethrow_exception(first_error);
    }

    static void copy_columns(const model::Activations& part_logits, const HeadPart& part,
                             model::Activations& logits) {
        if (part_logits.rows != logits.rows || part_logits.cols != part.rows)
            throw std::runtime_error("shared head: the part for vocabulary rows " +
                                     std::to_string(part.first_row) + "+ gave " +
                                     std::to_string(part_logits.rows) + "x" +
                                     std::to_string(part_logits.cols) + " logits, expected " +
                                     std::to_string(logits.rows) + "x" + std::to_string(part.rows));
        for (int64_t r = 0; r < logits.rows; ++r)
            std::memcpy(logits.row(r) + part.first_row, part_logits.row(r),
                        size_t(part.rows) * sizeof(float));
    }

    std::optional<HeadPart> local_;
    std::vector<HeadPart> remote_;
    int64_t n_vocab_;
    std::array<std::vector<model::Activations>, model::kMaxMicroBatches> replies_;
    std::array<model::Activations, model::kMaxMicroBatches> joined_;
};

}  // namespace

bool head_is_shared(const WorkerGroup& group) {
    return std::count_if(group.plans.begin(), group.plans.end(),
                         [](const WorkerPlan& p) { return p.head; }) > 1;
}

std::unique_ptr<model::Unit> head_part_of(const model::Model& model, const WorkerGroup& group,
                                          size_t index) {
    const WorkerPlan& plan = group.plans.at(index);
    if (!plan.head || !head_is_shared(group)) return nullptr;
    return model::make_head_rows(model.file(), model.hparams(), plan.head_first_row,
                                 plan.head_rows);
}

void install_shared_head(model::Model& model, const WorkerGroup& group,
                         const std::map<int, WorkerConnection*>& workers) {
    if (!head_is_shared(group)) return;
    std::optional<HeadPart> local;
    std::vector<HeadPart> remote;
    for (size_t i = 0; i < group.plans.size(); ++i) {
        const WorkerPlan& plan = group.plans[i];
        if (!plan.head) continue;
        if (i == group.front_end)
            local = HeadPart{head_part_of(model, group, i), plan.head_first_row, plan.head_rows};
        else
            remote.push_back(
                {make_remote_unit("head", *workers.at(int(i)), transport::RowFormat::float32),
                 plan.head_first_row, plan.head_rows});
    }
    const auto chain = model.units();
    const auto head = std::find_if(chain.begin(), chain.end(),
                                   [](const auto& unit) { return unit->name() == "head"; });
    model.replace_unit(
        size_t(head - chain.begin()),
        std::make_unique<SharedHead>(std::move(local), std::move(remote), model.hparams().n_vocab));
}

}  // namespace ms::runtime
