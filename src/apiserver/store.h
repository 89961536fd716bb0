// Store: the API server's object storage and semantics, independent of HTTP. It keeps every
// object of every served resource in memory (optionally journaled to disk), stamps metadata
// (uid, creationTimestamp, one global monotonic resourceVersion, generation), enforces
// optimistic concurrency, finalizers, the status subresource, CRD schemas, and feeds watches
// from a bounded per-resource history.
//
// Thread-safety: every method is safe for concurrent use (one mutex guards the data; a
// Watcher has its own lock and never takes the store's). Watchers are shared_ptrs owned by
// the caller; the store keeps weak references.
#ifndef BRFED_APISERVER_STORE_H_
#define BRFED_APISERVER_STORE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
// Internal to the apiserver layer: it builds and compares JSON values, so the full type is needed.
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "apiserver/journal.h"
#include "apiserver/resources.h"
#include "apiserver/schema.h"
#include "apiserver/selectors.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"

namespace brfed::apiserver {

// What a request addresses: a resource in a version, a namespace ("" for cluster scope or
// all namespaces), an object name ("" for the collection), and whether it is /status.
struct Target {
  ResourcePtr resource;
  std::string version;
  std::string ns;
  std::string name;
  bool status = false;
};

struct WriteOptions {
  bool dry_run = false;
  // Receives the field causes of a 422 (schema and metadata errors), when not null.
  std::vector<FieldError>* causes = nullptr;
};

struct DeleteOptions {
  bool dry_run = false;
  std::string precondition_uid;
  std::string precondition_resource_version;
  // "Foreground": as kube-apiserver, the object is marked for deletion and gets the
  // foregroundDeletion finalizer, which the garbage collector removes once the dependents are
  // gone. Neither test API server runs a garbage collector: whoever models the dependents (the
  // simulator, for member Backups) removes it. Background and Orphan delete as before.
  std::string propagation_policy;
};

struct ListOptions {
  LabelSelector labels;
  FieldSelector fields;
};

enum class PatchType { kMerge, kJson, kStrategicMerge, kApply };

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED; BOOKMARK ends a watch list's initial events
  // Never mutated after publication, and shared by every watcher that sends it as stored (the
  // store, its history and each stream would otherwise copy the object); null for a BOOKMARK.
  std::shared_ptr<const Json> object;
  uint64_t resource_version = 0;
};

// One watch stream's queue, filled by the store, drained by the HTTP layer.
class Watcher {
 public:
  Watcher(std::string ns, ListOptions filter, std::string api_version, uint64_t start_rv,
          size_t max_queue);

  // The next event, or nullopt after `timeout` or once closed.
  std::optional<WatchEvent> Next(std::chrono::milliseconds timeout);
  // True once the store (or Close) ended this stream; queued events are still delivered.
  bool closed() const;
  void Close();
  // The resourceVersion of the last event handed out (or the start point): safe for a
  // bookmark because everything up to it was delivered.
  uint64_t last_rv() const;

 private:
  friend class Store;
  // Called by the store with its lock held.
  void Offer(const std::string& type, const std::shared_ptr<const Json>& object,
             const std::shared_ptr<const Json>& old_object, uint64_t rv);
  // Queues the BOOKMARK that ends a watch list's initial events (its object is made by the
  // HTTP layer, which knows the kind).
  void OfferInitialEventsEnd(uint64_t rv);

  const std::string ns_;
  const ListOptions filter_;
  const std::string api_version_;
  const size_t max_queue_;
  // Changes at or below it are not sent: the resourceVersion the watch asked to start after.
  // When it is ahead of the store (a client resuming against a server that lost its data),
  // the watch stays silent until the store passes it, as kube-apiserver's watch cache does.
  const uint64_t start_rv_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> queue_;
  uint64_t last_rv_;
  bool closed_ = false;
};

// Whether the object's metadata.finalizers still hold anything (its deletion waits for them).
bool HasFinalizers(const Json& object);

class Store {
 public:
  struct Options {
    size_t watch_history = 1000;   // events kept per resource for watch resumption
    size_t watcher_queue = 10000;  // a slower watcher is closed (it must re-watch)
  };

  Store(ResourceRegistry* registry, Clock* clock, Options options);
  ~Store();

  // Opens the journal in `dir` and replays it. Call once, before serving.
  Status OpenDataDir(const std::string& dir);
  // Creates a CRD from a manifest at start (--crd); AlreadyExists is not an error.
  Status LoadCrd(const Json& crd);

