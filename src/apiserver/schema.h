// Structural OpenAPI v3 schemas of custom resources, applied as a real API server does on
// every write: defaults are filled in, unknown fields are pruned, then the object is
// validated (type, required, enum, minimum/maximum, pattern, maxLength, nullable,
// x-kubernetes-preserve-unknown-fields). Supported keywords only; others are ignored.
//
// Thread-safety: pure functions.
#ifndef BRFED_APISERVER_SCHEMA_H_
#define BRFED_APISERVER_SCHEMA_H_

#include <string>
#include <vector>

#include "core/json.h"

namespace brfed::apiserver {

struct FieldError {
  std::string field;    // "spec.clusters[0].k8sClusterName"
  std::string reason;   // FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
  std::string message;  // "Unsupported value: \"x\": supported values: \"a\"" (no field prefix)
};

// Fills defaults and drops fields the schema does not know, in place. apiVersion, kind and
// metadata at the root are always kept.
void DefaultAndPrune(const Json& schema, Json& object);

// Every violation of `schema` in `object`.
std::vector<FieldError> ValidateAgainstSchema(const Json& schema, const Json& object);

// Whether kube-apiserver takes `v` as an integer: an integer, or a float with no fraction that
// fits an int64 (Go decodes 600.0 as a float64, checks it as an integer and writes it as 600).
bool IsKubeInteger(const Json& v);

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_SCHEMA_H_
