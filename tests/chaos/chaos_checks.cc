#include "tests/chaos/chaos_checks.h"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace brfed::chaos {

bool IsTerminalPhase(const std::string& phase) {
  return phase == "Complete" || phase == "Failed" || phase == "Invalid";
}

bool TerminalOrExplained(const Json& obj) {
  if (IsTerminalPhase(JsonStringAt(obj, {"status", "phase"}))) return true;
  if (const Json* conditions = JsonAt(obj, {"status", "conditions"}); conditions != nullptr) {
    for (const Json& c : *conditions) {
      if (JsonStringAt(c, {"status"}) == "True" && !JsonStringAt(c, {"message"}).empty() &&
          !JsonStringAt(c, {"reason"}).empty()) {
        return true;
      }
    }
  }
  for (const char* members : {"backups", "restores"}) {
    if (const Json* list = JsonAt(obj, {"status", members}); list != nullptr && list->is_array()) {
      for (const Json& m : *list) {
        if (!JsonStringAt(m, {"reason"}).empty() && !JsonStringAt(m, {"message"}).empty())
          return true;
      }
    }
  }
  return false;
}

namespace {

struct Pause {
  std::string holder;
  int64_t from_ns;
  int64_t to_ns;
};

// Every pause of the log, in the order they ended (those still open last, ended at the last line).
std::vector<Pause> Pauses(const std::string& audit_log_text) {
  std::map<std::string, int64_t> opened;  // holder -> mono_ns
  std::vector<Pause> out;
  int64_t last = 0;
  std::istringstream lines(audit_log_text);
  for (std::string line; std::getline(lines, line);) {
    auto entry = ParseJson(line);
    if (!entry.ok()) continue;
    const int64_t at = JsonIntAt(*entry, {"mono_ns"});
    last = std::max(last, at);
    const std::string event = JsonStringAt(*entry, {"event"});
    const std::string holder = JsonStringAt(*entry, {"holder"});
    if (event == "pd_pause") {
      opened.emplace(holder, at);  // a renewal keeps the first instant
    } else if (event == "pd_resume" || event == "pd_pause_expired") {
      auto it = opened.find(holder);
      if (it != opened.end()) {
        out.push_back({holder, it->second, at});
        opened.erase(it);
      }
    }
  }
  for (const auto& [holder, at] : opened) out.push_back({holder, at, last});
  return out;
}

}  // namespace

double LongestPauseSeconds(const std::string& audit_log_text) {
  int64_t longest = 0;
  for (const Pause& p : Pauses(audit_log_text)) longest = std::max(longest, p.to_ns - p.from_ns);
  return static_cast<double>(longest) / 1e9;
}

std::vector<std::string> PausesOverBound(
    const std::string& audit_log_text, std::chrono::nanoseconds bound,
    std::chrono::nanoseconds slack, const std::map<std::string, std::vector<FrozenSpan>>& frozen) {
  std::vector<std::string> out;
  for (const Pause& p : Pauses(audit_log_text)) {
    int64_t allowed = p.from_ns + bound.count();
    if (auto it = frozen.find(p.holder.substr(0, p.holder.find('/'))); it != frozen.end()) {
      std::vector<FrozenSpan> spans = it->second;
      std::sort(spans.begin(), spans.end(),
                [](const FrozenSpan& a, const FrozenSpan& b) { return a.from_ns < b.from_ns; });
      for (const FrozenSpan& f : spans) {
        if (f.from_ns < allowed && f.to_ns > p.from_ns) {
          // A freeze never ended is allowed for good (saturating, not overflowing).
          const int64_t until = f.to_ns > std::numeric_limits<int64_t>::max() - slack.count()
                                    ? std::numeric_limits<int64_t>::max()
                                    : f.to_ns + slack.count();
          allowed = std::max(allowed, until);
        }
      }
    }
    if (p.to_ns <= allowed) continue;
    std::ostringstream line;
    line << "the pause of " << p.holder << " lasted "
         << static_cast<double>(p.to_ns - p.from_ns) / 1e9 << " s, over the "
         << static_cast<double>(allowed - p.from_ns) / 1e9 << " s it may (its bound, or "
         << static_cast<double>(slack.count()) / 1e9
         << " s after its data plane's API server was stopped and resumed)";
    out.push_back(line.str());
  }
  return out;
}

}  // namespace brfed::chaos
