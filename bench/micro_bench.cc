// Google Benchmark micro-benchmarks of the pure VolumeBackup decision function and of JSON
// decoding of a large data-plane Backup object (issue 10, item 6).
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

}  // namespace
}  // namespace brfed

BENCHMARK_MAIN();
