// Structured logging: one line per record to stderr, as text (`msg key=value ...`) or JSON
// lines, with a level filter. Every record about an object carries `object` and, for data
// planes, `cluster`. Values of fields whose key names a credential (token, password, secret,
// key data) are redacted here, so callers cannot leak them by accident.
//
// Thread-safety: Setup is called once at start (before other threads log); Write and the
// helpers are safe from any thread. spdlog stays out of this header.
#ifndef BRFED_CORE_LOG_H_
#define BRFED_CORE_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/status.h"

namespace brfed::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kText, kJson };

struct Options {
  Level level = Level::kInfo;
  Format format = Format::kText;
  std::string component;  // e.g. "br-federation-manager"; added to every record
};

// "trace", "debug", "info", "warn"/"warning", "error", "off".
Result<Level> ParseLevel(std::string_view text);
// "text" or "json".
Result<Format> ParseFormat(std::string_view text);

void Setup(const Options& options);
bool Enabled(Level level);

struct Field {
  std::string_view key;
  std::string value;
};

void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kError, m, f);
}

// Renders one record (without the timestamp) as Write would; exposed for tests.
std::string Render(Format format, Level level, std::string_view component, std::string_view message,
                   std::initializer_list<Field> fields);

}  // namespace brfed::log

#endif  // BRFED_CORE_LOG_H_
