#include "cli/progress.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/table.h"
#include "core/bytes.h"

namespace brfed::cli {
namespace {

std::string MemberDetail(const Json& member, bool backup) {
  std::string detail;
  auto add = [&](const std::string& part) {
    if (part.empty()) return;
    if (!detail.empty()) detail += ", ";
    detail += part;
  };
  if (backup) {
    const long long size = JsonIntAt(member, {"backupSize"}, -1);
    if (size > 0) add("size " + HumanizeBytes(static_cast<uint64_t>(size)));
  }
  const std::string commit_ts = JsonStringAt(member, {"commitTs"});
  if (!commit_ts.empty()) add("commitTs " + commit_ts);
  std::string reason = JsonStringAt(member, {"reason"});
  const std::string message = JsonStringAt(member, {"message"});
  if (!message.empty()) reason += (reason.empty() ? "" : ": ") + message;
  add(reason);
  return detail;
}

Progress Extract(const Json& obj, const char* kind, const char* members_key, bool backup) {
  Progress p;
  p.kind = kind;
  p.name = JsonStringAt(obj, {"metadata", "name"});
  p.phase = JsonStringAt(obj, {"status", "phase"});
  p.finished = IsTerminalPhase(p.phase);
  p.succeeded = p.phase == "Complete";
  if (const Json* conditions = JsonAt(obj, {"status", "conditions"});
      conditions && conditions->is_array() && !p.succeeded) {
    for (const Json& c : *conditions) {
      if (JsonStringAt(c, {"type"}) == p.phase) {
        p.message = JsonStringAt(c, {"message"}, JsonStringAt(c, {"reason"}));
      }
    }
  }
  // Every requested cluster appears, even before the manager reports on it.
  if (const Json* clusters = JsonAt(obj, {"spec", "clusters"}); clusters && clusters->is_array()) {
    for (const Json& c : *clusters)
      p.members.push_back({JsonStringAt(c, {"k8sClusterName"}), "", ""});
  }
  if (const Json* members = JsonAt(obj, {"status", members_key}); members && members->is_array()) {
    for (const Json& m : *members) {
      const std::string cluster = JsonStringAt(m, {"k8sClusterName"});
      auto it = std::find_if(p.members.begin(), p.members.end(),
                             [&](const MemberProgress& mp) { return mp.cluster == cluster; });
      if (it == p.members.end()) it = p.members.insert(p.members.end(), {cluster, "", ""});
      it->phase = JsonStringAt(m, {"phase"});
      it->detail = MemberDetail(m, backup);
    }
  }
  return p;
}

}  // namespace

bool IsTerminalPhase(std::string_view phase) {
  return phase == "Complete" || phase == "Failed" || phase == "Invalid" || phase == "Cleaned" ||
         phase == "CleanFailed";
}

Progress BackupProgress(const Json& vb) { return Extract(vb, "backup", "backups", true); }
Progress RestoreProgress(const Json& vr) { return Extract(vr, "restore", "restores", false); }

std::string FormatElapsed(std::chrono::nanoseconds d) {
  const double seconds = std::chrono::duration<double>(d).count();
  char buf[32];
  if (seconds < 10) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  } else {
    const long long s = static_cast<long long>(seconds);
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  }
  return buf;
}

std::string WatchRenderer::Render(const Progress& state, std::chrono::nanoseconds elapsed) {
  std::string out = mode_ == Mode::kRedraw ? Frame(state, elapsed) : Lines(state, elapsed);
  last_ = state;
  return out;
}

std::string WatchRenderer::Frame(const Progress& state, std::chrono::nanoseconds elapsed) {
  const std::string phase = state.phase.empty() ? "Pending" : state.phase;
  std::string body = style_.Bold(state.kind + " " + state.name) + "  " + style_.Phase(phase) +
                     "  " + style_.Dim(FormatElapsed(elapsed)) + "\n";
  std::vector<TableRow> rows;
  for (const MemberProgress& m : state.members) {
    rows.push_back({m.cluster, style_.Phase(m.phase.empty() ? "-" : m.phase), m.detail});
  }
  body += RenderTable({"CLUSTER", "PHASE", "DETAIL"}, rows);
  if (!state.message.empty()) body += style_.Red(state.message) + "\n";

  std::string out;
  if (lines_on_screen_ > 0) out += "\x1b[" + std::to_string(lines_on_screen_) + "F";
  // Clear each line before writing it, and whatever remains below a shorter frame.
  int lines = 0;
  size_t start = 0;
  while (start < body.size()) {
    const size_t nl = body.find('\n', start);
    out += "\x1b[2K" + body.substr(start, nl - start + 1);
    start = nl + 1;
    ++lines;
  }
  out += "\x1b[J";
  lines_on_screen_ = lines;
  return out;
}

std::string WatchRenderer::Lines(const Progress& state, std::chrono::nanoseconds elapsed) const {
  const std::string stamp = "[" + FormatElapsed(elapsed) + "] ";
  std::string out;
  const std::string phase = state.phase.empty() ? "Pending" : state.phase;
  const std::string last_phase =
      last_ ? (last_->phase.empty() ? "Pending" : last_->phase) : std::string();
  if (!last_ || last_phase != phase || last_->message != state.message) {
    out += stamp + state.kind + "/" + state.name + " " + phase;
    if (!state.message.empty()) out += ": " + state.message;
    out += "\n";
  }
  for (const MemberProgress& m : state.members) {
    const MemberProgress* before = nullptr;
    if (last_) {
      for (const MemberProgress& lm : last_->members) {
        if (lm.cluster == m.cluster) before = &lm;
      }
    }
    if (m.phase.empty() && !before) continue;
    if (before && before->phase == m.phase && before->detail == m.detail) continue;
    out += stamp + "  " + m.cluster + " " + (m.phase.empty() ? "-" : m.phase);
    if (!m.detail.empty()) out += " (" + m.detail + ")";
    out += "\n";
  }
  return out;
}

}  // namespace brfed::cli
