#include "sim/steps.h"

#include <algorithm>
#include <tuple>

#include "api/metadata.h"
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

// One step of one member: its object, the model, the clock and the member's simulated state.
template <typename State>
struct MemberCtx {
  MemberCtx(const std::string& cluster, const Json& obj, Model& m, Time now, Waker& w, State& st,
            std::string key)
      : cluster(cluster),
        obj(obj),
        m(m),
        now(now),
        w(w),
        st(st),
        key(std::move(key)),
        name(JsonStringAt(obj, {"metadata", "name"})),
        ns(JsonStringAt(obj, {"metadata", "namespace"})) {}

  const std::string& cluster;
  const Json& obj;
  Model& m;
  Time now;
  Waker& w;
  State& st;
  std::string key;
  std::string name;
  std::string ns;
  Duration D(Duration base) const { return m.Delay(cluster, name, base); }
  bool Fault(FaultKind k) const { return m.FindFault(k, cluster, name) != nullptr; }
  Time Noticed(Time t) const { return m.timing().resync ? t + *m.timing().resync : t; }
};

struct BackupCtx : MemberCtx<BackupMemberState> {
  using MemberCtx::MemberCtx;
  std::string holder = key + "#init";  // the PD pause holder of the init job
};

void DeleteInitJob(BackupCtx& c, std::string_view why) {
  if (c.st.init_job && c.st.init_job->Running()) {
    c.st.init_job->deleted = true;
    c.st.init_job->ended = c.now;
    c.m.ResumePd(c.holder, c.now, why);
  }
}

// The Job controller ends the init Job at its activeDeadlineSeconds whatever its Backup is going
// through, a Backup being deleted (held by the cleaner's finalizer) included; true when it has
// ended it (or it had ended).
bool EndInitJobAtDeadline(BackupCtx& c) {
  if (!c.st.init_job || !c.st.init_job->Running()) return true;
  Job& j = *c.st.init_job;
  long long deadline_s = JsonIntAt(c.obj, {"spec", "volumeBackupInitJobMaxActiveSeconds"}, 600);
  Time deadline = j.created + c.m.timing().Scale(seconds(std::max(0LL, deadline_s)));
  if (!c.w.Due(deadline)) return false;
  // Kubernetes kills the pod; BR returns nil on cancel, so the pod writes nothing (Q1).
  j.Fail(c.now, "DeadlineExceeded");
  c.m.ResumePd(c.holder, c.now, "init job deadline exceeded");
  return true;
}

std::optional<MemberWrite> InitPod(BackupCtx& c) {
  if (EndInitJobAtDeadline(c)) return std::nullopt;
  Job& j = *c.st.init_job;
  if (!c.w.Due(j.pod_started)) return std::nullopt;
  if (c.st.init_stage == 0) {
    c.st.init_stage = 1;
    return Cond("Running");
  }
  if (c.st.init_stage == 1) {
    if (!c.w.Due(j.pod_started + c.D(c.m.timing().init_pause))) return std::nullopt;
    if (c.Fault(FaultKind::kInitFail)) {
      c.st.init_stage = 3;
      j.Fail(c.now, "BackoffLimitExceeded");
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
      j.Fail(c.now, "DeadlineExceeded");
      c.m.ResumePd(c.holder, c.now, "init job deadline exceeded");
    }
  }
  return std::nullopt;
}

// When the last of the member's snapshots completes (now if none is pending).
Time LastSnapshotCompletion(const BackupCtx& c) {
  Time done = c.now;
  for (const std::string& id : c.st.snapshots) {
    if (const Snapshot* s = c.m.FindSnapshot(id)) done = std::max(done, s->completes);
  }
  return done;
}

