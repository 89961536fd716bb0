#include "sim/model.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace brfed::sim {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

Timing Timing::Scaled(double speed, bool zero_latency, bool imitate_resync) {
  Timing t;
  t.speed = speed;
  t.zero_latency = zero_latency;
  Duration* all[] = {&t.reaction,       &t.pod_start,        &t.init_pause, &t.br_warmup,
                     &t.snapshot_base,  &t.snapshot_per_gib, &t.size_calc,  &t.clean_start,
                     &t.restore_volume, &t.fsr_per_tib,      &t.warmup,     &t.tikv_up,
                     &t.restore_data,   &t.retry_backoff};
  for (Duration* d : all) *d = zero_latency ? Duration(0) : t.Scale(*d);
  if (zero_latency) t.retry_backoff = milliseconds(100);
  t.pd_ttl = t.Scale(t.pd_ttl);
  if (imitate_resync) t.resync = t.Scale(std::chrono::seconds(30));
  return t;
}

Duration Timing::Scale(Duration d) const {
  if (speed <= 0) return d;
  return Duration(static_cast<int64_t>(static_cast<double>(d.count()) / speed));
}

void Timing::SetSnapshotDuration(Duration d) {
  snapshot_base = d;
  snapshot_per_gib = Duration(0);
  size_calc = d;
}

const ClusterTopology* Topology::Find(const std::string& cluster) const {
  for (const auto& c : clusters) {
    if (c.name == cluster) return &c;
  }
  return nullptr;
}

Result<int64_t> ParseQuantity(std::string_view text) {
  static const std::pair<std::string_view, int64_t> kSuffixes[] = {{"Ki", int64_t{1} << 10},
                                                                   {"Mi", int64_t{1} << 20},
                                                                   {"Gi", int64_t{1} << 30},
                                                                   {"Ti", int64_t{1} << 40},
                                                                   {"k", 1000},
                                                                   {"K", 1000},
                                                                   {"M", 1000000},
                                                                   {"G", 1000000000},
                                                                   {"T", 1000000000000}};
  int64_t mult = 1;
  std::string_view digits = text;
  for (const auto& [suffix, m] : kSuffixes) {
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      mult = m;
      digits = text.substr(0, text.size() - suffix.size());
      break;
    }
  }
  if (digits.empty() || digits.size() > 15 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument(
        "invalid size \"" + std::string(text) +
        "\": want an integer with an optional suffix (Ki, Mi, Gi, Ti, k, M, G, T)");
  }
  int64_t n = std::stoll(std::string(digits));
  if (n > (int64_t{1} << 62) / mult) return InvalidArgument("size too large: " + std::string(text));
  return n * mult;
}

Result<Topology> ParseTopology(std::string_view text) {
  auto parsed = ParseYaml(text);
  if (!parsed.ok()) return InvalidArgument("topology: " + parsed.status().message());
  const Json& doc = *parsed;
  const Json* clusters = doc.is_object() ? JsonAt(doc, {"clusters"}) : nullptr;
  if (clusters == nullptr || !clusters->is_array() || clusters->empty()) {
    return InvalidArgument("topology: want an object with a non-empty \"clusters\" list");
  }
  Topology t;
  std::set<std::string> seen;
  for (size_t i = 0; i < clusters->size(); ++i) {
    const Json& c = (*clusters)[i];
    std::string where = "topology: clusters[" + std::to_string(i) + "]";
    if (!c.is_object()) return InvalidArgument(where + ": want an object");
    ClusterTopology ct;
    ct.name = JsonStringAt(c, {"name"});
    if (ct.name.empty()) return InvalidArgument(where + ": \"name\" is required");
    if (!seen.insert(ct.name).second) return InvalidArgument(where + ": duplicate name " + ct.name);
    ct.tc_namespace = JsonStringAt(c, {"tcNamespace"}, ct.tc_namespace);
    ct.tc_name = JsonStringAt(c, {"tcName"}, ct.tc_name);
    ct.tikv_stores = static_cast<int>(JsonIntAt(c, {"tikvStores"}, ct.tikv_stores));
    ct.volumes_per_store = static_cast<int>(JsonIntAt(c, {"volumesPerStore"}, 1));
    if (ct.tikv_stores < 1 || ct.tikv_stores > 1000) {
      return InvalidArgument(where + ": tikvStores must be 1..1000");
    }
    if (ct.volumes_per_store < 1 || ct.volumes_per_store > 16) {
      return InvalidArgument(where + ": volumesPerStore must be 1..16");
    }
    if (const Json* size = JsonAt(c, {"volumeSize"})) {
      if (size->is_number_integer()) {
        ct.volume_size = size->get<int64_t>();
      } else if (size->is_string()) {
        auto q = ParseQuantity(size->get<std::string>());
        if (!q.ok()) return InvalidArgument(where + ": volumeSize: " + q.status().message());
        ct.volume_size = *q;
      } else {
        return InvalidArgument(where + ": volumeSize must be an integer or a quantity string");
      }
      if (ct.volume_size <= 0) return InvalidArgument(where + ": volumeSize must be positive");
    }
    t.clusters.push_back(std::move(ct));
  }
  return t;
}

