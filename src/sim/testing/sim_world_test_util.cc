#include "sim/testing/sim_world_test_util.h"

namespace brfed::sim::testing {

namespace {
Topology MakeTopology(int clusters) {
  Topology t;
  for (int i = 0; i < clusters; ++i) {
    ClusterTopology c;
    c.name = "c" + std::to_string(i + 1);
    c.tikv_stores = 2;
    c.volumes_per_store = 2;
    t.clusters.push_back(c);
  }
  return t;
}
}  // namespace

World::World(int clusters, Timing timing)
    : model_(MakeTopology(clusters), timing), now_(Time(std::chrono::seconds(1700000000))) {
  for (const auto& c : model_.topology().clusters) tcs_[c.name] = BuildTidbCluster(c);
}

Json BackupSpec(const std::string& phase, const std::string& prefix) {
  return {{"backupMode", "volume-snapshot"},
          {"backupType", "full"},
          {"federalVolumeBackupPhase", phase},
          {"br", {{"cluster", "basic"}, {"clusterNamespace", "tidb"}}},
          {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", prefix}}}};
}

Json RestoreSpec(const std::string& prefix) {
  return {{"restoreMode", "volume-snapshot"},
          {"backupType", "full"},
          {"federalVolumeRestorePhase", "restore-volume"},
          {"br", {{"cluster", "basic"}, {"clusterNamespace", "tidb"}}},
          {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", prefix}}}};
}

std::string World::AddBackup(const std::string& cluster, Json spec, std::string name) {
  std::string id = cluster + "/Backup/" + name;
  objects_[id] = {
      {"kind", "Backup"},
      {"metadata", {{"name", name}, {"namespace", "tidb"}, {"uid", "u" + std::to_string(++uid_)}}},
      {"spec", std::move(spec)}};
  cluster_of_[id] = cluster;
  return id;
}

std::string World::AddRestore(const std::string& cluster, Json spec, std::string name) {
  std::string id = cluster + "/Restore/" + name;
  objects_[id] = {
      {"kind", "Restore"},
      {"metadata", {{"name", name}, {"namespace", "tidb"}, {"uid", "u" + std::to_string(++uid_)}}},
      {"spec", std::move(spec)}};
  cluster_of_[id] = cluster;
  return id;
}

void World::Delete(const std::string& id) {
  Json& o = objects_.at(id);
  o["metadata"]["deletionTimestamp"] = FormatRfc3339(now_);
}

bool World::True(const std::string& id, const std::string& type) const {
  auto it = objects_.find(id);
  return it != objects_.end() && IsTrue(it->second, type);
}

bool World::StepAll() {
  bool wrote = false;
  std::vector<std::string> gone;
  for (auto& [id, obj] : objects_) {
    const std::string& cluster = cluster_of_[id];
    bool backup = obj["kind"] == "Backup";
    auto tc_it = tcs_.find(cluster);
    const Json* tc = tc_it == tcs_.end() ? nullptr : &tc_it->second;
    StepOutput out = backup ? StepBackup(cluster, obj, tc, model_, now_)
                            : StepRestore(cluster, obj, tc, model_, now_);
    if (!out.tc_patch.is_null() && tc_it != tcs_.end()) {
      tc_it->second = ApplyMergePatch(tc_it->second, out.tc_patch);
      wrote = true;
    }
    if (out.write) {
      if (ApplyMemberWrite(backup ? MemberKind::kBackup : MemberKind::kRestore, obj, *out.write,
                           now_)) {
        wrote = true;
        if (out.write->condition) {
          phases_[id].push_back(JsonStringAt(obj, {"status", "phase"}));
          audit_.push_back({{"event", "condition"},
                            {"kind", backup ? "Backup" : "Restore"},
                            {"owner", MemberKey(cluster, obj)},
                            {"name", JsonStringAt(obj, {"metadata", "name"})},
                            {"type", out.write->condition->type},
                            {"status", out.write->condition->status}});
        }
      }
    }
    for (Json& e : model_.TakeAudit()) audit_.push_back(std::move(e));
    if (out.wake && *out.wake <= now_) wrote = true;  // due now: step again
    if (out.wake && *out.wake > now_ && (!wake_ || *out.wake < *wake_)) wake_ = out.wake;
    if (obj["metadata"].contains("deletionTimestamp") &&
        obj["metadata"].value("finalizers", Json::array()).empty()) {
      gone.push_back(id);
    }
  }
  for (const std::string& id : gone) {
    if (objects_[id]["kind"] == "Backup")
      model_.ForgetBackup(Key(id), now_, "owner deleted");
    else
      model_.ForgetRestore(Key(id));
    objects_.erase(id);
    wrote = true;
  }
  for (Json& e : model_.TakeAudit()) audit_.push_back(std::move(e));
  return wrote;
}

bool World::RunUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  Time end = now_ + limit;
  for (int i = 0; i < 100000; ++i) {
    if (done()) return true;
    if (StepAll()) continue;
    if (done()) return true;
    if (!wake_ || *wake_ > end) return false;
    now_ = *wake_;
    wake_.reset();
  }
  return false;
}

std::string World::AuditText() const {
  std::string s;
  for (const Json& e : audit_) s += DumpJson(e) + "\n";
  return s;
}

}  // namespace brfed::sim::testing
