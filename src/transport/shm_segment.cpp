#include "transport/shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "transport/transport.h"

namespace ms::transport {
namespace {

constexpr uint64_t kMagic = 0x6d73736d72696e67;  // "mssmring"
constexpr uint32_t kVersion = 1;
constexpr size_t kControlOffset = 256;  // the header fits below, rounded to cache lines
static_assert(sizeof(SegmentHeader) <= kControlOffset);

size_t data_offset(uint32_t n_ranks) {
    return kControlOffset + n_ranks * sizeof(RingControl);
}
size_t segment_size(uint32_t n_ranks, uint64_t ring_bytes) {
    return data_offset(n_ranks) + n_ranks * ring_bytes;
}

[[noreturn]] void throw_system(const std::string& what, const std::string& name) {
    throw TransportError(TransportError::Kind::system, -1,
                         "shm transport: " + what + " '" + name + "': " + std::strerror(errno));
}

void* map_fd(int fd, size_t size, const std::string& name) {
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED) throw_system("mmap", name);
    return base;
}

}  // namespace

Segment Segment::create(const std::string& name, uint32_t n_ranks, uint64_t ring_bytes) {
    if (ring_bytes < 64)
        throw TransportError(TransportError::Kind::invalid_argument, -1,
                             "shm transport: ring of " + std::to_string(ring_bytes) +
                                 " bytes is too small (at least 64)");
    shm_unlink(name.c_str());  // a segment left behind by a process that died
    const int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) throw_system("cannot create", name);
    const size_t size = segment_size(n_ranks, ring_bytes);
    if (ftruncate(fd, off_t(size)) != 0) {
        close(fd);
        shm_unlink(name.c_str());
        throw_system("cannot size", name);
    }
    Segment segment(name, map_fd(fd, size, name), size);
    auto* header = new (segment.base_) SegmentHeader;
    header->magic = kMagic;
    header->version = kVersion;
    header->n_ranks = n_ranks;
    header->ring_bytes = ring_bytes;
    header->owner = ProcessIdentity::of_self();
    auto* controls = reinterpret_cast<std::byte*>(segment.base_) + kControlOffset;
    for (uint32_t i = 0; i < n_ranks; ++i) new (controls + i * sizeof(RingControl)) RingControl;
    header->ready.store(1, std::memory_order_release);
    return segment;
}

std::optional<Segment> Segment::try_open(const std::string& name, uint32_t n_ranks) {
    const int fd = shm_open(name.c_str(), O_RDWR, 0600);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_system("cannot open", name);
    }
    struct stat info {};
    if (fstat(fd, &info) != 0 || size_t(info.st_size) < kControlOffset) {
        close(fd);  // still being created
        return std::nullopt;
    }
    Segment segment(name, map_fd(fd, size_t(info.st_size), name), size_t(info.st_size));
    const SegmentHeader& header = segment.header();
    if (header.ready.load(std::memory_order_acquire) == 0 || !segment.owner_present())
        return std::nullopt;
    if (header.magic != kMagic || header.version != kVersion || header.n_ranks != n_ranks ||
        segment.size_ != segment_size(n_ranks, header.ring_bytes))
        throw TransportError(TransportError::Kind::invalid_argument, -1,
                             "shm transport: '" + name + "' is not a segment for " +
                                 std::to_string(n_ranks) + " ranks of this version");
    return segment;
}

Segment::Segment(Segment&& other) noexcept
    : name_(std::move(other.name_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

Segment& Segment::operator=(Segment&& other) noexcept {
    std::swap(name_, other.name_);
    std::swap(base_, other.base_);
    std::swap(size_, other.size_);
    return *this;
}

Segment::~Segment() {
    if (base_) munmap(base_, size_);
}

RingView Segment::ring(int sender) const {
    auto* bytes = static_cast<std::byte*>(base_);
    const SegmentHeader& h = header();
    return RingView(reinterpret_cast<RingControl*>(bytes + kControlOffset) + sender,
                    bytes + data_offset(h.n_ranks) + size_t(sender) * h.ring_bytes, h.ring_bytes);
}

bool Segment::owner_present() const {
    return header().closed.load(std::memory_order_acquire) == 0 && header().owner.alive();
}

void Segment::unlink() const {
    shm_unlink(name_.c_str());
}

}  // namespace ms::transport
