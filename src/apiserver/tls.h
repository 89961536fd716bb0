// Self-signed TLS material for --tls: a fresh CA and a server certificate it signs, made at
// start (ECDSA P-256, valid for a year), with SANs for loopback and the listen host.
//
// Thread-safety: pure function (OpenSSL 3 is thread-safe for this use).
#ifndef BRFED_APISERVER_TLS_H_
#define BRFED_APISERVER_TLS_H_

#include <string>
#include <vector>

#include "core/status.h"

namespace brfed::apiserver {

struct TlsMaterial {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

// `hosts`: IP addresses or DNS names the server certificate must be valid for.
Result<TlsMaterial> GenerateTlsMaterial(const std::vector<std::string>& hosts);

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_TLS_H_
