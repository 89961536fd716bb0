#include "manager/manager.h"

#include <unistd.h>

#include <random>

#include "core/log.h"
#include "core/version.h"
#include "kube/kubeconfig.h"
#include "kube/rate_limiter.h"
#include "runtime/event_recorder.h"
#include "runtime/http_endpoints.h"
#include "runtime/informer_factory.h"
#include "runtime/leader_election.h"
#include "runtime/metrics.h"
#include "runtime/process_metrics.h"
#include "runtime/status_writer.h"

namespace brfed::manager {
namespace {

constexpr char kComponentName[] = "br-federation-manager";

// hostname_<random>, like client-go's default identity; unique per process.
std::string LeaderIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "unknown");
  std::random_device rd;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x%08x", rd(), rd());
  return std::string(host) + "_" + suffix;
}

// What the API servers' audit logs show for every request of this process.
std::string UserAgent() { return std::string(kComponentName) + "/" + Version(); }

}  // namespace

Manager::Manager(ManagerFlags flags, std::vector<ControllerFactory> controllers)
    : flags_(std::move(flags)), factories_(std::move(controllers)) {}

Manager::~Manager() {
  StopWork();
  if (events_) events_->Stop();
  if (endpoints_) endpoints_->Stop();
}

Status Manager::Init() {
  metrics_ = std::make_unique<runtime::MetricsRegistry>();
  client_metrics_ = runtime::NewClientMetrics(metrics_.get());
  process_metrics_ = std::make_unique<runtime::ProcessMetrics>(metrics_.get());
  leader_status_ = &metrics_->AddGauge(
      "leader_election_master_status",
      "1 while this process is the working leader (or runs without leader election), else 0",
      {"name"});
  leader_status_->WithLabels({flags_.lease_name}).Set(0);

  auto rest = kube::ResolveRestConfig(flags_.kubeconfig, "");
  if (!rest.ok()) return rest.status().Annotate("control-plane kubeconfig");
  rest->qps = flags_.kube_client_qps;
  rest->burst = flags_.kube_client_burst;
  rest->user_agent = UserAgent();
  // The controllers' admission reads this client's bucket (federation::kPauseReserve).
  kube::RestConfig control_rest = *rest;
  control_rest.shared_limiter =
      std::make_shared<kube::RateLimiter>(flags_.kube_client_qps, flags_.kube_client_burst);
  control_plane_limiter_ = control_rest.shared_limiter;
  auto client = kube::NewClient(control_rest, client_metrics_.get());
  if (!client.ok()) return client.status().Annotate("control-plane client");
  control_plane_ = *client;

  // Fail fast on a federation kubeconfig that cannot work at all; later changes that break it
  // keep the last good clusters instead.
  auto federation = kube::Kubeconfig::LoadFile(flags_.federation_kubeconfig_path);
  if (!federation.ok()) return federation.status();

  if (flags_.metrics_addr != "0") {
    endpoints_ = std::make_unique<runtime::HttpEndpoints>(flags_.metrics_addr, metrics_.get(),
                                                          [this] { return Ready(); });
    BRFED_RETURN_IF_ERROR(endpoints_->Start());
    log::Info("serving metrics",
              {{"addr", flags_.metrics_addr}, {"port", std::to_string(endpoints_->port())}});
  }
  // Events get their own client, hence their own rate limiter (as client-go's broadcaster
  // does): ~5 Events per VolumeBackup must not take the tokens of the controllers' writes.
  auto events_client = kube::NewClient(*rest, client_metrics_.get());
  if (!events_client.ok()) return events_client.status().Annotate("control-plane events client");
  events_ = std::make_unique<runtime::EventRecorder>(*events_client, kComponentName);
  // Status writes get their own client too: the control-plane writes a pause waits for (the
  // finalizer, and the informers' lists) never queue behind status, nor status behind Events.
  // Their token bucket is the StatusWriter's, which lets a VolumeBackup pass book a token
  // instead of blocking a worker for it; the client itself is unlimited.
  kube::RestConfig status_rest = *rest;
  status_rest.qps = 0;
  auto status_client = kube::NewClient(status_rest, client_metrics_.get());
  if (!status_client.ok()) return status_client.status().Annotate("control-plane status client");
  status_client_ = *status_client;
  if (flags_.leader_elect) {
    runtime::LeaderElector::Config config;
    config.ns = flags_.ns;
    config.name = flags_.lease_name;
    config.identity = LeaderIdentity();
    config.lease_duration = flags_.leader_lease_duration;
    config.renew_deadline = flags_.leader_renew_deadline;
    config.retry_period = flags_.leader_retry_period;
    log::Info("campaigning for leadership",
              {{"lease", flags_.ns + "/" + flags_.lease_name}, {"identity", config.identity}});
    elector_ = std::make_unique<runtime::LeaderElector>(control_plane_, config);
  }
  return Status::Ok();
}

