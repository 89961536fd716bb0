// Table rendering for `kubectl get`: the meta.k8s.io/v1 Table a real server returns when the
// client asks for `as=Table`, with the CRD's additionalPrinterColumns (or per-kind defaults
// for built-ins), a pre-rendered Age, and rows[].object as PartialObjectMetadata.
//
// Thread-safety: pure functions.
#ifndef BRFED_APISERVER_TABLE_H_
#define BRFED_APISERVER_TABLE_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/resources.h"
#include "core/json.h"
#include "core/time.h"

namespace brfed::apiserver {

// Go's duration.HumanDuration, as kubectl prints ages: "5s", "3m20s", "5h", "12d".
std::string HumanDuration(std::chrono::seconds d);

// The first value a simple JSONPath (".a.b", ".a[0]", ".a[?(@.type==\"Ready\")].status")
// selects in `object`, or nullptr.
const Json* EvalJsonPath(const Json& object, std::string_view path);

Json RenderTable(const ResourceInfo& resource, const std::vector<Json>& objects,
                 const std::string& resource_version, Time now);

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_TABLE_H_
