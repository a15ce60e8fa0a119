#include "runtime/workers/unit_server.h"

#include <cstdio>

#include "runtime/workers/unit_wire.h"

namespace ms::runtime {
namespace {

// How long one wait for a request lasts before looking again; the transport reports a front end
// that died (or closed) as peer_gone, so this only bounds how long a wait is uninterruptible.
constexpr transport::Milliseconds kRequestPoll{1000};

transport::Bytes run_request(UnitRequest& request, const std::map<std::string, model::Unit*>& units,
                             ThreadPool* pool) {
    const auto it = units.find(request.unit);
    if (it == units.end())
        return encode_error_reply("this worker does not run unit " + request.unit);
    try {
        const bool delta = request.format == transport::RowFormat::int8;
        const std::vector<float> input = delta ? request.x.data : std::vector<float>();
        it->second->forward({request.batch.batch, pool}, request.x);
        return delta ? encode_delta_reply(request.x, input) : encode_reply(request.x);
    } catch (const std::exception& e) {
        return encode_error_reply(request.unit + " failed: " + e.what());
    }
}

// Serves an expert exchange or takes a new placement. Failures are reported on stderr, and an
// exchange that could not be served is refused, so the front end's combine fails at once; a gone
// front end ends the loop.
void run_expert_request(transport::Transport& transport, ExpertHost* experts,
                        const UnitRequest& request, int front_rank) {
    const transport::ExchangeId id = request.exchange;
    std::string failure;
    try {
        if (!experts) throw std::runtime_error("this worker holds no experts");
        if (request.op == UnitOp::serve_experts)
            experts->serve(id, front_rank);
        else
            experts->place(int(id.layer), transport::ExpertPlacement(request.placement));
        return;
    } catch (const transport::TransportError& e) {
        if (e.kind() == transport::TransportError::Kind::peer_gone) throw;
        failure = e.what();
    } catch (const std::runtime_error& e) {
        failure = e.what();
    }
    std::fprintf(stderr, "matrixserve: worker: experts of layer %u: %s\n", id.layer,
                 failure.c_str());
    if (request.op == UnitOp::serve_experts)
        transport::refuse_exchange(transport, id, front_rank,
                                   "experts of layer " + std::to_string(id.layer) + ": " + failure);
}

}  // namespace

ServeEnd serve_units(transport::Transport& transport, int front_rank,
                     const std::map<std::string, model::Unit*>& units, ThreadPool* pool,
                     ExpertHost* experts) {
    using transport::TransportError;
    try {
        transport.send(front_rank, kWorkerReadyTag, {});
        for (;;) {
            transport::Bytes message;
            try {
                message = transport.recv(front_rank, kUnitRequestTag, kRequestPoll);
            } catch (const TransportError& e) {
                if (e.kind() == TransportError::Kind::timeout) continue;
                throw;
            }
            UnitRequest request = decode_request(message);
            if (request.op == UnitOp::stop) return ServeEnd::stopped;
            if (request.op == UnitOp::serve_experts || request.op == UnitOp::place_experts) {
                run_expert_request(transport, experts, request, front_rank);
                continue;
            }
            transport.send_owned(front_rank, unit_reply_tag(request.micro_batch),
                                 run_request(request, units, pool));
        }
    } catch (const TransportError& e) {
        if (e.kind() == TransportError::Kind::peer_gone) return ServeEnd::front_end_gone;
        throw;
    }
}

}  // namespace ms::runtime
