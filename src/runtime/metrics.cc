#include "runtime/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/log.h"

namespace brfed::runtime {
namespace {

bool ValidName(std::string_view n, bool allow_colon) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load();
  while (!a.compare_exchange_weak(cur, cur + v)) {
  }
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::vector<double> DefaultBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i, start *= factor) out.push_back(start);
  return out;
}

MetricFamily::MetricFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void MetricFamily::Render(std::string& out) const {
  out += "# HELP " + name_ + " " + EscapeHelp(help_) + "\n";
  out += "# TYPE " + name_ + " " + std::string(type()) + "\n";
  RenderSamples(out);
}

LabelValues MetricFamily::Normalise(const LabelValues& values) const {
  if (values.size() == label_names_.size()) return values;
  log::Error("metric used with the wrong number of label values", {{"metric", name_}});
  LabelValues fixed = values;
  fixed.resize(label_names_.size());
  return fixed;
}

std::string MetricFamily::LabelString(const LabelValues& values, std::string_view extra_name,
                                      std::string_view extra_value) const {
  if (label_names_.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < label_names_.size(); ++i) {
    if (i > 0) out += ",";
    out += label_names_[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    if (!label_names_.empty()) out += ",";
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  return out + "}";
}

void Counter::Series::Inc(double v) {
  if (v > 0) AtomicAdd(value_, v);
}

Counter::Series& Counter::WithLabels(const LabelValues& values) {
  LabelValues key = Normalise(values);
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = series_[key];
  if (!slot) slot = std::make_unique<Series>();
  return *slot;
}

void Counter::RenderSamples(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, s] : series_) {
    out += name() + LabelString(labels) + " " + FormatMetricValue(s->value()) + "\n";
  }
}

void Gauge::Series::Add(double v) { AtomicAdd(value_, v); }

Gauge::Series& Gauge::WithLabels(const LabelValues& values) {
  LabelValues key = Normalise(values);
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = series_[key];
  if (!slot) slot = std::make_unique<Series>();
  return *slot;
}

void Gauge::RenderSamples(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, s] : series_) {
    out += name() + LabelString(labels) + " " + FormatMetricValue(s->value()) + "\n";
  }
}

Histogram::Series::Series(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(bounds->size() + 1, 0) {}

void Histogram::Series::Observe(double v) {
  size_t i = std::lower_bound(bounds_->begin(), bounds_->end(), v) - bounds_->begin();
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[i];
  sum_ += v;
  ++count_;
}

uint64_t Histogram::Series::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

double Histogram::Series::sum() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sum_;
}

Histogram::Histogram(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<double> buckets)
    : MetricFamily(std::move(name), std::move(help), std::move(label_names)),
      buckets_(std::move(buckets)) {
  std::sort(buckets_.begin(), buckets_.end());
  buckets_.erase(std::unique(buckets_.begin(), buckets_.end()), buckets_.end());
  if (!buckets_.empty() && std::isinf(buckets_.back())) buckets_.pop_back();
}

Histogram::Series& Histogram::WithLabels(const LabelValues& values) {
  LabelValues key = Normalise(values);
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = series_[key];
  if (!slot) slot = std::make_unique<Series>(&buckets_);
  return *slot;
}

void Histogram::RenderSamples(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, s] : series_) {
    std::lock_guard<std::mutex> series_lock(s->mu_);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      cumulative += s->counts_[i];
      out += name() + "_bucket" + LabelString(labels, "le", FormatMetricValue(buckets_[i])) + " " +
             std::to_string(cumulative) + "\n";
    }
    cumulative += s->counts_.back();
    out += name() + "_bucket" + LabelString(labels, "le", "+Inf") + " " +
           std::to_string(cumulative) + "\n";
    out += name() + "_sum" + LabelString(labels) + " " + FormatMetricValue(s->sum_) + "\n";
    out += name() + "_count" + LabelString(labels) + " " + std::to_string(s->count_) + "\n";
  }
}

