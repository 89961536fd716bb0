// MetricsRegistry: counters, gauges and histograms with fixed label names, rendered in the
// Prometheus text exposition format (version 0.0.4): HELP and TYPE lines, escaped label values
// and help text, histograms with cumulative buckets including +Inf, _sum and _count; families
// sorted by name, series by label values.
//
// Registering a name twice with the same type and label names returns the existing family, so
// several controllers can share e.g. controller_runtime_reconcile_total. Invalid names, or a
// clash in type or labels, is a programming error: logged, and a detached family is returned
// so callers never crash.
//
// Thread-safety: everything is safe for concurrent use. Families are owned by the registry and
// live as long as it; Series references stay valid as long as the registry.
#ifndef BRFED_RUNTIME_METRICS_H_
#define BRFED_RUNTIME_METRICS_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kube/client_metrics.h"

namespace brfed::runtime {

using LabelValues = std::vector<std::string>;

class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names);
  virtual ~MetricFamily() = default;
  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual std::string_view type() const = 0;
  // Appends HELP, TYPE and samples.
  void Render(std::string& out) const;

 protected:
  virtual void RenderSamples(std::string& out) const = 0;
  // The label-value list used for a series (mismatched lengths are fixed up and logged).
  LabelValues Normalise(const LabelValues& values) const;
  // `{a="x",b="y"}` (with an optional extra label such as le), or "" without labels.
  std::string LabelString(const LabelValues& values, std::string_view extra_name = "",
                          std::string_view extra_value = "") const;
  mutable std::mutex mu_;  // guards the subclasses' series maps

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
};

class Counter final : public MetricFamily {
 public:
  class Series {
   public:
    void Inc(double v = 1);  // negative increments are ignored
    double value() const { return value_.load(); }

   private:
    std::atomic<double> value_{0};
  };
  using MetricFamily::MetricFamily;
  std::string_view type() const override { return "counter"; }
  Series& WithLabels(const LabelValues& values);
  void Inc(double v = 1) { WithLabels({}).Inc(v); }

 private:
  void RenderSamples(std::string& out) const override;
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

class Gauge final : public MetricFamily {
 public:
  class Series {
   public:
    void Set(double v) { value_.store(v); }
    void Add(double v);
    void Inc() { Add(1); }
    void Dec() { Add(-1); }
    double value() const { return value_.load(); }

   private:
    std::atomic<double> value_{0};
  };
  using MetricFamily::MetricFamily;
  std::string_view type() const override { return "gauge"; }
  Series& WithLabels(const LabelValues& values);
  void Set(double v) { WithLabels({}).Set(v); }

 private:
  void RenderSamples(std::string& out) const override;
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

class Histogram final : public MetricFamily {
 public:
  class Series {
   public:
    explicit Series(const std::vector<double>* bounds);
    void Observe(double v);
    uint64_t count() const;
    double sum() const;

   private:
    friend class Histogram;
    const std::vector<double>* bounds_;
    mutable std::mutex mu_;
    std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
    double sum_ = 0;
    uint64_t count_ = 0;
  };
  Histogram(std::string name, std::string help, std::vector<std::string> label_names,
            std::vector<double> buckets);
  std::string_view type() const override { return "histogram"; }
  Series& WithLabels(const LabelValues& values);
  void Observe(double v) { WithLabels({}).Observe(v); }
  const std::vector<double>& buckets() const { return buckets_; }

 private:
  void RenderSamples(std::string& out) const override;
  std::vector<double> buckets_;  // sorted upper bounds, without +Inf
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

// Prometheus' default buckets (.005 .. 10 seconds).
std::vector<double> DefaultBuckets();
// `count` buckets starting at `start`, each `factor` times the previous.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

class MetricsRegistry {
 public:
  Counter& AddCounter(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names = {});
  Gauge& AddGauge(const std::string& name, const std::string& help,
                  std::vector<std::string> label_names = {});
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {},
                          std::vector<double> buckets = DefaultBuckets());
  // The text exposition of every family; runs the collectors first.
  std::string Expose() const;

  // `collect` runs at the start of every Expose, to set gauges that are computed from state at
  // scrape time (work in flight, process counters). It must not call Expose. Remove it (by the
  // returned id) before what it reads goes away; removal waits for a running collection.
  int AddCollector(std::function<void()> collect);
  void RemoveCollector(int id);

 private:
  template <typename T, typename... Args>
  T& Register(const std::string& name, Args&&... args);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>> families_;
  std::vector<std::unique_ptr<MetricFamily>> detached_;
  mutable std::mutex collectors_mu_;  // held while collectors run; never under mu_
  std::map<int, std::function<void()>> collectors_;
  int next_collector_id_ = 0;
};

// Prometheus escaping: label values escape \ " and newline; help text escapes \ and newline.
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
// Value formatting: shortest round-trip, +Inf, -Inf, NaN.
std::string FormatMetricValue(double v);

// Per-cluster client metrics on `registry` (rest_client_requests_total{cluster,verb,code},
// rest_client_request_duration_seconds{cluster,verb}, watch_restarts_total{cluster,resource},
// relists_total{cluster,resource}, exec_credential_refresh_total{cluster,result},
// rest_client_connections_opened_total{cluster}). The registry must outlive the returned object.
std::unique_ptr<kube::ClientMetrics> NewClientMetrics(MetricsRegistry* registry);

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_METRICS_H_
