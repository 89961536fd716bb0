// FakeClient: an in-memory Client for unit tests of code above the kube layer. It keeps objects
// per resource with a global resourceVersion, answers Get/List/Create/Update/UpdateStatus/
// Patch(merge, JSON patch)/Delete with the API server's error codes (NotFound, AlreadyExists,
// Conflict on a stale resourceVersion), and serves watches from the moment they start, after
// replaying the changes since their resourceVersion when they give one (selectors are ignored;
// finalizers, generation and status semantics are not modelled). A list with a resourceVersionMatch
// (a read at a version, such as an informer's check before it resumes) is counted as verb
// "LIST_AT_VERSION", not "LIST", and answers 504 ResourceVersionTooLarge for a version the fake has
// not reached, as kube-apiserver does. Tests can inject the next error per verb, and reset the fake
// to empty (ResetEmpty). Prefer a real brfed-apiserver for behaviour tests; use this for pure unit
// tests.
//
// Thread-safety: safe for concurrent use; watch streams may be read from other threads.
#ifndef BRFED_KUBE_TESTING_FAKE_CLIENT_H_
#define BRFED_KUBE_TESTING_FAKE_CLIENT_H_

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kube/client.h"

namespace brfed::kube {

class FakeClient final : public Client {
 public:
  explicit FakeClient(std::string cluster = "fake");
  ~FakeClient() override;

  const std::string& cluster_name() const override { return cluster_; }
  Result<Json> Get(const Resource& r, std::string_view ns, std::string_view name) override;
  Result<Json> List(const Resource& r, std::string_view ns, const ListOptions& o = {}) override;
  Result<Json> Create(const Resource& r, std::string_view ns, const Json& obj) override;
  Result<Json> Update(const Resource& r, const Json& obj) override;
  Result<Json> UpdateStatus(const Resource& r, const Json& obj) override;
  Result<Json> Patch(const Resource& r, std::string_view ns, std::string_view name, PatchType type,
                     const Json& patch, std::string_view subresource = "") override;
  Status Delete(const Resource& r, std::string_view ns, std::string_view name,
                const DeleteOptions& o = {}) override;
  Result<std::unique_ptr<WatchStream>> Watch(const Resource& r, std::string_view ns,
                                             const WatchOptions& o) override;
  Result<Json> Request(std::string_view method, std::string_view path, const Json* body) override;

  // The next call of `verb` ("GET", "LIST", "POST", "PUT", "PATCH", "DELETE", "WATCH") fails
  // with `error`.
  void FailNext(const std::string& verb, Status error);
  // Ends every open watch stream with `error` (Ok: a normal end of stream).
  void BreakWatches(Status error = Status::Ok());
  // Number of calls per verb so far.
  int Calls(const std::string& verb) const;
  // An API server restarted without its data: every object is gone (no watch event says so),
  // the resourceVersion starts again from 1, and open watches end with `watch_end` (by default
  // a connection error; Ok: a normal end of stream).
  void ResetEmpty(Status watch_end = Status(Code::kUnavailable,
                                            "connection reset: the server restarted"));
  // The same, but open watches stay open and silent: a watch started on the new server from a
  // version listed on the old one (chaos seed 8012).
  void ResetEmptySilently();

 private:
  struct Stream;
  Status TakeFailure(const std::string& verb);
  Result<Json> Store(const Resource& r, Json obj, bool create, bool status_only);
  void Notify(const Resource& r, const std::string& type, const Json& obj);

  std::string cluster_;
  mutable std::mutex mu_;
  long long rv_ = 1;
  // resource path (no namespace) -> "ns/name" -> object
  std::map<std::string, std::map<std::string, Json>> objects_;
  std::map<std::string, std::deque<Status>> failures_;
  std::map<std::string, int> calls_;
  // resource path -> every change so far (watches from a resourceVersion replay them).
  std::map<std::string, std::vector<WatchEvent>> history_;
  std::vector<std::weak_ptr<Stream>> streams_;
};

}  // namespace brfed::kube

#endif  // BRFED_KUBE_TESTING_FAKE_CLIENT_H_