template <typename T, typename... Args>
T& MetricsRegistry::Register(const std::string& name, Args&&... args) {
  auto fresh = std::make_unique<T>(name, std::forward<Args>(args)...);
  bool valid = ValidName(name, true);
  for (const auto& l : fresh->label_names()) {
    valid = valid && ValidName(l, false) && l != "le" && l.rfind("__", 0) != 0;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (valid) {
    auto it = families_.find(name);
    if (it == families_.end()) {
      T& ref = *fresh;
      families_.emplace(name, std::move(fresh));
      return ref;
    }
    T* existing = dynamic_cast<T*>(it->second.get());
    if (existing != nullptr && existing->label_names() == fresh->label_names()) return *existing;
  }
  log::Error("metric registration rejected (invalid name or clash); using a detached metric",
             {{"metric", name}});
  T& ref = *fresh;
  detached_.push_back(std::move(fresh));
  return ref;
}

Counter& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names) {
  return Register<Counter>(name, help, std::move(label_names));
}

Gauge& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names) {
  return Register<Gauge>(name, help, std::move(label_names));
}

Histogram& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names,
                                         std::vector<double> buckets) {
  return Register<Histogram>(name, help, std::move(label_names), std::move(buckets));
}

int MetricsRegistry::AddCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  collectors_.emplace(next_collector_id_, std::move(collect));
  return next_collector_id_++;
}

void MetricsRegistry::RemoveCollector(int id) {
  std::lock_guard<std::mutex> lock(collectors_mu_);
  collectors_.erase(id);
}

std::string MetricsRegistry::Expose() const {
  {
    std::lock_guard<std::mutex> lock(collectors_mu_);
    for (const auto& [id, collect] : collectors_) collect();
  }
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) family->Render(out);
  return out;
}

namespace {

class RegistryClientMetrics final : public kube::ClientMetrics {
 public:
  explicit RegistryClientMetrics(MetricsRegistry* r)
      : requests_(r->AddCounter("rest_client_requests_total",
                                "Number of HTTP requests to API servers, by cluster, verb and "
                                "status code (0: no response).",
                                {"cluster", "verb", "code"})),
        latency_(r->AddHistogram("rest_client_request_duration_seconds",
                                 "Latency of HTTP requests to API servers.", {"cluster", "verb"},
                                 ExponentialBuckets(0.001, 2, 15))),
        restarts_(r->AddCounter("watch_restarts_total",
                                "Watches that ended with an error and were restarted.",
                                {"cluster", "resource"})),
        relists_(r->AddCounter("relists_total", "Full relists after the initial list.",
                               {"cluster", "resource"})),
        exec_(r->AddCounter("exec_credential_refresh_total",
                            "Exec credential plugin runs, by result.", {"cluster", "result"})),
        connections_(r->AddCounter("rest_client_connections_opened_total",
                                   "Connections opened to API servers (none kept alive was free).",
                                   {"cluster"})) {}

  void ObserveRequest(std::string_view cluster, std::string_view verb, int code,
                      double seconds) override {
    std::string c(cluster), v(verb);
    requests_.WithLabels({c, v, std::to_string(code)}).Inc();
    latency_.WithLabels({c, v}).Observe(seconds);
  }
  void WatchRestart(std::string_view cluster, std::string_view resource) override {
    restarts_.WithLabels({std::string(cluster), std::string(resource)}).Inc();
  }
  void Relist(std::string_view cluster, std::string_view resource) override {
    relists_.WithLabels({std::string(cluster), std::string(resource)}).Inc();
  }
  void ExecRefresh(std::string_view cluster, bool ok) override {
    exec_.WithLabels({std::string(cluster), ok ? "success" : "error"}).Inc();
  }
  void ConnectionsOpened(std::string_view cluster, int count) override {
    connections_.WithLabels({std::string(cluster)}).Inc(count);
  }

 private:
  Counter& requests_;
  Histogram& latency_;
  Counter& restarts_;
  Counter& relists_;
  Counter& exec_;
  Counter& connections_;
};

}  // namespace

std::unique_ptr<kube::ClientMetrics> NewClientMetrics(MetricsRegistry* registry) {
  return std::make_unique<RegistryClientMetrics>(registry);
}

}  // namespace brfed::runtime
