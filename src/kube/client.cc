#include "kube/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "core/log.h"
#include "kube/credentials.h"
#include "kube/pem.h"
#include "kube/rate_limiter.h"

namespace brfed::kube {
namespace {

// A response body or watch line, without metadata.managedFields when asked: those are then
// lexed but never built, where StripManagedFields erases them after they were.
Result<Json> ParseObjects(std::string_view text, bool strip_managed_fields) {
  return strip_managed_fields ? ParseJsonWithout(text, "metadata", "managedFields")
                              : ParseJson(text);
}

using namespace std::chrono_literals;

constexpr size_t kMaxWatchLine = 64 << 20;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

std::string PercentEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

void AddQuery(std::string& path, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  path += path.find('?') == std::string::npos ? '?' : '&';
  path += key;
  path += '=';
  path += PercentEncode(value);
}

Code CodeForHttp(int http, std::string_view reason) {
  switch (http) {
    case 400:
      return Code::kBadRequest;
    case 401:
      return Code::kUnauthorized;
    case 403:
      return Code::kForbidden;
    case 404:
      return Code::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kConflict;
    case 410:
      return Code::kGone;
    case 413:
      return Code::kRequestEntityTooLarge;
    case 415:
      return Code::kUnsupportedMediaType;
    case 422:
      return Code::kInvalid;
    case 429:
      return Code::kTooManyRequests;
    case 502:
    case 503:
      return Code::kUnavailable;
    case 504:
      return Code::kTimeout;
    default:
      return http >= 500 ? Code::kInternal : Code::kBadRequest;
  }
}

// Whether a curl failure happened before the request could have reached the server.
bool NeverSent(CURLcode c) {
  return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
         c == CURLE_COULDNT_RESOLVE_PROXY;
}

// Certificate and handshake configuration failures: retrying cannot help.
bool IsTlsFailure(CURLcode c) {
  return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CERTPROBLEM ||
         c == CURLE_SSL_CIPHER || c == CURLE_SSL_CACERT_BADFILE || c == CURLE_SSL_ISSUER_ERROR ||
         c == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

Status StatusFromCurl(CURLcode c, const char* errbuf, const std::string& url) {
  std::string detail = errbuf != nullptr && *errbuf ? errbuf : curl_easy_strerror(c);
  Code code = c == CURLE_OPERATION_TIMEDOUT ? Code::kTimeout : Code::kUnavailable;
  return Status(code, url + ": " + detail);
}

struct Response {
  int code = 0;
  std::string body;
  std::string retry_after;
};

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t CaptureRetryAfter(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower == kName) {
      std::string v(line.substr(kName.size()));
      v.erase(0, v.find_first_not_of(' '));
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
      *static_cast<std::string*>(user) = v;
    }
  }
  return size * n;
}

class CurlClient;

// A watch: one dedicated easy handle and thread; lines are framed as they arrive.
class CurlWatchStream final : public WatchStream {
 public:
  CurlWatchStream() = default;
  ~CurlWatchStream() override {
    Cancel();
    if (thread_.joinable()) thread_.join();
  }

