// Names a process so that another process on the host can tell whether it is still running:
// its pid plus its start time (the pid alone may be reused by a later process).
#pragma once
#include <cstdint>

namespace ms::transport {

struct ProcessIdentity {
    int32_t pid = 0;
    uint64_t start_time = 0;  // clock ticks after boot, field 22 of /proc/PID/stat

    static ProcessIdentity of_self();
    // False once the process has exited (a zombie counts as exited) or its pid was reused.
    bool alive() const;
};

}  // namespace ms::transport
