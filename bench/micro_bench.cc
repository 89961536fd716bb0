// Google Benchmark micro-benchmarks of the pure VolumeBackup decision function, of JSON
// decoding of a large data-plane Backup object (issue 10, item 6), and of decoding a LIST page
// of finished members as kube-apiserver sends it, with and without its managedFields
// (issue 16).
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/conditions.h"
#include "api/volume_backup.h"
#include "core/json.h"
#include "federation/backup_decide.h"

namespace brfed {
namespace {

const Time kNow = Time(std::chrono::seconds(1700000000));

Json VolumeBackupWith(int clusters) {
  Json vb = Json::parse(R"({
    "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeBackup",
    "metadata": {"name": "vb", "namespace": "ctl", "uid": "u-1", "resourceVersion": "7",
                 "finalizers": ["tidb.pingcap.com/backup-protection"]},
    "spec": {"clusters": [], "template": {"br": {}, "s3": {"provider": "aws", "bucket": "b",
             "prefix": "p"}}}})");
  for (int i = 0; i < clusters; ++i) {
    vb["spec"]["clusters"].push_back(
        {{"k8sClusterName", "dp-" + std::to_string(i)}, {"tcName", "tc"}, {"tcNamespace", "tidb"}});
  }
  return vb;
}

// A member of `vb` in cluster `i` whose status says its snapshots were created.
Json MemberWithSnapshots(const Json& vb, int i) {
  api::ClusterRef ref{"dp-" + std::to_string(i), "tc", "tidb"};
  Json m = api::BuildBackupMember(vb, ref, i == 0);
  m["metadata"]["resourceVersion"] = std::to_string(100 + i);
  m["spec"]["federalVolumeBackupPhase"] = i == 0 ? "initialize" : "execute";
  Json status = Json::object();
  for (const char* type :
       {"Scheduled", "Running", "VolumeBackupInitialized", "VolumeBackupSnapshotsCreated"}) {
    api::SetCondition(status, api::Condition{type}, kNow);
  }
  m["status"] = status;
  return m;
}

void BM_DecideVolumeBackup_AllSnapshotsCreated(benchmark::State& state) {
  const int clusters = static_cast<int>(state.range(0));
  Json vb = VolumeBackupWith(clusters);
  federation::BackupObservation obs;
  obs.volume_backup = std::make_shared<Json>(vb);
  obs.now = kNow;
  for (int i = 0; i < clusters; ++i) {
    std::string name = "dp-" + std::to_string(i);
    obs.known_clusters.push_back(name);
    federation::BackupClusterView view;
    view.reachable = true;
    view.member = std::make_shared<Json>(MemberWithSnapshots(vb, i));
    obs.clusters[name] = view;
  }
  for (auto _ : state) {
    federation::BackupDecision d = federation::DecideVolumeBackup(obs);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecideVolumeBackup_AllSnapshotsCreated)->Arg(1)->Arg(3)->Arg(10);

// A Backup with a long status (many conditions, a long message) and a large unknown field,
// the shape a watch event delivers.
std::string LargeBackupText() {
  Json vb = VolumeBackupWith(1);
  Json m = MemberWithSnapshots(vb, 0);
  Json& status = m["status"];
  for (int i = 0; i < 40; ++i) {
    api::SetCondition(
        status,
        api::Condition{"Extra" + std::to_string(i), "True", "Reason", std::string(200, 'x')}, kNow);
  }
  Json volumes = Json::array();
  for (int i = 0; i < 200; ++i) {
    volumes.push_back({{"volumeId", "vol-" + std::to_string(i)},
                       {"snapshotId", "snap-" + std::to_string(i)},
                       {"sizeBytes", 1000000000LL + i}});
  }
  m["metadata"]["annotations"]["tidb.pingcap.com/backup-meta"] = DumpJson(volumes);
  return DumpJson(m);
}

void BM_ParseLargeBackup(benchmark::State& state) {
  const std::string text = LargeBackupText();
  for (auto _ : state) {
    Result<Json> parsed = ParseJson(text);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.counters["bytes_per_object"] = static_cast<double>(text.size());
}
BENCHMARK(BM_ParseLargeBackup);

// kube-apiserver's FieldsV1 for `value`: "f:<key>" per member, {} for a leaf, and list items
// keyed by their "type" (conditions), as the server writes them.
Json FieldsV1(const Json& value) {
  Json out = Json::object();
  if (value.is_object()) {
    for (const auto& [k, v] : value.items()) out["f:" + k] = FieldsV1(v);
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (!item.is_object() || !item.contains("type")) continue;
      Json keyed = FieldsV1(item);
      keyed["."] = Json::object();
      out["k:" + Json{{"type", item["type"]}}.dump()] = std::move(keyed);
    }
  }
  return out;
}

// A LIST page of `count` finished members as kube-apiserver sends it: the manager owns
// metadata and spec, TiDB Operator the status (two managedFields entries).
std::string MemberListText(int count) {
  Json vb = VolumeBackupWith(1);
  Json m = MemberWithSnapshots(vb, 0);
  api::SetCondition(m["status"], api::Condition{"VolumeBackupComplete"}, kNow);
  api::SetCondition(m["status"], api::Condition{"Complete"}, kNow);
  m["status"]["phase"] = "Complete";
  m["status"]["backupPath"] = "s3://bucket/prefix/dp-0";
  m["status"]["commitTs"] = "454545454545454545";
  m["status"]["backupSize"] = 107374182400LL;
  Json owned = {{"metadata", m["metadata"]}, {"spec", m["spec"]}};
  owned["metadata"].erase("resourceVersion");
  const Json managed = Json::array({{{"manager", "br-federation-manager"},
                                     {"operation", "Update"},
                                     {"apiVersion", "pingcap.com/v1alpha1"},
                                     {"time", "2026-12-07T15:45:49Z"},
                                     {"fieldsType", "FieldsV1"},
                                     {"fieldsV1", FieldsV1(owned)}},
                                    {{"manager", "tidb-backup-manager"},
                                     {"operation", "Update"},
                                     {"apiVersion", "pingcap.com/v1alpha1"},
                                     {"time", "2026-12-07T15:45:50Z"},
                                     {"fieldsType", "FieldsV1"},
                                     {"fieldsV1", FieldsV1(Json{{"status", m["status"]}})},
                                     {"subresource", "status"}}});
  Json list = {{"apiVersion", "pingcap.com/v1alpha1"},
               {"kind", "BackupList"},
               {"metadata", {{"resourceVersion", "9000"}, {"continue", "token"}}},
               {"items", Json::array()}};
  for (int i = 0; i < count; ++i) {
    Json item = m;
    item["metadata"]["name"] = "fed-fin-" + std::to_string(i);
    item["metadata"]["managedFields"] = managed;
    list["items"].push_back(std::move(item));
  }
  return DumpJson(list);
}

// Arg 0: the whole page; arg 1: without metadata.managedFields, as the informers ask.
void BM_ParseMemberListPage(benchmark::State& state) {
  const std::string text = MemberListText(500);
  const bool without = state.range(0) == 1;
  for (auto _ : state) {
    Result<Json> parsed =
        without ? ParseJsonWithout(text, "metadata", "managedFields") : ParseJson(text);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.counters["page_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_ParseMemberListPage)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace brfed

BENCHMARK_MAIN();
