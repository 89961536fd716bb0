#include "cli/describe.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/table.h"
#include "core/bytes.h"

namespace brfed::cli {
namespace {

std::string Or(std::string value, std::string_view fallback = "-") {
  return value.empty() ? std::string(fallback) : value;
}

std::string Field(std::string_view label, const std::string& value) {
  std::string line(label);
  line += ":";
  line.append(label.size() < 15 ? 15 - label.size() : 1, ' ');
  return line + value + "\n";
}

std::string Indent(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    out += "  " + text.substr(start, nl - start + 1);
    start = nl + 1;
  }
  return out;
}

std::string ClusterList(const Json& obj) {
  std::string out;
  if (const Json* cs = JsonAt(obj, {"spec", "clusters"}); cs && cs->is_array()) {
    for (const Json& c : *cs) {
      if (!out.empty()) out += ", ";
      out += JsonStringAt(c, {"k8sClusterName"}) + "=" + JsonStringAt(c, {"tcNamespace"}) + "/" +
             JsonStringAt(c, {"tcName"});
    }
  }
  return out;
}

std::string Steps(const Json& obj, Time now) {
  const Json* steps = JsonAt(obj, {"status", "steps"});
  if (!steps || !steps->is_array() || steps->empty()) return Field("Steps", "<none>");
  std::vector<TableRow> rows;
  for (const Json& s : *steps) {
    const std::string started = JsonStringAt(s, {"timeStarted"});
    const std::string completed = JsonStringAt(s, {"timeCompleted"});
    std::string taken = JsonStringAt(s, {"timeTaken"});
    if (taken.empty() && completed.empty() && !started.empty()) {
      taken = AgeSince(started, now) + " so far";
    }
    rows.push_back({JsonStringAt(s, {"stepName"}), Or(started), Or(completed), Or(taken)});
  }
  return "Steps:\n" + Indent(RenderTable({"STEP", "STARTED", "COMPLETED", "TAKEN"}, rows));
}

std::string Conditions(const Json& obj) {
  const Json* conditions = JsonAt(obj, {"status", "conditions"});
  if (!conditions || !conditions->is_array() || conditions->empty()) return "";
  std::vector<TableRow> rows;
  for (const Json& c : *conditions) {
    rows.push_back({JsonStringAt(c, {"type"}), JsonStringAt(c, {"status"}),
                    Or(JsonStringAt(c, {"lastTransitionTime"})), JsonStringAt(c, {"reason"}),
                    JsonStringAt(c, {"message"})});
  }
  return "Conditions:\n" +
         Indent(RenderTable({"TYPE", "STATUS", "SINCE", "REASON", "MESSAGE"}, rows));
}

std::string Events(const std::vector<Json>& events, Time now) {
  if (events.empty()) return Field("Events", "<none>");
  std::vector<Json> sorted = events;
  auto when = [](const Json& e) {
    std::string t = JsonStringAt(e, {"lastTimestamp"});
    if (t.empty()) t = JsonStringAt(e, {"eventTime"});
    if (t.empty()) t = JsonStringAt(e, {"metadata", "creationTimestamp"});
    return t;
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Json& a, const Json& b) { return when(a) < when(b); });
  std::vector<TableRow> rows;
  for (const Json& e : sorted) {
    std::string from = JsonStringAt(e, {"source", "component"});
    if (from.empty()) from = JsonStringAt(e, {"reportingComponent"});
    const long long count = JsonIntAt(e, {"count"}, 1);
    std::string age = AgeSince(when(e), now);
    if (count > 1) age += " (x" + std::to_string(count) + ")";
    rows.push_back({JsonStringAt(e, {"type"}), JsonStringAt(e, {"reason"}), age, Or(from),
                    JsonStringAt(e, {"message"})});
  }
  return "Events:\n" + Indent(RenderTable({"TYPE", "REASON", "AGE", "FROM", "MESSAGE"}, rows));
}

std::string Header(const Json& obj, const char* kind, Time now, const Style& style) {
  std::string out;
  out += Field("Name", JsonStringAt(obj, {"metadata", "name"}));
  out += Field("Namespace", JsonStringAt(obj, {"metadata", "namespace"}));
  out += Field("Kind", kind);
  out += Field("Created", Or(JsonStringAt(obj, {"metadata", "creationTimestamp"})) + " (" +
                              AgeSince(JsonStringAt(obj, {"metadata", "creationTimestamp"}), now) +
                              " ago)");
  if (!JsonStringAt(obj, {"metadata", "deletionTimestamp"}).empty()) {
    out += Field("Deleting", "since " + JsonStringAt(obj, {"metadata", "deletionTimestamp"}));
  }
  out += Field("Phase", style.Phase(Or(JsonStringAt(obj, {"status", "phase"}), "Pending")));
  return out;
}

