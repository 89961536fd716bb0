#include "runtime/process_metrics.h"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace brfed::runtime {
namespace {

std::optional<double> ToNumber(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> Fields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::optional<double> BootTime(std::string_view proc_stat) {
  for (size_t at = 0; at < proc_stat.size();) {
    size_t end = proc_stat.find('\n', at);
    if (end == std::string_view::npos) end = proc_stat.size();
    std::string_view line = proc_stat.substr(at, end - at);
    if (line.rfind("btime ", 0) == 0) return ToNumber(line.substr(6));
    at = end + 1;
  }
  return std::nullopt;
}

std::string ReadWhole(const char* path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::optional<ProcessSample> ParseProcStat(std::string_view self_stat, std::string_view proc_stat,
                                           long ticks_per_second, long page_size) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const size_t close = self_stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<std::string_view> f = Fields(self_stat.substr(close + 1));
  // f[0] is field 3 (state): field n of proc(5) is f[n - 3].
  if (f.size() < 22) return std::nullopt;
  auto utime = ToNumber(f[14 - 3]), stime = ToNumber(f[15 - 3]);
  auto start = ToNumber(f[22 - 3]), vsize = ToNumber(f[23 - 3]), rss = ToNumber(f[24 - 3]);
  auto boot = BootTime(proc_stat);
  if (!utime || !stime || !start || !vsize || !rss || !boot) return std::nullopt;
  const double ticks = static_cast<double>(ticks_per_second);
  ProcessSample s;
  s.cpu_seconds = (*utime + *stime) / ticks;
  s.resident_bytes = *rss * static_cast<double>(page_size);
  s.virtual_bytes = *vsize;
  s.start_time_seconds = *boot + *start / ticks;
  return s;
}

std::optional<double> ParseMaxOpenFiles(std::string_view limits) {
  constexpr std::string_view kKey = "Max open files";
  const size_t at = limits.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  size_t end = limits.find('\n', at);
  if (end == std::string_view::npos) end = limits.size();
  std::vector<std::string_view> f = Fields(limits.substr(at + kKey.size(), end - at - kKey.size()));
  if (f.empty()) return std::nullopt;
  return ToNumber(f[0]);
}

ProcessMetrics::ProcessMetrics(MetricsRegistry* registry)
    : registry_(registry),
      collector_id_(-1),
      cpu_(registry
               ->AddCounter("process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.")
               .WithLabels({})),
      resident_(
          registry->AddGauge("process_resident_memory_bytes", "Resident memory size in bytes.")
              .WithLabels({})),
      virtual_(registry->AddGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
                   .WithLabels({})),
      start_time_(registry
                      ->AddGauge("process_start_time_seconds",
                                 "Start time of the process since unix epoch in seconds.")
                      .WithLabels({})),
      open_fds_(registry->AddGauge("process_open_fds", "Number of open file descriptors.")
                    .WithLabels({})),
      max_fds_(registry->AddGauge("process_max_fds", "Maximum number of open file descriptors.")
                   .WithLabels({})) {
  collector_id_ = registry_->AddCollector([this] { Collect(); });
}

ProcessMetrics::~ProcessMetrics() { registry_->RemoveCollector(collector_id_); }

void ProcessMetrics::Collect() {
  auto sample = ParseProcStat(ReadWhole("/proc/self/stat"), ReadWhole("/proc/stat"),
                              sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
  if (sample) {
    if (sample->cpu_seconds > cpu_reported_) {
      cpu_.Inc(sample->cpu_seconds - cpu_reported_);
      cpu_reported_ = sample->cpu_seconds;
    }
    resident_.Set(sample->resident_bytes);
    virtual_.Set(sample->virtual_bytes);
    start_time_.Set(sample->start_time_seconds);
  }
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  if (!ec) open_fds_.Set(fds);
  if (auto max = ParseMaxOpenFiles(ReadWhole("/proc/self/limits"))) max_fds_.Set(*max);
}

}  // namespace brfed::runtime
