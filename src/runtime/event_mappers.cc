#include "runtime/event_mappers.h"

namespace brfed::runtime {

KeyMapper ObjectKeyMapper() {
  return [](const Json& object) { return std::vector<std::string>{KeyOf(object).String()}; };
}

InformerHandlers EnqueueMapped(WorkQueue* queue, KeyMapper map, KeyPriority priority) {
  auto enqueue = [queue, map = std::move(map), priority = std::move(priority)](const Json& object) {
    for (const std::string& key : map(object)) {
      queue->Add(key, priority ? priority(key) : WorkQueue::Priority::kNormal);
    }
  };
  return {enqueue, [enqueue](const Json&, const Json& object) { enqueue(object); }, enqueue};
}

void EnqueueAll(const Cache& cache, WorkQueue* queue) {
  for (const auto& object : cache.List()) queue->Add(KeyOf(*object).String());
}

}  // namespace brfed::runtime
