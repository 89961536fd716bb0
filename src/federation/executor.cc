#include "federation/executor.h"

#include <nlohmann/json.hpp>

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
    pacing_.status_batcher->Written(w.ObjectId());
  }
}

Result<Json> Executor::Do(const Write& w, kube::Client& client, const Json& body) const {
  switch (w.verb) {
    case Write::Verb::kCreate:
      return client.Create(*w.resource, w.ns, body);
    case Write::Verb::kMergePatch:
      return client.Patch(*w.resource, w.ns, w.name, kube::PatchType::kMerge, body);
    case Write::Verb::kPatchStatus:
      return status_writer_->Patch(*w.resource, w.ns, w.name, body);
    case Write::Verb::kDelete: {
      Status st = client.Delete(*w.resource, w.ns, w.name);
      if (!st.ok()) return st;
      return Json::object();
    }
  }
  return InternalError("unknown write verb");
}

ExecuteResult Executor::Execute(std::string_view key, const std::vector<Write>& writes,
                                const OnDone& on_done) const {
  std::map<std::string, std::string> written_rv;  // object -> resourceVersion we wrote
  ExecuteResult result;
  for (const Write& w : writes) {
    if (w.may_wait && pacing_.status_batcher != nullptr) {
      if (auto hold = pacing_.status_batcher->Hold(w.ObjectId())) {
        result.held_for = hold;
        continue;
      }
    }
    std::shared_ptr<kube::Client> client = clients_(w.cluster);
    if (client == nullptr) {
      Status missing = UnavailableError("cluster " + w.cluster + " has no client now");
      return {missing, &w, missing, false, result.held_for};
    }
    Json body = w.body != nullptr ? *w.body : Json::object();
    auto rv = written_rv.find(w.ObjectId());
    if (rv != written_rv.end() && JsonAt(body, {"metadata", "resourceVersion"}) != nullptr) {
      body["metadata"]["resourceVersion"] = rv->second;
    }
    Result<Json> out = Do(w, *client, body);
    const Code code = out.ok() ? Code::kOk : out.status().code();
    if (code == Code::kAlreadyExists && w.verb == Write::Verb::kCreate) {
      if (w.exists_means_decide_again) {
        log::Info("object exists but is not in the cache yet; deciding again",
                  {{"object", std::string(key)}, {"write", w.Describe()}});
        return {Status::Ok(), &w, Status::Ok(), true, result.held_for};
      }
    } else if (code == Code::kNotFound && (w.missing_is_done || w.verb == Write::Verb::kDelete)) {
      // Gone already: what the write wanted.
    } else if (!out.ok()) {
      log::Warn("write failed; stopping this pass", {{"object", std::string(key)},
                                                     {"write", w.Describe()},
                                                     {"error", out.status().ToString()}});
      return {out.status().Annotate(w.Describe()), &w, out.status(), false, result.held_for};
    }
    const Json written = out.ok() ? std::move(out).value() : Json();
    const std::string new_rv = JsonStringAt(written, {"metadata", "resourceVersion"});
    if (!new_rv.empty()) written_rv[w.ObjectId()] = new_rv;
    Remember(w, new_rv);
    if (on_done) on_done(w, written);
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