Json BuildTidbCluster(const ClusterTopology& c) {
  Json stores = Json::object();
  for (int i = 0; i < c.tikv_stores; ++i) {
    std::string id = std::to_string(i + 1);
    // id, ip, leaderCount, podName and state are required by upstream's TidbCluster schema
    // (a real kube-apiserver rejects the object without them).
    stores[id] = {{"id", id},
                  {"ip", "10.0.0." + std::to_string(i + 1)},
                  {"leaderCount", 0},
                  {"podName", c.tc_name + "-tikv-" + std::to_string(i)},
                  {"state", "Up"}};
  }
  Json volumes = Json::array();
  for (int v = 1; v < c.volumes_per_store; ++v) {
    volumes.push_back({{"name", v == 1 ? std::string("raft") : "wal-" + std::to_string(v)},
                       {"storageSize", std::to_string(c.volume_size)}});
  }
  return {{"apiVersion", "pingcap.com/v1alpha1"},
          {"kind", "TidbCluster"},
          {"metadata", {{"name", c.tc_name}, {"namespace", c.tc_namespace}}},
          {"spec",
           {{"acrossK8s", true},
            {"pd", {{"replicas", 1}}},
            {"tidb", {{"replicas", 1}}},
            {"tikv", {{"replicas", c.tikv_stores}, {"storageVolumes", volumes}}}}},
          {"status", {{"tikv", {{"stores", stores}}}}}};
}

namespace {
constexpr std::pair<FaultKind, std::string_view> kFaultNames[] = {
    {FaultKind::kInitFail, "init-fail"},
    {FaultKind::kInitJobDeleted, "init-job-deleted"},
    {FaultKind::kInitDeadline, "init-deadline"},
    {FaultKind::kSnapshotFail, "snapshot-fail"},
    {FaultKind::kExecutePodDies, "execute-pod-dies"},
    {FaultKind::kInvalid, "invalid"},
    {FaultKind::kHang, "hang"},
    {FaultKind::kSlow, "slow"},
    {FaultKind::kRestoreVolumeFail, "restore-volume-fail"},
    {FaultKind::kRestoreDataFail, "restore-data-fail"},
    {FaultKind::kRestoreFinishFail, "restore-finish-fail"},
    {FaultKind::kWarmupFail, "warmup-fail"},
    {FaultKind::kTikvNeverUp, "tikv-never-up"},
    {FaultKind::kCleanFail, "clean-fail"},
};
}  // namespace

Result<FaultKind> ParseFaultKind(std::string_view name) {
  for (const auto& [kind, n] : kFaultNames) {
    if (n == name) return kind;
  }
  return InvalidArgument("unknown fault \"" + std::string(name) +
                         "\"; known: " + Join(kFaultNames, ", ", [](const auto& kind_name) {
                           return std::string(kind_name.second);
                         }));
}

std::string_view FaultKindName(FaultKind kind) {
  for (const auto& [k, n] : kFaultNames) {
    if (k == kind) return n;
  }
  return "unknown";
}

Result<Fault> ParseFault(std::string_view spec) {
  std::string s(spec);
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  std::string head = parts[0];
  Fault f;
  if (size_t slash = head.find('/'); slash != std::string::npos) {
    f.name = head.substr(slash + 1);
    head = head.substr(0, slash);
  }
  if (size_t at = head.find('@'); at != std::string::npos) {
    f.cluster = head.substr(at + 1);
    head = head.substr(0, at);
  }
  BRFED_ASSIGN_OR_RETURN(f.kind, ParseFaultKind(head));
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.rfind("factor=", 0) == 0) {
      char* end = nullptr;
      f.factor = std::strtod(p.c_str() + 7, &end);
      if (end == p.c_str() + 7 || *end != '\0' || !(f.factor > 0) || f.factor > 1e6) {
        return InvalidArgument("fault \"" + s + "\": factor must be a positive number");
      }
    } else if (p == "after-meta") {
      f.after_meta = true;
    } else {
      return InvalidArgument("fault \"" + s + "\": unknown option \"" + p +
                             "\" (want factor=F or after-meta)");
    }
  }
  if (f.cluster == "*") f.cluster.clear();
  return f;
}

