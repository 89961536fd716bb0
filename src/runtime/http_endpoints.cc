#include "runtime/http_endpoints.h"

#include <httplib.h>

#include "core/log.h"
#include "runtime/metrics.h"

namespace brfed::runtime {

struct HttpEndpoints::Impl {
  httplib::Server server;
};

HttpEndpoints::HttpEndpoints(std::string listen_addr, MetricsRegistry* metrics,
                             std::function<bool()> ready)
    : listen_addr_(std::move(listen_addr)), metrics_(metrics), ready_(std::move(ready)) {}

HttpEndpoints::~HttpEndpoints() { Stop(); }

Status HttpEndpoints::Start() {
  if (impl_) return Status(Code::kInternal, "HttpEndpoints already started");
  size_t colon = listen_addr_.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument("listen address \"" + listen_addr_ + "\" must be host:port");
  }
  std::string host = listen_addr_.substr(0, colon);
  std::string port_text = listen_addr_.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  int port = -1;
  if (!port_text.empty() && port_text.size() <= 5 &&
      port_text.find_first_not_of("0123456789") == std::string::npos) {
    port = std::stoi(port_text);
  }
  if (port < 0 || port > 65535) {
    return InvalidArgument("listen address \"" + listen_addr_ + "\": bad port");
  }
  impl_ = std::make_unique<Impl>();
  // httplib's default also sets SO_REUSEPORT, which would let a second process share the port
  // silently; only SO_REUSEADDR is wanted.
  impl_->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  MetricsRegistry* metrics = metrics_;
  std::function<bool()> ready = ready_;
  impl_->server.Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics != nullptr ? metrics->Expose() : std::string(),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  impl_->server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  impl_->server.Get("/readyz", [ready](const httplib::Request&, httplib::Response& res) {
    bool ok = !ready || ready();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok" : "not ready", "text/plain");
  });
  if (port == 0) {
    port_ = impl_->server.bind_to_any_port(host);
    if (port_ <= 0) {
      impl_.reset();
      return UnavailableError("cannot bind " + listen_addr_);
    }
  } else {
    if (!impl_->server.bind_to_port(host, port)) {
      impl_.reset();
      return UnavailableError("cannot bind " + listen_addr_);
    }
    port_ = port;
  }
  thread_ = std::thread([this] { impl_->server.listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs, so Start returns only then.
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  log::Info("serving /metrics, /healthz and /readyz",
            {{"address", host + ":" + std::to_string(port_)}});
  return Status::Ok();
}

void HttpEndpoints::Stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (thread_.joinable()) thread_.join();
  impl_.reset();
}

}  // namespace brfed::runtime
