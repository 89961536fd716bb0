#include "tests/chaos/chaos_run.h"

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "api/conditions.h"
#include "api/labels.h"
#include "api/volume_backup.h"
#include "kube/client.h"
#include "kube/resource.h"
#include "sim/audit.h"
#include "tests/chaos/chaos_checks.h"
#include "tests/harness/federation_env.h"
#include "tests/harness/harness.h"
#include "tests/harness/kube_clients.h"

namespace brfed::chaos {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::WaitFor;

const std::string kNs = "default";
const std::string kSource = "source";  // the backup every restore reads
// How long after its data plane's API server resumed a pause held there may still last: the
// slack the default bound allows past the init job's deadline (RunChaos).
constexpr std::chrono::seconds kPauseSlackAfterThaw{5};

// Now on the steady clock, in the nanoseconds of the simulator's audit log (mono_ns).
int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Json Template(const std::string& prefix, int deadline_s) {
  return {{"br", {{"sendCredToTikv", false}}},
          {"cleanPolicy", "Delete"},
          {"volumeBackupInitJobMaxActiveSeconds", deadline_s},
          {"s3", {{"provider", "aws"}, {"bucket", "bk"}, {"prefix", prefix}}}};
}

Json ClusterList(const std::vector<std::string>& clusters, bool restore) {
  Json out = Json::array();
  for (const auto& c : clusters) {
    Json entry = {{"k8sClusterName", c}, {"tcName", "basic"}, {"tcNamespace", "tidb"}};
    if (restore) entry["azName"] = "us-west-2-" + c;
    out.push_back(entry);
  }
  return out;
}

// The federation object a piece of work creates.
Json WorkObject(const Work& w, int deadline_s) {
  Json meta = {{"name", w.name}, {"namespace", kNs}};
  switch (w.kind) {
    case WorkKind::kBackup:
      return {{"apiVersion", "federation.pingcap.com/v1alpha1"},
              {"kind", "VolumeBackup"},
              {"metadata", meta},
              {"spec",
               {{"clusters", ClusterList(w.clusters, false)},
                {"template", Template(w.name, deadline_s)}}}};
    case WorkKind::kRestore:
      return {{"apiVersion", "federation.pingcap.com/v1alpha1"},
              {"kind", "VolumeRestore"},
              {"metadata", meta},
              {"spec",
               {{"volumeBackupName", kSource},
                {"clusters", ClusterList(w.clusters, true)},
                {"template", {{"br", {{"sendCredToTikv", false}}}}}}}};
    case WorkKind::kSchedule:
      return {{"apiVersion", "federation.pingcap.com/v1alpha1"},
              {"kind", "VolumeBackupSchedule"},
              {"metadata", meta},
              {"spec",
               {{"schedule", "@every 2s"},
                {"maxBackups", 2},
                {"backupTemplate",
                 {{"clusters", ClusterList(w.clusters, false)},
                  {"template", Template(w.name, deadline_s)}}}}}};
  }
  return Json();
}

const kube::Resource& ResourceOf(WorkKind kind) {
  switch (kind) {
    case WorkKind::kBackup:
      return kube::resources::VolumeBackup();
    case WorkKind::kRestore:
      return kube::resources::VolumeRestore();
    case WorkKind::kSchedule:
      break;
  }
  return kube::resources::VolumeBackupSchedule();
}

// Retries `op` (the API servers may be failing on purpose) until it succeeds or `deadline`.
Status Retrying(const std::function<Status()>& op, std::chrono::milliseconds deadline = 60s) {
  Status last;
  WaitFor(
      [&] {
        last = op();
        return last.ok();
      },
      deadline);
  return last;
}

// The parts of a simulator fault spec that DELETE /faults takes.
std::string SimFaultQuery(const std::string& spec) {
  const std::string head = spec.substr(0, spec.find(','));
  const size_t at = head.find('@');
  const size_t slash = head.find('/');
  std::string q = "kind=" + head.substr(0, at);
  if (at != std::string::npos) {
    q += "&cluster=" +
         head.substr(at + 1, slash == std::string::npos ? std::string::npos : slash - at - 1);
  }
  if (slash != std::string::npos) q += "&name=" + head.substr(slash + 1);
  return q;
}

std::string Garbage(const std::string& kind, uint64_t seed) {
  if (kind == "empty") return "";
  if (kind == "yaml") return "apiVersion: v1\nclusters: [[[\n  - : : {\ncontexts: 7\n";
  std::mt19937_64 bytes(seed);
  std::string out(512, '\0');
  for (char& c : out) c = static_cast<char>(bytes() & 0xff);
  return out;
}

class Run {
 public:
  Run(const RunConfig& config, const ChaosSchedule& schedule)
      : config_(config), schedule_(schedule) {}

