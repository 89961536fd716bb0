// EventRecorder: writes core/v1 Events about objects, asynchronously, so Record never blocks a
// reconcile. Repeats of the same (object, type, reason, message) within the aggregation window
// update one Event (count and lastTimestamp) instead of creating new ones. When the backlog is
// full, new records are dropped and counted (an event stream is best-effort by design).
//
// Thread-safety: Record is safe from any thread. Ownership: shares the Client; the Clock must
// outlive the recorder. The destructor (or Stop) flushes what is queued, then joins.
#ifndef BRFED_RUNTIME_EVENT_RECORDER_H_
#define BRFED_RUNTIME_EVENT_RECORDER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/json.h"
#include "kube/client.h"

namespace brfed::runtime {

class EventRecorder {
 public:
  EventRecorder(std::shared_ptr<kube::Client> client, std::string component,
                Clock* clock = RealClock::Get(), size_t max_backlog = 1000);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `involved_object` is the object itself (apiVersion, kind, metadata); `type` is "Normal" or
  // "Warning".
  void Record(const Json& involved_object, std::string_view type, std::string_view reason,
              std::string_view message);
  // Blocks until everything queued so far was written (or failed). For tests and shutdown.
  void Flush();
  void Stop();
  uint64_t dropped() const;

 private:
  struct Pending;
  struct Written;
  void Run();
  void Write(const Pending& p);

  std::shared_ptr<kube::Client> client_;
  std::string component_;
  Clock* clock_;
  size_t max_backlog_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  uint64_t dropped_ = 0;
  std::map<std::string, std::unique_ptr<Written>> written_;  // aggregation key -> Event
  std::thread thread_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_EVENT_RECORDER_H_
