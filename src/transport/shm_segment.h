// The shared-memory segment a rank receives in: a header naming its owner, then one ring per
// sending rank. The owner creates it (replacing a stale one left by a dead process); senders
// map it and write into the ring of their own rank.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "transport/shm_ring.h"

namespace ms::transport {

struct SegmentHeader {
    uint64_t magic = 0;
    uint32_t version = 0;
    uint32_t n_ranks = 0;
    uint64_t ring_bytes = 0;
    ProcessIdentity owner;
    std::atomic<uint32_t> ready{0};   // set last by the owner, once the rings are initialised
    std::atomic<uint32_t> closed{0};  // set by the owner when its transport closes
};

class Segment {
public:
    // Creates `name` for `n_ranks` senders owned by this process.
    static Segment create(const std::string& name, uint32_t n_ranks, uint64_t ring_bytes);
    // Maps an existing segment if it is ready and its owner is alive; nullopt otherwise.
    static std::optional<Segment> try_open(const std::string& name, uint32_t n_ranks);

    Segment(Segment&& other) noexcept;
    Segment& operator=(Segment&& other) noexcept;
    ~Segment();

    SegmentHeader& header() const { return *static_cast<SegmentHeader*>(base_); }
    RingView ring(int sender) const;
    // The owner still runs and has not closed its transport.
    bool owner_present() const;
    void unlink() const;  // by the owner, when closing

private:
    Segment(std::string name, void* base, size_t size)
        : name_(std::move(name)), base_(base), size_(size) {}
    std::string name_;
    void* base_ = nullptr;
    size_t size_ = 0;
};

}  // namespace ms::transport
