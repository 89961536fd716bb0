// ClientMetrics: the hooks a Client and the watch machinery report to, per cluster. The kube
// layer cannot depend on the runtime's MetricsRegistry, so this is an interface; the runtime
// provides an implementation (runtime::NewClientMetrics) that exports
// `rest_client_requests_total{cluster,verb,code}`, `rest_client_request_duration_seconds`,
// `watch_restarts_total{cluster,resource}`, `relists_total{cluster,resource}`,
// `exec_credential_refresh_total{cluster,result}` and
// `rest_client_connections_opened_total{cluster}`.
//
// Thread-safety: implementations must be safe for concurrent use; they are called from request
// threads. Callers pass a non-owning pointer that must outlive every Client using it.
#ifndef BRFED_KUBE_CLIENT_METRICS_H_
#define BRFED_KUBE_CLIENT_METRICS_H_

#include <string_view>

namespace brfed::kube {

class ClientMetrics {
 public:
  virtual ~ClientMetrics() = default;
  // One HTTP exchange finished. `code` is the HTTP status, or "<error>" style 0 when no
  // response arrived.
  virtual void ObserveRequest(std::string_view cluster, std::string_view verb, int code,
                              double seconds) = 0;
  virtual void WatchRestart(std::string_view cluster, std::string_view resource) = 0;
  virtual void Relist(std::string_view cluster, std::string_view resource) = 0;
  virtual void ExecRefresh(std::string_view cluster, bool ok) = 0;
  // A request had to open `count` new connections (TCP, and TLS for https): none was kept
  // alive for it.
  virtual void ConnectionsOpened(std::string_view cluster, int count) = 0;
};

}  // namespace brfed::kube

#endif  // BRFED_KUBE_CLIENT_METRICS_H_
