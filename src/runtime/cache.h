// Cache: the informer's cache of one resource in one cluster, keyed by namespace/name (named
// Cache, not Store, so it is not confused with apiserver::Store, the API server's storage). One
// writer (its Informer) and many readers; readers get shared, immutable snapshots of objects,
// so a returned object never changes under them. The cache may be stale: a reconciler that
// needs fresher data fails and lets its error policy retry.
//
// Thread-safety: all methods are safe for concurrent use. The writer methods (Replace, Upsert,
// Remove) are meant for the owning Informer only; they are public so tests and fakes can fill
// a cache directly.
#ifndef BRFED_RUNTIME_CACHE_H_
#define BRFED_RUNTIME_CACHE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/object_ref.h"

namespace brfed::runtime {

using ObjectPtr = std::shared_ptr<const Json>;

// namespace/name of an object from its metadata.
ObjectKey KeyOf(const Json& obj);

class Cache {
 public:
  // Null when absent.
  ObjectPtr Get(const ObjectKey& key) const;
  std::vector<ObjectPtr> List() const;  // ordered by key
  std::vector<ObjectPtr> ListNamespace(std::string_view ns) const;
  size_t size() const;

  // --- writer side (the owning Informer) ---
  struct Change {
    ObjectPtr old_obj;  // null: added
    ObjectPtr new_obj;  // null: deleted
  };
  // Swaps in a complete new set atomically and returns the add/update/delete differences.
  // Objects whose resourceVersion did not change produce no Change.
  std::vector<Change> Replace(std::vector<ObjectPtr> objects);
  // Inserts or replaces; returns the previous object (null if new).
  ObjectPtr Upsert(ObjectPtr obj);
  // Removes; returns the removed object (null if absent).
  ObjectPtr Remove(const ObjectKey& key);

 private:
  mutable std::mutex mu_;
  std::map<ObjectKey, ObjectPtr> objects_;
};

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_CACHE_H_
