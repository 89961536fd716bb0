#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "core/clock.h"
#include "core/time.h"

namespace brfed::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{false};
std::string* g_component = new std::string();

std::shared_ptr<spdlog::logger> Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("brfed",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return logger;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "info";
}

bool IsSecretKey(std::string_view key) {
  std::string lower(key);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view word : {"token", "password", "secret", "key-data", "keydata"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') return true;
  }
  return false;
}

}  // namespace

Result<Level> ParseLevel(std::string_view text) {
  if (text == "trace") return Level::kTrace;
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn" || text == "warning") return Level::kWarn;
  if (text == "error") return Level::kError;
  if (text == "off") return Level::kOff;
  return InvalidArgument("unknown log level \"" + std::string(text) +
                         "\" (want trace, debug, info, warn, error or off)");
}

Result<Format> ParseFormat(std::string_view text) {
  if (text == "text") return Format::kText;
  if (text == "json") return Format::kJson;
  return InvalidArgument("unknown log format \"" + std::string(text) + "\" (want text or json)");
}

void Setup(const Options& options) {
  g_level = static_cast<int>(options.level);
  g_json = options.format == Format::kJson;
  *g_component = options.component;
}

bool Enabled(Level level) {
  return level != Level::kOff && static_cast<int>(level) >= g_level.load();
}

std::string Render(Format format, Level level, std::string_view component, std::string_view message,
                   std::initializer_list<Field> fields) {
  if (format == Format::kJson) {
    nlohmann::json line = nlohmann::json::object();
    line["level"] = LevelName(level);
    if (!component.empty()) line["component"] = component;
    line["msg"] = message;
    for (const Field& f : fields) {
      line[std::string(f.key)] = IsSecretKey(f.key) ? std::string("<redacted>") : f.value;
    }
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out(LevelName(level));
  out.resize(5, ' ');
  if (!component.empty()) {
    out += '[';
    out += component;
    out += "] ";
  }
  out += message;
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    std::string value = IsSecretKey(f.key) ? std::string("<redacted>") : f.value;
    // Values may carry user bytes (a kubeconfig of random bytes): invalid UTF-8 becomes U+FFFD
    // instead of an exception out of a log call.
    out += NeedsQuotes(value) ? nlohmann::json(value).dump(-1, ' ', false,
                                                           nlohmann::json::error_handler_t::replace)
                              : value;
  }
  return out;
}

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const bool json = g_json.load();
  std::string body =
      Render(json ? Format::kJson : Format::kText, level, *g_component, message, fields);
  std::string ts = FormatRfc3339Micro(RealClock::Get()->Now());
  if (json) {
    // Splice the timestamp in as the first key.
    body = "{\"ts\":\"" + ts + "\"," + body.substr(1);
  } else {
    body = ts + " " + body;
  }
  Logger()->log(spdlog::level::info, "{}", body);
}

}  // namespace brfed::log
