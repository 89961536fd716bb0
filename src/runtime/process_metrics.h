// ProcessMetrics: the Prometheus client's standard process collector for this process, as the
// Go manager exposes it (process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_start_time_seconds, process_open_fds, process_max_fds),
// read from /proc at scrape time. The parsers are pure functions over the /proc file texts so
// tests cover them with fixed inputs.
//
// Thread-safety: the collector runs under the registry's collector lock; the object must be
// destroyed before the registry (its destructor unregisters the collector).
#ifndef BRFED_RUNTIME_PROCESS_METRICS_H_
#define BRFED_RUNTIME_PROCESS_METRICS_H_

#include <optional>
#include <string_view>

#include "runtime/metrics.h"

namespace brfed::runtime {

struct ProcessSample {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;  // Unix time
};

// /proc/self/stat and the `btime` of /proc/stat; nullopt when the text is malformed.
std::optional<ProcessSample> ParseProcStat(std::string_view self_stat, std::string_view proc_stat,
                                           long ticks_per_second, long page_size);
// The soft "Max open files" limit of /proc/self/limits; nullopt when absent ("unlimited" too).
std::optional<double> ParseMaxOpenFiles(std::string_view limits);

class ProcessMetrics {
 public:
  explicit ProcessMetrics(MetricsRegistry* registry);
  ~ProcessMetrics();
  ProcessMetrics(const ProcessMetrics&) = delete;
  ProcessMetrics& operator=(const ProcessMetrics&) = delete;

 private:
  void Collect();

  MetricsRegistry* registry_;
  int collector_id_;
  Counter::Series& cpu_;
  Gauge::Series& resident_;
  Gauge::Series& virtual_;
  Gauge::Series& start_time_;
  Gauge::Series& open_fds_;
  Gauge::Series& max_fds_;
  double cpu_reported_ = 0;  // the counter only moves forward by the difference
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_PROCESS_METRICS_H_
