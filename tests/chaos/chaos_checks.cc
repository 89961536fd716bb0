#include "tests/chaos/chaos_checks.h"

#include <algorithm>
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

double LongestPauseSeconds(const std::string& audit_log_text) {
  std::map<std::string, int64_t> opened;  // holder -> mono_ns
  int64_t longest = 0, last = 0;
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
        longest = std::max(longest, at - it->second);
        opened.erase(it);
      }
    }
  }
  for (const auto& [holder, at] : opened) longest = std::max(longest, last - at);
  return static_cast<double>(longest) / 1e9;
}

}  // namespace brfed::chaos