std::string Timing(const Json& obj) {
  std::string out;
  out += Field("Started", Or(JsonStringAt(obj, {"status", "timeStarted"})));
  out += Field("Completed", Or(JsonStringAt(obj, {"status", "timeCompleted"})));
  out += Field("Time taken", Or(JsonStringAt(obj, {"status", "timeTaken"})));
  return out;
}

std::string MemberReason(const Json& m) {
  std::string reason = JsonStringAt(m, {"reason"});
  const std::string message = JsonStringAt(m, {"message"});
  if (!message.empty()) reason += (reason.empty() ? "" : ": ") + message;
  return reason;
}

}  // namespace

std::string GcPauseWindow(const Json& obj) {
  const Json* steps = JsonAt(obj, {"status", "steps"});
  if (!steps || !steps->is_array()) return "";
  for (const Json& s : *steps) {
    const std::string name = JsonStringAt(s, {"stepName"});
    if (name.find("GC") == std::string::npos && name.find("Gc") == std::string::npos) continue;
    std::string window = Or(JsonStringAt(s, {"timeStarted"}), "?") + " .. " +
                         Or(JsonStringAt(s, {"timeCompleted"}), "(still paused)");
    const std::string taken = JsonStringAt(s, {"timeTaken"});
    const std::string control_plane = JsonStringAt(s, {"controlPlaneTimeTaken"});
    if (!taken.empty() && !control_plane.empty()) {
      window += " (" + taken + ", of which waiting on the manager " + control_plane + ")";
    } else if (!taken.empty()) {
      window += " (" + taken + ")";
    }
    return window;
  }
  return "";
}

std::string DescribeVolumeBackup(const Json& vb, const std::vector<Json>& events, Time now,
                                 const Style& style) {
  std::string out = Header(vb, "VolumeBackup", now, style);
  out += Field("Clusters", ClusterList(vb));
  const Json* s3 = JsonAt(vb, {"spec", "template", "s3"});
  if (s3) {
    out += Field("Storage", "s3://" + JsonStringAt(*s3, {"bucket"}) + "/" +
                                JsonStringAt(*s3, {"prefix"}) + "-<cluster>" +
                                (JsonStringAt(*s3, {"region"}).empty()
                                     ? ""
                                     : " (" + JsonStringAt(*s3, {"region"}) + ")"));
  }
  out += Field("Backup size", Or(JsonStringAt(vb, {"status", "backupSizeReadable"})));
  out += Field("CommitTs", Or(JsonStringAt(vb, {"status", "commitTs"})));
  out += Field("GC paused", Or(GcPauseWindow(vb)));
  out += Timing(vb);
  std::vector<TableRow> rows;
  if (const Json* members = JsonAt(vb, {"status", "backups"}); members && members->is_array()) {
    for (const Json& m : *members) {
      const long long size = JsonIntAt(m, {"backupSize"}, -1);
      rows.push_back({JsonStringAt(m, {"k8sClusterName"}),
                      JsonStringAt(m, {"tcNamespace"}) + "/" + JsonStringAt(m, {"backupName"}),
                      style.Phase(Or(JsonStringAt(m, {"phase"}))),
                      size >= 0 ? HumanizeBytes(static_cast<uint64_t>(size)) : "-",
                      Or(JsonStringAt(m, {"commitTs"})), Or(JsonStringAt(m, {"backupPath"})),
                      MemberReason(m)});
    }
  }
  out += rows.empty()
             ? Field("Members", "<none yet>")
             : "Members:\n" +
                   Indent(RenderTable(
                       {"CLUSTER", "MEMBER", "PHASE", "SIZE", "COMMITTS", "PATH", "REASON"}, rows));
  out += Steps(vb, now);
  out += Conditions(vb);
  out += Events(events, now);
  return out;
}

std::string DescribeVolumeRestore(const Json& vr, const std::vector<Json>& events, Time now,
                                  const Style& style) {
  std::string out = Header(vr, "VolumeRestore", now, style);
  out += Field("From backup", Or(JsonStringAt(vr, {"spec", "volumeBackupName"})));
  out += Field("Clusters", ClusterList(vr));
  out += Field("Warm-up", Or(JsonStringAt(vr, {"spec", "template", "warmup"}), "none"));
  out += Field("CommitTs", Or(JsonStringAt(vr, {"status", "commitTs"})));
  out += Timing(vr);
  std::vector<TableRow> rows;
  if (const Json* members = JsonAt(vr, {"status", "restores"}); members && members->is_array()) {
    for (const Json& m : *members) {
      rows.push_back({JsonStringAt(m, {"k8sClusterName"}),
                      JsonStringAt(m, {"tcNamespace"}) + "/" + JsonStringAt(m, {"restoreName"}),
                      style.Phase(Or(JsonStringAt(m, {"phase"}))),
                      Or(JsonStringAt(m, {"commitTs"})), MemberReason(m)});
    }
  }
  out += rows.empty()
             ? Field("Members", "<none yet>")
             : "Members:\n" +
                   Indent(RenderTable({"CLUSTER", "MEMBER", "PHASE", "COMMITTS", "REASON"}, rows));
  out += Steps(vr, now);
  out += Conditions(vr);
  out += Events(events, now);
  return out;
}

