#include "tests/chaos/chaos_schedule.h"

#include <algorithm>
#include <sstream>

namespace brfed::chaos {

namespace {

constexpr const char* kFaultNames[kFaultKinds] = {
    "kill-manager",     "freeze-apiserver", "kill-apiserver",    "empty-apiserver",
    "apiserver-errors", "apiserver-429",    "apiserver-slow",    "drop-watches",
    "expire-watches",   "sim-fault",        "garbage-kubeconfig"};

// SplitMix64: tiny, fully specified, the same sequence everywhere.
class Draw {
 public:
  explicit Draw(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (hi >= lo); the modulo bias is irrelevant at these ranges.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(int percent) { return Between(0, 99) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& from) {
    return from[static_cast<size_t>(Between(0, static_cast<int64_t>(from.size()) - 1))];
  }

 private:
  uint64_t state_;
};

Status CheckParams(const ChaosParams& p) {
  if (p.data_planes.empty()) return InvalidArgument("chaos: no data plane");
  if (p.run_ms < 1) return InvalidArgument("chaos: run_ms must be at least 1");
  if (p.faults < 0 || p.backups < 0 || p.restores < 0 || p.schedules < 0) {
    return InvalidArgument("chaos: counts must not be negative");
  }
  if (p.freeze_min_ms < 0 || p.freeze_min_ms > p.freeze_max_ms || p.fault_min_ms < 0 ||
      p.fault_min_ms > p.fault_max_ms) {
    return InvalidArgument("chaos: a duration range has min > max or a negative bound");
  }
  if (p.faults > 0 && p.disabled.size() >= static_cast<size_t>(kFaultKinds)) {
    bool all = true;
    for (int k = 0; k < kFaultKinds; ++k) {
      all = all && std::count(p.disabled.begin(), p.disabled.end(), static_cast<FaultKind>(k));
    }
    if (all) return InvalidArgument("chaos: every fault kind is disabled");
  }
  return Status::Ok();
}

// A non-empty subset of the data planes (at least two when there are two), shuffled.
std::vector<std::string> DrawClusters(Draw& draw, const std::vector<std::string>& all) {
  std::vector<std::string> shuffled = all;
  for (size_t i = shuffled.size(); i > 1; --i) {
    std::swap(shuffled[i - 1], shuffled[static_cast<size_t>(draw.Between(0, i - 1))]);
  }
  const int64_t least = std::min<int64_t>(2, static_cast<int64_t>(all.size()));
  shuffled.resize(static_cast<size_t>(draw.Between(least, static_cast<int64_t>(all.size()))));
  return shuffled;
}

std::vector<Work> DrawWork(Draw& draw, const ChaosParams& p) {
  std::vector<Work> work;
  auto add = [&](WorkKind kind, const std::string& prefix, int count, int delete_percent) {
    for (int i = 0; i < count; ++i) {
      Work w;
      w.kind = kind;
      w.name = prefix + std::to_string(i);
      w.at_ms = draw.Between(0, p.run_ms * 3 / 5);
      // A restore reads the source backup, which spans every data plane.
      w.clusters = kind == WorkKind::kRestore ? p.data_planes : DrawClusters(draw, p.data_planes);
      if (draw.Chance(delete_percent)) w.delete_at_ms = draw.Between(w.at_ms, p.run_ms);
      work.push_back(std::move(w));
    }
  };
  add(WorkKind::kBackup, "bk", p.backups, 25);
  add(WorkKind::kRestore, "rs", p.restores, 0);
  add(WorkKind::kSchedule, "sc", p.schedules, 50);
  std::stable_sort(work.begin(), work.end(),
                   [](const Work& a, const Work& b) { return a.at_ms < b.at_ms; });
  return work;
}

// A simulator fault aimed at one member of a backup or restore of this run, or ("slow") at a
// whole data plane.
std::string DrawSimFault(Draw& draw, const std::vector<Work>& work, std::string& cluster) {
  std::vector<const Work*> backups, restores;
  for (const Work& w : work) {
    if (w.kind == WorkKind::kBackup) backups.push_back(&w);
    if (w.kind == WorkKind::kRestore) restores.push_back(&w);
  }
  const bool restore = !restores.empty() && (backups.empty() || draw.Chance(30));
  if (!restore && backups.empty()) {
    cluster = "*";
    return "slow@*,factor=" + std::to_string(draw.Between(2, 10));
  }
  const Work& target = *(restore ? draw.Pick(restores) : draw.Pick(backups));
  cluster = draw.Pick(target.clusters);
  const std::string kind = draw.Pick(restore ? SimRestoreFaultKinds() : SimBackupFaultKinds());
  if (kind == "slow") return "slow@" + cluster + ",factor=" + std::to_string(draw.Between(2, 10));
  std::string spec = kind + "@" + cluster + "/fed-" + target.name;
  if (kind == "restore-volume-fail" && draw.Chance(50)) spec += ",after-meta";
  return spec;
}

std::vector<std::string> ApiServers(const ChaosParams& p) {
  std::vector<std::string> all = {"control-plane"};
  all.insert(all.end(), p.data_planes.begin(), p.data_planes.end());
  return all;
}

Fault DrawFault(Draw& draw, const ChaosParams& p, const std::vector<FaultKind>& enabled,
                const std::vector<Work>& work) {
  Fault f;
  f.kind = draw.Pick(enabled);
  f.at_ms = draw.Between(0, p.run_ms - 1);
  const int64_t duration = draw.Between(p.fault_min_ms, p.fault_max_ms);
  switch (f.kind) {
    case FaultKind::kKillManager:
      break;
    case FaultKind::kFreezeApiServer:
      f.target = draw.Pick(p.data_planes);
      f.duration_ms = draw.Between(p.freeze_min_ms, p.freeze_max_ms);
      break;
    case FaultKind::kKillApiServer:
      f.target = draw.Pick(ApiServers(p));
      break;
    case FaultKind::kEmptyApiServer:
      f.target = draw.Pick(p.data_planes);
      break;
    case FaultKind::kApiServerErrors:
    case FaultKind::kApiServerThrottle:
      f.target = draw.Pick(ApiServers(p));
      f.duration_ms = duration;
      f.detail = "0." + std::to_string(draw.Between(1, 5));  // fail fraction 0.1 .. 0.5
      break;
    case FaultKind::kApiServerSlow:
      f.target = draw.Pick(ApiServers(p));
      f.duration_ms = duration;
      f.detail = std::to_string(draw.Between(20, 400));  // latency, ms
      break;
    case FaultKind::kDropWatches:
    case FaultKind::kExpireWatches:
      f.target = draw.Pick(ApiServers(p));
      break;
    case FaultKind::kSimFault:
      f.duration_ms = duration;
      f.detail = DrawSimFault(draw, work, f.target);
      break;
    case FaultKind::kGarbageKubeconfig:
      f.duration_ms = duration;
      f.detail = draw.Pick(std::vector<std::string>{"empty", "bytes", "yaml"});
      break;
  }
  return f;
}

}  // namespace

const char* FaultKindName(FaultKind kind) { return kFaultNames[static_cast<int>(kind)]; }

Result<FaultKind> ParseFaultKind(const std::string& name) {
  std::string known;
  for (int k = 0; k < kFaultKinds; ++k) {
    if (name == kFaultNames[k]) return static_cast<FaultKind>(k);
    known += std::string(k ? ", " : "") + kFaultNames[k];
  }
  return InvalidArgument("unknown chaos fault kind \"" + name + "\"; known: " + known);
}

const std::vector<std::string>& SimBackupFaultKinds() {
  static const std::vector<std::string> kinds = {
      "init-fail",        "init-job-deleted", "init-deadline", "snapshot-fail",
      "execute-pod-dies", "invalid",          "hang",          "slow",
      "clean-fail"};
  return kinds;
}

const std::vector<std::string>& SimRestoreFaultKinds() {
  static const std::vector<std::string> kinds = {"restore-volume-fail", "restore-data-fail",
                                                 "restore-finish-fail", "warmup-fail",
                                                 "tikv-never-up"};
  return kinds;
}

Result<ChaosSchedule> GenerateSchedule(uint64_t seed, const ChaosParams& params) {
  BRFED_RETURN_IF_ERROR(CheckParams(params));
  Draw draw(seed);
  ChaosSchedule s;
  s.seed = seed;
  s.work = DrawWork(draw, params);
  std::vector<FaultKind> enabled;
  for (int k = 0; k < kFaultKinds; ++k) {
    const auto kind = static_cast<FaultKind>(k);
    if (std::find(params.disabled.begin(), params.disabled.end(), kind) == params.disabled.end()) {
      enabled.push_back(kind);
    }
  }
  for (int i = 0; i < params.faults; ++i)
    s.faults.push_back(DrawFault(draw, params, enabled, s.work));
  std::stable_sort(s.faults.begin(), s.faults.end(),
                   [](const Fault& a, const Fault& b) { return a.at_ms < b.at_ms; });
  return s;
}

std::string DescribeSchedule(const ChaosSchedule& schedule) {
  static const char* kWorkNames[] = {"backup", "restore", "schedule"};
  std::vector<std::pair<int64_t, std::string>> lines;
  for (const Work& w : schedule.work) {
    std::string clusters;
    for (const auto& c : w.clusters) clusters += (clusters.empty() ? "" : ",") + c;
    lines.push_back({w.at_ms, std::string(kWorkNames[static_cast<int>(w.kind)]) + " " + w.name +
                                  " on " + clusters});
    if (w.delete_at_ms >= 0) lines.push_back({w.delete_at_ms, "delete " + w.name});
  }
  for (const Fault& f : schedule.faults) {
    std::string line = std::string("fault ") + FaultKindName(f.kind);
    if (!f.target.empty()) line += " target=" + f.target;
    if (!f.detail.empty()) line += " detail=" + f.detail;
    if (f.duration_ms > 0) line += " for=" + std::to_string(f.duration_ms) + "ms";
    lines.push_back({f.at_ms, line});
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::ostringstream out;
  out << "chaos seed " << schedule.seed << "\n";
  for (const auto& [at, line] : lines) out << "  +" << at << "ms " << line << "\n";
  return out.str();
}

}  // namespace brfed::chaos