// Execute job, stage 2: snapshots of every TiKV volume and the backupmeta in S3.
std::optional<MemberWrite> ExecSnapshot(BackupCtx& c, Job& j) {
  const Timing& t = c.m.timing();
  if (!c.w.Due(c.st.exec_started + c.D(t.br_warmup))) return std::nullopt;
  if (c.Fault(FaultKind::kSnapshotFail)) {
    c.st.exec_stage = 7;
    j.Fail(c.now, "BackoffLimitExceeded");
    return Cond("VolumeBackupFailed", "BackupDataToRemoteFailed",
                "create EBS snapshots: SnapshotCreationPerVolumeRateExceeded (injected)");
  }
  c.st.resolved_ts = std::to_string(Model::Tso(c.now));
  Json stores = Json::array();
  for (const auto& [vol, size] : c.m.VolumesOf(c.cluster)) {
    double gib = static_cast<double>(size) / static_cast<double>(int64_t{1} << 30);
    Duration took =
        c.D(t.snapshot_base +
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
  // BR waits for its snapshots by itself: wake at their completion. In phase execute the
  // controller's probe writes VolumeBackupSnapshotsCreated first, but a member told to tear down
  // has no probe, and without this wake-up its job stalled until the init job's deadline.
  c.w.Due(LastSnapshotCompletion(c));
  return std::nullopt;
}

// Execute job, stage 3: commitTs once every snapshot has completed.
std::optional<MemberWrite> ExecSnapshotsDone(BackupCtx& c) {
  if (!c.w.Due(LastSnapshotCompletion(c))) return std::nullopt;
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

// Execute job, stage 5: backup sizes at the member's calcSizeLevel; the job ends.
std::optional<MemberWrite> ExecSizes(BackupCtx& c, Job& j) {
  if (!c.w.Due(c.st.exec_completed + c.D(c.m.timing().size_calc))) return std::nullopt;
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

// The execute job's pod, one stage per step: Prepare, Running, snapshots, commitTs, Complete,
// sizes.
std::optional<MemberWrite> ExecPod(BackupCtx& c) {
  if (!c.st.exec_job || !c.st.exec_job->Running()) return std::nullopt;
  Job& j = *c.st.exec_job;
  if (!c.w.Due(j.pod_started)) return std::nullopt;
  if (c.st.exec_stage == 0) {
    c.st.exec_stage = 1;
    c.st.exec_started = c.now;
    MemberWrite w = Cond("Prepare");
    w.status_fields = {{"backupPath", "s3://" + S3Prefix(c.obj)}};
    return w;
  }
  if (c.st.exec_stage == 1) {
    c.st.exec_stage = 2;
    return Cond("Running");
  }
  if (c.st.exec_stage < 5 && c.Fault(FaultKind::kExecutePodDies)) {
    j.Fail(c.now, "BackoffLimitExceeded");
    return std::nullopt;
  }
  switch (c.st.exec_stage) {
    case 2:
      return ExecSnapshot(c, j);
    case 3:
      return ExecSnapshotsDone(c);
    case 4: {
      c.st.exec_stage = 5;
      c.st.exec_completed = c.now;
      MemberWrite w = Cond("VolumeBackupComplete");
      w.status_fields = {{"timeStarted", FormatRfc3339(c.st.exec_started)},
                         {"timeCompleted", FormatRfc3339(c.now)}};
      return w;
    }
    case 5:
      return ExecSizes(c, j);
    default:
      return std::nullopt;
  }
}

// Where the clean job stands after one step: failed (error), still deleting, or finished.
struct CleanProgress {
  std::string error;
  bool finished = false;
  std::vector<std::string> snapshots;  // deleted, once finished
};

// The clean job (b.7): deletes the snapshots backupmeta lists, paced by snapshotsDeleteRatio,
// then the backup's S3 prefix.
CleanProgress RunCleanJob(BackupCtx& c, Time start, bool failed) {
  const Json* meta = c.m.S3Get(S3Prefix(c.obj) + "/backupmeta");
  if (c.Fault(FaultKind::kCleanFail)) {
    return {.error = "delete snapshot: UnauthorizedOperation (injected)"};
  }
  if (meta == nullptr && !failed) {
    return {.error = "backupmeta not found at " + JsonStringAt(c.obj, {"status", "backupPath"})};
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
    if (!c.w.Due(start + gap)) return {};
    c.m.DeleteSnapshot(snaps[c.st.clean_deleted], c.key, c.cluster, c.now);
    ++c.st.clean_deleted;
  }
  c.m.S3DeletePrefix(S3Prefix(c.obj));
  return {.finished = true, .snapshots = std::move(snaps)};
}

// b.7: deletion and cleanup.
std::optional<MemberWrite> Clean(BackupCtx& c) {
  std::string policy = JsonStringAt(c.obj, {"spec", "cleanPolicy"}, "Retain");
  bool failed = IsTrue(c.obj, "Failed");
  bool candidate = policy == "Delete" || policy == "OnFailure";
  bool retain = !candidate || (policy == "OnFailure" && !failed);
  auto remove_finalizer = [&]() -> std::optional<MemberWrite> {
    if (!api::HasFinalizer(c.obj, kBackupProtectionFinalizer)) return std::nullopt;
    MemberWrite w;
    w.remove_finalizer = kBackupProtectionFinalizer;
    return w;
  };
  // Upstream removes its finalizer only from a clean candidate: a member whose policy was
  // changed to Retain after the finalizer was added keeps it for ever.
  if (!candidate) return std::nullopt;
  if (retain) return remove_finalizer();
  if (c.st.exec_job && c.st.exec_job->Running()) {
    c.st.exec_job->deleted = true;
    c.st.exec_job->ended = c.now;
  }
  if (IsTrue(c.obj, "Clean")) return remove_finalizer();
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
    CleanProgress progress = RunCleanJob(c, start, failed);
    if (progress.error.empty() && !progress.finished) return std::nullopt;
    c.st.clean_job->ended = c.now;
    if (progress.finished) return done(progress.snapshots);
    c.st.clean_failed_written = true;
    c.st.clean_job->failed = true;
    return Cond("CleanFailed", "CleanBackupDataFailed", progress.error);
  }
  if (JsonStringAt(c.obj, {"status", "backupPath"}).empty()) return done({});
  c.st.clean_job = Job{"clean-" + c.name, c.now, c.now + c.D(c.m.timing().pod_start)};
  return Cond("Clean", "", "", "False");
}

}  // namespace

bool MayEndPause(const Json& backup_member) {
  const std::string phase = JsonStringAt(backup_member, {"spec", "federalVolumeBackupPhase"});
  return phase == "execute" || phase == "teardown";
}

std::pair<std::string, std::string> TidbClusterRef(const Json& member) {
  std::string ns = JsonStringAt(member, {"spec", "br", "clusterNamespace"});
  if (ns.empty()) ns = JsonStringAt(member, {"metadata", "namespace"});
  return {ns, JsonStringAt(member, {"spec", "br", "cluster"})};
}

namespace {

// What one phase of a step decided: `done` ends the step with `write` (none is a valid outcome);
// otherwise the next phase decides.
struct Phase {
  bool done = false;
  std::optional<MemberWrite> write;
};
Phase Next() { return {}; }
Phase Done(std::optional<MemberWrite> w = std::nullopt) { return {true, std::move(w)}; }

// The garbage collector's part of a foreground deletion (`propagationPolicy: Foreground` puts
// the `foregroundDeletion` finalizer on the member): the member's Jobs are its dependents and go
// first, so the init Job's BR process releases the pause on SIGTERM and a running execute Job
// stops; then the finalizer goes, and other finalizers (the cleaner's) hold the member as
// before. Modelled here because the Jobs live in the model and neither test API server runs a
// garbage collector.
std::optional<MemberWrite> CollectDependents(BackupCtx& c) {
  DeleteInitJob(c, "owner deleted");
  if (c.st.exec_job && c.st.exec_job->Running()) {
    c.st.exec_job->deleted = true;
    c.st.exec_job->ended = c.now;
  }
  MemberWrite w;
  w.remove_finalizer = kForegroundDeletionFinalizer;
  return w;
}

// Deletion, the protection finalizer, and the jobs' pods (which run whatever the conditions).
Phase BackupHousekeeping(BackupCtx& c) {
  if (JsonAt(c.obj, {"metadata", "deletionTimestamp"}) != nullptr) {
    if (api::HasFinalizer(c.obj, kForegroundDeletionFinalizer)) return Done(CollectDependents(c));
    (void)EndInitJobAtDeadline(c);  // a clean that never ends (CleanFailed) keeps the member
    return Done(Clean(c));
  }
  std::string policy = JsonStringAt(c.obj, {"spec", "cleanPolicy"}, "Retain");
  if ((policy == "Delete" || policy == "OnFailure") &&
      !api::HasFinalizer(c.obj, kBackupProtectionFinalizer)) {
    MemberWrite w;
    w.add_finalizer = kBackupProtectionFinalizer;
    return Done(w);
  }
  if (!c.Fault(FaultKind::kHang)) {
    if (auto w = InitPod(c)) return Done(w);
    if (auto w = ExecPod(c)) return Done(w);
  }
  return Next();
}

// Event filter (b.0), and a failed execute job reported once.
Phase BackupEventFilter(BackupCtx& c, bool teardown) {
  if (IsTrue(c.obj, "Invalid") || IsTrue(c.obj, "Complete")) return Done();
  if (IsTrue(c.obj, "Failed")) {
    DeleteInitJob(c, "member failed");
    return Done();
  }
  if (!teardown && c.st.exec_job && c.st.exec_job->failed && !IsTrue(c.obj, "VolumeBackupFailed")) {
    if (!c.w.Due(c.Noticed(*c.st.exec_job->ended))) return Done();
    return Done(Cond("VolumeBackupFailed", "AlreadyFailed",
                     "reason Job backup-" + c.name + " has failed, original reason " +
                         c.st.exec_job->fail_reason));
  }
  return Next();
}

// b.1 step 1: init-job housekeeping, liveness (b.5) and resume (b.4).
Phase BackupInitJobLiveness(BackupCtx& c, const std::string& phase) {
  const Json& obj = c.obj;
  if (IsTrue(obj, "VolumeBackupFailed")) {
    DeleteInitJob(c, "volume backup failed");
    return Next();
  }
  const bool resume = JsonBoolAt(obj, {"spec", "resumeGcSchedule"});
  const bool liveness = phase != "teardown" &&
                        (phase == "initialize" || IsTrue(obj, "VolumeBackupInitialized")) &&
                        !(IsTrue(obj, "VolumeBackupSnapshotsCreated") && resume) &&
                        IsTrue(obj, "Scheduled") && !IsTrue(obj, "VolumeBackupInitializeFailed");
  if (liveness) {
    const std::optional<Job>& ij = c.st.init_job;
    if (!ij || ij->deleted) {
      return Done(Cond("VolumeBackupInitializeFailed", "InitializeJobDeleted",
                       "init job deleted before all the volume snapshots are created"));
    }
    if (ij->ended) {
      if (!c.w.Due(c.Noticed(*ij->ended))) return Done();
      return Done(Cond("VolumeBackupInitializeFailed", "InitializeJobCompletedOrFailed",
                       "init job completed or failed before all the volume snapshots are "
                       "created"));
    }
  }
  if (resume && !IsTrue(obj, "VolumeBackupInitializeFailed") &&
      !IsTrue(obj, "VolumeBackupInitializeComplete") &&
      IsTrue(obj, "VolumeBackupSnapshotsCreated")) {
    DeleteInitJob(c, "resumeGcSchedule");
    return Done(Cond("VolumeBackupInitializeComplete"));
  }
  return Next();
}

// b.1 step 2: validation against the spec and the TidbCluster.
Phase BackupValidate(BackupCtx& c, const Json* tc, const std::string& phase) {
  if (c.Fault(FaultKind::kInvalid)) {
    return Done(Cond("Invalid", "InvalidSpec", "invalid spec (injected fault)"));
  }
  auto [tc_ns, tc_name] = TidbClusterRef(c.obj);
  if (tc == nullptr && !tc_name.empty()) {
    c.w.Due(c.now + c.m.timing().retry_backoff);
    return Done(Cond("RetryFailed", "failed to fetch tidbcluster " + tc_ns + "/" + tc_name,
                     "tidbclusters.pingcap.com \"" + tc_name + "\" not found"));
  }
  std::string invalid = tc == nullptr ? "missing cluster config in spec of " + c.ns + "/" + c.name
                                      : ValidateCommon(c.obj, *tc, true);
  if (invalid.empty() && phase != "initialize" && phase != "execute" && phase != "teardown") {
    invalid =
        "unknown federalVolumeBackupPhase \"" + phase + "\": want initialize, execute or teardown";
  }
  if (invalid.empty() && (Stores(*tc) == 0 || TikvReplicas(*tc) <= 0)) {
    invalid = "not tikv replicas found in tidbcluster " + tc_ns + "/" + tc_name;
  }
  if (!invalid.empty()) return Done(Cond("Invalid", "InvalidSpec", invalid));
  return Next();
}

// Steps 3 to 6: the snapshots-created probe, and waiting for the phase's jobs.
Phase BackupProbeAndWait(BackupCtx& c, const std::string& phase) {
  const bool teardown = phase == "teardown";
  if (phase == "execute" && !IsTrue(c.obj, "VolumeBackupInitializeFailed") &&
      !IsTrue(c.obj, "VolumeBackupSnapshotsCreated") &&
      c.m.S3Get(S3Prefix(c.obj) + "/backupmeta") != nullptr && c.st.exec_job) {
    return Done(Cond("VolumeBackupSnapshotsCreated"));
  }
  // Step 4: skip when the phase's job exists.
  const std::optional<Job>& phase_job = phase == "execute" ? c.st.exec_job : c.st.init_job;
  if (!teardown && phase_job && !phase_job->deleted) return Done();
  // Step 6: wait for the execute job.
  if (c.st.exec_job && !c.st.exec_job->deleted) {
    if (c.st.exec_job->Running()) return Done();  // its pod wakes us
    if (!teardown) return Done();
    if (!c.w.Due(c.Noticed(*c.st.exec_job->ended))) return Done();
  }
  return Next();
}

// Step 7: teardown (b.6).
MemberWrite BackupTeardown(BackupCtx& c) {
  bool ended_early = false;
  if (!IsTrue(c.obj, "VolumeBackupInitializeComplete") && c.st.init_job &&
      !c.st.init_job->deleted) {
    if (c.st.init_job->ended) {
      ended_early = true;
    } else {
      DeleteInitJob(c, "teardown");
    }
  }
  bool fail = ended_early || IsTrue(c.obj, "VolumeBackupInitializeFailed") ||
              IsTrue(c.obj, "VolumeBackupFailed");
  return Cond(fail ? "Failed" : "Complete");
}

// Step 8: create the phase's job.
std::optional<MemberWrite> BackupCreateJob(BackupCtx& c, const std::string& phase) {
  if (phase == "initialize") {
    if (IsTrue(c.obj, "VolumeBackupInitializeFailed")) return std::nullopt;
    c.st.init_job = Job{"backup-" + c.name + "-init", c.now, c.now + c.D(c.m.timing().pod_start)};
    c.st.init_stage = 0;
    return Cond("Scheduled");
  }
  std::string clustermeta = S3Prefix(c.obj) + "/clustermeta";
  if (c.m.S3Get(clustermeta) != nullptr) {
    return Cond("Failed", "FileExistedInExternalStorage",
                "s3://" + clustermeta + " already exists");
  }
  c.m.S3Put(clustermeta, {{"cluster", c.cluster}, {"member", c.key}});
  c.st.exec_job = Job{"backup-" + c.name, c.now, c.now + c.D(c.m.timing().pod_start)};
  c.st.exec_stage = 0;
  return Cond("Scheduled");
}

std::optional<MemberWrite> BackupStep(BackupCtx& c, const Json* tc) {
  const std::string phase = JsonStringAt(c.obj, {"spec", "federalVolumeBackupPhase"});
  Phase p = BackupHousekeeping(c);
  if (!p.done) p = BackupEventFilter(c, phase == "teardown");
  if (!p.done) p = BackupInitJobLiveness(c, phase);
  if (!p.done) p = BackupValidate(c, tc, phase);
  if (!p.done) p = BackupProbeAndWait(c, phase);
  if (p.done) return p.write;
  if (phase == "teardown") return BackupTeardown(c);
  return BackupCreateJob(c, phase);
}

}  // namespace

StepOutput StepBackup(const std::string& cluster, const Json& obj, const Json* tc, Model& m,
                      Time now) {
  StepOutput out;
  if (JsonStringAt(obj, {"spec", "backupMode"}) != "volume-snapshot") return out;
  Waker waker(now);
  std::string key = MemberKey(cluster, obj);
  BackupCtx c(cluster, obj, m, now, waker, m.Backup(key), key);
  m.Advance(now);
  out.write = BackupStep(c, tc);
  out.wake = waker.wake();
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Restore

using RestoreCtx = MemberCtx<RestoreMemberState>;

// A write that a Restore would not persist (identical condition) is no write at all.
std::optional<MemberWrite> IfChanges(const RestoreCtx& c, MemberWrite w) {
  Json copy = c.obj;
  if (!ApplyMemberWrite(MemberKind::kRestore, copy, w, c.now)) return std::nullopt;
  return w;
}

// Volume job, stage 1: volumes from the backup's snapshots (an injected failure may stop it
// before or after restoremeta is written).
std::optional<MemberWrite> RestoreVolumes(RestoreCtx& c, Job& j, const Json* meta) {
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
  if ((fault == nullptr || fault->after_meta) && meta != nullptr) {
    for (const Json& v : meta->at("tikv").at("volumes")) {
      c.st.volumes.push_back(c.m.CreateVolume(v.value("snapshot_id", ""), c.key, c.cluster, c.now));
    }
  }
  if (fault == nullptr) {
    c.st.volume_stage = 2;
    return std::nullopt;
  }
  if (fault->after_meta) c.m.S3Put(S3Prefix(c.obj) + "/restoremeta", {{"volumes", c.st.volumes}});
  c.st.volume_stage = 9;
  j.Fail(c.now, "BackoffLimitExceeded");
  return Cond("Failed", "RestoreDataFromRemoteFailed",
              "restore volumes from snapshots: VolumeLimitExceeded (injected)");
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
    std::optional<MemberWrite> w = RestoreVolumes(c, j, meta);
    if (c.st.volume_stage != 2) return w;
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
    if (c.Fault(FaultKind::kRestoreDataFail)) {
      c.st.data_stage = 9;
      j.Fail(c.now, "BackoffLimitExceeded");
      return Cond("Failed", "RestoreDataFromRemoteFailed",
                  "restore data: recover regions failed (injected)");
    }
    j.ended = c.now;
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

namespace {

// One restore step over a member: the event filter (b.9), the pods, validation, the phase's work,
// warm-up and TiKV, then the phase's job (b.11), each deciding or passing on to the next.
class RestoreStep {
 public:
  RestoreStep(RestoreCtx& c, const Json* tc, StepOutput& out)
      : c_(c),
        tc_(tc),
        out_(out),
        phase_(JsonStringAt(c.obj, {"spec", "federalVolumeRestorePhase"})),
        warmup_(JsonStringAt(c.obj, {"spec", "warmup"})),
        strategy_(JsonStringAt(c.obj, {"spec", "warmupStrategy"}, "hybrid")),
        hang_(c.Fault(FaultKind::kHang)) {
    std::tie(tc_ns_, tc_name_) = TidbClusterRef(c.obj);
  }

  std::optional<MemberWrite> Run() {
    Phase p = EventFilter();
    if (!p.done && !hang_) {
      if (auto w = VolumePod(c_)) return w;
      if (auto w = DataPod(c_)) return w;
    }
    if (!p.done) p = Validate();
    if (!p.done) p = PhaseWork();
    if (!p.done && hang_) return std::nullopt;
    if (!p.done) p = WarmupAndTikv();
    if (p.done) return p.write;
    return CreateJob();
  }

  // A wake-up that replaces the collected one (a job whose pod starts now).
  std::optional<Time> wake_at() const { return wake_at_; }

 private:
  std::optional<MemberWrite> AsyncWarmupDone() {
    if (warmup_ != "async" || !c_.st.warmup_started || IsTrue(c_.obj, "WarmUpComplete")) {
      return std::nullopt;
    }
    if (!c_.w.Due(*c_.st.warmup_started + WarmupTime(c_))) return std::nullopt;
    return Cond("WarmUpComplete");
  }

  // A retryable problem: the condition (once) and a wake-up after the retry backoff.
  Phase Retry(std::string reason, std::string message) {
    c_.w.Due(c_.now + c_.m.timing().retry_backoff);
    return Done(IfChanges(c_, Cond("RetryFailed", std::move(reason), std::move(message))));
  }

  // Event filter (b.9), and cleaning up the volumes of a member that failed restoring them.
  Phase EventFilter() {
    const Json& obj = c_.obj;
    if (IsTrue(obj, "Invalid")) return Done();
    if (IsTrue(obj, "Complete")) return Done(hang_ ? std::nullopt : AsyncWarmupDone());
    bool volume_failed = IsTrue(obj, "Failed") && !IsTrue(obj, "VolumeComplete");
    if (volume_failed && !IsTrue(obj, "CleanVolumeComplete")) {
      if (c_.m.S3Get(S3Prefix(obj) + "/restoremeta") != nullptr) {
        for (const std::string& v : c_.st.volumes) c_.m.DeleteVolume(v, c_.key, c_.cluster, c_.now);
        c_.st.volumes.clear();
        return Done(Cond("CleanVolumeComplete"));
      }
      return Retry("FileNotExists", "restoremeta not found at s3://" + S3Prefix(obj));
    }
    if (IsTrue(obj, "Failed")) return Done();
    return Next();
  }

  // The spec against itself, and the backup's metadata against the TidbCluster.
  std::string Invalid() const {
    std::string invalid = tc_ == nullptr
                              ? "missing cluster config in spec of " + c_.ns + "/" + c_.name
                              : ValidateCommon(c_.obj, *tc_, false);
    if (invalid.empty() && phase_ != "restore-volume" && phase_ != "restore-data" &&
        phase_ != "restore-finish") {
      invalid = "unknown federalVolumeRestorePhase \"" + phase_ +
                "\": want restore-volume, restore-data or restore-finish";
    }
    if (invalid.empty() && !warmup_.empty() && warmup_ != "sync" && warmup_ != "async") {
      invalid = "unknown warmup mode \"" + warmup_ + "\": want sync or async";
    }
    if (invalid.empty() && strategy_ != "fio" && strategy_ != "hybrid" && strategy_ != "fsr" &&
        strategy_ != "check-wal-only") {
      invalid = "unknown warmupStrategy \"" + strategy_ + "\"";
    }
    if (!invalid.empty()) return invalid;
    const Json* meta = c_.m.S3Get(S3Prefix(c_.obj) + "/backupmeta");
    if (meta == nullptr) return "read backupmeta from s3://" + S3Prefix(c_.obj) + ": not found";
    if (JsonIntAt(*meta, {"tikv", "replicas"}) != TikvReplicas(*tc_)) {
      return "tikv replicas mismatch: backup " +
             std::to_string(JsonIntAt(*meta, {"tikv", "replicas"})) + ", target " +
             std::to_string(TikvReplicas(*tc_));
    }
    if (JsonIntAt(*meta, {"tikv", "volumes_per_store"}) !=
        static_cast<long long>(StorageVolumes(*tc_)) + 1) {
      return "tikv storage volumes mismatch between the backup and the target cluster";
    }
    if (phase_ != "restore-finish" && !JsonBoolAt(*tc_, {"spec", "recoveryMode"})) {
      return "recovery mode is off";
    }
    return "";
  }

  // Steps 1-3: TidbCluster and validation.
  Phase Validate() {
    if (c_.Fault(FaultKind::kInvalid)) {
      return Done(Cond("Invalid", "InvalidSpec", "invalid spec (injected fault)"));
    }
    if (tc_ == nullptr && !tc_name_.empty()) {
      return Retry("failed to fetch tidbcluster " + tc_ns_ + "/" + tc_name_,
                   "tidbclusters.pingcap.com \"" + tc_name_ + "\" not found");
    }
    if (std::string invalid = Invalid(); !invalid.empty()) {
      return Done(Cond("Invalid", "InvalidSpec", invalid));
    }
    if (!warmup_.empty() && JsonStringAt(c_.obj, {"spec", "warmupImage"}).empty()) {
      return Retry("NoWarmupImage", "warmupImage is required when warmup is set");
    }
    annotated_ = JsonAt(*tc_, {"metadata", "annotations", kTikvVolumesReadyAnnotation}) != nullptr;
    return Next();
  }

  void StartTikv() {
    c_.st.tikv_started = c_.now;
    out_.tc_patch = {
        {"metadata", {{"annotations", {{kTikvVolumesReadyAnnotation, c_.ns + "/" + c_.name}}}}}};
    c_.m.Audit({{"event", "tikv_volumes_ready"},
                {"owner", c_.key},
                {"cluster", c_.cluster},
                {"tidbcluster", tc_ns_ + "/" + tc_name_}});
  }

  // restore-finish: recovery mode off, then Complete.
  Phase Finish() {
    if (auto w = hang_ ? std::nullopt : AsyncWarmupDone()) return Done(w);
    if (!JsonBoolAt(*tc_, {"spec", "recoveryMode"})) return Done();  // Q7
    if (c_.Fault(FaultKind::kRestoreFinishFail)) {
      return Retry("ClearTCRecoveryMarkFailed", "update tidbcluster: injected failure");
    }
    out_.tc_patch = {{"spec", {{"recoveryMode", false}}},
                     {"metadata", {{"annotations", {{kTikvVolumesReadyAnnotation, nullptr}}}}}};
    c_.m.Audit({{"event", "recovery_mode"},
                {"on", false},
                {"owner", c_.key},
                {"cluster", c_.cluster},
                {"tidbcluster", tc_ns_ + "/" + tc_name_}});
    c_.m.Audit({{"event", "restore_finish"},
                {"owner", c_.key},
                {"cluster", c_.cluster},
                {"name", c_.name}});
    c_.st.finished = true;
    MemberWrite w = Cond("Complete");
    w.status_fields = {{"timeCompleted", FormatRfc3339(c_.now)}};
    return Done(w);
  }

  // Step 4: phase work.
  Phase PhaseWork() {
    if (phase_ == "restore-finish") return Finish();
    if (IsTrue(c_.obj, "VolumeComplete") && phase_ == "restore-volume" && !c_.st.pvs_created) {
      c_.st.pvs_created = true;
      if (warmup_ != "sync" && !annotated_) {
        StartTikv();
        return Done();
      }
      if (warmup_ == "sync") {
        c_.st.warmup_started = c_.now;
        return Done(Cond("WarmUpStarted"));
      }
    }
    return Next();
  }

  // Sync warm-up: it runs before TiKV starts; with check-wal-only it is the whole restore.
  Phase SyncWarmup() {
    if (!c_.st.warmup_started) return Done();
    if (!IsTrue(c_.obj, "WarmUpComplete")) {
      if (!c_.w.Due(*c_.st.warmup_started + WarmupTime(c_))) return Done();
      if (strategy_ == "check-wal-only" && c_.Fault(FaultKind::kWarmupFail)) {
        return Done(Cond(
            "Failed", "BackoffLimitExceeded",
            "warmup job " + c_.ns + "/" + c_.name + "-" + tc_name_ + "-tikv-0-warm-up failed"));
      }
      return Done(Cond("WarmUpComplete"));
    }
    if (strategy_ == "check-wal-only") {
      MemberWrite w = Cond("Complete");
      w.status_fields = {{"timeCompleted", FormatRfc3339(c_.now)}};
      return Done(w);
    }
    if (!c_.st.tikv_started) {
      StartTikv();
      return Done();
    }
    return Next();
  }

  // Steps 5-7: warm-up and TiKV.
  Phase WarmupAndTikv() {
    const Json& obj = c_.obj;
    if (IsTrue(obj, "VolumeComplete") && !IsTrue(obj, "TikvComplete")) {
      if (warmup_ == "sync") {
        if (Phase p = SyncWarmup(); p.done) return p;
      }
      if (!c_.st.tikv_started) {
        if (annotated_) c_.st.tikv_started = c_.now;  // e.g. after a simulator restart
        return Done();
      }
      if (warmup_ == "async" && !IsTrue(obj, "WarmUpStarted")) {
        if (!c_.w.Due(*c_.st.tikv_started + c_.D(c_.m.timing().pod_start))) return Done();
        c_.st.warmup_started = c_.now;
        return Done(Cond("WarmUpStarted"));
      }
      if (c_.Fault(FaultKind::kTikvNeverUp)) return Done();
      if (!c_.w.Due(c_.Noticed(*c_.st.tikv_started + c_.D(c_.m.timing().tikv_up)))) {
        return Done();
      }
      c_.m.Audit({{"event", "tikv_complete"},
                  {"owner", c_.key},
                  {"cluster", c_.cluster},
                  {"name", c_.name}});
      return Done(Cond("TikvComplete"));
    }
    if (phase_ == "restore-data") {
      if (auto w = AsyncWarmupDone()) return Done(w);
    }
    if (IsTrue(obj, "TikvComplete") && phase_ == "restore-volume") return Done();
    return Next();
  }

  // Step 11: the phase's job.
  std::optional<MemberWrite> CreateJob() {
    const Json& obj = c_.obj;
    if (!IsTrue(obj, "VolumeComplete")) {
      if (c_.st.volume_job) return std::nullopt;
      c_.st.volume_job = Job{"restore-" + c_.name, c_.now, c_.now + c_.D(c_.m.timing().pod_start)};
      c_.st.volume_stage = 0;
      return IfChanges(c_, Cond("Scheduled"));
    }
    if (phase_ == "restore-data" && IsTrue(obj, "TikvComplete") && !IsTrue(obj, "DataComplete") &&
        !c_.st.data_job) {
      c_.st.data_job =
          Job{"restore-data-" + c_.name, c_.now, c_.now + c_.D(c_.m.timing().pod_start)};
      c_.st.data_stage = 0;
      c_.m.Audit({{"event", "restore_data_run"},
                  {"owner", c_.key},
                  {"cluster", c_.cluster},
                  {"name", c_.name},
                  {"commitTs", JsonStringAt(obj, {"status", "commitTs"})}});
      wake_at_ = c_.st.data_job->pod_started;  // its pod's first step, possibly right now
    }
    return std::nullopt;
  }

  RestoreCtx& c_;
  const Json* const tc_;
  StepOutput& out_;
  const std::string phase_;
  const std::string warmup_;
  const std::string strategy_;
  const bool hang_;
  std::string tc_ns_;
  std::string tc_name_;
  bool annotated_ = false;
  std::optional<Time> wake_at_;
};

}  // namespace

StepOutput StepRestore(const std::string& cluster, const Json& obj, const Json* tc, Model& m,
                       Time now) {
  if (JsonStringAt(obj, {"spec", "restoreMode"}) != "volume-snapshot") return {};
  const std::string key = MemberKey(cluster, obj);
  RestoreMemberState& state = m.Restore(key);
  // A Restore being deleted has nothing left to do (no finalizer of ours).
  if (JsonAt(obj, {"metadata", "deletionTimestamp"}) != nullptr) return {};
  Waker waker(now);
  RestoreCtx c(cluster, obj, m, now, waker, state, key);
  StepOutput out;
  RestoreStep step(c, tc, out);
  out.write = step.Run();
  out.wake = step.wake_at() ? step.wake_at() : waker.wake();
  return out;
}

}  // namespace brfed::sim
