// HttpEndpoints: the process's operational HTTP server on cpp-httplib: GET /metrics (Prometheus
// text from a MetricsRegistry), /healthz (200 "ok" while the process runs) and /readyz (200
// when the `ready` callback says so, else 503). httplib stays out of this header.
//
// Thread-safety: Start/Stop from one owner thread; requests are served on the server's own
// threads, which call MetricsRegistry::Expose and `ready` concurrently. The registry must
// outlive the endpoints; Stop (also run by the destructor) joins the server thread.
#ifndef BRFED_RUNTIME_HTTP_ENDPOINTS_H_
#define BRFED_RUNTIME_HTTP_ENDPOINTS_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/status.h"

namespace brfed::runtime {

class MetricsRegistry;

class HttpEndpoints {
 public:
  // `listen_addr` is "host:port" (port 0 picks a free one) or ":port" (all interfaces).
  HttpEndpoints(std::string listen_addr, MetricsRegistry* metrics, std::function<bool()> ready);
  ~HttpEndpoints();
  HttpEndpoints(const HttpEndpoints&) = delete;
  HttpEndpoints& operator=(const HttpEndpoints&) = delete;

  // Binds and starts serving; kInvalidArgument for a malformed address, kUnavailable when the
  // address cannot be bound.
  Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  struct Impl;
  std::string listen_addr_;
  MetricsRegistry* metrics_;
  std::function<bool()> ready_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_HTTP_ENDPOINTS_H_