  Result<std::optional<WatchEvent>> Next() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !lines_.empty() || done_ || cancelled_; });
    if (cancelled_) return Status(Code::kCancelled, "watch cancelled");
    if (!lines_.empty()) {
      std::string line = std::move(lines_.front());
      lines_.pop_front();
      lock.unlock();
      auto ev = ParseWatchEvent(line, strip_managed_fields_);
      if (!ev.ok()) return ev.status();
      return std::optional<WatchEvent>(std::move(ev).value());
    }
    if (!final_status_.ok()) return final_status_;
    return std::optional<WatchEvent>();
  }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  friend class CurlClient;

  static size_t OnData(char* data, size_t size, size_t n, void* user) {
    auto* self = static_cast<CurlWatchStream*>(user);
    size_t len = size * n;
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->cancelled_) return 0;  // aborts the transfer
    if (!self->headers_done_) self->OnHeadersDoneLocked();
    if (self->http_code_ != 200) {
      self->error_body_.append(data, len);
      return len;
    }
    self->partial_.append(data, len);
    size_t start = 0;
    while (true) {
      size_t nl = self->partial_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string line = self->partial_.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) self->lines_.push_back(std::move(line));
      start = nl + 1;
    }
    self->partial_.erase(0, start);
    if (self->partial_.size() > kMaxWatchLine) {
      self->final_status_ = InternalError("watch event larger than 64 MiB");
      return 0;
    }
    self->cv_.notify_all();
    return len;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* self = static_cast<CurlWatchStream*>(user);
    std::string_view line(data, size * n);
    if (line == "\r\n" || line == "\n") {
      long code = 0;
      curl_easy_getinfo(self->curl_.get(), CURLINFO_RESPONSE_CODE, &code);
      std::lock_guard<std::mutex> lock(self->mu_);
      // Ignore interim 1xx blocks.
      if (code >= 200) self->OnHeadersDoneLocked();
    }
    return size * n;
  }

  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* self = static_cast<CurlWatchStream*>(user);
    std::lock_guard<std::mutex> lock(self->mu_);
    return self->cancelled_ ? 1 : 0;
  }

  // The transfer, on the stream's own thread: runs until the server or Cancel ends it, then
  // records how it ended.
  void Perform(ClientMetrics* metrics, const std::string& cluster,
               std::chrono::steady_clock::time_point start) {
    CURLcode rc = curl_easy_perform(curl_.get());
    std::lock_guard<std::mutex> lock(mu_);
    OnHeadersDoneLocked();
    if (metrics != nullptr && http_code_ != 200) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      metrics->ObserveRequest(cluster, "WATCH", http_code_, secs);
    }
    if (final_status_.ok() && !cancelled_) {
      if (rc != CURLE_OK) {
        final_status_ = StatusFromCurl(rc, errbuf_, "watch " + url_);
        if (IsTlsFailure(rc)) final_status_.WithHttp(0, "TLSError");
      } else if (http_code_ != 200) {
        final_status_ = StatusFromResponse(http_code_, error_body_);
      } else if (!partial_.empty()) {
        lines_.push_back(std::move(partial_));
      }
    }
    done_ = true;
    cv_.notify_all();
  }

  void OnHeadersDoneLocked() {
    if (headers_done_) return;
    long code = 0;
    curl_easy_getinfo(curl_.get(), CURLINFO_RESPONSE_CODE, &code);
    http_code_ = static_cast<int>(code);
    headers_done_ = true;
    cv_.notify_all();
  }

  CurlPtr curl_;
  SlistPtr headers_;
  std::string url_;
  char errbuf_[CURL_ERROR_SIZE] = {0};
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool headers_done_ = false;
  int http_code_ = 0;
  std::string error_body_;
  std::string partial_;
  std::deque<std::string> lines_;
  bool strip_managed_fields_ = false;  // set before the stream starts
  bool done_ = false;
  bool cancelled_ = false;
  Status final_status_;
};

}  // namespace

class ConnectionPool {
 public:
  // A handle whose options are reset (its connection and TLS session cache are kept); a new
  // handle when none is free. Null only when libcurl cannot allocate one.
  CurlPtr Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        CurlPtr h = std::move(free_.back());
        free_.pop_back();
        curl_easy_reset(h.get());
        return h;
      }
    }
    return CurlPtr(curl_easy_init());
  }
  void Release(CurlPtr h) {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kMaxFree) free_.push_back(std::move(h));
  }

 private:
  static constexpr size_t kMaxFree = 16;
  std::mutex mu_;
  std::vector<CurlPtr> free_;
};

std::shared_ptr<ConnectionPool> NewConnectionPool() { return std::make_shared<ConnectionPool>(); }

namespace {

class CurlClient final : public Client, public std::enable_shared_from_this<CurlClient> {
 public:
  CurlClient(RestConfig config, ClientMetrics* metrics)
      : config_(std::move(config)),
        metrics_(metrics),
        credentials_(config_.shared_credentials != nullptr
                         ? config_.shared_credentials
                         : NewCredentialSource(config_, RealClock::Get(), metrics)),
        pool_(config_.shared_connections != nullptr ? config_.shared_connections
                                                    : NewConnectionPool()),
        limiter_(config_.shared_limiter != nullptr
                     ? config_.shared_limiter
                     : std::make_shared<RateLimiter>(config_.qps, config_.burst)),
        rng_(std::random_device{}()) {
    std::string rest = config_.server.substr(config_.server.find("://") + 3);
    std::string hostport = rest.substr(0, rest.find('/'));
    bool https = config_.server.rfind("https://", 0) == 0;
    size_t colon = hostport.rfind(':');
    bool has_port = colon != std::string::npos && hostport.find(']', colon) == std::string::npos;
    host_ = has_port ? hostport.substr(0, colon) : hostport;
    port_ = has_port ? hostport.substr(colon + 1) : (https ? "443" : "80");
    if (!config_.tls_server_name.empty() && https) {
      // Connect to the real host, but verify (and send SNI for) tls-server-name.
      url_base_ = "https://" + config_.tls_server_name + ":" + port_ +
                  rest.substr(std::min(rest.size(), hostport.size()));
      std::string h = host_;
      if (!h.empty() && h.front() == '[') h = h.substr(1, h.size() - 2);
      std::string connect_to = config_.tls_server_name + ":" + port_ + ":" + h + ":" + port_;
      connect_to_list_.reset(curl_slist_append(nullptr, connect_to.c_str()));
    } else {
      url_base_ = config_.server;
    }
  }

