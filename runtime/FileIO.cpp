//===- runtime/FileIO.cpp - Bounded reads and atomic writes
//----------------===//
//
// POSIX implementation of readFile and writeFileAtomically.
//
//===----------------------------------------------------------------------===//
#include "runtime/FileIO.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace gradc::runtime {

namespace {

std::string errnoText(int E) { return std::generic_category().message(E); }

/// Closes a descriptor when it goes out of scope.
struct FdCloser {
  int Fd;
  ~FdCloser() {
    if (Fd >= 0)
      ::close(Fd);
  }
};

bool writeAll(int Fd, const uint8_t *Data, size_t Size) {
  while (Size > 0) {
    ssize_t N = ::write(Fd, Data, Size);
    if (N < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    Data += N;
    Size -= static_cast<size_t>(N);
  }
  return true;
}

/// The directory part of \p Path ("." when there is none).
std::string dirName(const std::string &Path) {
  size_t Slash = Path.find_last_of('/');
  if (Slash == std::string::npos)
    return ".";
  if (Slash == 0)
    return "/";
  return Path.substr(0, Slash);
}

} // namespace

bool readFile(const std::string &Path, std::vector<uint8_t> &Out,
              std::string &Err, uint64_t MaxBytes) {
  int Fd;
  do
    Fd = ::open(Path.c_str(), O_RDONLY | O_CLOEXEC);
  while (Fd < 0 && errno == EINTR);
  if (Fd < 0) {
    Err = fmt::format("{}: cannot open: {}", Path, errnoText(errno));
    return false;
  }
  FdCloser Closer{Fd};
  struct stat St;
  if (::fstat(Fd, &St) != 0) {
    Err = fmt::format("{}: cannot stat: {}", Path, errnoText(errno));
    return false;
  }
  if (S_ISDIR(St.st_mode)) {
    Err = fmt::format("{}: is a directory, not a file", Path);
    return false;
  }
  if (!S_ISREG(St.st_mode)) {
    Err = fmt::format("{}: is not a regular file", Path);
    return false;
  }
  uint64_t Size = static_cast<uint64_t>(St.st_size);
  if (Size > MaxBytes) {
    Err = fmt::format("{}: is {} bytes; files over {} bytes are not supported",
                      Path, Size, MaxBytes);
    return false;
  }
  Out.clear();
  Out.resize(Size);
  uint64_t Done = 0;
  while (Done < Size) {
    ssize_t N = ::read(Fd, Out.data() + Done, Size - Done);
    if (N < 0 && errno == EINTR)
      continue;
    if (N < 0) {
      Err = fmt::format("{}: read error: {}", Path, errnoText(errno));
      return false;
    }
    if (N == 0) {
      Err = fmt::format("{}: file shrank while being read", Path);
      return false;
    }
    Done += static_cast<uint64_t>(N);
  }
  return true;
}

bool writeFileAtomically(const std::string &Path,
                         std::span<const std::span<const uint8_t>> Parts,
                         std::string &Err) {
  static std::atomic<unsigned> Counter{0};
  std::string Tmp;
  int Fd = -1;
  for (int Try = 0; Try < 100 && Fd < 0; ++Try) {
    Tmp = fmt::format("{}.tmp-{}-{}", Path, ::getpid(), Counter++);
    Fd = ::open(Tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (Fd < 0 && errno != EEXIST && errno != EINTR)
      break;
  }
  if (Fd < 0) {
    Err = fmt::format("{}: cannot create a temporary file next to it: {}", Path,
                      errnoText(errno));
    return false;
  }
  auto Fail = [&](std::string_view What) {
    int E = errno;
    if (Fd >= 0)
      ::close(Fd);
    ::unlink(Tmp.c_str());
    Err = fmt::format("{}: {}: {}", Path, What, errnoText(E));
    return false;
  };
  for (std::span<const uint8_t> P : Parts)
    if (!writeAll(Fd, P.data(), P.size()))
      return Fail("write error");
  if (::fsync(Fd) != 0)
    return Fail("cannot sync to disk");
  int CloseResult = ::close(Fd);
  Fd = -1;
  if (CloseResult != 0)
    return Fail("write error");
  if (::rename(Tmp.c_str(), Path.c_str()) != 0)
    return Fail("cannot replace the file");
  // Make the rename itself durable; failing here loses nothing written.
  int DirFd = ::open(dirName(Path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (DirFd >= 0) {
    ::fsync(DirFd);
    ::close(DirFd);
  }
  return true;
}

void swapByteOrder(std::span<uint8_t> Bytes, size_t ElementSize) {
  if (ElementSize <= 1)
    return;
  for (size_t I = 0; I + ElementSize <= Bytes.size(); I += ElementSize)
    std::reverse(Bytes.begin() + I, Bytes.begin() + I + ElementSize);
}

} // namespace gradc::runtime
