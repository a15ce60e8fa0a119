// Worker processes started by a front end: launched with the `worker` subcommand, they die with
// the front end (PR_SET_PDEATHSIG) so that a crashed front end leaves no orphans behind.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ms::runtime {

// Starts `binary args...`; throws std::runtime_error when fork or exec fails.
pid_t launch_worker_process(const std::string& binary, const std::vector<std::string>& args);

// "exited with status N" or "was killed by signal N" once the process ended, else nullopt.
std::optional<std::string> ended_status(pid_t pid);

// Waits up to `grace` for the process to end, then kills it (SIGKILL) and reaps it.
void reap_worker_process(pid_t pid, std::chrono::milliseconds grace);

}  // namespace ms::runtime
