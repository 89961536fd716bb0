// Fuzzes cron expressions (cron/cron.h) and time-zone data (cron/tz.h): the bytes
// are tried as a cron spec (and its next activations computed), as a POSIX TZ rule and as TZif
// data. Any of them may be rejected; none may crash, hang or read out of bounds.
#include <chrono>
#include <cstdint>
#include <string_view>

#include "cron/cron.h"
#include "cron/tz.h"

namespace {

using brfed::Time;
using brfed::cron::CronSchedule;
using brfed::cron::TimeZone;

void TryCron(std::string_view text) {
  auto cron = CronSchedule::Parse(text);
  if (!cron.ok()) return;
  Time t(std::chrono::seconds(1767225600));  // 2026-01-01T00:00:00Z
  for (int i = 0; i < 3; ++i) {
    auto next = cron->Next(t);
    if (!next) return;
    t = *next;
  }
}

void TryZone(std::string_view data) {
  if (TimeZone::ParsePosixRule(data).ok()) return;
  auto zone = TimeZone::FromTzif("fuzz", data);
  if (!zone.ok()) return;
  for (int64_t t : {int64_t{-2000000000}, int64_t{0}, int64_t{1767225600}, int64_t{4102444800}}) {
    (*zone)->FromCivil((*zone)->ToCivil(t));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  TryCron(text);
  TryZone(text);
  return 0;
}
