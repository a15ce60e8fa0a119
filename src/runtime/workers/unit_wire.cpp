#include "runtime/workers/unit_wire.h"

#include <cstring>
#include <stdexcept>

namespace ms::runtime {
namespace {

enum class ReplyStatus : uint32_t { ok = 0, error = 1 };

class Writer {
public:
    template <typename T>
    void put(T value) {
        append(&value, sizeof value);
    }
    template <typename T>
    void put_vector(std::span<const T> values) {
        put(uint64_t(values.size()));
        append(values.data(), values.size_bytes());
    }
    void put_string(const std::string& s) { put_vector(std::span<const char>(s)); }
    void put_activations(const model::Activations& x, transport::RowFormat format) {
        put(x.rows);
        put(x.cols);
        put(format);
        transport::encode_rows(format, x.rows, x.cols, x.data, bytes_);
    }
    transport::Bytes take() { return std::move(bytes_); }

private:
    void append(const void* data, size_t n) {
        const size_t old_size = bytes_.size();
        bytes_.resize(old_size + n);
        if (n > 0) std::memcpy(bytes_.data() + old_size, data, n);
    }
    transport::Bytes bytes_;
};

class Reader {
public:
    explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
    template <typename T>
    T get() {
        T value;
        std::memcpy(&value, take(sizeof value), sizeof value);
        return value;
    }
    template <typename T>
    std::vector<T> get_vector() {
        const auto n = get<uint64_t>();
        if (n > (bytes_.size() - offset_) / sizeof(T)) fail("a vector runs past the end");
        std::vector<T> values(n);
        const std::byte* source = take(n * sizeof(T));
        if (n > 0) std::memcpy(values.data(), source, n * sizeof(T));  // data() may be null
        return values;
    }
    std::string get_string() {
        const auto chars = get_vector<char>();
        return {chars.begin(), chars.end()};
    }
    transport::RowFormat get_activations(model::Activations& x) {
        const auto rows = get<int64_t>();
        const auto cols = get<int64_t>();
        if (rows < 0 || cols < 0)
            fail("activations of " + std::to_string(rows) + " x " + std::to_string(cols));
        try {
            const auto format = transport::row_format_from_wire(get<uint32_t>());
            offset_ += transport::decode_rows(format, cols, uint64_t(rows), bytes_.subspan(offset_),
                                              x.data);
            x.rows = rows;
            x.cols = cols;
            return format;
        } catch (const transport::MalformedRows& e) {
            fail(e.what());
        }
    }
    void expect_end() const {
        if (offset_ != bytes_.size()) fail("trailing bytes");
    }

private:
    const std::byte* take(size_t n) {
        if (n > bytes_.size() - offset_) fail("message ends early");
        const std::byte* p = bytes_.data() + offset_;
        offset_ += n;
        return p;
    }
    [[noreturn]] static void fail(const std::string& why) {
        throw std::runtime_error("malformed unit message: " + why);
    }
    std::span<const std::byte> bytes_;
    size_t offset_ = 0;
};

void put_batch(Writer& w, const model::Batch& b) {
    w.put_vector(std::span<const int32_t>(b.tokens));
    w.put_vector(std::span<const int32_t>(b.pos));
    w.put_vector(std::span<const int32_t>(b.seq));
    w.put_vector(std::span<const uint8_t>(b.want_logits));
    w.put(uint64_t(b.block_tables.size()));
    for (const auto& table : b.block_tables) w.put_vector(table);
    w.put(b.block_size);
}

void get_batch(Reader& r, ReceivedBatch& out) {
    model::Batch& b = out.batch;
    b.tokens = r.get_vector<int32_t>();
    b.pos = r.get_vector<int32_t>();
    b.seq = r.get_vector<int32_t>();
    b.want_logits = r.get_vector<uint8_t>();
    const auto n_tables = r.get<uint64_t>();
    for (uint64_t i = 0; i < n_tables; ++i) out.block_tables.push_back(r.get_vector<int32_t>());
    for (const auto& table : out.block_tables) b.block_tables.emplace_back(table);
    b.block_size = r.get<int32_t>();
}

}  // namespace

transport::Bytes encode_forward(const std::string& unit, uint32_t micro_batch,
                                const model::Batch& batch, const model::Activations& x,
                                transport::RowFormat format) {
    Writer w;
    w.put(UnitOp::forward);
    w.put_string(unit);
    w.put(micro_batch);
    put_batch(w, batch);
    w.put_activations(x, format);
    return w.take();
}

transport::Bytes encode_stop() {
    Writer w;
    w.put(UnitOp::stop);
    return w.take();
}

transport::Bytes encode_serve_experts(transport::ExchangeId exchange) {
    Writer w;
    w.put(UnitOp::serve_experts);
    w.put(exchange.step);
    w.put(exchange.micro_batch);
    w.put(exchange.layer);
    return w.take();
}

transport::Bytes encode_place_experts(int layer, const transport::ExpertPlacement& placement) {
    Writer w;
    w.put(UnitOp::place_experts);
    w.put(uint32_t(layer));
    w.put(uint64_t(placement.n_experts()));
    for (int e = 0; e < placement.n_experts(); ++e) {
        const std::vector<int>& ranks = placement.replicas(e);
        w.put_vector(std::span<const int32_t>(ranks.data(), ranks.size()));
    }
    return w.take();
}

UnitRequest decode_request(std::span<const std::byte> bytes) {
    Reader r(bytes);
    UnitRequest request;
    request.op = r.get<UnitOp>();
    if (request.op == UnitOp::forward) {
        request.unit = r.get_string();
        request.micro_batch = r.get<uint32_t>();
        if (request.micro_batch >= uint32_t(model::kMaxMicroBatches))
            throw std::runtime_error("malformed unit message: micro-batch " +
                                     std::to_string(request.micro_batch) + " of at most " +
                                     std::to_string(model::kMaxMicroBatches));
        get_batch(r, request.batch);
        request.format = r.get_activations(request.x);
    } else if (request.op == UnitOp::serve_experts) {
        request.exchange.step = r.get<uint32_t>();
        request.exchange.micro_batch = r.get<uint32_t>();
        request.exchange.layer = r.get<uint32_t>();
    } else if (request.op == UnitOp::place_experts) {
        request.exchange.layer = r.get<uint32_t>();
        const auto n_expert = r.get<uint64_t>();
        for (uint64_t e = 0; e < n_expert; ++e)
            request.placement.push_back(r.get_vector<int32_t>());
        (void)transport::ExpertPlacement(request.placement);  // refuses a rank-less expert etc.
    } else if (request.op != UnitOp::stop) {
        throw std::runtime_error("malformed unit message: unknown op " +
                                 std::to_string(uint32_t(request.op)));
    }
    r.expect_end();
    return request;
}

transport::Bytes encode_reply(const model::Activations& y) {
    Writer w;
    w.put(ReplyStatus::ok);
    w.put_activations(y, transport::RowFormat::float32);
    return w.take();
}

transport::Bytes encode_delta_reply(const model::Activations& y, std::span<const float> input) {
    if (y.data.size() != input.size())
        throw std::runtime_error("an int8 unit must keep its activations' shape");
    model::Activations delta = y;
    for (size_t i = 0; i < input.size(); ++i) delta.data[i] -= input[i];
    Writer w;
    w.put(ReplyStatus::ok);
    w.put_activations(delta, transport::RowFormat::int8);
    return w.take();
}

transport::Bytes encode_error_reply(const std::string& message) {
    Writer w;
    w.put(ReplyStatus::error);
    w.put_string(message);
    return w.take();
}

void decode_reply(std::span<const std::byte> bytes, model::Activations& x) {
    Reader r(bytes);
    const auto status = r.get<ReplyStatus>();
    if (status == ReplyStatus::error) throw std::runtime_error(r.get_string());
    if (status != ReplyStatus::ok)
        throw std::runtime_error("malformed unit message: unknown reply status " +
                                 std::to_string(uint32_t(status)));
    model::Activations y;
    if (r.get_activations(y) == transport::RowFormat::float32) {
        x = std::move(y);
    } else {
        if (y.rows != x.rows || y.cols != x.cols)
            throw std::runtime_error("malformed unit message: a delta of " +
                                     std::to_string(y.rows) + " x " + std::to_string(y.cols) +
                                     " for activations of " + std::to_string(x.rows) + " x " +
                                     std::to_string(x.cols));
        for (size_t i = 0; i < y.data.size(); ++i) x.data[i] += y.data[i];
    }
    r.expect_end();
}

}  // namespace ms::runtime
