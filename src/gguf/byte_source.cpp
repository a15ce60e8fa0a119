#include "gguf/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "gguf/gguf.h"

namespace ms::gguf {
namespace {

constexpr std::align_val_t kHeapAlignment{4096};

[[noreturn]] void throw_errno(const char* what) {
    throw Error(std::string("gguf: cannot ") + what + ": " + std::strerror(errno));
}

// Closes the descriptor on every path out of map_file.
struct FdGuard {
    int fd;
    ~FdGuard() { ::close(fd); }
};

}  // namespace

ByteSource ByteSource::map_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("open file");
    FdGuard guard{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("stat file");
    if (!S_ISREG(st.st_mode)) throw Error("gguf: not a regular file");
    const auto size = static_cast<size_t>(st.st_size);
    if (size == 0) return ByteSource(Kind::kEmpty, nullptr, 0);  // mmap rejects length 0
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) throw_errno("map file");
    return ByteSource(Kind::kMapped, static_cast<uint8_t*>(data), size);
}

ByteSource ByteSource::copy_of(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return ByteSource(Kind::kEmpty, nullptr, 0);
    auto* data = static_cast<uint8_t*>(::operator new(bytes.size(), kHeapAlignment));
    std::memcpy(data, bytes.data(), bytes.size());
    return ByteSource(Kind::kHeap, data, bytes.size());
}

ByteSource::ByteSource(ByteSource&& other) noexcept
    : kind_(std::exchange(other.kind_, Kind::kEmpty)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

ByteSource& ByteSource::operator=(ByteSource&& other) noexcept {
    if (this != &other) {
        release();
        kind_ = std::exchange(other.kind_, Kind::kEmpty);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

ByteSource::~ByteSource() {
    release();
}

void ByteSource::release() noexcept {
    if (kind_ == Kind::kMapped) ::munmap(data_, size_);
    if (kind_ == Kind::kHeap) ::operator delete(data_, kHeapAlignment);
    kind_ = Kind::kEmpty;
    data_ = nullptr;
    size_ = 0;
}

}  // namespace ms::gguf
