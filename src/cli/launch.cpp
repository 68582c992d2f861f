#include "cli/launch.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cli/common.h"
#include "core/error.h"
#include "train/distributed.h"

extern char** environ;

namespace elab {

static std::vector<std::string> g_command_line;

void remember_command_line(int argc, char** argv) { g_command_line.assign(argv, argv + argc); }

void add_dist_flags(CLI::App& cmd, int& nproc, DistJobOptions& o) {
  cmd.add_option("--nproc", nproc,
                 "data-parallel: run N local ranks (each takes its share of every batch and of the cores); "
                 "under torchrun/srun leave it out and set WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT")
      ->capture_default_str();
  cmd.add_option("--backend", o.backend, "data-parallel collectives: gloo (CPU) or nccl (CUDA builds)")
      ->capture_default_str();
  cmd.add_option("--dist-timeout", o.timeout_seconds,
                 "seconds a rank waits for the others before the job fails (rendezvous and each collective)")
      ->capture_default_str();
}

void add_training_flags(CLI::App& cmd, Precision& precision, int& nproc, DistJobOptions& dist,
                        MachineOptions& machine) {
  cmd.add_option_function<std::string>(
      "--precision", [&precision](const std::string& v) { precision = parse_precision(v); },
      "fp32 (default), or bf16: matrix products in bfloat16 (autocast; ~1.8-2.7x faster on CPUs with AVX-512 BF16)");
  add_dist_flags(cmd, nproc, dist);
  add_machine_flags(cmd, machine);
  add_worker_flag(cmd, machine);
}

int rank_from_env() {
  const char* w = std::getenv("WORLD_SIZE");
  const char* r = std::getenv("RANK");
  if (w == nullptr || r == nullptr || std::atoi(w) <= 1) return 0;
  return std::atoi(r);
}

// A TCP port nobody listens on now (the kernel's choice), for rank 0's store.
static int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "cannot open a socket to find a free port: {}", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  check(ok, "cannot find a free TCP port on 127.0.0.1 for the ranks to meet: {}", std::strerror(errno));
  return ntohs(addr.sin_port);
}

static volatile std::sig_atomic_t g_forward_signal = 0;
static void remember_signal(int sig) { g_forward_signal = sig; }

static std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

bool launch_local_ranks(int nproc, const DistJobOptions& options) {
  check(nproc >= 1, "--nproc must be at least 1, got {}", nproc);
  check_dist_backend(options.backend);  // before starting ranks that would all fail
  check(options.timeout_seconds > 0, "--dist-timeout must be positive, got {}", options.timeout_seconds);
  const char* world = std::getenv("WORLD_SIZE");
  if (world != nullptr && std::atoi(world) > 1) {
    check(nproc == 1, "--nproc {} with WORLD_SIZE={} already set: a launcher started this rank; leave --nproc out", nproc,
          world);
    return false;
  }
  if (nproc == 1) return false;
  check(!g_command_line.empty(), "internal: the command line was not recorded");

  // The same command line without --nproc: the ranks find their place in the environment.
  std::vector<std::string> args;
  for (size_t i = 0; i < g_command_line.size(); ++i) {
    const std::string& a = g_command_line[i];
    if (a == "--nproc") {
      ++i;
      continue;
    }
    if (a.rfind("--nproc=", 0) == 0) continue;
    args.push_back(a);
  }
  const char* port_env = std::getenv("MASTER_PORT");
  const std::string port = port_env != nullptr && *port_env != '\0' ? port_env : std::to_string(free_port());
  const char* addr_env = std::getenv("MASTER_ADDR");
  const std::string addr = addr_env != nullptr && *addr_env != '\0' ? addr_env : "127.0.0.1";

  std::vector<std::string> base_env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (key == "WORLD_SIZE" || key == "RANK" || key == "LOCAL_RANK" || key == "LOCAL_WORLD_SIZE" ||
        key == "MASTER_ADDR" || key == "MASTER_PORT")
      continue;
    base_env.push_back(kv);
  }

  std::signal(SIGINT, remember_signal);
  std::signal(SIGTERM, remember_signal);
  std::vector<pid_t> pids(size_t(nproc), -1);
  for (int r = 0; r < nproc; ++r) {
    std::vector<std::string> env = base_env;
    env.push_back(fmt::format("WORLD_SIZE={}", nproc));
    env.push_back(fmt::format("RANK={}", r));
    env.push_back(fmt::format("LOCAL_RANK={}", r));
    env.push_back(fmt::format("LOCAL_WORLD_SIZE={}", nproc));
    env.push_back("MASTER_ADDR=" + addr);
    env.push_back("MASTER_PORT=" + port);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = posix_spawn(&pids[size_t(r)], "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data());
    if (rc != 0) {
      for (pid_t p : pids)
        if (p > 0) ::kill(p, SIGKILL);
      fail("cannot start rank {}: {}", r, std::strerror(rc));
    }
  }

  // Wait for every rank. When one fails the others notice within moments (their
  // collectives lose the connection) or after --dist-timeout when a rank hangs; past that
  // they are killed so the job always ends.
  int running = nproc, first_failed = -1, first_status = 0;
  std::chrono::steady_clock::time_point kill_at{};
  while (running > 0) {
    if (g_forward_signal != 0) {
      for (pid_t p : pids)
        if (p > 0) ::kill(p, g_forward_signal);
      g_forward_signal = 0;
    }
    for (int r = 0; r < nproc; ++r) {
      pid_t& pid = pids[size_t(r)];
      if (pid <= 0) continue;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) != pid) continue;
      pid = -1;
      --running;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && first_failed < 0) {
        first_failed = r, first_status = status;
        kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(1000 * (options.timeout_seconds + 10)));
      }
    }
    if (first_failed >= 0 && running > 0 && std::chrono::steady_clock::now() > kill_at)
      for (pid_t p : pids)
        if (p > 0) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  check(first_failed < 0, "rank {} of {} {}; the job stopped (the ranks' own messages are above)", first_failed, nproc,
        describe_status(first_status));
  return true;
}

}  // namespace elab