  ~CurlClient() override = default;

  const std::string& cluster_name() const override { return config_.context_name; }

  Result<Json> Get(const Resource& r, std::string_view ns, std::string_view name) override {
    return Call("GET", "GET", r.Path(ns, name), nullptr, "");
  }

  Result<Json> List(const Resource& r, std::string_view ns, const ListOptions& o) override {
    std::string path = r.Path(ns);
    AddQuery(path, "labelSelector", o.label_selector);
    AddQuery(path, "fieldSelector", o.field_selector);
    AddQuery(path, "resourceVersion", o.resource_version);
    AddQuery(path, "resourceVersionMatch", o.resource_version_match);
    if (o.limit > 0) AddQuery(path, "limit", std::to_string(o.limit));
    AddQuery(path, "continue", o.continue_token);
    return Call("GET", "LIST", path, nullptr, "", o.strip_managed_fields);
  }

  Result<Json> Create(const Resource& r, std::string_view ns, const Json& obj) override {
    std::string body = DumpJson(obj);
    return Call("POST", "POST", r.Path(ns), &body, "application/json");
  }

  Result<Json> Update(const Resource& r, const Json& obj) override { return Put(r, obj, ""); }
  Result<Json> UpdateStatus(const Resource& r, const Json& obj) override {
    return Put(r, obj, "status");
  }

  Result<Json> Patch(const Resource& r, std::string_view ns, std::string_view name, PatchType type,
                     const Json& patch, std::string_view subresource) override {
    std::string path = r.Path(ns, name, subresource);
    std::string content_type;
    switch (type) {
      case PatchType::kMerge:
        content_type = "application/merge-patch+json";
        break;
      case PatchType::kJsonPatch:
        content_type = "application/json-patch+json";
        break;
      case PatchType::kStrategicMerge:
        content_type = "application/strategic-merge-patch+json";
        break;
      case PatchType::kApply:
        content_type = "application/apply-patch+yaml";
        AddQuery(path, "fieldManager", "brfed");
        AddQuery(path, "force", "true");
        break;
    }
    std::string body = DumpJson(patch);
    return Call("PATCH", "PATCH", path, &body, content_type);
  }

  Status Delete(const Resource& r, std::string_view ns, std::string_view name,
                const DeleteOptions& o) override {
    std::string body;
    if (o.precondition_resource_version || !o.propagation_policy.empty()) {
      Json opts = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
      if (o.precondition_resource_version) {
        opts["preconditions"]["resourceVersion"] = *o.precondition_resource_version;
      }
      if (!o.propagation_policy.empty()) opts["propagationPolicy"] = o.propagation_policy;
      body = DumpJson(opts);
    }
    auto res = Call("DELETE", "DELETE", r.Path(ns, name), body.empty() ? nullptr : &body,
                    body.empty() ? "" : "application/json");
    return res.status();
  }

  Result<std::unique_ptr<WatchStream>> Watch(const Resource& r, std::string_view ns,
                                             const WatchOptions& o) override {
    std::string path = r.Path(ns);
    AddQuery(path, "watch", "1");
    AddQuery(path, "labelSelector", o.label_selector);
    AddQuery(path, "fieldSelector", o.field_selector);
    AddQuery(path, "resourceVersion", o.resource_version);
    if (o.allow_bookmarks) AddQuery(path, "allowWatchBookmarks", "true");
    if (o.timeout_seconds > 0) AddQuery(path, "timeoutSeconds", std::to_string(o.timeout_seconds));
    Status last;
    for (int attempt = 0; attempt <= config_.max_retries; ++attempt) {
      auto started = StartWatch(path, o.idle_timeout, o.strip_managed_fields);
      if (started.ok()) return started;
      last = started.status();
      if (last.code() == Code::kUnauthorized && attempt == 0) {
        credentials_->Invalidate();
        continue;
      }
      if (!IsTransient(last) || attempt == config_.max_retries) break;
      std::this_thread::sleep_for(RetryDelay(attempt, ""));
    }
    return last;
  }