  // Plays the run and fills `result` (violations, faults by kind, objects, longest pause).
  void Execute(RunResult& result) {
    Play(result);
    // A run that found something keeps its directory (every process log and audit log).
    if (!violations_.empty() && env_ != nullptr) env_->KeepDirectory();
    result.violations = violations_;
    result.faults_by_kind = faults_by_kind_;
    result.objects = objects_;
    result.held_by_clean_failed = held_by_clean_failed_;
    result.budget_failures = budget_failures_;
  }

 private:
  void Play(RunResult& result);
  Status Setup();
  void PlayTimeline();
  void StartFault(const Fault& f);
  void EndFault(const Fault& f);
  void EndEverything();
  // SIGSTOP / SIGCONT of a data plane's API server, with the span the pause check allows for.
  void Freeze(const std::string& server);
  void Thaw(const std::string& server);
  Status PostRules(const std::string& server);
  // The simulator's admin requests run beside the timeline, so that none can hold up the
  // SIGCONT of a frozen data plane (the simulator once blocked everywhere on one frozen data
  // plane; docs/testing.md#chaos). `expect` is the status that counts as done (0 = any).
  void SimAdmin(const std::string& method, const std::string& path, const std::string& body,
                long expect);
  void JoinSimAdmin();
  void RestartManager();
  // The manager's flags: the harness's, plus --gc-pause-budget when the run sets one.
  std::vector<std::string> ManagerFlags() const;
  void CheckManagerAlive(const std::string& when);
  void AwaitManagerStartSettled();
  // Whether the manager that exited read a garbage federation kubeconfig at its start (the
  // documented exit 1): garbage was in force when it started, or written since.
  bool ExitedOnGarbageKubeconfig(int exit_code) const;
  void Settle();
  void CheckMembers();
  void DeleteEverything();
  void Violation(const std::string& what) {
    // A check that polls reports the same problem once.
    if (std::find(violations_.begin(), violations_.end(), what) != violations_.end()) return;
    std::cerr << "chaos seed " << config_.seed << " VIOLATION " << what << "\n";
    violations_.push_back(what);
  }
  std::vector<std::string> FederationNames(const kube::Resource& r);
  int DataPlaneMembers(const std::string& cluster, const kube::Resource& r,
                       const std::string& selector);
  // The members `selector` finds in `cluster`, each with its phase and whether it is being
  // deleted ("" = none), for a violation message that says which ones.
  std::string DescribeMembers(const std::string& cluster, const kube::Resource& r,
                              const std::string& selector);
  // Every line of every manager log of the run that names one of `names`, for a leftover
  // member's story (the members' VolumeBackups are gone by then).
  void PrintManagerLogLines(const std::set<std::string>& names);

