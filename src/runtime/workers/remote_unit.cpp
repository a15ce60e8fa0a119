#include "runtime/workers/remote_unit.h"

#include <stdexcept>

#include "runtime/workers/unit_wire.h"

namespace ms::runtime {
namespace {

class RemoteUnit final : public model::Unit {
public:
    RemoteUnit(std::string name, WorkerConnection& worker, transport::RowFormat format)
        : name_(std::move(name)), worker_(worker), format_(format) {}

    std::string name() const override { return name_; }

    void forward(const model::StepContext& ctx, model::Activations& x) override {
        begin(ctx, x, 0);
        end(x, 0);
    }

    // Sends the request; the reply comes on the micro-batch's own tag, so several micro-batches
    // may be in the worker at once.
    bool begin(const model::StepContext& ctx, model::Activations& x, int micro_batch) override {
        std::shared_lock lock(worker_.mutex);
        throw_if_down();
        try {
            worker_.transport->send_owned(
                worker_.rank, kUnitRequestTag,
                encode_forward(name_, uint32_t(micro_batch), ctx.batch, x, format_));
        } catch (const transport::TransportError& e) {
            worker_.broken = true;
            unavailable(e.what());
        }
        return true;
    }

    // A worker found down since begin (another micro-batch's reply failed) is not waited for:
    // the supervisor discards whatever it left and relaunches it.
    void end(model::Activations& x, int micro_batch) override {
        std::shared_lock lock(worker_.mutex);
        throw_if_down();
        try {
            decode_reply(
                worker_.transport->recv(worker_.rank, unit_reply_tag(uint32_t(micro_batch)),
                                        worker_.reply_timeout),
                x);
        } catch (const transport::TransportError& e) {
            worker_.broken = true;
            unavailable(e.what());
        } catch (const std::runtime_error& e) {
            throw std::runtime_error(context() + e.what());  // the unit failed in the worker
        }
    }

private:
    std::string context() const { return "worker " + worker_.name + " running " + name_ + ": "; }
    void throw_if_down() const {
        if (worker_.broken)
            unavailable(
                "the worker is down (its process or connection failed); the front end "
                "relaunches it");
    }
    [[noreturn]] void unavailable(const std::string& why) const {
        throw model::UnitUnavailable(context() + why);
    }

    std::string name_;
    WorkerConnection& worker_;
    transport::RowFormat format_;
};

}  // namespace

std::unique_ptr<model::Unit> make_remote_unit(std::string unit_name, WorkerConnection& worker,
                                              transport::RowFormat format) {
    return std::make_unique<RemoteUnit>(std::move(unit_name), worker, format);
}

}  // namespace ms::runtime
