#include "api/metadata.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/labels.h"
#include "core/time.h"

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

namespace {

bool HasOurMarks(const Json& member) {
  return !JsonStringAt(member, {"metadata", "labels", kManagedByLabel}).empty() ||
         !JsonStringAt(member, {"metadata", "annotations", kOwnerAnnotation}).empty() ||
         !JsonStringAt(member, {"metadata", "annotations", kOwnerUidAnnotation}).empty();
}

bool CarriesAllLabelsOf(const Json& member, const Json& owner) {
  const Json* labels = JsonAt(owner, {"metadata", "labels"});
  if (labels == nullptr || !labels->is_object()) return true;
  for (const auto& [key, value] : labels->items()) {
    const Json* copied = JsonAt(member, {"metadata", "labels", key});
    if (copied == nullptr || *copied != value) return false;
  }
  return true;
}

}  // namespace

bool IsGoManagerMember(const Json& member, const Json& owner, std::string_view phase_field) {
  if (JsonStringAt(member, {"metadata", "name"}) !=
          "fed-" + JsonStringAt(owner, {"metadata", "name"}) ||
      HasOurMarks(member) || JsonStringAt(member, {"spec", phase_field}).empty()) {
    return false;
  }
  auto member_created = ParseRfc3339(JsonStringAt(member, {"metadata", "creationTimestamp"}));
  auto owner_created = ParseRfc3339(JsonStringAt(owner, {"metadata", "creationTimestamp"}));
  if (!member_created.ok() || !owner_created.ok() || *member_created < *owner_created) {
    return false;
  }
  return CarriesAllLabelsOf(member, owner);
}

Json AdoptionPatch(const Json& member, const Json& owner, std::string_view kind_label) {
  const std::string name = JsonStringAt(owner, {"metadata", "name"});
  return {{"metadata",
           {{"resourceVersion", JsonStringAt(member, {"metadata", "resourceVersion"})},
            {"labels",
             {{std::string(kManagedByLabel), kManagedByValue}, {std::string(kind_label), name}}},
            {"annotations",
             {{std::string(kOwnerAnnotation),
               JsonStringAt(owner, {"metadata", "namespace"}) + "/" + name},
              {std::string(kOwnerUidAnnotation), JsonStringAt(owner, {"metadata", "uid"})}}}}}};
}

}  // namespace brfed::api
