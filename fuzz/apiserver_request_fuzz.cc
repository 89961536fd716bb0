// Fuzzes brfed-apiserver's request handling (apiserver/server.h, HandleInProcess): routing,
// query parameters, content types, bodies, patches and the store behind them, on one server
// whose state carries over between inputs. Input, HTTP-like:
//   METHOD /path?query\n
//   Header: value\n   (any number)
//   \n
//   body
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apiserver/server.h"

namespace {

using brfed::apiserver::ApiServer;

ApiServer& Server() {
  static std::unique_ptr<ApiServer> server = [] {
    brfed::apiserver::ServerOptions options;
    options.crd_paths = {BRFED_SOURCE_DIR "/deploy/crds", BRFED_SOURCE_DIR "/deploy/crds/test"};
    options.max_body_bytes = 64 * 1024;
    auto created = ApiServer::Create(options);
    if (!created.ok()) std::abort();
    return std::move(created).value();
  }();
  return *server;
}

// Takes the text up to the next '\n' (or all of it) off the front of `text`.
std::string_view TakeLine(std::string_view& text) {
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  return line;
}

bool KnownMethod(std::string_view m) {
  return m == "GET" || m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view request_line = TakeLine(text);
  size_t space = request_line.find(' ');
  if (space == std::string_view::npos) return 0;
  std::string_view method = request_line.substr(0, space);
  if (!KnownMethod(method)) return 0;
  std::string_view target = request_line.substr(space + 1);
  size_t question = target.find('?');
  std::string path(target.substr(0, question));
  std::string query(question == std::string_view::npos ? "" : target.substr(question + 1));
  std::vector<std::pair<std::string, std::string>> headers;
  for (std::string_view line = TakeLine(text); !line.empty(); line = TakeLine(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) break;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.emplace_back(line.substr(0, colon), value);
  }
  auto reply =
      Server().HandleInProcess(std::string(method), path, query, headers, std::string(text));
  if (reply.status < 100 || reply.status > 599) std::abort();
  return 0;
}
