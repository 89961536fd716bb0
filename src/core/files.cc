#include "core/files.h"

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

}  // namespace brfed
