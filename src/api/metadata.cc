#include "api/metadata.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/labels.h"

namespace brfed::api {

bool HasFinalizer(const Json& object, std::string_view finalizer) {
  const Json* list = JsonAt(object, {"metadata", "finalizers"});
  if (list == nullptr || !list->is_array()) return false;
  return std::any_of(list->begin(), list->end(), [&](const Json& f) {
    return f.is_string() && f.get<std::string>() == finalizer;
  });
}

Json FinalizersWith(const Json& object, std::string_view finalizer, bool present) {
  Json out = Json::array();
  if (const Json* f = JsonAt(object, {"metadata", "finalizers"}); f != nullptr && f->is_array()) {
    for (const Json& e : *f) {
      if (!(e.is_string() && e.get<std::string>() == finalizer)) out.push_back(e);
    }
  }
  if (present) out.push_back(std::string(finalizer));
  return out;
}

Json FinalizerPatch(const Json& object, std::string_view finalizer, bool present,
                    std::string_view resource_version) {
  return {{"metadata",
           {{"resourceVersion", std::string(resource_version)},
            {"finalizers", FinalizersWith(object, finalizer, present)}}}};
}

bool IsBeingDeleted(const Json& object) {
  return !JsonStringAt(object, {"metadata", "deletionTimestamp"}).empty();
}

std::string OwnerKeyOf(const Json& member, std::string_view kind_label) {
  if (JsonStringAt(member, {"metadata", "labels", std::string(kind_label)}).empty()) return "";
  return JsonStringAt(member, {"metadata", "annotations", std::string(kOwnerAnnotation)});
}

}  // namespace brfed::api
