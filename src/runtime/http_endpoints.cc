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

namespace {

struct ListenAddress {
  std::string host;
  int port = 0;
};

// "host:port", "[v6]:port" or ":port" (all interfaces); port 0 picks a free one.
Result<ListenAddress> ParseListenAddress(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument("listen address \"" + text + "\" must be host:port");
  }
  ListenAddress out;
  out.host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) out.host = "0.0.0.0";
  out.port = -1;
  if (!port_text.empty() && port_text.size() <= 5 &&
      port_text.find_first_not_of("0123456789") == std::string::npos) {
    out.port = std::stoi(port_text);
  }
  if (out.port < 0 || out.port > 65535) {
    return InvalidArgument("listen address \"" + text + "\": bad port");
  }
  return out;
}

}  // namespace

Status HttpEndpoints::Start() {
  if (impl_) return Status(Code::kInternal, "HttpEndpoints already started");
  BRFED_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(listen_addr_));
  const std::string& host = address.host;
  const int port = address.port;
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
