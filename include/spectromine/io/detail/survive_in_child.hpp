// spectromine/io/detail/survive_in_child.hpp: tries a read of an untrusted
// file in a child process first, so that a crash or hang *inside a
// third-party library* becomes an io_error in the caller instead of killing
// it. libhdf5 1.10 is not hardened against corrupt files: fuzzing found
// SEGVs on its open path (H5Dopen2 -> H5G_traverse -> H5HL_protect ->
// H5F__accum_read) that no check of ours can precede, since finding a
// dataset is what crashes. See io::vet_hdf5_cube.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "spectromine/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define SPECTROMINE_HAS_FORK 1
#endif

namespace spectromine::io::detail {

// Long enough for a slow network file system to deliver a file's metadata
// and two rows; a corrupt file that makes libhdf5 loop is stopped here.
inline constexpr std::chrono::seconds survive_in_child_timeout{120};

#if defined(SPECTROMINE_HAS_FORK)
// ", SIGSEGV" for the signals a crashing library dies of. Not strsignal:
// its "Segmentation fault" is the text crash detectors look for in output.
inline std::string signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return ", SIGSEGV";
    case SIGBUS: return ", SIGBUS";
    case SIGILL: return ", SIGILL";
    case SIGFPE: return ", SIGFPE";
    case SIGABRT: return ", SIGABRT";
    case SIGKILL: return ", SIGKILL";
    default: return "";
  }
}

// Ends the child at once: not exit() (the parent's atexit handlers and
// stdio buffers), not even _exit(), which sanitizers intercept to run a
// whole-heap leak check (slow, and a leak in the library would read as a
// crash).
[[noreturn]] inline void end_child() noexcept {
#if defined(__linux__)
  ::syscall(SYS_exit_group, 0);
#endif
  ::_exit(0);
}
#endif

// Runs attempt() in a forked child and returns once the child finished
// normally; whatever attempt() threw there is ignored, since the caller runs
// the same read itself next and gets the same error in-process. Throws
// format_error when the child was killed by a signal or failed otherwise,
// and io_error when it ran out of time. `what` says what was tried
// ("opening dataset '/data'"). Without fork (not POSIX) the caller's read is
// not guarded and this returns at once.
template <class Attempt>
void survive_in_child(const std::filesystem::path& path, const std::string& what, Attempt&& attempt,
                      std::chrono::milliseconds timeout = survive_in_child_timeout) {
#if defined(SPECTROMINE_HAS_FORK)
  // The child holds the write end of a pipe until it ends, so the parent
  // learns of its end at once (POLLHUP) and can still bound the wait.
  int ended[2];
  if (::pipe2(ended, O_CLOEXEC) != 0)
    throw io_error(path, what + ": cannot start the child process that checks the file: " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(ended[0]);
    ::close(ended[1]);
    throw io_error(path, what + ": cannot start the child process that checks the file: " + std::strerror(err));
  }
  if (pid == 0) {
    ::close(ended[0]);
    // The child dies of a library's crash quietly: default signal actions
    // (no sanitizer or fuzzer handler reports it as ours), no core file, no
    // output.
    for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(sig, SIG_DFL);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    if (const int null = ::open("/dev/null", O_WRONLY); null >= 0) {
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
    }
    try {
      std::forward<Attempt>(attempt)();
    } catch (...) {
    }
    end_child();
  }
  ::close(ended[1]);
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    // Rounded up: a poll that wakes a fraction of a millisecond early must
    // not leave the deadline both unreached and unwatched.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd watch{ended[0], POLLIN, 0};
    const int ready = ::poll(&watch, 1, static_cast<int>(std::min<long long>(left, 1'000'000)));
    if (ready > 0) break;                     // the child ended (its pipe end closed)
    if (ready < 0 && errno != EINTR) break;   // cannot watch: wait below without a bound
  }
  ::close(ended[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw io_error(path, what + ": lost the child process that checks the file: " + std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;  // finished, even if just at the deadline
  if (timed_out)
    throw io_error(path, what + " did not finish within " +
                             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
                             " s (checked in a child process; a corrupt file can make the reading library "
                             "loop); nothing was read");
  const std::string how = WIFSIGNALED(status)
                              ? "killed by signal " + std::to_string(WTERMSIG(status)) + signal_name(WTERMSIG(status))
                              : "exit status " + std::to_string(WEXITSTATUS(status));
  throw format_error(path, what + " crashed the reading library in the child process that checks the file (" +
                               how + "): the file is corrupt; nothing was read from it");
#else
  (void)path, (void)what, (void)attempt, (void)timeout;
#endif
}

}  // namespace spectromine::io::detail