Json FaultToJson(const Fault& f) {
  Json j = {{"kind", FaultKindName(f.kind)}, {"cluster", f.cluster}, {"name", f.name}};
  if (f.kind == FaultKind::kSlow) j["factor"] = f.factor;
  if (f.kind == FaultKind::kRestoreVolumeFail) j["afterMeta"] = f.after_meta;
  return j;
}

Model::Model(Topology topology, Timing timing) : topology_(std::move(topology)), timing_(timing) {}

Duration Model::Delay(const std::string& cluster, const std::string& member, Duration base) const {
  if (const Fault* f = FindFault(FaultKind::kSlow, cluster, member)) {
    return Duration(static_cast<int64_t>(static_cast<double>(base.count()) * f->factor));
  }
  return base;
}

uint64_t Model::Tso(Time now) {
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  return static_cast<uint64_t>(ms) << 18;
}

void Model::PausePd(const std::string& holder, Time now) {
  bool was_paused = PdPaused();
  pause_holders_[holder] = now + timing_.pd_ttl;
  Audit({{"event", "pd_pause"},
         {"holder", holder},
         {"ttl_ms", duration_cast<milliseconds>(timing_.pd_ttl).count()},
         {"window_opened", !was_paused},
         {"safepoint", Tso(now)}});
}

void Model::ResumePd(const std::string& holder, Time /*now*/, std::string_view why) {
  if (pause_holders_.erase(holder) == 0) return;
  Audit({{"event", "pd_resume"}, {"holder", holder}, {"why", why}, {"window_closed", !PdPaused()}});
}

void Model::Advance(Time now) {
  for (auto it = pause_holders_.begin(); it != pause_holders_.end();) {
    // The holder is "<member key>#init"; BR keeps the pause alive while its pod runs.
    std::string key = it->first.substr(0, it->first.rfind('#'));
    auto b = backups_.find(key);
    bool alive = b != backups_.end() && b->second.init_job && b->second.init_job->Running();
    if (alive) {
      it->second = now + timing_.pd_ttl;
      ++it;
    } else if (it->second <= now) {
      std::string holder = it->first;
      it = pause_holders_.erase(it);
      Audit({{"event", "pd_pause_expired"}, {"holder", holder}, {"window_closed", !PdPaused()}});
    } else {
      ++it;
    }
  }
}

void Model::SetRecovering(bool on, Time /*now*/, const std::string& by) {
  if (recovering_ == on) return;
  recovering_ = on;
  Audit({{"event", "pd_recovering"}, {"on", on}, {"by", by}});
}

std::vector<std::pair<std::string, int64_t>> Model::VolumesOf(const std::string& cluster) const {
  std::vector<std::pair<std::string, int64_t>> out;
  const ClusterTopology* c = topology_.Find(cluster);
  if (c == nullptr) return out;
  for (int s = 0; s < c->tikv_stores; ++s) {
    for (int v = 0; v < c->volumes_per_store; ++v) {
      out.emplace_back("vol-" + cluster + "-" + std::to_string(s + 1) + "-" + std::to_string(v),
                       c->volume_size);
    }
  }
  return out;
}

std::string Model::CreateSnapshot(const std::string& volume, int64_t size, const std::string& owner,
                                  const std::string& cluster, Time now, Time completes) {
  uint64_t seq = next_id_++;
  std::string id = "snap-" + std::to_string(seq);
  snapshots_[id] = Snapshot{id, volume, owner, size, now, completes, false, seq};
  Audit({{"event", "snapshot_create"},
         {"snapshot", id},
         {"volume", volume},
         {"owner", owner},
         {"cluster", cluster},
         {"size", size},
         {"pd_paused", PdPaused()}});
  return id;
}

void Model::DeleteSnapshot(const std::string& id, const std::string& owner,
                           const std::string& cluster, Time /*now*/) {
  auto it = snapshots_.find(id);
  if (it == snapshots_.end() || it->second.deleted) return;  // NotFound counts as success
  it->second.deleted = true;
  Audit({{"event", "snapshot_delete"}, {"snapshot", id}, {"owner", owner}, {"cluster", cluster}});
}

const Snapshot* Model::FindSnapshot(const std::string& id) const {
  auto it = snapshots_.find(id);
  return it == snapshots_.end() ? nullptr : &it->second;
}

const Snapshot* Model::PreviousSnapshot(const Snapshot& s) const {
  const Snapshot* best = nullptr;
  for (const auto& [id, o] : snapshots_) {
    if (o.volume_id != s.volume_id || o.deleted || o.seq >= s.seq) continue;
    if (best == nullptr || o.seq > best->seq) best = &o;
  }
  return best;
}

