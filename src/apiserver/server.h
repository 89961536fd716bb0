// ApiServer: the HTTP(S) face of brfed-apiserver. It routes Kubernetes API paths to the
// Store, serves discovery, /version, a minimal /openapi/v3, Tables, watch streams, health
// endpoints, bearer-token and client-certificate auth, the audit log and the fault-injection
// admin endpoint. A test and sandbox server: no RBAC, no admission.
//
// Thread-safety: Create, then Run on one thread; Stop may be called from any thread (and from
// a signal-handling thread). Owns its store, registry and listening socket.
#ifndef BRFED_APISERVER_SERVER_H_
#define BRFED_APISERVER_SERVER_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace brfed::apiserver {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";
  std::string name = "brfed-apiserver";
  std::string kubeconfig_out;
  bool tls = false;
  std::string token;
  std::string client_ca_file;
  std::string data_dir;
  std::vector<std::string> crd_paths;  // files or folders of CRD YAML
  std::string audit_log;
  bool enable_fault_injection = false;
  size_t watch_history = 1000;
  size_t max_body_bytes = 3 * 1024 * 1024;
  std::chrono::seconds bookmark_interval{5};
  size_t max_threads = 2048;
};

class ApiServer {
 public:
  // Loads state and CRDs, binds the socket and writes the kubeconfig. Errors are
  // kInvalidArgument with a message fit for the user.
  static Result<std::unique_ptr<ApiServer>> Create(const ServerOptions& options);
  ~ApiServer();

  int port() const;
  std::string url() const;
  // Serves until Stop. Returns an error when the server could not run.
  Status Run();
  void Stop();

  // Answers one request in-process as the HTTP handler would (routing, auth, store, errors),
  // without a socket: the seam of the request fuzz target. `query` is the raw text after '?'.
  // A watch request is set up and then ended without streaming. Same thread rules as Run.
  struct Reply {
    int status = 0;
    std::string body;
  };
  Reply HandleInProcess(const std::string& method, const std::string& path,
                        const std::string& query,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body);

  struct Impl;

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_SERVER_H_
