#include "federation/executor.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/log.h"

namespace brfed::federation {
namespace {

const char* VerbName(Write::Verb verb) {
  switch (verb) {
    case Write::Verb::kCreate:
      return "create";
    case Write::Verb::kMergePatch:
      return "patch";
    case Write::Verb::kPatchStatus:
      return "patch status of";
    case Write::Verb::kDelete:
      return "delete";
  }
  return "?";
}

}  // namespace

std::string ObjectIdOf(std::string_view cluster, const kube::Resource& resource,
                       std::string_view ns, std::string_view name) {
  return std::string(cluster) + "|" + resource.plural + "|" + std::string(ns) + "/" +
         std::string(name);
}

std::string Write::ObjectId() const { return ObjectIdOf(cluster, *resource, ns, name); }

std::string Write::Describe() const {
  return std::string(VerbName(verb)) + " " + resource->plural + " " + ns + "/" + name +
         " in cluster " + (cluster.empty() ? std::string("control-plane") : cluster);
}

Executor::Executor(ClientFor clients, runtime::StatusWriter* status_writer, EventSink events,
                   WritePacing pacing)
    : clients_(std::move(clients)),
      status_writer_(status_writer),
      events_(std::move(events)),
      pacing_(pacing) {}

void Executor::Remember(const Write& w, const std::string& written_rv) const {
  if (pacing_.expectations != nullptr) {
    // A deleted object returns no resourceVersion; nothing of ours is left to wait for.
    if (w.verb == Write::Verb::kDelete) {
      pacing_.expectations->Forget(w.ObjectId());
    } else {
      pacing_.expectations->Expect(w.ObjectId(), written_rv);
    }
  }
  if (pacing_.status_batcher != nullptr && w.verb == Write::Verb::kPatchStatus) {
    pacing_.status_batcher->Written(w.ObjectId(), w.may_wait);
  }
}

Result<Json> Executor::Do(const Write& w, kube::Client& client, const Json& body) const {
  switch (w.verb) {
    case Write::Verb::kCreate:
      return client.Create(*w.resource, w.ns, body);
    case Write::Verb::kMergePatch:
      return client.Patch(*w.resource, w.ns, w.name, kube::PatchType::kMerge, body);
    case Write::Verb::kPatchStatus:
      // With a batcher, HoldStatus booked this write's token and it is due.
      return status_writer_->Patch(*w.resource, w.ns, w.name, body,
                                   pacing_.status_batcher != nullptr
                                       ? runtime::StatusWriter::Pacing::kBooked
                                       : runtime::StatusWriter::Pacing::kWait);
    case Write::Verb::kDelete: {
      kube::DeleteOptions options;
      options.propagation_policy = w.propagation_policy;
      Status st = client.Delete(*w.resource, w.ns, w.name, options);
      if (!st.ok()) return st;
      return Json::object();
    }
  }
  return InternalError("unknown write verb");
}

namespace {

// Where the run of writes starting at `begin` that may go at once ends: consecutive member
// writes (data planes), each to a different cluster. They are independent of each other (one
// object each, on different servers, decided on the same observation), so the last of them is
// answered after the slowest one rather than after the sum of all: the execute creates the GC
// pause waits for, or teardown everywhere.
size_t IndependentRunEnd(const std::vector<Write>& writes, size_t begin) {
  std::set<std::string> clusters;
  size_t end = begin;
  while (end < writes.size() && !writes[end].cluster.empty() &&
         clusters.insert(writes[end].cluster).second) {
    ++end;
  }
  return std::max(end, begin + 1);
}

}  // namespace

Result<Json> Executor::Send(const Write& w,
                            const std::map<std::string, std::string>& written_rv) const {
  std::shared_ptr<kube::Client> client =
      w.pause_critical && pacing_.pause_clients ? pacing_.pause_clients(w.cluster) : nullptr;
  if (client == nullptr) client = clients_(w.cluster);
  if (client == nullptr) return UnavailableError("cluster " + w.cluster + " has no client now");
  Json body = w.body != nullptr ? *w.body : Json::object();
  auto rv = written_rv.find(w.ObjectId());
  if (rv != written_rv.end() && JsonAt(body, {"metadata", "resourceVersion"}) != nullptr) {
    body["metadata"]["resourceVersion"] = rv->second;
  }
  return Do(w, *client, body);
}

std::vector<Result<Json>> Executor::SendAll(
    const std::vector<Write>& writes, size_t begin, size_t end,
    const std::map<std::string, std::string>& written_rv) const {
  std::vector<Result<Json>> answers(end - begin, Status(Code::kInternal, "not sent"));
  if (end - begin == 1) {
    answers[0] = Send(writes[begin], written_rv);
    return answers;
  }
  std::vector<std::thread> senders;
  for (size_t i = begin; i < end; ++i) {
    senders.emplace_back([&, i] { answers[i - begin] = Send(writes[i], written_rv); });
  }
  for (auto& t : senders) t.join();
  return answers;
}

std::optional<ExecuteResult> Executor::Settle(std::string_view key, const Write& w,
                                              Result<Json> out,
                                              std::map<std::string, std::string>& written_rv,
                                              const OnDone& on_done,
                                              const ExecuteResult& so_far) const {
  const Code code = out.ok() ? Code::kOk : out.status().code();
  const bool contradicts_cache = (code == Code::kNotFound && (w.verb == Write::Verb::kMergePatch ||
                                                              w.verb == Write::Verb::kDelete)) ||
                                 (code == Code::kAlreadyExists && w.verb == Write::Verb::kCreate);
  if (contradicts_cache && !w.cluster.empty() && w.resource != nullptr &&
      pacing_.on_stale_member_cache) {
    pacing_.on_stale_member_cache(w.cluster, *w.resource,
                                  w.Describe() + " was answered " + std::string(CodeName(code)));
  }
  if (code == Code::kAlreadyExists && w.verb == Write::Verb::kCreate) {
    if (w.exists_means_decide_again) {
      log::Info("object exists but is not in the cache yet; deciding again",
                {{"object", std::string(key)}, {"write", w.Describe()}});
      return ExecuteResult{Status::Ok(), &w, Status::Ok(), true, so_far.held_for};
    }
  } else if (code == Code::kNotFound && (w.missing_is_done || w.verb == Write::Verb::kDelete)) {
    // Gone already: what the write wanted.
  } else if (!out.ok()) {
    log::Warn("write failed; stopping this pass", {{"object", std::string(key)},
                                                   {"write", w.Describe()},
                                                   {"error", out.status().ToString()}});
    return ExecuteResult{out.status().Annotate(w.Describe()), &w, out.status(), false,
                         so_far.held_for};
  }
  const Json written = out.ok() ? std::move(out).value() : Json();
  const std::string new_rv = JsonStringAt(written, {"metadata", "resourceVersion"});
  if (!new_rv.empty()) written_rv[w.ObjectId()] = new_rv;
  Remember(w, new_rv);
  if (on_done) on_done(w, written);
  return std::nullopt;
}

std::optional<std::chrono::nanoseconds> Executor::HoldStatus(const Write& w) const {
  if (w.verb != Write::Verb::kPatchStatus || pacing_.status_batcher == nullptr) return std::nullopt;
  const std::string object = w.ObjectId();
  if (w.may_wait) {
    if (auto hold = pacing_.status_batcher->Hold(object)) return hold;
    if (pacing_.mirror_status_reserve > 0 && status_writer_ != nullptr) {
      if (auto busy = status_writer_->Busy(pacing_.mirror_status_reserve)) return busy;
    }
  }
  return pacing_.status_batcher->Book(object, [this] {
    return status_writer_ != nullptr ? status_writer_->Reserve() : std::chrono::nanoseconds(0);
  });
}

bool Executor::DecidedOnOlderCache(const Write& w,
                                   const std::map<std::string, std::string>& written_rv) const {
  if (w.verb != Write::Verb::kMergePatch || w.cluster.empty() || !pacing_.cached_rv) return false;
  // Patched earlier in this pass: it carries what that write returned, which the cache may
  // not show yet.
  if (written_rv.count(w.ObjectId()) != 0 || w.body == nullptr) return false;
  const std::string decided = JsonStringAt(*w.body, {"metadata", "resourceVersion"});
  if (decided.empty()) return false;
  const std::string cached = pacing_.cached_rv(w);
  return !cached.empty() && cached != decided;
}

std::optional<std::chrono::nanoseconds> Executor::AdmissionWait(
    const std::vector<Write>& writes) const {
  for (const Write& w : writes) {
    if (w.admission_on.empty()) continue;
    if (pacing_.backlogged && pacing_.backlogged()) return kBacklogDeferral;
    for (const std::string& cluster : w.admission_on) {
      if (auto busy = pacing_.busy ? pacing_.busy(cluster) : std::nullopt) return busy;
    }
  }
  return std::nullopt;
}

ExecuteResult Executor::Execute(std::string_view key, const std::vector<Write>& writes,
                                const OnDone& on_done) const {
  std::map<std::string, std::string> written_rv;  // object -> resourceVersion we wrote
  ExecuteResult result;
  if (auto wait = AdmissionWait(writes)) {
    result.deferred_for = wait;
    return result;
  }
  for (size_t begin = 0; begin < writes.size();) {
    const Write& first = writes[begin];
    if (auto hold = HoldStatus(first)) {
      result.held_for = hold;
      ++begin;
      continue;
    }
    const size_t end = IndependentRunEnd(writes, begin);
    for (size_t i = begin; i < end; ++i) {
      if (!DecidedOnOlderCache(writes[i], written_rv)) continue;
      log::Debug("the cache moved past the decided resourceVersion; deciding again",
                 {{"object", std::string(key)}, {"write", writes[i].Describe()}});
      return ExecuteResult{Status::Ok(), &writes[i], Status::Ok(), true, result.held_for};
    }
    std::vector<Result<Json>> answers = SendAll(writes, begin, end, written_rv);
    // Settled in decision order: the first failure is the one reported, as before.
    for (size_t i = begin; i < end; ++i) {
      if (auto stop =
              Settle(key, writes[i], std::move(answers[i - begin]), written_rv, on_done, result)) {
        return *stop;
      }
    }
    begin = end;
  }
  return result;
}

void Executor::Record(const Json& object, std::string_view key,
                      const std::vector<Event>& events) const {
  for (const Event& e : events) {
    if (events_) events_(object, e.type, e.reason, e.message);
    log::Info("event", {{"object", std::string(key)},
                        {"type", e.type},
                        {"reason", e.reason},
                        {"message", e.message}});
  }
}

}  // namespace brfed::federation