std::string Model::CreateVolume(const std::string& snapshot, const std::string& owner,
                                const std::string& cluster, Time /*now*/) {
  std::string id = "vol-restored-" + std::to_string(next_id_++);
  volumes_[id] = owner;
  Audit({{"event", "volume_create"},
         {"volume", id},
         {"snapshot", snapshot},
         {"owner", owner},
         {"cluster", cluster}});
  return id;
}

void Model::DeleteVolume(const std::string& id, const std::string& owner,
                         const std::string& cluster, Time /*now*/) {
  if (volumes_.erase(id) == 0) return;
  Audit({{"event", "volume_delete"}, {"volume", id}, {"owner", owner}, {"cluster", cluster}});
}

const Json* Model::S3Get(const std::string& key) const {
  auto it = s3_.find(key);
  return it == s3_.end() ? nullptr : &it->second;
}

void Model::S3Put(const std::string& key, Json value) { s3_[key] = std::move(value); }

void Model::S3DeletePrefix(const std::string& prefix_key) {
  std::string p = prefix_key + "/";
  for (auto it = s3_.lower_bound(p); it != s3_.end() && it->first.rfind(p, 0) == 0;) {
    it = s3_.erase(it);
  }
}

size_t Model::RemoveFaults(std::optional<FaultKind> kind, const std::string& cluster,
                           const std::string& name) {
  size_t before = faults_.size();
  std::erase_if(faults_, [&](const Fault& f) {
    return (!kind || f.kind == *kind) && (cluster.empty() || f.cluster == cluster) &&
           (name.empty() || f.name == name);
  });
  return before - faults_.size();
}

const Fault* Model::FindFault(FaultKind kind, const std::string& cluster,
                              const std::string& name) const {
  for (const Fault& f : faults_) {
    if (f.kind == kind && (f.cluster.empty() || f.cluster == cluster) &&
        (f.name.empty() || f.name == name)) {
      return &f;
    }
  }
  return nullptr;
}

const BackupMemberState* Model::FindBackup(const std::string& key) const {
  auto it = backups_.find(key);
  return it == backups_.end() ? nullptr : &it->second;
}

void Model::ForgetBackup(const std::string& key, Time now, std::string_view why) {
  auto it = backups_.find(key);
  if (it == backups_.end()) return;
  if (it->second.init_job && it->second.init_job->Running()) {
    it->second.init_job->deleted = true;
    ResumePd(key + "#init", now, why);
  }
  backups_.erase(it);
}

void Model::ForgetRestore(const std::string& key) { restores_.erase(key); }

void Model::Audit(Json event) { audit_.push_back(std::move(event)); }

std::vector<Json> Model::TakeAudit() {
  std::vector<Json> out;
  out.swap(audit_);
  return out;
}

Json Model::Dump() const {
  Json holders = Json::array();
  for (const auto& [h, exp] : pause_holders_) holders.push_back(h);
  Json snaps = Json::array();
  for (const auto& [id, s] : snapshots_) {
    snaps.push_back({{"id", id},
                     {"volume", s.volume_id},
                     {"owner", s.owner},
                     {"size", s.size},
                     {"deleted", s.deleted}});
  }
  Json vols = Json::array();
  for (const auto& [id, owner] : volumes_) vols.push_back({{"id", id}, {"owner", owner}});
  Json s3 = Json::array();
  for (const auto& [k, v] : s3_) s3.push_back(k);
  Json faults = Json::array();
  for (const Fault& f : faults_) faults.push_back(FaultToJson(f));
  Json backups = Json::object();
  for (const auto& [k, b] : backups_) {
    backups[k] = {{"initJobRunning", b.init_job && b.init_job->Running()},
                  {"initStage", b.init_stage},
                  {"execJobRunning", b.exec_job && b.exec_job->Running()},
                  {"execStage", b.exec_stage},
                  {"snapshots", b.snapshots}};
  }
  Json restores = Json::object();
  for (const auto& [k, r] : restores_) {
    restores[k] = {{"volumeStage", r.volume_stage},
                   {"volumes", r.volumes},
                   {"tikvStarted", r.tikv_started.has_value()},
                   {"dataStage", r.data_stage}};
  }
  return {{"pd", {{"paused", PdPaused()}, {"holders", holders}, {"recovering", recovering_}}},
          {"snapshots", snaps},
          {"restoredVolumes", vols},
          {"s3", s3},
          {"faults", faults},
          {"backups", backups},
          {"restores", restores}};
}

std::string MemberKey(const std::string& cluster, const Json& obj) {
  return cluster + "/" + JsonStringAt(obj, {"metadata", "namespace"}) + "/" +
         JsonStringAt(obj, {"metadata", "name"}) + "/" + JsonStringAt(obj, {"metadata", "uid"});
}

}  // namespace brfed::sim
