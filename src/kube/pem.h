// Small OpenSSL-backed helpers for kubeconfig material: strict base64 decoding and PEM checks,
// so bad certificates are reported at load time naming the field rather than as a TLS failure
// later.
//
// Thread-safety: pure functions.
#ifndef BRFED_KUBE_PEM_H_
#define BRFED_KUBE_PEM_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace brfed::kube {

// Standard base64 with padding; whitespace is ignored. kInvalidArgument on anything else.
Result<std::string> DecodeBase64(std::string_view text);
std::string EncodeBase64(std::string_view bytes);

// "" when `pem` holds at least one certificate (ValidateCertificates) or a private key
// (ValidatePrivateKey); otherwise what is wrong.
std::string ValidateCertificates(std::string_view pem);
std::string ValidatePrivateKey(std::string_view pem);

// ReadFile (core/files.h) for files a kubeconfig names: kInvalidArgument naming the file on
// failure, since the path is user input.
Result<std::string> ReadFileToString(const std::string& path);

}  // namespace brfed::kube

#endif  // BRFED_KUBE_PEM_H_