  Result<Json> Request(std::string_view method, std::string_view path, const Json* body) override {
    std::string text = body != nullptr ? DumpJson(*body) : "";
    std::string m(method);
    return Call(m, m, std::string(path), body != nullptr ? &text : nullptr,
                body != nullptr ? "application/json" : "");
  }

 private:
  Result<Json> Put(const Resource& r, const Json& obj, std::string_view sub) {
    std::string ns = JsonStringAt(obj, {"metadata", "namespace"});
    std::string name = JsonStringAt(obj, {"metadata", "name"});
    if (name.empty()) return InvalidArgument("update: object has no metadata.name");
    std::string body = DumpJson(obj);
    return Call("PUT", "PUT", r.Path(ns, name, sub), &body, "application/json");
  }

  static bool IsTransient(const Status& s) {
    if (s.reason() == "TLSError" || IsResourceVersionTooLarge(s)) return false;
    return s.code() == Code::kUnavailable || s.code() == Code::kTimeout ||
           s.code() == Code::kTooManyRequests ||
           (s.code() == Code::kInternal && s.http_status() >= 500);
  }

  std::chrono::nanoseconds RetryDelay(int attempt, const std::string& retry_after) {
    if (!retry_after.empty() && retry_after.find_first_not_of("0123456789") == std::string::npos &&
        retry_after.size() < 6) {
      return std::min<std::chrono::nanoseconds>(std::chrono::seconds(std::stoi(retry_after)),
                                                config_.timeout);
    }
    auto base = std::chrono::milliseconds(200) * (1 << attempt);
    std::lock_guard<std::mutex> lock(rng_mu_);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(base * jitter(rng_));
  }

  // Sets TLS, proxy and auth options on `curl`; returns the header list to keep alive.
  Result<SlistPtr> Configure(CURL* curl, const std::string& url, const Credential& cred,
                             const std::string& content_type, char* errbuf) {
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    // The list is immutable after construction; libcurl only reads it.
    if (connect_to_list_) curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to_list_.get());
    if (!config_.ca_pem.empty()) {
      curl_blob blob{const_cast<char*>(config_.ca_pem.data()), config_.ca_pem.size(),
                     CURL_BLOB_COPY};
      curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (config_.insecure_skip_tls_verify) {
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    const std::string& cert =
        cred.client_cert_pem.empty() ? config_.client_cert_pem : cred.client_cert_pem;
    const std::string& key =
        cred.client_cert_pem.empty() ? config_.client_key_pem : cred.client_key_pem;
    if (!cert.empty()) {
      curl_blob c{const_cast<char*>(cert.data()), cert.size(), CURL_BLOB_COPY};
      curl_blob k{const_cast<char*>(key.data()), key.size(), CURL_BLOB_COPY};
      curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &c);
      curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &k);
    }
    if (!config_.proxy_url.empty())
      curl_easy_setopt(curl, CURLOPT_PROXY, config_.proxy_url.c_str());
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
    if (!cred.bearer_token.empty()) {
      std::string auth = "Authorization: Bearer " + cred.bearer_token;
      headers = curl_slist_append(headers, auth.c_str());
    } else if (!config_.username.empty()) {
      curl_easy_setopt(curl, CURLOPT_USERNAME, config_.username.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, config_.password.c_str());
    }
    if (!content_type.empty()) {
      headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
    }
    headers = curl_slist_append(headers, ("User-Agent: " + config_.user_agent).c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    return SlistPtr(headers);
  }

