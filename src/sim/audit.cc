#include "sim/audit.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

namespace brfed::sim {

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, Clock* clock) {
  std::FILE* f = nullptr;
  if (!path.empty()) {
    f = std::fopen(path.c_str(), "a");
    if (f == nullptr) {
      return InvalidArgument("cannot open audit log " + path + ": " + std::strerror(errno));
    }
  }
  return std::unique_ptr<AuditLog>(new AuditLog(f, clock));
}

AuditLog::~AuditLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void AuditLog::Append(const Json& event) {
  std::lock_guard<std::mutex> lock(mu_);
  Json line = event;
  line["seq"] = ++seq_;
  line["wall"] = FormatRfc3339Micro(clock_->Now());
  line["mono_ns"] =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Steady().time_since_epoch())
          .count();
  std::string text = DumpJson(line);
  if (file_ != nullptr) {
    std::fprintf(file_, "%s\n", text.c_str());
    std::fflush(file_);
  }
  lines_.push_back(std::move(text));
}

std::vector<std::string> AuditLog::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

namespace {

// "cluster/namespace/name/uid" -> name.
std::string NameOf(const std::string& owner) {
  size_t last = owner.rfind('/');
  if (last == std::string::npos || last == 0) return owner;
  size_t prev = owner.rfind('/', last - 1);
  return owner.substr(prev == std::string::npos ? 0 : prev + 1,
                      last - (prev == std::string::npos ? 0 : prev + 1));
}

// Decimal TSOs compare by length, then lexicographically.
bool TsLess(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

// "cluster/namespace/name/uid#init" -> "cluster/namespace/name/uid".
std::string HolderMember(const std::string& holder) { return holder.substr(0, holder.rfind('#')); }

// Member conditions that fail the federated backup: those the federation's predicates test
// (contract a.8; api::MemberFailureSummary). A member's own Failed counts too, e.g. an execute
// member that found its clustermeta already there (chaos seed 6009).
bool IsMemberFailure(const std::string& type) {
  return type == "VolumeBackupFailed" || type == "VolumeBackupInitializeFailed" ||
         type == "Failed" || type == "Invalid";
}

// A snapshot_create as the checker keeps it until the end of the log.
struct SnapshotSeen {
  std::string owner, snap, at;
  int window;  // 0: taken while nothing paused PD
  size_t line;
};

// The checker's state while reading a log, one method per kind of event. Each method appends
// violations, prefixed by `at` ("line N: ").
class AuditChecker {
 public:
  void Event(const Json& e, size_t line_no, const std::string& at) {
    const std::string ev = JsonStringAt(e, {"event"});
    const std::string owner = JsonStringAt(e, {"owner"});
    if (ev == "pd_pause") {
      if (holders_.empty()) ++window_;
      holders_[JsonStringAt(e, {"holder"})] = line_no;
      // A re-created initialize member pauses again: that backup's snapshots are judged by the
      // windows again (one before the loss and one after is a violation).
      lost_pause_.erase(NameOf(HolderMember(JsonStringAt(e, {"holder"}))));
    } else if (ev == "pd_resume" || ev == "pd_pause_expired") {
      PdResume(ev, JsonStringAt(e, {"holder"}), at);
      if (JsonStringAt(e, {"why"}) == kPauseGoneWithItsMember) {
        lost_pause_.insert(NameOf(HolderMember(JsonStringAt(e, {"holder"}))));
      }
    } else if (ev == "member_vanished") {
      vanished_owners_.insert(owner);
    } else if (ev == "snapshot_create") {
      SnapshotCreate(owner, JsonStringAt(e, {"snapshot"}), line_no, at);
    } else if (ev == "snapshot_delete") {
      snaps_by_owner_[owner].erase(JsonStringAt(e, {"snapshot"}));
    } else if (ev == "clean_done") {
      for (const std::string& s : snaps_by_owner_[owner]) {
        v_.push_back(at + "backup " + owner + " cleaned up but snapshot " + s + " was not deleted");
      }
    } else if (ev == "condition" && JsonStringAt(e, {"kind"}) == "Backup" &&
               IsMemberFailure(JsonStringAt(e, {"type"}))) {
      failed_backups_.insert(NameOf(owner));
    } else if (ev == "restore_volume_complete") {
      restore_ts_[JsonStringAt(e, {"name"})][owner] = JsonStringAt(e, {"commitTs"});
    } else if (ev == "condition" && JsonStringAt(e, {"kind"}) == "Restore") {
      std::string name = JsonStringAt(e, {"name"});
      restore_members_[name].insert(owner);
      if (JsonStringAt(e, {"type"}) == "TikvComplete") restore_tikv_[name].insert(owner);
    } else if (ev == "restore_data_run") {
      RestoreDataRun(JsonStringAt(e, {"name"}), owner, JsonStringAt(e, {"commitTs"}), at);
    } else if (ev == "restore_finish") {
      finished_.insert(JsonStringAt(e, {"name"}));
    }
  }

  void Violation(std::string what) { v_.push_back(std::move(what)); }

  // Backups whose snapshots were excused by a loss (see BackupsThatMustNotComplete).
  std::map<std::string, std::string> MustNotComplete() const {
    std::map<std::string, std::string> out;
    for (const auto& [name, seen] : snapshots_) {
      bool excused = false;
      JudgeWindows(name, seen, excused);
      if (excused) out[name] = "a snapshot outside its pause was taken by a member that vanished";
    }
    for (const std::string& name : lost_pause_) {
      out[name] = "its initialize member vanished with the pause";
    }
    return out;
  }

  // The violations, with those only the end of the log shows.
  std::vector<std::string> End() {
    for (const auto& [h, line] : holders_) {
      v_.push_back("end of log: PD pause by " + h + " (line " + std::to_string(line) +
                   ") was never released");
    }
    for (const auto& [name, seen] : snapshots_) {
      if (failed_backups_.count(name) > 0) continue;
      bool excused = false;
      for (std::string& violation : JudgeWindows(name, seen, excused)) {
        v_.push_back(std::move(violation));
      }
    }
    for (const std::string& name : finished_) {
      if (data_runs_[name] == 0) {
        v_.push_back("end of log: restore " + name +
                     " reached restore-finish without restore-data");
      }
    }
    return std::move(v_);
  }

 private:
  void PdResume(const std::string& ev, const std::string& h, const std::string& at) {
    if (ev == "pd_pause_expired") {
      v_.push_back(at + "PD pause by " + h + " expired after its TTL without being released");
    } else if (holders_.count(h) == 0) {
      v_.push_back(at + "PD resume by " + h + " without a pause");
    }
    holders_.erase(h);
  }

  void SnapshotCreate(const std::string& owner, const std::string& snap, size_t line_no,
                      const std::string& at) {
    snaps_by_owner_[owner].insert(snap);
    std::string name = NameOf(owner);
    // A snapshot outside the backup's one pause window is unsafe unless the backup fails: a
    // member of it reported a failure (a backup is Complete only if every member is), so its
    // snapshots are never used and must only be cleaned up (checked at clean_done). That is
    // what happens when a fault releases the pause under a running backup, a race no
    // coordinator can close. So is the loss of the initialize member with its data plane's
    // data: a member elsewhere can start its snapshots before the manager has relisted and seen
    // the loss; such a backup fails too (the caller checks it never completes).
    if (lost_pause_.count(name) > 0) return;
    snapshots_[name].push_back({owner, snap, at, holders_.empty() ? 0 : window_, line_no});
  }

  // Rule 2 for one backup's snapshots, in log order. Those of a member that vanished with its
  // data plane's data (member_vanished, even after the snapshot) are left out: its status, the
  // only record of them, went with it, so no backup that can complete is made of them (an
  // execute job keeps running while its API server is down and takes its snapshot before the
  // simulator has relisted, as a pod does; chaos seed 97003). Whether one of them fell outside
  // the window goes to `excused`, and such a backup must never complete (the caller checks).
  std::vector<std::string> JudgeWindows(const std::string& name,
                                        const std::vector<SnapshotSeen>& seen,
                                        bool& excused) const {
    const SnapshotSeen* first = nullptr;
    for (const SnapshotSeen& s : seen) {
      if (vanished_owners_.count(s.owner) == 0) {
        first = &s;
        break;
      }
    }
    if (first == nullptr && !seen.empty()) first = &seen.front();
    std::vector<std::string> out;
    for (const SnapshotSeen& s : seen) {
      const bool outside = s.window == 0 || s.window != first->window;
      if (vanished_owners_.count(s.owner) > 0) {
        excused = excused || outside;
        continue;
      }
      const std::string what = s.at + "snapshot " + s.snap + " of backup " + name;
      if (s.window == 0) out.push_back(what + " started while GC and scheduling were not paused");
      if (s.window != first->window) {
        out.push_back(what + " started in a different pause window than its first snapshot (line " +
                      std::to_string(first->line) + ")");
      }
    }
    return out;
  }

  void RestoreDataRun(const std::string& name, const std::string& owner, const std::string& ts,
                      const std::string& at) {
    if (++data_runs_[name] > 1) {
      v_.push_back(at + "restore " + name + " ran restore-data more than once (again on " + owner +
                   ")");
    }
    for (const std::string& m : restore_members_[name]) {
      if (restore_tikv_[name].count(m) == 0) {
        v_.push_back(at + "restore " + name + " ran restore-data before member " + m +
                     " was TikvComplete");
      }
    }
    for (const auto& [m, other] : restore_ts_[name]) {
      if (TsLess(other, ts)) {
        v_.push_back(at + "restore " + name + " ran restore-data on " + owner + " (commitTs " + ts +
                     ") but member " + m + " has the smaller commitTs " + other);
      }
    }
  }

  std::vector<std::string> v_;
  std::map<std::string, size_t> holders_;  // holder -> line of its pause
  int window_ = 0;
  std::map<std::string, std::set<std::string>> snaps_by_owner_;  // live snapshots
  // backup name -> its snapshots, judged at the end (JudgeWindows) unless the backup failed
  std::map<std::string, std::vector<SnapshotSeen>> snapshots_;
  std::set<std::string> vanished_owners_;  // members a relist found gone (member_vanished)
  std::set<std::string> failed_backups_;   // names with a member that reported a failure
  // names whose initialize member vanished with the pause, until a re-created initialize member
  // pauses again
  std::set<std::string> lost_pause_;
  // restore name -> member owner -> commitTs / TikvComplete
  std::map<std::string, std::map<std::string, std::string>> restore_ts_;
  std::map<std::string, std::set<std::string>> restore_members_;
  std::map<std::string, std::set<std::string>> restore_tikv_;
  std::map<std::string, int> data_runs_;
  std::set<std::string> finished_;
};

// Feeds every line of `text` to `checker`.
void Read(std::string_view text, AuditChecker& checker) {
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string at = "line " + std::to_string(line_no) + ": ";
    auto parsed = ParseJson(line);
    if (!parsed.ok() || !parsed->is_object()) {
      checker.Violation(at + "not a JSON object");
      continue;
    }
    checker.Event(*parsed, line_no, at);
  }
}

}  // namespace

std::vector<std::string> CheckAuditLog(std::string_view text) {
  AuditChecker checker;
  Read(text, checker);
  return checker.End();
}

std::map<std::string, std::string> BackupsThatMustNotComplete(std::string_view text) {
  AuditChecker checker;
  Read(text, checker);
  return checker.MustNotComplete();
}

}  // namespace brfed::sim
