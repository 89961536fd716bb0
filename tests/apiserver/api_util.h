// Small helpers the apiserver integration tests share: creating namespaces and ConfigMaps
// over HTTP and splitting a watch stream into events.
//
// Thread-safety: stateless except WatchEvents, which one thread owns.
#ifndef BRFED_TESTS_APISERVER_API_UTIL_H_
#define BRFED_TESTS_APISERVER_API_UTIL_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/harness/harness.h"

namespace brfed::testing {

inline HttpResponse CreateNamespace(const HttpClient& c, const std::string& name) {
  return c.Request("POST", "/api/v1/namespaces",
                   nlohmann::json{{"metadata", {{"name", name}}}}.dump());
}

inline HttpResponse CreateConfigMap(const HttpClient& c, const std::string& ns,
                                    const std::string& name) {
  return c.Request("POST", "/api/v1/namespaces/" + ns + "/configmaps",
                   nlohmann::json{{"metadata", {{"name", name}}}, {"data", {{"k", name}}}}.dump());
}

inline std::string Rv(const HttpResponse& r) {
  return nlohmann::json::parse(r.body)["metadata"].value("resourceVersion", "");
}

// Accumulates stream bytes and yields complete newline-terminated JSON events.
class WatchEvents {
 public:
  void Feed(const std::string& data) {
    buffer_ += data;
    size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      events.push_back(nlohmann::json::parse(line));
    }
  }
  std::vector<nlohmann::json> events;

 private:
  std::string buffer_;
};

}  // namespace brfed::testing

#endif  // BRFED_TESTS_APISERVER_API_UTIL_H_
