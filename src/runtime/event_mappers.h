// Event mappers: how a watch event on one resource becomes work-queue keys of a controller.
// A KeyMapper turns an object into the keys to reconcile; EnqueueMapped turns a mapper into the
// add/update/delete handlers of an informer (the same mapping for all three, on the new object
// for an update). The named mappers cover the common cases: the object's own key
// (ObjectKeyMapper) and "everything in this cache" (EnqueueAll, for a cluster change or a
// resync). Owner-annotation mapping of data-plane members is api::OwnerKeyOf wrapped in a
// KeyMapper by the federation controllers.
//
// Thread-safety: the handlers run on informer threads and only add keys to the (thread-safe)
// queue. Ownership: the queue and cache must outlive the handlers.
#ifndef BRFED_RUNTIME_EVENT_MAPPERS_H_
#define BRFED_RUNTIME_EVENT_MAPPERS_H_

#include <functional>
#include <string>
#include <vector>

#include "core/json.h"
#include "runtime/cache.h"
#include "runtime/informer.h"
#include "runtime/work_queue.h"

namespace brfed::runtime {

using KeyMapper = std::function<std::vector<std::string>(const Json& object)>;

// The object's own "namespace/name".
KeyMapper ObjectKeyMapper();

// A key's work-queue priority, asked each time it is enqueued.
using KeyPriority = std::function<WorkQueue::Priority(const std::string& key)>;

// Handlers that enqueue `map(object)` on `queue` for every add, update and delete, at
// `priority(key)` (normal when unset).
InformerHandlers EnqueueMapped(WorkQueue* queue, KeyMapper map, KeyPriority priority = {});

// Enqueues the key of every object in `cache` (cluster changes; the resync safety net).
void EnqueueAll(const Cache& cache, WorkQueue* queue);

}  // namespace brfed::runtime

#endif  // BRFED_RUNTIME_EVENT_MAPPERS_H_
