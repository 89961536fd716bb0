#include "runtime/watcher.h"

#include <nlohmann/json.hpp>

namespace brfed::runtime {

using kube::WatchEvent;

namespace {

// No HTTP answer at all: the connection could not be made or broke. The server may have been
// replaced meanwhile (restarted, failed over, restarted without its data), and a fresh server's
// resourceVersions say nothing about ours: once it has counted past our version, a resume would
// be accepted and would silently skip what it holds below it (chaos seeds 4009 and 5007 lost a
// member that way). So such a failure is followed by a list, not a resume.
bool NoAnswer(const Status& status) { return status.http_status() == 0; }

}  // namespace

WatchMachine::WatchMachine(BackoffOptions backoff, uint64_t seed) : backoff_(backoff, seed) {}

std::vector<WatchMachine::Output> WatchMachine::Fail(const Status& status, bool relist,
                                                     bool watch_restart, SteadyTime now) {
  Output out;
  out.kind = OutputKind::kError;
  out.error = status;
  out.watch_restart = watch_restart;
  action_ = Action{ActionKind::kWait, "", backoff_.Next(now)};
  after_wait_ = relist || resource_version_.empty() ? ActionKind::kList : ActionKind::kStartWatch;
  return {out};
}

std::vector<WatchMachine::Output> WatchMachine::OnList(Result<Json> list, SteadyTime now) {
  if (!list.ok()) return Fail(list.status().Annotate("list"), true, false, now);
  Output out;
  out.kind = OutputKind::kReplace;
  out.relist = listed_once_;
  // Moved, not copied: a list of 1,000 members is megabytes of parsed JSON.
  if (auto items = list->find("items"); items != list->end() && items->is_array()) {
    out.objects.reserve(items->size());
    for (auto& item : *items) out.objects.push_back(std::make_shared<const Json>(std::move(item)));
  }
  resource_version_ = JsonStringAt(*list, {"metadata", "resourceVersion"});
  listed_once_ = true;
  action_ = Action{ActionKind::kStartWatch, resource_version_, {}};
  return {std::move(out)};
}

std::vector<WatchMachine::Output> WatchMachine::OnWatchStarted(const Status& status,
                                                               SteadyTime now) {
  if (status.ok()) {
    action_ = Action{ActionKind::kReadEvent, "", {}};
    return {};
  }
  if (kube::IsResourceVersionTooLarge(status)) {
    return RelistNow(status.Annotate("the API server no longer knows resourceVersion " +
                                     resource_version_ +
                                     " (restarted without its data?); relisting"));
  }
  // Our resourceVersion is too old: relist at once (client-go does not back off here).
  if (status.code() == Code::kGone) return RelistNow(status.Annotate("watch start"));
  return Fail(status.Annotate("watch start"), NoAnswer(status), true, now);
}

std::vector<WatchMachine::Output> WatchMachine::RelistNow(Status why) {
  action_ = Action{ActionKind::kList, "", {}};
  Output out;
  out.kind = OutputKind::kError;
  out.error = std::move(why);
  out.watch_restart = true;
  return {out};
}

void WatchMachine::Resume() {
  action_ = Action{ActionKind::kStartWatch, resource_version_, {}};
  action_.check_version = true;
}

std::vector<WatchMachine::Output> WatchMachine::OnEvent(
    const Result<std::optional<WatchEvent>>& event, SteadyTime now) {
  if (!event.ok()) {
    if (event.status().code() == Code::kGone) return RelistNow(event.status());
    return Fail(event.status().Annotate("watch"), NoAnswer(event.status()), true, now);
  }
  if (!event->has_value()) {
    // A normal end of stream (server timeout): resume from where we are.
    Resume();
    return {};
  }
  const WatchEvent& ev = **event;
  const Json& obj = *ev.object;
  std::string rv = JsonStringAt(obj, {"metadata", "resourceVersion"});
  switch (ev.type) {
    case WatchEvent::Type::kAdded:
    case WatchEvent::Type::kModified:
    case WatchEvent::Type::kDeleted: {
      if (!rv.empty()) resource_version_ = rv;
      Output out;
      out.kind = ev.type == WatchEvent::Type::kDeleted ? OutputKind::kDelete : OutputKind::kApply;
      out.object = ev.object;
      return {std::move(out)};
    }
    case WatchEvent::Type::kBookmark:
      if (!rv.empty()) resource_version_ = rv;
      return {};
    case WatchEvent::Type::kError: {
      long long code = JsonIntAt(obj, {"code"});
      Status s(code == 410   ? Code::kGone
               : code == 504 ? Code::kTimeout
                             : Code::kUnavailable,
               "watch ERROR event: " + JsonStringAt(obj, {"message"}, DumpJson(obj)));
      s.WithHttp(static_cast<int>(code), JsonStringAt(obj, {"reason"}));
      if (code == 410 || kube::IsResourceVersionTooLarge(s)) return RelistNow(s);
      return Fail(s, false, true, now);
    }
  }
  return {};
}

void WatchMachine::OnWaited() {
  if (after_wait_ == ActionKind::kStartWatch) {
    Resume();
  } else {
    action_ = Action{ActionKind::kList, "", {}};
  }
}

}  // namespace brfed::runtime
