// Standard base64 (RFC 4648, with padding), as Kubernetes uses for Secret data and
// kubeconfig certificate data.
//
// Thread-safety: pure functions.
#ifndef BRFED_APISERVER_BASE64_H_
#define BRFED_APISERVER_BASE64_H_

#include <string>
#include <string_view>

namespace brfed::apiserver {

std::string Base64Encode(std::string_view data);

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_BASE64_H_
