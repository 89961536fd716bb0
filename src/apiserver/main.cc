// brfed-apiserver: a Kubernetes-API-compatible test and sandbox server (see docs/apiserver.md).

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "apiserver/server.h"
#include "core/log.h"
#include "core/shutdown_signals.h"
#include "core/version.h"

namespace {

// The flags beside ServerOptions.
struct ExtraFlags {
  std::string log_level = "info";
  std::string log_format = "text";
  size_t bookmark_seconds = 5;
};

void AddFlags(CLI::App& app, brfed::apiserver::ServerOptions& options, ExtraFlags& extra) {
  app.add_option("--listen", options.listen, "HOST:PORT to serve on; port 0 picks a free port")
      ->capture_default_str();
  app.add_option("--kubeconfig-out", options.kubeconfig_out,
                 "write a kubeconfig that reaches this server (CA data and token included)");
  app.add_flag("--tls", options.tls, "generate a CA and server certificate; serve HTTPS only");
  app.add_option("--token", options.token, "require this bearer token (401 without it)");
  app.add_option("--client-ca-file", options.client_ca_file,
                 "also accept client certificates signed by this CA (needs --tls)");
  app.add_option("--data-dir", options.data_dir, "persist state in this directory");
  app.add_option("--crd", options.crd_paths, "CRD YAML file or folder to load at start")
      ->take_all();
  app.add_option("--name", options.name, "name for logs and the kubeconfig")->capture_default_str();
  app.add_option("--audit-log", options.audit_log, "append one JSON line per request here");
  app.add_flag("--enable-fault-injection", options.enable_fault_injection,
               "serve the /admin/faults endpoint");
  app.add_option("--watch-history", options.watch_history,
                 "events kept per resource for watch resumption (older: 410 Gone)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--max-body-bytes", options.max_body_bytes, "largest request body accepted")
      ->capture_default_str()
      ->check(CLI::Range(1024, 1 << 30));
  app.add_option("--bookmark-interval-seconds", extra.bookmark_seconds,
                 "interval of watch bookmarks (when the client allows them)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--log-level", extra.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--log-format", extra.log_format, "text or json")->capture_default_str();
}

// Serves until SIGTERM or SIGINT; returns the exit code.
int Serve(const brfed::apiserver::ServerOptions& options) {
  brfed::ShutdownSignals shutdown_signals;
  auto server = brfed::apiserver::ApiServer::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "brfed-apiserver: %s\n", server.status().message().c_str());
    return 2;
  }
  brfed::apiserver::ApiServer* srv = server->get();
  shutdown_signals.OnSignal([srv](int) { srv->Stop(); });
  std::printf("brfed-apiserver %s listening on %s\n", options.name.c_str(), srv->url().c_str());
  std::fflush(stdout);
  brfed::log::Info("serving", {{"name", options.name}, {"url", srv->url()}});
  brfed::Status run = srv->Run();
  shutdown_signals.Disarm();
  if (!run.ok()) {
    std::fprintf(stderr, "brfed-apiserver: %s\n", run.message().c_str());
    return 1;
  }
  brfed::log::Info("stopped", {{"name", options.name}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  brfed::apiserver::ServerOptions options;
  ExtraFlags extra;
  CLI::App app{
      "brfed-apiserver: a Kubernetes-API-compatible test and sandbox server "
      "(not production Kubernetes: no RBAC, no admission)"};
  app.set_version_flag("--version", brfed::VersionLine("brfed-apiserver"));
  AddFlags(app, options, extra);
  CLI11_PARSE(app, argc, argv);
  options.bookmark_interval = std::chrono::seconds(extra.bookmark_seconds);

  auto level = brfed::log::ParseLevel(extra.log_level);
  auto format = brfed::log::ParseFormat(extra.log_format);
  if (!level.ok() || !format.ok()) {
    std::fprintf(stderr, "brfed-apiserver: %s\n",
                 (!level.ok() ? level.status() : format.status()).message().c_str());
    return 2;
  }
  brfed::log::Setup({*level, *format, "brfed-apiserver"});
  return Serve(options);
}