  // One HTTP exchange; no retries.
  Result<Response> Exchange(const std::string& method, const std::string& path,
                            const std::string* body, const std::string& content_type) {
    auto cred = credentials_->Get();
    if (!cred.ok()) return cred.status();
    limiter_->Wait(config_.priority);
    CurlPtr h = pool_->Acquire();
    if (!h) return InternalError("curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE] = {0};
    std::string url = url_base_ + path;
    auto headers = Configure(h.get(), url, *cred, content_type, errbuf);
    if (!headers.ok()) return headers.status();
    Response resp;
    curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    if (body != nullptr) {
      curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    } else if (method == "GET") {
      curl_easy_setopt(h.get(), CURLOPT_HTTPGET, 1L);
    } else if (method != "DELETE" && method != "HEAD") {
      // An explicit empty body, so the server sees Content-Length: 0 rather than waiting.
      curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    }
    curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
    curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &resp.body);
    curl_easy_setopt(h.get(), CURLOPT_HEADERFUNCTION, CaptureRetryAfter);
    curl_easy_setopt(h.get(), CURLOPT_HEADERDATA, &resp.retry_after);
    CURLcode rc = curl_easy_perform(h.get());
    long code = 0;
    curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
    long connects = 0;
    curl_easy_getinfo(h.get(), CURLINFO_NUM_CONNECTS, &connects);
    if (metrics_ != nullptr && connects > 0) {
      metrics_->ConnectionsOpened(config_.context_name, static_cast<int>(connects));
    }
    pool_->Release(std::move(h));
    if (rc != CURLE_OK) {
      Status s = StatusFromCurl(rc, errbuf, method + " " + url);
      if (NeverSent(rc)) s.WithHttp(0, "NeverSent");
      if (IsTlsFailure(rc)) s.WithHttp(0, "TLSError");
      return s;
    }
    resp.code = static_cast<int>(code);
    return resp;
  }

  Result<Json> Call(const std::string& method, const std::string& verb, const std::string& path,
                    const std::string* body, const std::string& content_type,
                    bool strip_managed_fields = false) {
    bool idempotent = method == "GET" || method == "DELETE";
    bool reauthed = false;
    Status last;
    for (int attempt = 0;; ++attempt) {
      auto start = std::chrono::steady_clock::now();
      auto resp = Exchange(method, path, body, content_type);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (metrics_ != nullptr) {
        metrics_->ObserveRequest(config_.context_name, verb, resp.ok() ? resp->code : 0, secs);
      }
      std::string retry_after;
      if (resp.ok()) {
        if (resp->code >= 200 && resp->code < 300) {
          if (resp->body.empty()) return Json();
          auto parsed = ParseObjects(resp->body, strip_managed_fields);
          if (!parsed.ok()) {
            return InternalError(method + " " + path +
                                 ": response is not JSON: " + parsed.status().message());
          }
          return parsed;
        }
        last = StatusFromResponse(resp->code, resp->body);
        retry_after = resp->retry_after;
      } else {
        last = resp.status();
      }
      if (last.code() == Code::kUnauthorized && !reauthed && last.http_status() == 401) {
        credentials_->Invalidate();
        reauthed = true;
        continue;
      }
      bool retry = attempt < config_.max_retries &&
                   (last.code() == Code::kTooManyRequests || last.reason() == "NeverSent" ||
                    (idempotent && IsTransient(last)));
      if (!retry) break;
      log::Debug("retrying request", {{"cluster", config_.context_name},
                                      {"verb", verb},
                                      {"path", path},
                                      {"error", last.ToString()}});
      std::this_thread::sleep_for(RetryDelay(attempt, retry_after));
    }
    return last;
  }

