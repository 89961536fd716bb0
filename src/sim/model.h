// The simulated TiDB cluster behind every data plane: one PD (GC safepoint and scheduler pause
// held by named holders with a TTL keep-alive, the recovering mark, the TSO), the TiKV stores and
// their EBS volumes, EBS snapshots (pending, then completed; deletions), restored volumes, the S3
// objects the operator and BR write (clustermeta, backupmeta, restoremeta), and the jobs and pod
// progress of every Backup and Restore member. Also the timing knobs and the fault set.
//
// Pure data plus deterministic operations on it: no I/O and no clock; every operation takes the
// current time. Effects are appended to `audit` as JSON events (without wall/monotonic stamps,
// which the audit sink adds).
//
// Thread-safety: none; the owner serialises access (the simulator holds one mutex).
#ifndef BRFED_SIM_MODEL_H_
#define BRFED_SIM_MODEL_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/status.h"
#include "core/time.h"

namespace brfed::sim {

using Duration = std::chrono::nanoseconds;

// Durations of every simulated step, already scaled by --speed.
struct Timing {
  Duration reaction{std::chrono::milliseconds(200)};         // controller reaction to a CR change
  Duration pod_start{std::chrono::seconds(2)};               // job created -> pod's first write
  Duration init_pause{std::chrono::seconds(2)};              // init Running -> GC/schedulers paused
  Duration br_warmup{std::chrono::seconds(2)};               // execute Running -> backupmeta
  Duration snapshot_base{std::chrono::seconds(3)};           // snapshot completion, fixed part
  Duration snapshot_per_gib{std::chrono::milliseconds(10)};  // plus this per GiB of volume
  Duration size_calc{std::chrono::seconds(1)};               // VolumeBackupComplete -> sizes
  Duration clean_start{std::chrono::seconds(1)};             // clean job -> first deletion
  Duration restore_volume{std::chrono::seconds(3)};          // BR prepare (volume creation)
  Duration fsr_per_tib{std::chrono::seconds(6)};             // extra for warmupStrategy fsr
  Duration warmup{std::chrono::seconds(3)};                  // warm-up jobs
  Duration tikv_up{std::chrono::seconds(2)};                 // TiKV start -> stores Up
  Duration restore_data{std::chrono::seconds(3)};            // BR restore data
  Duration retry_backoff{std::chrono::seconds(1)};           // requeue after a RetryFailed
  Duration pd_ttl{std::chrono::seconds(30)};  // GC/scheduler pause TTL (BR keep-alive)
  // When set, work that waits for a job to end (teardown, liveness) is noticed only at the
  // next resync, as TiDB Operator does (the restore controller likewise for TiKV Up).
  std::optional<Duration> resync;
  double speed = 1.0;  // scales the init-job deadline (spec seconds) as well
  bool zero_latency = false;