  const RunConfig& config_;
  const ChaosSchedule& schedule_;
  std::unique_ptr<testing::FederationEnv> env_;
  std::unique_ptr<testing::ManagerProcess> manager_;
  int manager_starts_ = 0;
  std::vector<std::string> manager_logs_;  // every started manager's log, in order
  std::shared_ptr<kube::Client> cp_;
  std::map<std::string, std::shared_ptr<kube::Client>> dp_;
  int garbage_ = 0;                          // garbage kubeconfigs in force
  int garbage_writes_ = 0;                   // garbage kubeconfigs written so far
  int garbage_writes_at_manager_start_ = 0;  // garbage_writes_ when manager_ started
  std::map<std::string, int> frozen_;        // server -> freezes in force
  // server -> when it was stopped (the last span is open while it is)
  std::map<std::string, std::vector<FrozenSpan>> frozen_spans_;
  std::map<std::string, std::map<int, Json>> rules_;  // server -> fault index -> rule
  std::vector<std::string> violations_;
  std::map<std::string, int> faults_by_kind_;
  std::vector<std::future<std::string>> sim_admin_;  // "" = done, else what went wrong
  int objects_ = 0;
  int held_by_clean_failed_ = 0;
  int budget_failures_ = 0;
};

Status Run::Setup() {
  testing::FederationEnvOptions options;
  options.ns = kNs;
  options.data_planes = config_.params.data_planes;
  options.persistent = true;
  options.brfed_apiserver_args = {"--enable-fault-injection"};
  std::ostringstream speed;
  speed << config_.sim_speed;
  options.sim_args = {
      "--speed",     speed.str(), "--tikv-per-cluster", "1", "--volumes-per-store", "1",
      "--log-level", "warn"};
  BRFED_ASSIGN_OR_RETURN(env_, testing::FederationEnv::Start(options));
  BRFED_ASSIGN_OR_RETURN(cp_, testing::KubeClientFor(env_->control_plane().kubeconfig));
  for (const auto& c : options.data_planes) {
    BRFED_ASSIGN_OR_RETURN(dp_[c], testing::KubeClientFor(env_->data_plane(c).kubeconfig));
  }
  if (!WaitFor([&] { return env_->RememberTidbClusters().ok(); }, 60s)) {
    return env_->RememberTidbClusters();
  }
  BRFED_ASSIGN_OR_RETURN(manager_, env_->StartManager("manager-0", ManagerFlags()));
  manager_logs_.push_back(manager_->log);
  bool restores = false;
  for (const Work& w : schedule_.work) restores = restores || w.kind == WorkKind::kRestore;
  if (!restores) return Status::Ok();
  // Restores read one backup taken before any fault, into TidbClusters in recovery mode.
  // It runs before any fault, so a tight manager budget (gc_pause_budget) is not for it.
  Work source{0, WorkKind::kBackup, kSource, config_.params.data_planes, -1};
  Json source_object = WorkObject(source, config_.init_job_deadline_s);
  source_object["metadata"]["annotations"][std::string(api::kGcPauseBudgetAnnotation)] = "5m";
  BRFED_RETURN_IF_ERROR(cp_->Create(ResourceOf(WorkKind::kBackup), kNs, source_object).status());
  std::string phase;
  WaitFor(
      [&] {
        auto vb = cp_->Get(kube::resources::VolumeBackup(), kNs, kSource);
        phase = vb.ok() ? JsonStringAt(*vb, {"status", "phase"}) : "";
        return IsTerminalPhase(phase);
      },
      120s);
  if (phase != "Complete") return UnavailableError("the source backup ended " + phase);
  return env_->PrepareRestoreTargets(config_.params.data_planes);
}

std::vector<std::string> Run::ManagerFlags() const {
  std::vector<std::string> flags = {"--leader-elect=false"};
  if (config_.gc_pause_budget.count() > 0) {
    flags.push_back("--gc-pause-budget=" + std::to_string(config_.gc_pause_budget.count()) + "ms");
  }
  return flags;
}

void Run::RestartManager() {
  if (manager_ != nullptr) {
    manager_->process->Kill();
    (void)manager_->process->Wait(10s);
    manager_.reset();
  }
  const int garbage_writes = garbage_ > 0 ? garbage_writes_ - 1 : garbage_writes_;
  auto m = env_->StartManager("manager-" + std::to_string(++manager_starts_), ManagerFlags());
  if (m.ok()) {
    manager_ = std::move(*m);
    manager_logs_.push_back(manager_->log);
    garbage_writes_at_manager_start_ = garbage_writes;
    return;
  }
  if (garbage_ > 0) {
    // Documented (docs/manager.md): a federation kubeconfig that cannot be loaded at start
    // exits 1. Kubernetes would restart the Pod until the file is repaired; so does the run.
    ++faults_by_kind_["manager-start-deferred"];
    return;
  }
  Violation("the manager did not start again: " + m.status().ToString());
}

bool Run::ExitedOnGarbageKubeconfig(int exit_code) const {
  return exit_code == 1 && garbage_writes_ > garbage_writes_at_manager_start_ &&
         manager_->Log().find("br-federation-manager: InvalidArgument: kubeconfig " +
                              env_->federation_kubeconfig()) != std::string::npos;
}

// A manager started before a garbage kubeconfig write reads the file only after it serves
// metrics, so it may still be on its way to the documented exit 1 when the timeline ends:
// wait until it is ready or has exited before the last check judges it (kube seed 46013: a
// late timeline ran its last checks within 20 ms of that start, so nothing restarted the
// manager for the settle and every object waited 240 s).
void Run::AwaitManagerStartSettled() {
  if (manager_ == nullptr || garbage_writes_ <= garbage_writes_at_manager_start_) return;
  WaitFor([&] { return !manager_->process->Running() || manager_->Ready(); }, 30s);
}

void Run::CheckManagerAlive(const std::string& when) {
  if (manager_ == nullptr || manager_->process->Running()) return;
  auto code = manager_->process->Wait(1s);
  if (code.ok() && ExitedOnGarbageKubeconfig(*code)) {
    // It served metrics (so it had started) but read the federation kubeconfig only after a
    // garbage write: the documented exit 1 at start, as in RestartManager (seed 2007 on kube).
    ++faults_by_kind_["manager-start-deferred"];
    manager_.reset();
    if (garbage_ == 0) RestartManager();  // else at the repair
    return;
  }
  Violation(
      "the manager exited by itself (" + when + ", exit " +
      (code.ok() ? std::to_string(*code) : "?") + "); log tail: " +
      manager_->Log().substr(manager_->Log().size() > 2000 ? manager_->Log().size() - 2000 : 0));
  RestartManager();  // the rest of the run still tells something
}

Status Run::PostRules(const std::string& server) {
  Json rules = Json::array();
  for (const auto& [index, rule] : rules_[server]) rules.push_back(rule);
  testing::HttpClient c = env_->api_server(server).Client();
  auto r = c.Request(rules.empty() ? "DELETE" : "POST", "/admin/faults",
                     rules.empty() ? "" : DumpJson(Json{{"rules", rules}}), "application/json",
                     "application/json", 5s);
  if (r.status != 200)
    return UnavailableError("admin/faults on " + server + ": " + r.body + r.error);
  return Status::Ok();
}

void Run::SimAdmin(const std::string& method, const std::string& path, const std::string& body,
                   long expect) {
  const testing::HttpClient* admin = &env_->sim_admin();
  const auto timeout = std::chrono::milliseconds(config_.params.freeze_max_ms) + 60s;
  sim_admin_.push_back(std::async(std::launch::async, [=] {
    auto r = admin->Request(method, path, body, "application/json", "application/json", timeout);
    if (r.status == expect) return std::string();
    return "simulator admin " + method + " " + path + " " + body + ": " + std::to_string(r.status) +
           " " + r.body + r.error;
  }));
}

void Run::JoinSimAdmin() {
  for (auto& pending : sim_admin_) {
    if (std::string error = pending.get(); !error.empty()) Violation(error);
  }
  sim_admin_.clear();
}

// The kinds that need the admin endpoint of their target API server.
bool NeedsAdmin(FaultKind kind) {
  return kind == FaultKind::kApiServerErrors || kind == FaultKind::kApiServerThrottle ||
         kind == FaultKind::kApiServerSlow || kind == FaultKind::kDropWatches ||
         kind == FaultKind::kExpireWatches;
}

void Run::StartFault(const Fault& f) {
  if (NeedsAdmin(f.kind) && frozen_[f.target] > 0) {
    // A stopped server cannot answer its admin endpoint; waiting would hold up the SIGCONT.
    ++faults_by_kind_[std::string("skipped-frozen:") + FaultKindName(f.kind)];
    return;
  }
  ++faults_by_kind_[FaultKindName(f.kind)];
  const int index = static_cast<int>(&f - schedule_.faults.data());
  Status st;
  switch (f.kind) {
    case FaultKind::kKillManager:
      RestartManager();
      break;
    case FaultKind::kFreezeApiServer:
      if (frozen_[f.target]++ == 0) Freeze(f.target);
      break;
    case FaultKind::kKillApiServer:
    case FaultKind::kEmptyApiServer:
      st = env_->RestartApiServer(f.target, f.kind == FaultKind::kKillApiServer);
      if (frozen_[f.target] > 0) {  // a new process, not stopped
        frozen_[f.target] = 0;
        frozen_spans_[f.target].back().to_ns = SteadyNs();
      }
      // find, not []: an entry makes EndEverything post rules, which only brfed-apiserver takes
      // (a kube-apiserver would be retried for 30 s).
      if (auto r = rules_.find(f.target); st.ok() && r != rules_.end() && !r->second.empty()) {
        st = PostRules(f.target);
      }
      break;
    case FaultKind::kApiServerErrors:
    case FaultKind::kApiServerThrottle:
      rules_[f.target][index] = {{"failFraction", std::stod(f.detail)},
                                 {"failCode", f.kind == FaultKind::kApiServerErrors ? 500 : 429},
                                 {"retryAfterSeconds", 1}};
      st = PostRules(f.target);
      break;
    case FaultKind::kApiServerSlow:
      rules_[f.target][index] = {{"latencyMs", std::stoi(f.detail)}};
      st = PostRules(f.target);
      break;
    case FaultKind::kDropWatches:
    case FaultKind::kExpireWatches: {
      const char* path = f.kind == FaultKind::kDropWatches ? "/admin/faults/drop-watches"
                                                           : "/admin/faults/expire-watches";
      auto r = env_->api_server(f.target).Client().Request("POST", path, "", "application/json",
                                                           "application/json", 5s);
      if (r.status != 200) st = UnavailableError(std::string(path) + ": " + r.body + r.error);
      break;
    }
    case FaultKind::kSimFault: {
      SimAdmin("POST", "/faults", DumpJson(Json{{"fault", f.detail}}), 201);
      break;
    }
    case FaultKind::kGarbageKubeconfig: {
      ++garbage_;
      ++garbage_writes_;
      std::ofstream(env_->federation_kubeconfig() + ".tmp", std::ios::binary)
          << Garbage(f.detail, schedule_.seed);
      std::rename((env_->federation_kubeconfig() + ".tmp").c_str(),
                  env_->federation_kubeconfig().c_str());
      break;
    }
  }
  // A frozen server cannot take admin requests: that is the run's own doing, not a finding.
  if (!st.ok() && frozen_[f.target] == 0) {
    Violation(std::string("could not inject ") + FaultKindName(f.kind) + ": " + st.ToString());
  }
}

void Run::EndFault(const Fault& f) {
  const int index = static_cast<int>(&f - schedule_.faults.data());
  switch (f.kind) {
    case FaultKind::kFreezeApiServer:
      if (frozen_[f.target] > 0 && --frozen_[f.target] == 0) {
        Thaw(f.target);
        if (env_->api_server(f.target).backend == testing::Backend::kBrfedApiServer) {
          (void)PostRules(f.target);  // the rules that ended while it was stopped
        }
      }
      break;
    case FaultKind::kApiServerErrors:
    case FaultKind::kApiServerThrottle:
    case FaultKind::kApiServerSlow:
      rules_[f.target].erase(index);
      if (frozen_[f.target] == 0) (void)PostRules(f.target);
      break;
    case FaultKind::kSimFault:
      SimAdmin("DELETE", "/faults?" + SimFaultQuery(f.detail), "", 200);
      break;
    case FaultKind::kGarbageKubeconfig:
      if (--garbage_ > 0) break;  // another garbage write is still in force
      if (Status st = env_->WriteFederationKubeconfig(config_.params.data_planes); !st.ok()) {
        Violation("could not repair the federation kubeconfig: " + st.ToString());
      }
      if (manager_ == nullptr) RestartManager();
      break;
    default:
      break;
  }
}

void Run::Freeze(const std::string& server) {
  env_->api_server(server).process->Signal(SIGSTOP);
  frozen_spans_[server].push_back({SteadyNs(), std::numeric_limits<int64_t>::max()});
}

void Run::Thaw(const std::string& server) {
  env_->api_server(server).process->Signal(SIGCONT);
  frozen_spans_[server].back().to_ns = SteadyNs();
}

void Run::EndEverything() {
  for (auto& [server, count] : frozen_) {
    if (count > 0) Thaw(server);
    count = 0;
  }
  for (auto& [server, rules] : rules_) {
    rules.clear();
    (void)Retrying([&] { return PostRules(server); }, 30s);
  }
  JoinSimAdmin();
  SimAdmin("DELETE", "/faults", "", 200);
  JoinSimAdmin();
  garbage_ = 0;
  if (Status st = env_->WriteFederationKubeconfig(config_.params.data_planes); !st.ok()) {
    Violation("could not repair the federation kubeconfig: " + st.ToString());
  }
  if (manager_ == nullptr) RestartManager();
}

void Run::PlayTimeline() {
  struct Action {
    int64_t at_ms;
    std::string what;
    std::function<void()> act;
  };
  std::vector<Action> actions;
  for (const Work& w : schedule_.work) {
    actions.push_back({w.at_ms, "create " + w.name, [this, &w] {
                         Status st = Retrying([&] {
                           auto r = cp_->Create(ResourceOf(w.kind), kNs,
                                                WorkObject(w, config_.init_job_deadline_s));
                           return r.ok() || r.status().code() == Code::kAlreadyExists ? Status::Ok()
                                                                                      : r.status();
                         });
                         if (!st.ok())
                           Violation("could not create " + w.name + ": " + st.ToString());
                       }});
    if (w.delete_at_ms >= 0) {
      actions.push_back({w.delete_at_ms, "delete " + w.name, [this, &w] {
                           Status st = Retrying([&] {
                             Status d = cp_->Delete(ResourceOf(w.kind), kNs, w.name);
                             return d.code() == Code::kNotFound ? Status::Ok() : d;
                           });
                           if (!st.ok())
                             Violation("could not delete " + w.name + ": " + st.ToString());
                         }});
    }
  }
  for (const Fault& f : schedule_.faults) {
    const std::string fault = std::string(FaultKindName(f.kind)) + " " + f.target;
    actions.push_back({f.at_ms, "start " + fault, [this, &f] { StartFault(f); }});
    if (f.duration_ms > 0) {
      actions.push_back({f.at_ms + f.duration_ms, "end " + fault, [this, &f] { EndFault(f); }});
    }
  }
  std::stable_sort(actions.begin(), actions.end(),
                   [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  const auto start = Clock::now();
  for (const Action& a : actions) {
    // Not a synchronisation: the schedule's instants (late when an action before took long).
    std::this_thread::sleep_until(start + std::chrono::milliseconds(a.at_ms));
    CheckManagerAlive("at +" + std::to_string(a.at_ms) + "ms");
    const auto acted = Clock::now();
    a.act();
    // Later actions run late by this much: worth a line when it is long.
    if (const auto took = Clock::now() - acted; took > 2s) {
      std::cerr << "  " << a.what << " (+" << a.at_ms << "ms) took "
                << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << "ms\n";
    }
  }
  const auto ending = Clock::now();
  EndEverything();
  if (const auto took = Clock::now() - ending; took > 2s) {
    std::cerr << "  ending every fault took "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << "ms\n";
  }
  AwaitManagerStartSettled();
  CheckManagerAlive("after the faults");
}

std::vector<std::string> Run::FederationNames(const kube::Resource& r) {
  std::vector<std::string> names;
  auto list = cp_->List(r, kNs);
  if (!list.ok()) {
    Violation("cannot list " + std::string(r.plural) + ": " + list.status().ToString());
    return names;
  }
  for (const Json& item : (*list)["items"])
    names.push_back(JsonStringAt(item, {"metadata", "name"}));
  return names;
}

int Run::DataPlaneMembers(const std::string& cluster, const kube::Resource& r,
                          const std::string& selector) {
  kube::ListOptions lo;
  lo.label_selector = selector;
  auto list = dp_.at(cluster)->List(r, "", lo);
  if (!list.ok()) return -1;
  return static_cast<int>((*list)["items"].size());
}

std::string Run::DescribeMembers(const std::string& cluster, const kube::Resource& r,
                                 const std::string& selector) {
  kube::ListOptions lo;
  lo.label_selector = selector;
  auto list = dp_.at(cluster)->List(r, "", lo);
  if (!list.ok()) return "cannot list " + r.plural + ": " + list.status().ToString();
  std::string out;
  for (const Json& m : (*list)["items"]) {
    const Json* finalizers = JsonAt(m, {"metadata", "finalizers"});
    out += (out.empty() ? "" : ", ") + JsonStringAt(m, {"metadata", "name"}) + " (phase " +
           JsonStringAt(m, {"status", "phase"}) +
           (JsonAt(m, {"metadata", "deletionTimestamp"}) ? ", deleting" : "") + ", created " +
           JsonStringAt(m, {"metadata", "creationTimestamp"}) + ", owner-uid " +
           JsonStringAt(m, {"metadata", "annotations", "federation.pingcap.com/owner-uid"}) +
           ", finalizers " + (finalizers != nullptr ? DumpJson(*finalizers) : "[]") + ")";
  }
  return out;
}

void Run::PrintManagerLogLines(const std::set<std::string>& names) {
  for (const std::string& path : manager_logs_) {
    std::istringstream lines(testing::ReadFile(path));
    for (std::string line; std::getline(lines, line);) {
      for (const std::string& name : names) {
        if (line.find(name) == std::string::npos) continue;
        std::cerr << "chaos seed " << config_.seed << " " << path << ": " << line << "\n";
        break;
      }
    }
  }
}

void Run::Settle() {
  // No new backups from the schedules: what exists has to settle.
  for (const auto& name : FederationNames(kube::resources::VolumeBackupSchedule())) {
    (void)Retrying([&] {
      return cp_
          ->Patch(kube::resources::VolumeBackupSchedule(), kNs, name, kube::PatchType::kMerge,
                  Json{{"spec", {{"pause", true}}}})
          .status();
    });
  }
  std::map<std::string, Json> open;
  WaitFor(
      [&] {
        open.clear();
        for (const kube::Resource* r :
             {&kube::resources::VolumeBackup(), &kube::resources::VolumeRestore()}) {
          auto list = cp_->List(*r, kNs);
          if (!list.ok()) return false;
          for (const Json& item : (*list)["items"]) {
            if (!IsTerminalPhase(JsonStringAt(item, {"status", "phase"}))) {
              open[std::string(r->kind) + "/" + JsonStringAt(item, {"metadata", "name"})] = item;
            }
          }
        }
        return open.empty();
      },
      config_.settle);
  for (const auto& [key, obj] : open) {
    if (!TerminalOrExplained(obj)) {
      Violation(key + " is neither terminal nor retrying with a stated cause after " +
                std::to_string(config_.settle.count() / 1000) +
                " s: " + DumpJson(obj.value("status", Json())).substr(0, 1500));
    }
  }
}

void Run::CheckMembers() {
  struct Kind {
    const kube::Resource* federation;
    const kube::Resource* member;
    std::string label;
    const char* status_list;
  };
  const Kind kinds[] = {
      {&kube::resources::VolumeBackup(), &kube::resources::Backup(),
       "federation.pingcap.com/volume-backup", "backups"},
      {&kube::resources::VolumeRestore(), &kube::resources::Restore(),
       "federation.pingcap.com/volume-restore", "restores"},
  };
  // The simulator's audit check lets some snapshots outside a backup's pause pass when a member
  // vanished with its data plane's data, on the condition checked here: such a backup never
  // completes.
  const std::map<std::string, std::string> must_not_complete =
      sim::BackupsThatMustNotComplete(testing::ReadFile(env_->audit_log()));
  for (const Kind& k : kinds) {
    auto list = cp_->List(*k.federation, kNs);
    if (!list.ok()) continue;
    for (const Json& obj : (*list)["items"]) {
      ++objects_;
      if (api::ConditionReason(obj.value("status", Json()), "Failed") == "PauseBudgetExceeded") {
        ++budget_failures_;
      }
      const std::string name = JsonStringAt(obj, {"metadata", "name"});
      if (auto loss = must_not_complete.find(api::MemberName(name));
          k.federation == &kube::resources::VolumeBackup() && loss != must_not_complete.end() &&
          JsonStringAt(obj, {"status", "phase"}) == "Complete") {
        Violation(name + " is Complete although " + loss->second);
      }
      std::set<std::string> listed;
      if (const Json* members = JsonAt(obj, {"status", k.status_list});
          members && members->is_array()) {
        for (const Json& m : *members) {
          if (!listed.insert(JsonStringAt(m, {"k8sClusterName"})).second) {
            Violation(name + " lists cluster " + JsonStringAt(m, {"k8sClusterName"}) + " twice");
          }
        }
      }
      for (const auto& c : config_.params.data_planes) {
        int n = DataPlaneMembers(c, *k.member, k.label + "=" + name);
        if (n > 1) Violation(name + " has " + std::to_string(n) + " members in " + c);
      }
    }
  }
}

void Run::DeleteEverything() {
  for (const kube::Resource* r :
       {&kube::resources::VolumeBackupSchedule(), &kube::resources::VolumeBackup(),
        &kube::resources::VolumeRestore()}) {
    for (const auto& name : FederationNames(*r)) {
      (void)Retrying([&] {
        Status d = cp_->Delete(*r, kNs, name);
        return d.code() == Code::kNotFound ? Status::Ok() : d;
      });
    }
  }
  // A VolumeBackup held by a member whose clean failed (the simulator's clean-fail stays
  // failed, as upstream's CleanFailed does) is explained when its condition says so: it and its
  // members may stay. Anything else left is a violation.
  std::set<std::string> clean_failed;
  auto left = [&] {
    std::vector<std::string> out;
    clean_failed.clear();
    if (auto list = cp_->List(kube::resources::VolumeBackup(), kNs); list.ok()) {
      for (const Json& vb : (*list)["items"]) {
        const Json* c = testing::TrueCondition(vb, "CleanFailed");
        if (c != nullptr && !JsonStringAt(*c, {"message"}).empty()) {
          clean_failed.insert(JsonStringAt(vb, {"metadata", "name"}));
        }
      }
    }
    for (const kube::Resource* r :
         {&kube::resources::VolumeBackupSchedule(), &kube::resources::VolumeBackup(),
          &kube::resources::VolumeRestore()}) {
      for (const auto& name : FederationNames(*r)) {
        if (r == &kube::resources::VolumeBackup() && clean_failed.count(name)) continue;
        out.push_back(std::string(r->kind) + "/" + name);
      }
    }
    std::string backup_selector = "federation.pingcap.com/volume-backup";
    if (!clean_failed.empty()) {
      std::string names;
      for (const auto& n : clean_failed) names += (names.empty() ? "" : ",") + n;
      backup_selector += ",federation.pingcap.com/volume-backup notin (" + names + ")";
    }
    for (const auto& c : config_.params.data_planes) {
      if (auto m = DescribeMembers(c, kube::resources::Backup(), backup_selector); !m.empty()) {
        out.push_back(c + ": Backup members " + m);
      }
      if (auto m = DescribeMembers(c, kube::resources::Restore(),
                                   "federation.pingcap.com/volume-restore");
          !m.empty()) {
        out.push_back(c + ": Restore members " + m);
      }
    }
    return out;
  };
  std::vector<std::string> remaining;
  WaitFor(
      [&] {
        remaining = left();
        return remaining.empty();
      },
      120s);
  for (const auto& what : remaining) Violation("left after deleting everything: " + what);
  if (!remaining.empty()) {
    std::set<std::string> owners;  // the VolumeBackups and VolumeRestores of what is left
    for (const auto& c : config_.params.data_planes) {
      for (const auto& [r, label] :
           {std::pair{&kube::resources::Backup(), "federation.pingcap.com/volume-backup"},
            std::pair{&kube::resources::Restore(), "federation.pingcap.com/volume-restore"}}) {
        kube::ListOptions lo;
        lo.label_selector = label;
        if (auto list = dp_.at(c)->List(*r, "", lo); list.ok()) {
          for (const Json& m : (*list)["items"]) {
            owners.insert(JsonStringAt(m, {"metadata", "labels", label}));
          }
        }
      }
    }
    PrintManagerLogLines(owners);
  }
  held_by_clean_failed_ = static_cast<int>(clean_failed.size());
}

void Run::Play(RunResult& result) {
  auto phase_started = Clock::now();
  auto phase_done = [&](const char* phase) {
    const auto now = Clock::now();
    result.phase_s[phase] = std::chrono::duration<double>(now - phase_started).count();
    phase_started = now;
  };
  Status setup = Setup();
  phase_done("setup");
  if (!setup.ok()) {
    Violation("setup: " + setup.ToString());
    return;
  }
  PlayTimeline();
  phase_done("timeline");
  Settle();
  phase_done("settle");
  CheckMembers();
  phase_done("check");
  DeleteEverything();
  phase_done("deleteAll");
  CheckManagerAlive("at the end");
  if (manager_ != nullptr && !WaitFor([&] { return manager_->Ready(); }, 30s)) {
    Violation("the manager does not serve /readyz at the end");
  }
  auto audit = env_->CheckAuditLog();
  phase_done("audit");
  if (audit.exit_code != 0) Violation("simulator audit: " + audit.out + audit.err);
  const std::string audit_log = testing::ReadFile(env_->audit_log());
  result.longest_pause_s = LongestPauseSeconds(audit_log);
  for (const std::string& over :
       PausesOverBound(audit_log,
                       std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::duration<double>(result.pause_bound_s)),
                       kPauseSlackAfterThaw, frozen_spans_)) {
    Violation(over);
  }
  if (!violations_.empty() && manager_ != nullptr) {
    std::cerr << "chaos seed " << config_.seed << ": manager log tail:\n"
              << manager_->Log().substr(
                     manager_->Log().size() > 4000 ? manager_->Log().size() - 4000 : 0)
              << "\n";
  }
}

}  // namespace

Json RunResult::ToJson() const {
  Json faults = Json::object();
  for (const auto& [kind, n] : faults_by_kind) faults[kind] = n;
  return {{"seed", seed},
          {"backend", backend},
          {"faultsByKind", faults},
          {"violations", violations},
          {"longestPauseSeconds", longest_pause_s},
          {"pauseBoundSeconds", pause_bound_s},
          {"wallSeconds", wall_s},
          {"phaseSeconds", phase_s},
          {"objects", objects},
          {"heldByCleanFailed", held_by_clean_failed},
          {"budgetFailures", budget_failures}};
}

RunResult RunChaos(const RunConfig& config) {
  RunResult result;
  result.seed = config.seed;
  result.backend = testing::BackendName(testing::TestBackend());
  const auto started = Clock::now();
  auto schedule = GenerateSchedule(config.seed, config.params);
  if (!schedule.ok()) {
    result.violations.push_back("bad parameters: " + schedule.status().ToString());
    return result;
  }
  result.schedule = DescribeSchedule(*schedule);
  std::cerr << result.schedule << std::flush;
  result.pause_bound_s = config.pause_bound.count() > 0
                             ? static_cast<double>(config.pause_bound.count()) / 1000
                             : static_cast<double>(config.init_job_deadline_s) / config.sim_speed +
                                   std::chrono::duration<double>(kPauseSlackAfterThaw).count();
  {
    Run run(config, *schedule);
    run.Execute(result);
  }
  result.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::cerr << "chaos seed " << config.seed << ": " << result.violations.size()
            << " violations, longest pause " << result.longest_pause_s << " s (bound "
            << result.pause_bound_s << " s), " << result.wall_s << " s (";
  const char* separator = "";
  for (const auto& [phase, seconds] : result.phase_s) {
    std::cerr << separator << phase << " " << seconds;
    separator = ", ";
  }
  std::cerr << ")\n";
  return result;
}

}  // namespace brfed::chaos