  Result<std::unique_ptr<WatchStream>> StartWatch(const std::string& path,
                                                  std::chrono::seconds idle_timeout,
                                                  bool strip_managed_fields) {
    auto cred = credentials_->Get();
    if (!cred.ok()) return cred.status();
    limiter_->Wait(config_.priority);
    auto stream = std::make_unique<CurlWatchStream>();
    stream->strip_managed_fields_ = strip_managed_fields;
    stream->curl_.reset(curl_easy_init());
    if (!stream->curl_) return InternalError("curl_easy_init failed");
    CURL* h = stream->curl_.get();
    stream->url_ = url_base_ + path;
    auto headers = Configure(h, stream->url_, *cred, "", stream->errbuf_);
    if (!headers.ok()) return headers.status();
    stream->headers_ = std::move(headers).value();
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, CurlWatchStream::OnData);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, stream.get());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, CurlWatchStream::OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, stream.get());
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, CurlWatchStream::OnProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, stream.get());
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(idle_timeout.count()));
    CurlWatchStream* raw = stream.get();
    std::string cluster = config_.context_name;
    ClientMetrics* metrics = metrics_;
    auto start = std::chrono::steady_clock::now();
    raw->thread_ =
        std::thread([raw, metrics, cluster, start] { raw->Perform(metrics, cluster, start); });
    // Wait for the response status so that HTTP errors (410, 401, ...) return from Watch().
    std::unique_lock<std::mutex> lock(raw->mu_);
    raw->cv_.wait(lock, [&] { return raw->headers_done_ || raw->done_; });
    if (raw->http_code_ != 200 || (raw->done_ && !raw->final_status_.ok())) {
      raw->cv_.wait(lock, [&] { return raw->done_; });
      Status s = raw->final_status_.ok() ? StatusFromResponse(raw->http_code_, raw->error_body_)
                                         : raw->final_status_;
      lock.unlock();
      return s;
    }
    if (metrics_ != nullptr) metrics_->ObserveRequest(config_.context_name, "WATCH", 200, 0);
    lock.unlock();
    return std::unique_ptr<WatchStream>(std::move(stream));
  }

  RestConfig config_;
  ClientMetrics* metrics_;
  std::shared_ptr<CredentialSource> credentials_;
  std::shared_ptr<ConnectionPool> pool_;
  std::shared_ptr<RateLimiter> limiter_;
  std::string url_base_, host_, port_;
  SlistPtr connect_to_list_;  // tls-server-name: connect to the real host
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace

Status StatusFromResponse(int code, std::string_view body) {
  std::string reason, message;
  auto parsed = ParseJson(body);
  if (parsed.ok() && parsed->is_object() && JsonStringAt(*parsed, {"kind"}) == "Status") {
    reason = JsonStringAt(*parsed, {"reason"});
    message = JsonStringAt(*parsed, {"message"});
  }
  if (message.empty()) {
    message = std::string(body.substr(0, 512));
    if (message.empty()) message = "HTTP " + std::to_string(code);
  }
  Status s(CodeForHttp(code, reason), message);
  s.WithHttp(code, reason);
  return s;
}

bool IsResourceVersionTooLarge(const Status& s) {
  // client-go's test too: the cause is not kept, the message always names it.
  return s.code() == Code::kTimeout &&
         s.message().find("Too large resource version") != std::string::npos;
}

void StripManagedFields(Json& object) {
  auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) meta->erase("managedFields");
}

Result<WatchEvent> ParseWatchEvent(std::string_view line, bool strip_managed_fields) {
  auto parsed = ParseObjects(line, strip_managed_fields);
  if (!parsed.ok()) return InternalError("watch: malformed event: " + parsed.status().message());
  Json& j = *parsed;
  if (!j.is_object()) return InternalError("watch: event is not an object");
  std::string type = JsonStringAt(j, {"type"});
  WatchEvent ev;
  if (type == "ADDED") {
    ev.type = WatchEvent::Type::kAdded;
  } else if (type == "MODIFIED") {
    ev.type = WatchEvent::Type::kModified;
  } else if (type == "DELETED") {
    ev.type = WatchEvent::Type::kDeleted;
  } else if (type == "BOOKMARK") {
    ev.type = WatchEvent::Type::kBookmark;
  } else if (type == "ERROR") {
    ev.type = WatchEvent::Type::kError;
  } else if (JsonStringAt(j, {"kind"}) == "Status") {
    // A bare Status on the stream: surface it as an ERROR event.
    ev.type = WatchEvent::Type::kError;
    ev.object = std::make_shared<const Json>(j);
    return ev;
  } else {
    return InternalError("watch: unknown event type \"" + type + "\"");
  }
  auto obj = j.find("object");
  if (obj == j.end() || !obj->is_object()) return InternalError("watch: event without object");
  // Moved out of the event, not copied: the object is most of the line.
  ev.object = std::make_shared<const Json>(std::move(*obj));
  return ev;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Result<std::shared_ptr<Client>> NewClient(const RestConfig& config, ClientMetrics* metrics) {
  GlobalInit();
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return InvalidArgument("client for \"" + config.context_name + "\": server \"" + config.server +
                           "\" must start with https:// or http://");
  }
  if (!config.ca_pem.empty()) {
    std::string problem = ValidateCertificates(config.ca_pem);
    if (!problem.empty()) {
      return InvalidArgument("client for \"" + config.context_name + "\": CA: " + problem);
    }
  }
  return std::shared_ptr<Client>(std::make_shared<CurlClient>(config, metrics));
}

}  // namespace brfed::kube