  // Defaults divided by `speed`, or all zero with `zero_latency`.
  static Timing Scaled(double speed, bool zero_latency, bool imitate_resync);
  Duration Scale(Duration d) const;  // applies `speed` (used for spec-given seconds)
  // Every volume's snapshot takes `d` from the backupmeta on, and so does the size calculation
  // after VolumeBackupComplete, whatever `speed`, `zero_latency` or the volume's size say. In
  // production both take minutes, and the GC pause is released long before they end; with zero
  // latency the snapshots would complete inside the pause, and the member's commitTs, Complete
  // and size writes would race the federation's resumeGcSchedule and teardown.
  void SetSnapshotDuration(Duration d);
};

// One TiDB cluster spread over several Kubernetes clusters.
struct ClusterTopology {
  std::string name;  // the Kubernetes cluster (k8sClusterName)
  std::string tc_namespace = "tidb";
  std::string tc_name = "basic";
  int tikv_stores = 3;
  int volumes_per_store = 1;  // 1 = data only; more adds raft/wal-style volumes
  int64_t volume_size = int64_t{100} << 30;
};
struct Topology {
  std::vector<ClusterTopology> clusters;
  const ClusterTopology* Find(const std::string& cluster) const;
};
// Parses a topology document (YAML or JSON): {clusters: [{name, tcNamespace, tcName, tikvStores,
// volumesPerStore, volumeSize}]}; volumeSize accepts an integer or "100Gi"-style quantities.
Result<Topology> ParseTopology(std::string_view text);
// Parses a byte quantity: "1024", "100Gi", "1Ti", "500M".
Result<int64_t> ParseQuantity(std::string_view text);
// The TidbCluster object the simulator creates for one cluster of the topology.
Json BuildTidbCluster(const ClusterTopology& c);

// Fault kinds (names used by flags and the admin endpoint).
enum class FaultKind {
  kInitFail,           // BR pause fails: VolumeBackupInitializeFailed/InitializeVolumeBackupFailed
  kInitJobDeleted,     // init job deleted externally after VolumeBackupInitialized
  kInitDeadline,       // init job hits its deadline right after VolumeBackupInitialized
  kSnapshotFail,       // snapshot creation fails: VolumeBackupFailed/BackupDataToRemoteFailed
  kExecutePodDies,     // execute pod dies: VolumeBackupFailed/AlreadyFailed
  kInvalid,            // member goes Invalid/InvalidSpec
  kHang,               // the member's pods stop making progress
  kSlow,               // the cluster's delays are multiplied by `factor`
  kRestoreVolumeFail,  // Failed/RestoreDataFromRemoteFailed before VolumeComplete
  kRestoreDataFail,    // Failed/RestoreDataFromRemoteFailed in restore-data
  kRestoreFinishFail,  // RetryFailed/ClearTCRecoveryMarkFailed, repeated
  kWarmupFail,         // check-wal-only warm-up job fails (corruption)
  kTikvNeverUp,        // TiKV stores never come Up
  kCleanFail,          // CleanFailed/CleanBackupDataFailed, stuck
};
Result<FaultKind> ParseFaultKind(std::string_view name);
std::string_view FaultKindName(FaultKind kind);

struct Fault {
  FaultKind kind;
  std::string cluster;      // "" or "*" = every cluster
  std::string name;         // member name; "" = every member
  double factor = 10;       // kSlow only
  bool after_meta = false;  // kRestoreVolumeFail: fail after restoremeta was written
};
// Parses "KIND[@CLUSTER][/NAME][,factor=F][,after-meta]".
Result<Fault> ParseFault(std::string_view spec);
Json FaultToJson(const Fault& f);

// A job and its pod. The pod starts `pod_start` after creation.
struct Job {
  std::string name;
  Time created;
  Time pod_started;
  std::optional<Time> ended;  // completed or failed
  bool failed = false;
  std::string fail_reason;
  bool deleted = false;
  bool Running() const { return !ended && !deleted; }
  void Fail(Time now, std::string reason) {
    ended = now;
    failed = true;
    fail_reason = std::move(reason);
  }
};

struct Snapshot {
  std::string id;
  std::string volume_id;
  std::string owner;  // member key of the Backup that created it
  int64_t size = 0;
  Time created;
  Time completes;
  bool deleted = false;
  uint64_t seq = 0;  // creation order
};

struct BackupMemberState {
  std::optional<Job> init_job;
  int init_stage = 0;  // 1 Running written, 2 paused + VolumeBackupInitialized written
  std::optional<Job> exec_job;
  int exec_stage = 0;  // 1 Prepare, 2 Running, 3 backupmeta, 4 commitTs, 5 Complete, 6 sizes
  Time exec_started{};
  Time meta_written{};
  Time exec_completed{};
  std::string resolved_ts;
  std::vector<std::string> snapshots;
  std::optional<Job> clean_job;
  size_t clean_deleted = 0;
  bool clean_done = false;
  bool clean_failed_written = false;
};

struct RestoreMemberState {
  std::optional<Job> volume_job;
  int volume_stage = 0;  // 1 Running, 2 volumes created, 3 commitTs, 4 VolumeComplete
  Time volume_started{};
  std::vector<std::string> volumes;
  bool pvs_created = false;
  std::optional<Time> warmup_started;
  std::optional<Time> tikv_started;
  std::optional<Job> data_job;
  int data_stage = 0;  // 1 Running asserted, 2 DataComplete
  bool finished = false;
};

class Model {
 public:
  explicit Model(Topology topology, Timing timing);

