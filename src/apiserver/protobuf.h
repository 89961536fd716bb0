// Decoder for the small protobuf subset kubectl >= 1.32 sends for `kubectl create namespace`
// and `kubectl create secret generic`: the `k8s\0` envelope (runtime.Unknown) around a
// Namespace or Secret. The result is the object as JSON; other kinds are kUnsupportedMediaType.
//
// Thread-safety: pure function.
#ifndef BRFED_APISERVER_PROTOBUF_H_
#define BRFED_APISERVER_PROTOBUF_H_

#include <string_view>

#include "core/json.h"
#include "core/status.h"

namespace brfed::apiserver {

Result<Json> DecodeKubernetesProtobuf(std::string_view body);

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_PROTOBUF_H_
