#include "transport/process_identity.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace ms::transport {
namespace {

struct ProcStat {
    char state = 'X';
    uint64_t start_time = 0;
};

// /proc/PID/stat is "pid (comm) state f4 ... f22 ..."; comm may hold spaces and parentheses,
// so fields are counted after the last ')'.
bool read_proc_stat(int32_t pid, ProcStat& out) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(file, line)) return false;
    const auto comm_end = line.rfind(')');
    if (comm_end == std::string::npos) return false;
    std::istringstream fields(line.substr(comm_end + 1));
    fields >> out.state;
    std::string skipped;
    for (int field = 4; field < 22; ++field) fields >> skipped;
    fields >> out.start_time;
    return bool(fields);
}

}  // namespace

ProcessIdentity ProcessIdentity::of_self() {
    ProcessIdentity self;
    self.pid = int32_t(getpid());
    ProcStat stat;
    if (read_proc_stat(self.pid, stat)) self.start_time = stat.start_time;
    return self;
}

bool ProcessIdentity::alive() const {
    ProcStat stat;
    if (pid <= 0 || !read_proc_stat(pid, stat)) return false;
    return stat.state != 'Z' && stat.state != 'X' && stat.start_time == start_time;
}

}  // namespace ms::transport