  Result<Json> Get(const Target& target);
  Result<Json> List(const Target& target, const ListOptions& options);
  // The same LIST as JSON text, ready to send (the bytes DumpJson(List(...)) gives). Each
  // object's text is kept from the first LIST after its last write, so a LIST of many unchanged
  // objects appends bytes instead of copying and serializing every object, which List does
  // under the store's lock (1,000 finished members took 50 ms to 1 s per LIST on a loaded
  // machine, and other requests waited).
  struct ListBody {
    std::string json;
    std::string resource_version;
  };
  Result<ListBody> ListText(const Target& target, const ListOptions& options);
  Result<Json> Create(const Target& target, Json object, const WriteOptions& options);
  Result<Json> Update(const Target& target, Json object, const WriteOptions& options);
  struct PatchResult {
    Json object;
    bool created = false;
  };
  Result<PatchResult> Patch(const Target& target, PatchType type, const Json& patch,
                            const WriteOptions& options);
  Result<Json> Delete(const Target& target, const DeleteOptions& options);
  // `resource_version`: "" or "0" = current state as ADDED, then changes; "N" = every change
  // after N (kGone when N is older than the history). `initial_events` (a watch list,
  // `sendInitialEvents=true`): the current state as ADDED whatever `resource_version` says (it
  // is at least as new as any "N" given), then a BOOKMARK that ends it, then changes.
  Result<std::shared_ptr<Watcher>> Watch(const Target& target, const std::string& resource_version,
                                         ListOptions filter, bool initial_events);

  // Ends every open watch stream (fault injection, shutdown).
  void CloseAllWatchers();
  // Forgets the watch history of every resource (fault injection, like an etcd compaction at
  // the current revision): a watch resuming from any older resourceVersion then gets 410 Gone
  // (resourceVersions are global, so that is nearly every resumption).
  void ExpireWatchHistory();
  uint64_t CurrentResourceVersion() const;

 private:
  struct Key {
    std::string ns;
    std::string name;
    auto operator<=>(const Key&) const = default;
  };
  struct Event {
    std::string type;
    std::shared_ptr<const Json> object;
    std::shared_ptr<const Json> old_object;  // null for ADDED
    uint64_t rv;
  };
  struct ResourceData {
    // Each object is immutable once stored: a write stores a new one, and the watch history,
    // streams and writes in progress share the ones they hold without copying.
    std::map<Key, std::shared_ptr<const Json>> objects;
    // DumpJson of an object as served at an apiVersion: {apiVersion, text}. Dropped when the
    // object is written; filled by ListText.
    std::map<Key, std::pair<std::string, std::string>> texts;
    std::deque<Event> history;
    uint64_t compacted_rv = 0;  // watches from before this get 410
    std::vector<std::weak_ptr<Watcher>> watchers;
  };

  // All private helpers expect mu_ held.
  Result<Json> CreateLocked(const Target& target, Json object, const WriteOptions& options);
  Result<Json> UpdateLocked(const Target& target, Json object, const WriteOptions& options);
  // The stored object `target` names, or the API server's NotFound.
  Result<std::shared_ptr<const Json>> StoredLocked(const Target& target);
  // Sets metadata.namespace for a create; fails when the namespace does not match or exist.
  Status AssignNamespace(const Target& target, Json& object);
  // Sets metadata.name for a create from generateName when no name is given.
  Status AssignName(const ResourceInfo& r, Json& object, const WriteOptions& options);
  Status Prepare(const Target& target, Json& object, const Json* current,
                 const WriteOptions& options);
  // `old_object`: what an update or delete replaces (null for a create).
  Status Commit(const ResourceInfo& resource, const std::string& type, Json object,
                std::shared_ptr<const Json> old_object);
  void Publish(ResourceData& data, const std::string& type,
               const std::shared_ptr<const Json>& object,
               const std::shared_ptr<const Json>& old_object, uint64_t rv);
  // Stores ("put") or removes ("del") `object` of resource `id`: journal replay and commits.
  void Apply(std::string_view op, const std::string& id, const std::shared_ptr<const Json>& object);
  Status RemoveNamespaceContents(const std::string& ns);
  Status RemoveResourceObjects(const std::string& id);
  std::string NewUid();
  Json Output(const Target& target, const Json& stored) const;
  // `stored` as an item of a list.
  Json ListItem(const Target& target, const Json& stored) const;
  // Whether a LIST of `target` with `options` includes the stored object under `key`.
  static bool Selected(const Target& target, const ListOptions& options, const Key& key,
                       const Json& stored);
  bool NamespaceExists(const std::string& ns) const;

  ResourceRegistry* registry_;
  Clock* clock_;
  const Options options_;
  mutable std::mutex mu_;
  uint64_t rv_ = 1;
  std::map<std::string, ResourceData> data_;
  std::unique_ptr<Journal> journal_;
  std::mt19937_64 rng_;
};

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_STORE_H_
