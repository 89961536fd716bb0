// UnusedClient: a kube::Client whose every verb fails (kInternal "unused" by default), the base of
// the small hand-written fakes in unit tests: a fake derives from it and overrides only the verbs
// its test serves, so a call the test did not expect fails loudly instead of answering.
//
// Thread-safety: the base holds only immutable state; derived fakes guard their own.
#ifndef BRFED_KUBE_TESTING_UNUSED_CLIENT_H_
#define BRFED_KUBE_TESTING_UNUSED_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"
#include "kube/client.h"

namespace brfed::kube::testing {

class UnusedClient : public Client {
 public:
  // `unused_code`: the error code of a verb the fake does not serve.
  explicit UnusedClient(std::string cluster, Code unused_code = Code::kInternal)
      : cluster_(std::move(cluster)), unused_code_(unused_code) {}

  const std::string& cluster_name() const override { return cluster_; }
  Result<Json> Get(const Resource&, std::string_view, std::string_view) override {
    return Unused("GET");
  }
  Result<Json> List(const Resource&, std::string_view, const ListOptions&) override {
    return Unused("LIST");
  }
  Result<Json> Create(const Resource&, std::string_view, const Json&) override {
    return Unused("POST");
  }
  Result<Json> Update(const Resource&, const Json&) override { return Unused("PUT"); }
  Result<Json> UpdateStatus(const Resource&, const Json&) override { return Unused("PUT status"); }
  Result<Json> Patch(const Resource&, std::string_view, std::string_view, PatchType, const Json&,
                     std::string_view) override {
    return Unused("PATCH");
  }
  Status Delete(const Resource&, std::string_view, std::string_view,
                const DeleteOptions&) override {
    return Unused("DELETE");
  }
  Result<std::unique_ptr<WatchStream>> Watch(const Resource&, std::string_view,
                                             const WatchOptions&) override {
    return Unused("WATCH");
  }
  Result<Json> Request(std::string_view, std::string_view, const Json*) override {
    return Unused("request");
  }

 protected:
  Status Unused(std::string_view verb) const {
    return Status(unused_code_, "unused: " + std::string(verb));
  }

 private:
  std::string cluster_;
  Code unused_code_;
};

}  // namespace brfed::kube::testing

#endif  // BRFED_KUBE_TESTING_UNUSED_CLIENT_H_