Status Manager::StartWork() {
  std::lock_guard<std::mutex> lock(work_mu_);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_requested_ || !fatal_.ok()) return Status::Ok();
  }
  ClusterHandlesOptions options;
  options.kubeconfig_path = flags_.federation_kubeconfig_path;
  options.qps = flags_.kube_client_qps;
  options.burst = flags_.kube_client_burst;
  options.poll_interval = flags_.kubeconfig_poll_interval;
  options.probe_interval = flags_.probe_interval;
  options.unreachable_after = flags_.unreachable_after;
  options.metrics = metrics_.get();
  options.client_metrics = client_metrics_.get();
  kube::ClientMetrics* client_metrics = client_metrics_.get();
  // The prober's own client: one short attempt per probe, so a frozen server is noticed soon.
  const auto probe_timeout = flags_.probe_timeout;
  clusters_ = std::make_unique<ClusterHandles>(
      options,
      [client_metrics](kube::RestConfig config) {
        config.user_agent = UserAgent();
        return kube::NewClient(config, client_metrics);
      },
      [probe_timeout](kube::RestConfig config) {
        config.user_agent = UserAgent();
        config.timeout = probe_timeout;
        config.max_retries = 0;
        return kube::NewClient(config);
      });

  // Upstream's -cluster-scoped=false: the federation kinds of $NAMESPACE only.
  runtime::InformerOptions informer_defaults;
  informer_defaults.ns = flags_.cluster_scoped ? "" : flags_.ns;
  informers_ = std::make_unique<runtime::SharedInformerFactory>(control_plane_, informer_defaults);
  status_writer_ = std::make_unique<runtime::StatusWriter>(
      status_client_,
      std::make_unique<kube::RateLimiter>(flags_.kube_client_qps, flags_.kube_client_burst));

  federation::ControllerDeps deps;
  deps.control_plane = control_plane_;
  deps.control_plane_limiter = control_plane_limiter_;
  deps.informers = informers_.get();
  deps.status_writer = status_writer_.get();
  deps.data_planes = clusters_.get();
  deps.events = events_.get();
  deps.metrics = metrics_.get();
  deps.workers = flags_.workers;
  deps.gc_pause_budget = flags_.gc_pause_budget;
  deps.resync = std::chrono::duration_cast<std::chrono::seconds>(flags_.resync_duration);
  if (deps.resync.count() < 1) deps.resync = std::chrono::seconds(1);
  for (const auto& factory : factories_) controllers_.push_back(factory(deps));

  BRFED_RETURN_IF_ERROR(clusters_->Start());
  log::Info("data planes loaded", {{"path", flags_.federation_kubeconfig_path},
                                   {"clusters", std::to_string(clusters_->Names().size())}});
  for (auto& controller : controllers_) {
    Status st = controller->Start();
    if (!st.ok()) return st.Annotate("controller " + controller->name());
    log::Info("controller started", {{"controller", controller->name()}});
  }
  working_ = true;
  leader_status_->WithLabels({flags_.lease_name}).Set(1);
  return Status::Ok();
}

bool Manager::Ready() const { return working_.load() || campaigning_.load(); }

void Manager::StopWork() {
  working_ = false;
  if (leader_status_ != nullptr) leader_status_->WithLabels({flags_.lease_name}).Set(0);
  std::lock_guard<std::mutex> lock(work_mu_);
  // A worker or informer waiting on a hung exec plugin would hold the joins below for up to
  // kube::kExecTimeout.
  if (clusters_) clusters_->CancelPluginRuns();
  for (auto it = controllers_.rbegin(); it != controllers_.rend(); ++it) (*it)->Stop();
  if (informers_) informers_->Stop();  // their handlers point into the controllers
  if (clusters_) clusters_->Stop();
  controllers_.clear();
  informers_.reset();
  status_writer_.reset();
  clusters_.reset();
}

void Manager::Fail(Status status) {
  log::Error("fatal", {{"error", status.ToString()}});
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fatal_.ok()) fatal_ = std::move(status);
  }
  cv_.notify_all();
  campaigning_ = false;
  if (elector_) elector_->Stop();
}

void Manager::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
  }
  campaigning_ = false;
  cv_.notify_all();
  if (elector_) elector_->Stop();
}

Status Manager::Run() {
  BRFED_RETURN_IF_ERROR(Init());
  auto finished = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return fatal_;
  };
  if (!flags_.leader_elect) {
    Status st = StartWork();
    if (!st.ok()) {
      StopWork();
      return st;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stop_requested_ || !fatal_.ok(); });
    lock.unlock();
    StopWork();
    return finished();
  }
  bool lost = false;
  campaigning_ = true;
  Status run = elector_->Run(
      [this] {
        campaigning_ = false;  // not ready until the controllers run
        log::Info("became leader; starting controllers");
        Status st = StartWork();
        if (!st.ok()) Fail(st);
      },
      [this, &lost] {
        {
          std::lock_guard<std::mutex> lock(mu_);
          lost = !stop_requested_ && fatal_.ok();
          // Keeps a StartWork that has not begun yet from starting anything.
          stop_requested_ = true;
        }
        log::Info("leadership ended; stopping controllers");
        StopWork();
      });
  StopWork();
  if (!run.ok()) return run;
  Status fatal = finished();
  if (!fatal.ok()) return fatal;
  if (lost) return UnavailableError("leader election lost; exiting so a restart campaigns again");
  return Status::Ok();
}

}  // namespace brfed::manager
