// Journal: the append-only log behind --data-dir. Each record is
// [u32 little-endian payload length][u32 CRC-32 of payload][payload: compact JSON].
// Append returns only after the record is on disk (fdatasync), so an acknowledged write
// survives kill -9. Open replays the records and drops a torn or corrupt tail (truncating
// the file there) instead of loading garbage.
//
// Thread-safety: not thread-safe; the Store calls it under its own lock. Owns its fd.
#ifndef BRFED_APISERVER_JOURNAL_H_
#define BRFED_APISERVER_JOURNAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace brfed::apiserver {

uint32_t Crc32(std::string_view data);

class Journal {
 public:
  struct Loaded {
    std::unique_ptr<Journal> journal;
    std::vector<Json> records;
    uint64_t dropped_bytes = 0;  // size of the torn/corrupt tail that was cut off
  };

  // Opens (creating) DIR/journal.log. Errors: kInvalidArgument for an unusable directory.
  static Result<Loaded> Open(const std::string& dir);

  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  Status Append(const Json& record);

 private:
  explicit Journal(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_JOURNAL_H_
