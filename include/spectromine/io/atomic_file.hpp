// spectromine/io/atomic_file.hpp: outputs that appear whole or not at all.
//
// Every writer writes under a temporary name in the destination folder and
// renames on success, so a failure (bad input found late, full disk, a
// crash) never leaves a partial file under the real name. output_batch does
// the same for a set of files (the outputs of one `cluster` run): nothing is
// renamed until every file has been written.
#pragma once

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "spectromine/error.hpp"

#if defined(_WIN32)
#include <process.h>
#define SPECTROMINE_GETPID _getpid
#else
#include <unistd.h>
#define SPECTROMINE_GETPID getpid
#endif

namespace spectromine::io {

namespace detail {
inline std::filesystem::path temporary_sibling(const std::filesystem::path& target) {
  static std::atomic<unsigned long> counter{0};
  std::filesystem::path dir = target.parent_path();
  // Appended piece by piece: `"." + std::string` trips GCC 12's false
  // -Wrestrict (GCC bug 105329) at -O3.
  std::string name = ".";
  name += target.filename().string();
  name += ".tmp";
  name += std::to_string(SPECTROMINE_GETPID());
  name += '_';
  name += std::to_string(++counter);
  return dir.empty() ? std::filesystem::path(name) : dir / name;
}
}  // namespace detail

// One output file: write to temp_path(), then commit(). Destruction without
// commit removes the temporary.
class atomic_file {
 public:
  explicit atomic_file(std::filesystem::path target)
      : target_(std::move(target)), temp_(detail::temporary_sibling(target_)) {
    const auto dir = target_.parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      throw io_error(target_, "cannot write: folder " + dir.string() + " does not exist");
  }
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;
  atomic_file(atomic_file&& other) noexcept
      : target_(std::move(other.target_)),
        temp_(std::move(other.temp_)),
        committed_(std::exchange(other.committed_, true)) {}
  ~atomic_file() {
    if (!committed_) {
      std::error_code ec;
      std::filesystem::remove(temp_, ec);
    }
  }

  const std::filesystem::path& temp_path() const noexcept { return temp_; }
  const std::filesystem::path& target() const noexcept { return target_; }

  void commit() {
    std::error_code ec;
    std::filesystem::rename(temp_, target_, ec);
    if (ec) throw io_error(target_, "cannot write: " + ec.message());
    committed_ = true;
  }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// A set of outputs committed together: add() each file, write them all, then
// commit() renames them; if anything throws before, none appears.
class output_batch {
 public:
  atomic_file& add(const std::filesystem::path& target) {
    files_.emplace_back(target);
    return files_.back();
  }
  void commit() {
    for (auto& f : files_) f.commit();
  }

 private:
  std::deque<atomic_file> files_;  // deque: add() references stay valid
};

// Writes `text` as the whole content of the file's temporary; the caller
// commits (alone, or with the rest of an output_batch).
inline void write_text(const atomic_file& file, std::string_view text) {
  std::ofstream out(file.temp_path(), std::ios::binary);
  if (!out) throw io_error(file.target(), "cannot open for writing");
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.flush()) throw io_error(file.target(), "write failed (disk full?)");
}

// One text file, whole or not at all.
inline void write_text_file(const std::filesystem::path& path, std::string_view text) {
  atomic_file out(path);
  write_text(out, text);
  out.commit();
}

}  // namespace spectromine::io
