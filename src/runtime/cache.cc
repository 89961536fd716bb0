#include "runtime/cache.h"

#include <nlohmann/json.hpp>

namespace brfed::runtime {

ObjectKey KeyOf(const Json& obj) {
  return ObjectKey{JsonStringAt(obj, {"metadata", "namespace"}),
                   JsonStringAt(obj, {"metadata", "name"})};
}

ObjectPtr Cache::Get(const ObjectKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Cache::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [k, v] : objects_) out.push_back(v);
  return out;
}

std::vector<ObjectPtr> Cache::ListNamespace(std::string_view ns) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  for (auto it = objects_.lower_bound(ObjectKey{std::string(ns), ""});
       it != objects_.end() && it->first.ns == ns; ++it) {
    out.push_back(it->second);
  }
  return out;
}

size_t Cache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.size();
}

std::vector<Cache::Change> Cache::Replace(std::vector<ObjectPtr> objects) {
  std::map<ObjectKey, ObjectPtr> next;
  for (auto& obj : objects) next[KeyOf(*obj)] = std::move(obj);
  std::vector<Change> changes;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, obj] : next) {
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      changes.push_back({nullptr, obj});
    } else if (JsonStringAt(*it->second, {"metadata", "resourceVersion"}) !=
                   JsonStringAt(*obj, {"metadata", "resourceVersion"}) ||
               JsonStringAt(*it->second, {"metadata", "resourceVersion"}).empty()) {
      changes.push_back({it->second, obj});
    }
  }
  for (const auto& [key, obj] : objects_) {
    if (next.find(key) == next.end()) changes.push_back({obj, nullptr});
  }
  objects_.swap(next);
  return changes;
}

ObjectPtr Cache::Upsert(ObjectPtr obj) {
  ObjectKey key = KeyOf(*obj);
  std::lock_guard<std::mutex> lock(mu_);
  ObjectPtr& slot = objects_[key];
  ObjectPtr old = std::move(slot);
  slot = std::move(obj);
  return old;
}

ObjectPtr Cache::Remove(const ObjectKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr old = std::move(it->second);
  objects_.erase(it);
  return old;
}

}  // namespace brfed::runtime
