#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace brfed {

Result<std::string> ReadFile(const std::string& path) {
  // An ifstream opens a folder on Linux and reads nothing from it; say what it is instead.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return NotFoundError("cannot read " + path + ": " +
                         std::make_error_code(std::errc::is_a_directory).message());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return InternalError("cannot read " + path + ": read error");
  return out.str();
}

Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return InvalidArgument("cannot write " + tmp + ": " + std::strerror(errno));
  // open() applies the umask and keeps an existing file's mode: set it exactly.
  bool ok = ::fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  const int error = ok && ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  std::error_code ec;
  if (!ok || error != 0) {
    std::filesystem::remove(tmp, ec);
    return InvalidArgument("cannot write " + tmp + ": " + std::strerror(error != 0 ? error : EIO));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InvalidArgument("cannot write " + path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace brfed