std::string DescribeVolumeBackupSchedule(const Json& vbks, const std::vector<Json>& backups,
                                         const std::vector<Json>& events, Time now,
                                         const Style& style) {
  std::string out;
  out += Field("Name", JsonStringAt(vbks, {"metadata", "name"}));
  out += Field("Namespace", JsonStringAt(vbks, {"metadata", "namespace"}));
  out += Field("Kind", "VolumeBackupSchedule");
  out += Field("Schedule", JsonStringAt(vbks, {"spec", "schedule"}));
  out += Field("Paused", JsonBoolAt(vbks, {"spec", "pause"}) ? style.Yellow("yes") : "no");
  const long long max_backups = JsonIntAt(vbks, {"spec", "maxBackups"}, 0);
  out += Field("Max backups", max_backups > 0 ? std::to_string(max_backups) : "no limit");
  out += Field("Max reserved", Or(JsonStringAt(vbks, {"spec", "maxReservedTime"}), "no limit"));
  out += Field("Last backup", Or(JsonStringAt(vbks, {"status", "lastBackup"})) + " at " +
                                  Or(JsonStringAt(vbks, {"status", "lastBackupTime"})));
  std::vector<TableRow> rows;
  for (const Json& b : backups) {
    rows.push_back({JsonStringAt(b, {"metadata", "name"}),
                    style.Phase(Or(JsonStringAt(b, {"status", "phase"}), "Pending")),
                    Or(JsonStringAt(b, {"status", "backupSizeReadable"})),
                    Or(JsonStringAt(b, {"status", "commitTs"})),
                    AgeSince(JsonStringAt(b, {"metadata", "creationTimestamp"}), now)});
  }
  out +=
      rows.empty()
          ? Field("Backups", "<none>")
          : "Backups:\n" + Indent(RenderTable({"NAME", "STATUS", "SIZE", "COMMITTS", "AGE"}, rows));
  out += Conditions(vbks);
  out += Events(events, now);
  return out;
}

std::string SummarizeVolumeBackup(const Json& vb, const Style& style) {
  const std::string phase = Or(JsonStringAt(vb, {"status", "phase"}), "Pending");
  std::string out = style.Bold("VolumeBackup " + JsonStringAt(vb, {"metadata", "name"})) + ": " +
                    style.Phase(phase) + "\n";
  std::string members;
  if (const Json* ms = JsonAt(vb, {"status", "backups"}); ms && ms->is_array()) {
    for (const Json& m : *ms) {
      if (!members.empty()) members += ", ";
      members += JsonStringAt(m, {"k8sClusterName"}) + " " + JsonStringAt(m, {"phase"});
    }
  }
  out += "  " + Field("members", Or(members));
  out += "  " + Field("size", Or(JsonStringAt(vb, {"status", "backupSizeReadable"})));
  out += "  " + Field("commitTs", Or(JsonStringAt(vb, {"status", "commitTs"})));
  out += "  " + Field("GC paused", Or(GcPauseWindow(vb)));
  out += "  " + Field("time taken", Or(JsonStringAt(vb, {"status", "timeTaken"})));
  return out;
}

std::string SummarizeVolumeRestore(const Json& vr, const Style& style) {
  const std::string phase = Or(JsonStringAt(vr, {"status", "phase"}), "Pending");
  std::string out = style.Bold("VolumeRestore " + JsonStringAt(vr, {"metadata", "name"})) + ": " +
                    style.Phase(phase) + "\n";
  std::string members;
  if (const Json* ms = JsonAt(vr, {"status", "restores"}); ms && ms->is_array()) {
    for (const Json& m : *ms) {
      if (!members.empty()) members += ", ";
      members += JsonStringAt(m, {"k8sClusterName"}) + " " + JsonStringAt(m, {"phase"});
    }
  }
  out += "  " + Field("members", Or(members));
  out += "  " + Field("commitTs", Or(JsonStringAt(vr, {"status", "commitTs"})));
  out += "  " + Field("time taken", Or(JsonStringAt(vr, {"status", "timeTaken"})));
  return out;
}

}  // namespace brfed::cli
