#include "apiserver/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const std::string& in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

Status Errno(const std::string& what) {
  return InvalidArgument(what + ": " + std::strerror(errno));
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) c = table[(c ^ static_cast<unsigned char>(ch)) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

Result<Journal::Loaded> Journal::Open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("data dir " + dir);
  std::string path = dir + "/journal.log";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open " + path);
  Loaded loaded;
  loaded.journal.reset(new Journal(fd));
  std::string content;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) return Errno("read " + path);
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  size_t at = 0;
  while (at + 8 <= content.size()) {
    uint32_t len = GetU32(content, at);
    uint32_t crc = GetU32(content, at + 4);
    if (at + 8 + len > content.size()) break;
    std::string_view payload(content.data() + at + 8, len);
    if (Crc32(payload) != crc) break;
    Result<Json> record = ParseJson(payload);
    if (!record.ok()) break;
    loaded.records.push_back(std::move(record).value());
    at += 8 + len;
  }
  loaded.dropped_bytes = content.size() - at;
  if (loaded.dropped_bytes > 0) {
    if (::ftruncate(fd, static_cast<off_t>(at)) != 0) return Errno("truncate " + path);
    if (::fdatasync(fd) != 0) return Errno("fsync " + path);
  }
  if (::lseek(fd, static_cast<off_t>(at), SEEK_SET) < 0) return Errno("seek " + path);
  return loaded;
}

Journal::~Journal() { ::close(fd_); }

Status Journal::Append(const Json& record) {
  std::string payload = DumpJson(record);
  std::string frame;
  frame.reserve(payload.size() + 8);
  PutU32(frame, static_cast<uint32_t>(payload.size()));
  PutU32(frame, Crc32(payload));
  frame += payload;
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t n = ::write(fd_, frame.data() + off, frame.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(Code::kInternal, std::string("journal write: ") + std::strerror(errno))
          .WithHttp(500, "InternalError");
    }
    off += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    return Status(Code::kInternal, std::string("journal fsync: ") + std::strerror(errno))
        .WithHttp(500, "InternalError");
  }
  return Status::Ok();
}

}  // namespace brfed::apiserver
