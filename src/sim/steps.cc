#include "sim/steps.h"

#include <algorithm>

#include "core/bytes.h"

namespace brfed::sim {

namespace {

using std::chrono::seconds;

// Collects the earliest future due time.
class Waker {
 public:
  explicit Waker(Time now) : now_(now) {}
  // True when `t` is due; otherwise remembers it.
  bool Due(Time t) {
    if (t <= now_) return true;
    if (!wake_ || t < *wake_) wake_ = t;
    return false;
  }
  std::optional<Time> wake() const { return wake_; }

 private:
  Time now_;
  std::optional<Time> wake_;
};

MemberWrite Cond(std::string type, std::string reason = "", std::string message = "",
                 std::string status = "True") {
  MemberWrite w;
  w.condition =
      Condition{std::move(type), std::move(status), std::move(reason), std::move(message)};
  return w;
}

MemberWrite Fields(Json fields) {
  MemberWrite w;
  w.status_fields = std::move(fields);
  return w;
}

std::string Trim(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(s.begin());
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// "<bucket>/<prefix>" as the S3 key prefix, and "s3://<bucket>/<prefix>" as backupPath.
std::string S3Prefix(const Json& obj) {
  std::string prefix = Trim(JsonStringAt(obj, {"spec", "s3", "prefix"}));
  std::string bucket = Trim(JsonStringAt(obj, {"spec", "s3", "bucket"}));
  return prefix.empty() ? bucket : bucket + "/" + prefix;
}

bool HasFinalizer(const Json& obj, const std::string& f) {
  const Json* fins = JsonAt(obj, {"metadata", "finalizers"});
  if (fins == nullptr || !fins->is_array()) return false;
  return std::any_of(fins->begin(), fins->end(),
                     [&](const Json& x) { return x.is_string() && x.get<std::string>() == f; });
}

// Common spec validation (ValidateBackup / restore validation): the empty string when valid.
std::string ValidateCommon(const Json& obj, const Json& tc, bool is_backup) {
  std::string ns = JsonStringAt(obj, {"metadata", "namespace"});
  std::string name = JsonStringAt(obj, {"metadata", "name"});
  if (JsonStringAt(obj, {"spec", "br", "cluster"}).empty()) {
    return "missing cluster config in spec of " + ns + "/" + name;
  }
  std::string type = JsonStringAt(obj, {"spec", "backupType"});
  if (!type.empty() && type != "full" && type != "db" && type != "table") {
    return "invalid backup type " + type;
  }
  const Json* s3 = JsonAt(obj, {"spec", "s3"});
  if (s3 == nullptr || !s3->is_object())
    return "missing StorageProvider config in spec of " + ns + "/" + name +
           " (only s3 is supported)";
  if (JsonStringAt(*s3, {"bucket"}).empty()) return "bucket should be configured for BR";
  std::string endpoint = JsonStringAt(*s3, {"endpoint"});
  if (!endpoint.empty()) {
    size_t sep = endpoint.find("://");
    if (sep == std::string::npos || sep == 0 || sep + 3 >= endpoint.size()) {
      return "invalid endpoint " + endpoint + ": want a URL with a scheme and a host";
    }
  }
  if (!JsonBoolAt(tc, {"spec", "acrossK8s"})) {
    return is_backup ? "only support volume snapshot backup across k8s clusters"
                     : "only support volume snapshot restore across k8s clusters";
  }
  return "";
}

int TikvReplicas(const Json& tc) {
  return static_cast<int>(JsonIntAt(tc, {"spec", "tikv", "replicas"}));
}
size_t StorageVolumes(const Json& tc) {
  const Json* v = JsonAt(tc, {"spec", "tikv", "storageVolumes"});
  return v != nullptr && v->is_array() ? v->size() : 0;
}
size_t Stores(const Json& tc) {
  const Json* s = JsonAt(tc, {"status", "tikv", "stores"});
  return s != nullptr && (s->is_object() || s->is_array()) ? s->size() : 0;
}

Json Progress(const std::string& step, int pct, Time now) {
  return Json::array(
      {{{"step", step}, {"progress", pct}, {"lastTransitionTime", FormatRfc3339(now)}}});
}

// ---------------------------------------------------------------------------------------------
// Backup

struct BackupCtx {
  const std::string& cluster;
  const Json& obj;
  Model& m;
  Time now;
  Waker& w;
  BackupMemberState& st;
  std::string key;
  std::string name;
  std::string ns;
  std::string holder;
  Duration D(Duration base) const { return m.Delay(cluster, name, base); }
  bool Fault(FaultKind k) const { return m.FindFault(k, cluster, name) != nullptr; }
  Time Noticed(Time t) const { return m.timing().resync ? t + *m.timing().resync : t; }
};

void DeleteInitJob(BackupCtx& c, std::string_view why) {
  if (c.st.init_job && c.st.init_job->Running()) {
    c.st.init_job->deleted = true;
    c.st.init_job->ended = c.now;
    c.m.ResumePd(c.holder, c.now, why);
  }
}

std::optional<MemberWrite> InitPod(BackupCtx& c) {
  if (!c.st.init_job || !c.st.init_job->Running()) return std::nullopt;
  Job& j = *c.st.init_job;
  long long deadline_s = JsonIntAt(c.obj, {"spec", "volumeBackupInitJobMaxActiveSeconds"}, 600);
  Time deadline = j.created + c.m.timing().Scale(seconds(std::max(0LL, deadline_s)));
  if (c.w.Due(deadline)) {
    // Kubernetes kills the pod; BR returns nil on cancel, so the pod writes nothing (Q1).
    j.ended = c.now;
    j.failed = true;
    j.fail_reason = "DeadlineExceeded";
    c.m.ResumePd(c.holder, c.now, "init job deadline exceeded");
    return std::nullopt;
  }
  if (!c.w.Due(j.pod_started)) return std::nullopt;
  if (c.st.init_stage == 0) {
    c.st.init_stage = 1;
    return Cond("Running");
  }
  if (c.st.init_stage == 1) {
    if (!c.w.Due(j.pod_started + c.D(c.m.timing().init_pause))) return std::nullopt;
    if (c.Fault(FaultKind::kInitFail)) {
      c.st.init_stage = 3;
      j.ended = c.now;
      j.failed = true;
      j.fail_reason = "BackoffLimitExceeded";
      return Cond("VolumeBackupInitializeFailed", "InitializeVolumeBackupFailed",
                  "pause GC and schedulers: [PD:injected] simulated BR failure");
    }
    c.m.PausePd(c.holder, c.now);
    c.st.init_stage = 2;
    return Cond("VolumeBackupInitialized");
  }
  if (c.st.init_stage == 2) {
    if (c.Fault(FaultKind::kInitJobDeleted)) {
      DeleteInitJob(c, "init job deleted externally");
    } else if (c.Fault(FaultKind::kInitDeadline)) {
      j.ended = c.now;
      j.failed = true;
      j.fail_reason = "DeadlineExceeded";
      c.m.ResumePd(c.holder, c.now, "init job deadline exceeded");
    }
  }
  return std::nullopt;
}

std::optional<MemberWrite> ExecPod(BackupCtx& c) {
  if (!c.st.exec_job || !c.st.exec_job->Running()) return std::nullopt;
  Job& j = *c.st.exec_job;
  const Timing& t = c.m.timing();
  if (!c.w.Due(j.pod_started)) return std::nullopt;
  switch (c.st.exec_stage) {
    case 0: {
      c.st.exec_stage = 1;
      c.st.exec_started = c.now;
      std::string bucket = Trim(JsonStringAt(c.obj, {"spec", "s3", "bucket"}));
      std::string prefix = Trim(JsonStringAt(c.obj, {"spec", "s3", "prefix"}));
      MemberWrite w = Cond("Prepare");
      w.status_fields = {
          {"backupPath", "s3://" + (prefix.empty() ? bucket : bucket + "/" + prefix)}};
      return w;
    }
    case 1:
      c.st.exec_stage = 2;
      return Cond("Running");
    default:
      break;
  }
  if (c.st.exec_stage < 5 && c.Fault(FaultKind::kExecutePodDies)) {
    j.ended = c.now;
    j.failed = true;
    j.fail_reason = "BackoffLimitExceeded";
    return std::nullopt;
  }
  if (c.st.exec_stage == 2) {
    if (!c.w.Due(c.st.exec_started + c.D(t.br_warmup))) return std::nullopt;
    if (c.Fault(FaultKind::kSnapshotFail)) {
      c.st.exec_stage = 7;
      j.ended = c.now;
      j.failed = true;
      j.fail_reason = "BackoffLimitExceeded";
      return Cond("VolumeBackupFailed", "BackupDataToRemoteFailed",
                  "create EBS snapshots: SnapshotCreationPerVolumeRateExceeded (injected)");
    }
    c.st.resolved_ts = std::to_string(Model::Tso(c.now));
    Json stores = Json::array();
    for (const auto& [vol, size] : c.m.VolumesOf(c.cluster)) {
      double gib = static_cast<double>(size) / static_cast<double>(int64_t{1} << 30);
      Duration took = c.D(
          t.snapshot_base +
          Duration(static_cast<int64_t>(static_cast<double>(t.snapshot_per_gib.count()) * gib)));
      std::string id = c.m.CreateSnapshot(vol, size, c.key, c.cluster, c.now, c.now + took);
      c.st.snapshots.push_back(id);
      stores.push_back({{"volume_id", vol}, {"snapshot_id", id}, {"size", size}});
    }
    const ClusterTopology* topo = c.m.topology().Find(c.cluster);
    c.m.S3Put(S3Prefix(c.obj) + "/backupmeta",
              {{"cluster_info", {{"resolved_ts", c.st.resolved_ts}}},
               {"tikv",
                {{"replicas", topo ? topo->tikv_stores : 0},
                 {"volumes_per_store", topo ? topo->volumes_per_store : 0},
                 {"volumes", stores}}},
               {"source_cluster", c.cluster}});
    c.st.exec_stage = 3;
    c.st.meta_written = c.now;
    return std::nullopt;  // the controller's probe writes VolumeBackupSnapshotsCreated
  }
  if (c.st.exec_stage == 3) {
    Time done = c.now;
    for (const std::string& id : c.st.snapshots) {
      if (const Snapshot* s = c.m.FindSnapshot(id)) done = std::max(done, s->completes);
    }
    if (!c.w.Due(done)) return std::nullopt;
    for (const std::string& id : c.st.snapshots) {
      c.m.Audit({{"event", "snapshot_complete"},
                 {"snapshot", id},
                 {"owner", c.key},
                 {"cluster", c.cluster}});
    }
    c.st.exec_stage = 4;
    return Fields(
        {{"commitTs", c.st.resolved_ts}, {"progresses", Progress("Full Backup", 100, c.now)}});
  }
  if (c.st.exec_stage == 4) {
    c.st.exec_stage = 5;
    c.st.exec_completed = c.now;
    MemberWrite w = Cond("VolumeBackupComplete");
    w.status_fields = {{"timeStarted", FormatRfc3339(c.st.exec_started)},
                       {"timeCompleted", FormatRfc3339(c.now)}};
    return w;
  }
  if (c.st.exec_stage == 5) {
    if (!c.w.Due(c.st.exec_completed + c.D(t.size_calc))) return std::nullopt;
    std::string level = JsonStringAt(c.obj, {"spec", "calcSizeLevel"}, "all");
    bool want_full = level == "all" || level == "full";
    bool want_incremental = level == "all" || level == "incremental";
    int64_t full = 0;
    int64_t incremental = 0;
    for (const std::string& id : c.st.snapshots) {
      const Snapshot* s = c.m.FindSnapshot(id);
      if (s == nullptr) continue;
      if (want_full) full += s->size;
      // A volume's first snapshot counts whole at level all and 0 at level incremental (a.2);
      // later ones change about 1% of the blocks in this simulation.
      bool first = c.m.PreviousSnapshot(*s) == nullptr;
      if (want_incremental) incremental += first ? (level == "all" ? s->size : 0) : s->size / 100;
    }
    c.st.exec_stage = 6;
    j.ended = c.now;
    return Fields(
        {{"backupSize", full},
         {"backupSizeReadable", HumanizeBytes(static_cast<uint64_t>(full))},
         {"incrementalBackupSize", incremental},
         {"incrementalBackupSizeReadable", HumanizeBytes(static_cast<uint64_t>(incremental))},
         {"timeCompleted", FormatRfc3339(c.now)}});
  }
  return std::nullopt;
}

// b.7: deletion and cleanup.
std::optional<MemberWrite> Clean(BackupCtx& c) {
  std::string policy = JsonStringAt(c.obj, {"spec", "cleanPolicy"}, "Retain");
  bool failed = IsTrue(c.obj, "Failed");
  bool candidate = policy == "Delete" || policy == "OnFailure";
  bool retain = !candidate || (policy == "OnFailure" && !failed);
  auto remove_finalizer = [&]() -> std::optional<MemberWrite> {
    if (!HasFinalizer(c.obj, kBackupProtectionFinalizer)) return std::nullopt;
    MemberWrite w;
    w.remove_finalizer = kBackupProtectionFinalizer;
    return w;
  };
  if (retain) return remove_finalizer();
  if (c.st.exec_job && c.st.exec_job->Running()) {
    c.st.exec_job->deleted = true;
    c.st.exec_job->ended = c.now;
  }
  if (IsTrue(c.obj, "Clean")) return remove_finalizer();
  std::string backup_path = JsonStringAt(c.obj, {"status", "backupPath"});
  auto done = [&](const std::vector<std::string>& snaps) {
    c.m.Audit({{"event", "clean_done"},
               {"owner", c.key},
               {"cluster", c.cluster},
               {"policy", policy},
               {"snapshots", snaps}});
    c.st.clean_done = true;
    return Cond("Clean");
  };
  if (c.st.clean_job) {
    if (c.st.clean_failed_written || c.st.clean_done) return std::nullopt;
    Time start = c.st.clean_job->pod_started + c.D(c.m.timing().clean_start);
    if (!c.w.Due(start)) return std::nullopt;
    const Json* meta = c.m.S3Get(S3Prefix(c.obj) + "/backupmeta");
    std::string error;
    if (c.Fault(FaultKind::kCleanFail)) {
      error = "delete snapshot: UnauthorizedOperation (injected)";
    } else if (meta == nullptr && !failed) {
      error = "backupmeta not found at " + backup_path;
    }
    if (!error.empty()) {
      c.st.clean_failed_written = true;
      c.st.clean_job->ended = c.now;
      c.st.clean_job->failed = true;
      return Cond("CleanFailed", "CleanBackupDataFailed", error);
    }
    std::vector<std::string> snaps;
    if (meta != nullptr) {
      for (const Json& v : meta->at("tikv").at("volumes"))
        snaps.push_back(v.value("snapshot_id", ""));
    }
    double ratio = 1.0;
    if (const Json* r = JsonAt(c.obj, {"spec", "cleanOption", "snapshotsDeleteRatio"});
        r != nullptr && r->is_number() && r->get<double>() > 0) {
      ratio = r->get<double>();  // Q3: an explicit 0 is undefined upstream; we use 1
    }
    while (c.st.clean_deleted < snaps.size()) {
      Duration gap = c.m.timing().zero_latency
                         ? Duration(0)
                         : c.m.timing().Scale(Duration(static_cast<int64_t>(
                               1e9 * static_cast<double>(c.st.clean_deleted) / ratio)));
      if (!c.w.Due(start + gap)) return std::nullopt;
      c.m.DeleteSnapshot(snaps[c.st.clean_deleted], c.key, c.cluster, c.now);
      ++c.st.clean_deleted;
    }
    c.m.S3DeletePrefix(S3Prefix(c.obj));
    c.st.clean_job->ended = c.now;
    return done(snaps);
  }
  if (backup_path.empty()) return done({});
  c.st.clean_job = Job{"clean-" + c.name, c.now, c.now + c.D(c.m.timing().pod_start)};
  return Cond("Clean", "", "", "False");
}

}  // namespace

std::pair<std::string, std::string> TidbClusterRef(const Json& member) {
  std::string ns = JsonStringAt(member, {"spec", "br", "clusterNamespace"});
  if (ns.empty()) ns = JsonStringAt(member, {"metadata", "namespace"});
  return {ns, JsonStringAt(member, {"spec", "br", "cluster"})};
}

StepOutput StepBackup(const std::string& cluster, const Json& obj, const Json* tc, Model& m,
                      Time now) {
  StepOutput out;
  if (JsonStringAt(obj, {"spec", "backupMode"}) != "volume-snapshot") return out;
  Waker waker(now);
  std::string key = MemberKey(cluster, obj);
  BackupCtx c{cluster,
              obj,
              m,
              now,
              waker,
              m.Backup(key),
              key,
              JsonStringAt(obj, {"metadata", "name"}),
              JsonStringAt(obj, {"metadata", "namespace"}),
              key + "#init"};
  m.Advance(now);
  auto finish = [&](std::optional<MemberWrite> w) {
    out.write = std::move(w);
    out.wake = waker.wake();
    return out;
  };

  if (JsonAt(obj, {"metadata", "deletionTimestamp"}) != nullptr) return finish(Clean(c));

  std::string policy = JsonStringAt(obj, {"spec", "cleanPolicy"}, "Retain");
  if ((policy == "Delete" || policy == "OnFailure") &&
      !HasFinalizer(obj, kBackupProtectionFinalizer)) {
    MemberWrite w;
    w.add_finalizer = kBackupProtectionFinalizer;
    return finish(w);
  }

  if (!c.Fault(FaultKind::kHang)) {
    if (auto w = InitPod(c)) return finish(w);
    if (auto w = ExecPod(c)) return finish(w);
  }

  // Event filter (b.0).
  if (IsTrue(obj, "Invalid") || IsTrue(obj, "Complete")) return finish(std::nullopt);
  if (IsTrue(obj, "Failed")) {
    DeleteInitJob(c, "member failed");
    return finish(std::nullopt);
  }
  std::string phase = JsonStringAt(obj, {"spec", "federalVolumeBackupPhase"});
  bool teardown = phase == "teardown";
  if (!teardown && c.st.exec_job && c.st.exec_job->failed && !IsTrue(obj, "VolumeBackupFailed")) {
    if (!waker.Due(c.Noticed(*c.st.exec_job->ended))) return finish(std::nullopt);
    return finish(Cond("VolumeBackupFailed", "AlreadyFailed",
                       "reason Job backup-" + c.name + " has failed, original reason " +
                           c.st.exec_job->fail_reason));
  }

  // b.1 step 1: init-job housekeeping, liveness (b.5) and resume (b.4).
  bool resume = JsonBoolAt(obj, {"spec", "resumeGcSchedule"});
  if (IsTrue(obj, "VolumeBackupFailed")) {
    DeleteInitJob(c, "volume backup failed");
  } else {
    bool liveness = !teardown &&
                    (phase == "initialize" || IsTrue(obj, "VolumeBackupInitialized")) &&
                    !(IsTrue(obj, "VolumeBackupSnapshotsCreated") && resume) &&
                    IsTrue(obj, "Scheduled") && !IsTrue(obj, "VolumeBackupInitializeFailed");
    if (liveness) {
      const std::optional<Job>& ij = c.st.init_job;
      if (!ij || ij->deleted) {
        return finish(Cond("VolumeBackupInitializeFailed", "InitializeJobDeleted",
                           "init job deleted before all the volume snapshots are created"));
      }
      if (ij->ended) {
        if (!waker.Due(c.Noticed(*ij->ended))) return finish(std::nullopt);
        return finish(Cond("VolumeBackupInitializeFailed", "InitializeJobCompletedOrFailed",
                           "init job completed or failed before all the volume snapshots are "
                           "created"));
      }
    }
    if (resume && !IsTrue(obj, "VolumeBackupInitializeFailed") &&
        !IsTrue(obj, "VolumeBackupInitializeComplete") &&
        IsTrue(obj, "VolumeBackupSnapshotsCreated")) {
      DeleteInitJob(c, "resumeGcSchedule");
      return finish(Cond("VolumeBackupInitializeComplete"));
    }
  }

  // b.1 step 2: validation.
  if (c.Fault(FaultKind::kInvalid)) {
    return finish(Cond("Invalid", "InvalidSpec", "invalid spec (injected fault)"));
  }
  auto [tc_ns, tc_name] = TidbClusterRef(obj);
  if (tc == nullptr && !tc_name.empty()) {
    waker.Due(now + m.timing().retry_backoff);
    return finish(Cond("RetryFailed", "failed to fetch tidbcluster " + tc_ns + "/" + tc_name,
                       "tidbclusters.pingcap.com \"" + tc_name + "\" not found"));
  }
  std::string invalid = tc == nullptr ? "missing cluster config in spec of " + c.ns + "/" + c.name
                                      : ValidateCommon(obj, *tc, true);
  if (invalid.empty() && phase != "initialize" && phase != "execute" && phase != "teardown") {
    invalid =
        "unknown federalVolumeBackupPhase \"" + phase + "\": want initialize, execute or teardown";
  }
  if (invalid.empty() && (Stores(*tc) == 0 || TikvReplicas(*tc) <= 0)) {
    invalid = "not tikv replicas found in tidbcluster " + tc_ns + "/" + tc_name;
  }
  if (!invalid.empty()) return finish(Cond("Invalid", "InvalidSpec", invalid));

  // Step 3: snapshots-created probe.
  if (phase == "execute" && !IsTrue(obj, "VolumeBackupInitializeFailed") &&
      !IsTrue(obj, "VolumeBackupSnapshotsCreated") &&
      m.S3Get(S3Prefix(obj) + "/backupmeta") != nullptr && c.st.exec_job) {
    return finish(Cond("VolumeBackupSnapshotsCreated"));
  }

  // Step 4: skip when the phase's job exists.
  const std::optional<Job>& phase_job = phase == "execute" ? c.st.exec_job : c.st.init_job;
  if (!teardown && phase_job && !phase_job->deleted) return finish(std::nullopt);

  // Step 6: wait for the execute job.
  if (c.st.exec_job && !c.st.exec_job->deleted) {
    if (c.st.exec_job->Running()) return finish(std::nullopt);  // its pod wakes us
    if (!teardown) return finish(std::nullopt);
    if (!waker.Due(c.Noticed(*c.st.exec_job->ended))) return finish(std::nullopt);
  }

  // Step 7: teardown (b.6).
  if (teardown) {
    bool ended_early = false;
    if (!IsTrue(obj, "VolumeBackupInitializeComplete") && c.st.init_job &&
        !c.st.init_job->deleted) {
      if (c.st.init_job->ended) {
        ended_early = true;
      } else {
        DeleteInitJob(c, "teardown");
      }
    }
    bool fail = ended_early || IsTrue(obj, "VolumeBackupInitializeFailed") ||
                IsTrue(obj, "VolumeBackupFailed");
    return finish(Cond(fail ? "Failed" : "Complete"));
  }

  // Step 8: create the phase's job.
  if (phase == "initialize") {
    if (IsTrue(obj, "VolumeBackupInitializeFailed")) return finish(std::nullopt);
    c.st.init_job = Job{"backup-" + c.name + "-init", now, now + c.D(m.timing().pod_start)};
    c.st.init_stage = 0;
    return finish(Cond("Scheduled"));
  }
  std::string clustermeta = S3Prefix(obj) + "/clustermeta";
  if (m.S3Get(clustermeta) != nullptr) {
    return finish(
        Cond("Failed", "FileExistedInExternalStorage", "s3://" + clustermeta + " already exists"));
  }
  m.S3Put(clustermeta, {{"cluster", cluster}, {"member", key}});
  c.st.exec_job = Job{"backup-" + c.name, now, now + c.D(m.timing().pod_start)};
  c.st.exec_stage = 0;
  return finish(Cond("Scheduled"));
}

namespace {

// ---------------------------------------------------------------------------------------------
// Restore

struct RestoreCtx {
  const std::string& cluster;
  const Json& obj;
  Model& m;
  Time now;
  Waker& w;
  RestoreMemberState& st;
  std::string key;
  std::string name;
  std::string ns;
  Duration D(Duration base) const { return m.Delay(cluster, name, base); }
  bool Fault(FaultKind k) const { return m.FindFault(k, cluster, name) != nullptr; }
  Time Noticed(Time t) const { return m.timing().resync ? t + *m.timing().resync : t; }
};

// A write that a Restore would not persist (identical condition) is no write at all.
std::optional<MemberWrite> IfChanges(const RestoreCtx& c, MemberWrite w) {
  Json copy = c.obj;
  if (!ApplyMemberWrite(MemberKind::kRestore, copy, w, c.now)) return std::nullopt;
  return w;
}

std::optional<MemberWrite> VolumePod(RestoreCtx& c) {
  if (!c.st.volume_job || !c.st.volume_job->Running()) return std::nullopt;
  Job& j = *c.st.volume_job;
  if (!c.w.Due(j.pod_started)) return std::nullopt;
  if (c.st.volume_stage == 0) {
    c.st.volume_stage = 1;
    c.st.volume_started = c.now;
    return IfChanges(c, Cond("Running"));
  }
  const Json* meta = c.m.S3Get(S3Prefix(c.obj) + "/backupmeta");
  if (c.st.volume_stage == 1) {
    Duration took = c.m.timing().restore_volume;
    if (JsonStringAt(c.obj, {"spec", "warmupStrategy"}) == "fsr" && meta != nullptr) {
      int64_t bytes = 0;
      for (const Json& v : meta->at("tikv").at("volumes")) bytes += v.value("size", int64_t{0});
      took += Duration(static_cast<int64_t>(static_cast<double>(c.m.timing().fsr_per_tib.count()) *
                                            static_cast<double>(bytes) / double(int64_t{1} << 40)));
    }
    if (!c.w.Due(c.st.volume_started + c.D(took))) return std::nullopt;
    c.m.SetRecovering(true, c.now, c.key);
    const struct Fault* fault = c.m.FindFault(FaultKind::kRestoreVolumeFail, c.cluster, c.name);
    if (fault == nullptr || fault->after_meta) {
      if (meta != nullptr) {
        for (const Json& v : meta->at("tikv").at("volumes")) {
          c.st.volumes.push_back(
              c.m.CreateVolume(v.value("snapshot_id", ""), c.key, c.cluster, c.now));
        }
      }
    }
    if (fault != nullptr) {
      if (fault->after_meta) {
        c.m.S3Put(S3Prefix(c.obj) + "/restoremeta", {{"volumes", c.st.volumes}});
      }
      c.st.volume_stage = 9;
      j.ended = c.now;
      j.failed = true;
      j.fail_reason = "BackoffLimitExceeded";
      return Cond("Failed", "RestoreDataFromRemoteFailed",
                  "restore volumes from snapshots: VolumeLimitExceeded (injected)");
    }
    c.st.volume_stage = 2;
  }
  if (c.st.volume_stage == 2) {
    c.st.volume_stage = 3;
    std::string ts = meta != nullptr ? JsonStringAt(*meta, {"cluster_info", "resolved_ts"}) : "";
    c.m.Audit({{"event", "restore_volume_complete"},
               {"owner", c.key},
               {"cluster", c.cluster},
               {"name", c.name},
               {"commitTs", ts}});
    return Fields({{"commitTs", ts}, {"progresses", Progress("Volume Restore", 100, c.now)}});
  }
  if (c.st.volume_stage == 3) {
    c.m.S3Put(S3Prefix(c.obj) + "/restoremeta", {{"volumes", c.st.volumes}});
    c.st.volume_stage = 4;
    j.ended = c.now;
    MemberWrite w = Cond("VolumeComplete");
    w.status_fields = {{"timeStarted", FormatRfc3339(c.st.volume_started)}};
    return w;
  }
  return std::nullopt;
}

std::optional<MemberWrite> DataPod(RestoreCtx& c) {
  if (!c.st.data_job || !c.st.data_job->Running()) return std::nullopt;
  Job& j = *c.st.data_job;
  if (!c.w.Due(j.pod_started)) return std::nullopt;
  if (c.st.data_stage == 0) {
    c.st.data_stage = 1;
    if (auto w = IfChanges(c, Cond("Running"))) return w;  // usually not persisted (a.7)
  }
  if (c.st.data_stage == 1) {
    if (!c.w.Due(j.pod_started + c.D(c.m.timing().restore_data))) return std::nullopt;
    j.ended = c.now;
    if (c.Fault(FaultKind::kRestoreDataFail)) {
      c.st.data_stage = 9;
      j.failed = true;
      j.fail_reason = "BackoffLimitExceeded";
      return Cond("Failed", "RestoreDataFromRemoteFailed",
                  "restore data: recover regions failed (injected)");
    }
    c.m.SetRecovering(false, c.now, c.key);
    c.st.data_stage = 2;
    return Cond("DataComplete");
  }
  return std::nullopt;
}

Duration WarmupTime(const RestoreCtx& c) {
  std::string strategy = JsonStringAt(c.obj, {"spec", "warmupStrategy"}, "hybrid");
  Duration base = c.m.timing().warmup;
  // fsr and check-wal-only only read the raft and WAL volumes.
  if (strategy == "fsr" || strategy == "check-wal-only") base /= 4;
  return c.D(base);
}

}  // namespace

StepOutput StepRestore(const std::string& cluster, const Json& obj, const Json* tc, Model& m,
                       Time now) {
  StepOutput out;
  if (JsonStringAt(obj, {"spec", "restoreMode"}) != "volume-snapshot") return out;
  Waker waker(now);
  std::string key = MemberKey(cluster, obj);
  RestoreCtx c{cluster,
               obj,
               m,
               now,
               waker,
               m.Restore(key),
               key,
               JsonStringAt(obj, {"metadata", "name"}),
               JsonStringAt(obj, {"metadata", "namespace"})};
  auto finish = [&](std::optional<MemberWrite> w) {
    out.write = std::move(w);
    out.wake = waker.wake();
    return out;
  };
  if (JsonAt(obj, {"metadata", "deletionTimestamp"}) != nullptr) return finish(std::nullopt);
  std::string phase = JsonStringAt(obj, {"spec", "federalVolumeRestorePhase"});
  std::string warmup = JsonStringAt(obj, {"spec", "warmup"});
  std::string strategy = JsonStringAt(obj, {"spec", "warmupStrategy"}, "hybrid");
  bool hang = c.Fault(FaultKind::kHang);

  auto async_warmup_done = [&]() -> std::optional<MemberWrite> {
    if (warmup != "async" || !c.st.warmup_started || IsTrue(obj, "WarmUpComplete")) {
      return std::nullopt;
    }
    if (!waker.Due(*c.st.warmup_started + WarmupTime(c))) return std::nullopt;
    return Cond("WarmUpComplete");
  };

  // Event filter (b.9).
  if (IsTrue(obj, "Invalid")) return finish(std::nullopt);
  if (IsTrue(obj, "Complete")) return finish(hang ? std::nullopt : async_warmup_done());
  bool volume_failed = IsTrue(obj, "Failed") && !IsTrue(obj, "VolumeComplete");
  if (volume_failed && !IsTrue(obj, "CleanVolumeComplete")) {
    if (m.S3Get(S3Prefix(obj) + "/restoremeta") != nullptr) {
      for (const std::string& v : c.st.volumes) m.DeleteVolume(v, key, cluster, now);
      c.st.volumes.clear();
      return finish(Cond("CleanVolumeComplete"));
    }
    waker.Due(now + m.timing().retry_backoff);
    return finish(IfChanges(
        c, Cond("RetryFailed", "FileNotExists", "restoremeta not found at s3://" + S3Prefix(obj))));
  }
  if (IsTrue(obj, "Failed")) return finish(std::nullopt);

  if (!hang) {
    if (auto w = VolumePod(c)) return finish(w);
    if (auto w = DataPod(c)) return finish(w);
  }

  // Steps 1-3: TidbCluster and validation.
  if (c.Fault(FaultKind::kInvalid)) {
    return finish(Cond("Invalid", "InvalidSpec", "invalid spec (injected fault)"));
  }
  auto [tc_ns, tc_name] = TidbClusterRef(obj);
  if (tc == nullptr && !tc_name.empty()) {
    waker.Due(now + m.timing().retry_backoff);
    return finish(
        IfChanges(c, Cond("RetryFailed", "failed to fetch tidbcluster " + tc_ns + "/" + tc_name,
                          "tidbclusters.pingcap.com \"" + tc_name + "\" not found")));
  }
  std::string invalid = tc == nullptr ? "missing cluster config in spec of " + c.ns + "/" + c.name
                                      : ValidateCommon(obj, *tc, false);
  if (invalid.empty() && phase != "restore-volume" && phase != "restore-data" &&
      phase != "restore-finish") {
    invalid = "unknown federalVolumeRestorePhase \"" + phase +
              "\": want restore-volume, restore-data or restore-finish";
  }
  if (invalid.empty() && !warmup.empty() && warmup != "sync" && warmup != "async") {
    invalid = "unknown warmup mode \"" + warmup + "\": want sync or async";
  }
  if (invalid.empty() && strategy != "fio" && strategy != "hybrid" && strategy != "fsr" &&
      strategy != "check-wal-only") {
    invalid = "unknown warmupStrategy \"" + strategy + "\"";
  }
  const Json* meta = m.S3Get(S3Prefix(obj) + "/backupmeta");
  if (invalid.empty()) {
    if (meta == nullptr) {
      invalid = "read backupmeta from s3://" + S3Prefix(obj) + ": not found";
    } else if (JsonIntAt(*meta, {"tikv", "replicas"}) != TikvReplicas(*tc)) {
      invalid = "tikv replicas mismatch: backup " +
                std::to_string(JsonIntAt(*meta, {"tikv", "replicas"})) + ", target " +
                std::to_string(TikvReplicas(*tc));
    } else if (JsonIntAt(*meta, {"tikv", "volumes_per_store"}) !=
               static_cast<long long>(StorageVolumes(*tc)) + 1) {
      invalid = "tikv storage volumes mismatch between the backup and the target cluster";
    } else if (phase != "restore-finish" && !JsonBoolAt(*tc, {"spec", "recoveryMode"})) {
      invalid = "recovery mode is off";
    }
  }
  if (!invalid.empty()) return finish(Cond("Invalid", "InvalidSpec", invalid));
  if (!warmup.empty() && JsonStringAt(obj, {"spec", "warmupImage"}).empty()) {
    waker.Due(now + m.timing().retry_backoff);
    return finish(IfChanges(
        c, Cond("RetryFailed", "NoWarmupImage", "warmupImage is required when warmup is set")));
  }
  bool annotated = JsonAt(*tc, {"metadata", "annotations", kTikvVolumesReadyAnnotation}) != nullptr;
  auto start_tikv = [&]() {
    c.st.tikv_started = now;
    out.tc_patch = {
        {"metadata", {{"annotations", {{kTikvVolumesReadyAnnotation, c.ns + "/" + c.name}}}}}};
    m.Audit({{"event", "tikv_volumes_ready"},
             {"owner", key},
             {"cluster", cluster},
             {"tidbcluster", tc_ns + "/" + tc_name}});
  };

  // Step 4: phase work.
  if (phase == "restore-finish") {
    if (auto w = hang ? std::nullopt : async_warmup_done()) return finish(w);
    if (!JsonBoolAt(*tc, {"spec", "recoveryMode"})) return finish(std::nullopt);  // Q7
    if (c.Fault(FaultKind::kRestoreFinishFail)) {
      waker.Due(now + m.timing().retry_backoff);
      return finish(IfChanges(c, Cond("RetryFailed", "ClearTCRecoveryMarkFailed",
                                      "update tidbcluster: injected failure")));
    }
    out.tc_patch = {{"spec", {{"recoveryMode", false}}},
                    {"metadata", {{"annotations", {{kTikvVolumesReadyAnnotation, nullptr}}}}}};
    m.Audit({{"event", "recovery_mode"},
             {"on", false},
             {"owner", key},
             {"cluster", cluster},
             {"tidbcluster", tc_ns + "/" + tc_name}});
    m.Audit({{"event", "restore_finish"}, {"owner", key}, {"cluster", cluster}, {"name", c.name}});
    c.st.finished = true;
    MemberWrite w = Cond("Complete");
    w.status_fields = {{"timeCompleted", FormatRfc3339(now)}};
    return finish(w);
  }
  bool volume_complete = IsTrue(obj, "VolumeComplete");
  if (volume_complete && phase == "restore-volume" && !c.st.pvs_created) {
    c.st.pvs_created = true;
    if (warmup != "sync" && !annotated) {
      start_tikv();
      return finish(std::nullopt);
    }
    if (warmup == "sync") {
      c.st.warmup_started = now;
      return finish(Cond("WarmUpStarted"));
    }
  }
  if (hang) return finish(std::nullopt);

  // Steps 5-7: warm-up and TiKV.
  if (volume_complete && !IsTrue(obj, "TikvComplete")) {
    if (warmup == "sync") {
      if (!c.st.warmup_started) return finish(std::nullopt);
      if (!IsTrue(obj, "WarmUpComplete")) {
        if (!waker.Due(*c.st.warmup_started + WarmupTime(c))) return finish(std::nullopt);
        if (strategy == "check-wal-only" && c.Fault(FaultKind::kWarmupFail)) {
          return finish(
              Cond("Failed", "BackoffLimitExceeded",
                   "warmup job " + c.ns + "/" + c.name + "-" + tc_name + "-tikv-0-warm-up failed"));
        }
        return finish(Cond("WarmUpComplete"));
      }
      if (strategy == "check-wal-only") {
        MemberWrite w = Cond("Complete");
        w.status_fields = {{"timeCompleted", FormatRfc3339(now)}};
        return finish(w);
      }
      if (!c.st.tikv_started) {
        start_tikv();
        return finish(std::nullopt);
      }
    }
    if (!c.st.tikv_started) {
      if (annotated) c.st.tikv_started = now;  // e.g. after a simulator restart
      return finish(std::nullopt);
    }
    if (warmup == "async" && !IsTrue(obj, "WarmUpStarted")) {
      if (!waker.Due(*c.st.tikv_started + c.D(m.timing().pod_start))) return finish(std::nullopt);
      c.st.warmup_started = now;
      return finish(Cond("WarmUpStarted"));
    }
    if (c.Fault(FaultKind::kTikvNeverUp)) return finish(std::nullopt);
    if (!waker.Due(c.Noticed(*c.st.tikv_started + c.D(m.timing().tikv_up)))) {
      return finish(std::nullopt);
    }
    m.Audit({{"event", "tikv_complete"}, {"owner", key}, {"cluster", cluster}, {"name", c.name}});
    return finish(Cond("TikvComplete"));
  }
  if (phase == "restore-data") {
    if (auto w = async_warmup_done()) return finish(w);
  }
  if (IsTrue(obj, "TikvComplete") && phase == "restore-volume") return finish(std::nullopt);

  // Step 11: the phase's job.
  if (!volume_complete) {
    if (c.st.volume_job) return finish(std::nullopt);
    c.st.volume_job = Job{"restore-" + c.name, now, now + c.D(m.timing().pod_start)};
    c.st.volume_stage = 0;
    return finish(IfChanges(c, Cond("Scheduled")));
  }
  if (phase == "restore-data" && IsTrue(obj, "TikvComplete") && !IsTrue(obj, "DataComplete") &&
      !c.st.data_job) {
    c.st.data_job = Job{"restore-data-" + c.name, now, now + c.D(m.timing().pod_start)};
    c.st.data_stage = 0;
    m.Audit({{"event", "restore_data_run"},
             {"owner", key},
             {"cluster", cluster},
             {"name", c.name},
             {"commitTs", JsonStringAt(obj, {"status", "commitTs"})}});
    finish(std::nullopt);
    out.wake = c.st.data_job->pod_started;  // its pod's first step, possibly right now
    return out;
  }
  return finish(std::nullopt);
}

}  // namespace brfed::sim