  const Topology& topology() const { return topology_; }
  const Timing& timing() const { return timing_; }
  // Delays for one cluster: `timing` with a kSlow fault applied.
  Duration Delay(const std::string& cluster, const std::string& member, Duration base) const;

  // --- PD ---
  // TSO of `now`: physical milliseconds << 18.
  static uint64_t Tso(Time now);
  void PausePd(const std::string& holder, Time now);
  void ResumePd(const std::string& holder, Time now, std::string_view why);
  bool PdPaused() const { return !pause_holders_.empty(); }
  bool HoldsPause(const std::string& holder) const { return pause_holders_.count(holder) > 0; }
  // Keep-alive for holders whose init job still runs, expiry for the rest.
  void Advance(Time now);
  void SetRecovering(bool on, Time now, const std::string& by);
  bool recovering() const { return recovering_; }

  // --- EBS ---
  std::vector<std::pair<std::string, int64_t>> VolumesOf(const std::string& cluster) const;
  std::string CreateSnapshot(const std::string& volume, int64_t size, const std::string& owner,
                             const std::string& cluster, Time now, Time completes);
  void DeleteSnapshot(const std::string& id, const std::string& owner, const std::string& cluster,
                      Time now);
  const Snapshot* FindSnapshot(const std::string& id) const;
  // The latest undeleted snapshot of the same volume created before `s`, or nullptr.
  const Snapshot* PreviousSnapshot(const Snapshot& s) const;
  std::string CreateVolume(const std::string& snapshot, const std::string& owner,
                           const std::string& cluster, Time now);
  void DeleteVolume(const std::string& id, const std::string& owner, const std::string& cluster,
                    Time now);

  // --- S3 --- keys are "<bucket>/<prefix>/<file>".
  const Json* S3Get(const std::string& key) const;
  void S3Put(const std::string& key, Json value);
  void S3DeletePrefix(const std::string& prefix_key);

  // --- faults ---
  void AddFault(Fault f) { faults_.push_back(std::move(f)); }
  // Removes matching faults (kind; cluster/name empty = any); returns how many.
  size_t RemoveFaults(std::optional<FaultKind> kind, const std::string& cluster,
                      const std::string& name);
  const Fault* FindFault(FaultKind kind, const std::string& cluster, const std::string& name) const;
  const std::vector<Fault>& faults() const { return faults_; }

  // --- members --- keyed by MemberKey().
  BackupMemberState& Backup(const std::string& key) { return backups_[key]; }
  RestoreMemberState& Restore(const std::string& key) { return restores_[key]; }
  const BackupMemberState* FindBackup(const std::string& key) const;
  // The object behind `key` is gone: its jobs are garbage-collected (an init job still running
  // releases the pause, as its pod is killed; `why` goes to the audit log's pd_resume).
  void ForgetBackup(const std::string& key, Time now, std::string_view why);
  void ForgetRestore(const std::string& key);

  void Audit(Json event);  // appends; `event` must be an object with "event"
  std::vector<Json> TakeAudit();
  Json Dump() const;  // state for the admin endpoint

 private:
  Topology topology_;
  Timing timing_;
  std::map<std::string, Time> pause_holders_;  // holder -> expiry
  bool recovering_ = false;
  std::map<std::string, Snapshot> snapshots_;
  std::map<std::string, std::string> volumes_;  // restored volume id -> owner
  std::map<std::string, Json> s3_;
  std::vector<Fault> faults_;
  std::map<std::string, BackupMemberState> backups_;
  std::map<std::string, RestoreMemberState> restores_;
  std::vector<Json> audit_;
  uint64_t next_id_ = 1;
};

// "cluster/namespace/name/uid": identity of one member object.
std::string MemberKey(const std::string& cluster, const Json& obj);

}  // namespace brfed::sim

#endif  // BRFED_SIM_MODEL_H_
