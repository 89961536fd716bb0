// ObjectKey: namespace/name of a Kubernetes object, the unit of work of every queue, and
// ClusterObjectKey, the same qualified by the Kubernetes cluster (kubeconfig context) that
// holds it.
//
// Thread-safety: values.
#ifndef BRFED_CORE_OBJECT_REF_H_
#define BRFED_CORE_OBJECT_REF_H_

#include <compare>
#include <string>
#include <string_view>

#include "core/status.h"

namespace brfed {

struct ObjectKey {
  std::string ns;  // empty for cluster-scoped objects
  std::string name;

  // "ns/name", or "name" when cluster-scoped.
  std::string String() const { return ns.empty() ? name : ns + "/" + name; }
  // Inverse of String().
  static ObjectKey Parse(std::string_view key);

  auto operator<=>(const ObjectKey&) const = default;
};

struct ClusterObjectKey {
  std::string cluster;
  ObjectKey key;

  std::string String() const { return cluster + ":" + key.String(); }
  auto operator<=>(const ClusterObjectKey&) const = default;
};

// Kubernetes name rules, returning a message that says what is wrong ("" when valid).
// RFC 1123 DNS subdomain: at most 253 characters, labels of [a-z0-9-] joined by dots, each
// alphanumeric at both ends.
std::string ValidateDnsSubdomain(std::string_view name);
// RFC 1123 DNS label: at most 63 characters of [a-z0-9-], alphanumeric at both ends.
std::string ValidateDnsLabel(std::string_view name);
// Whether `name` has the shape of an RFC 1123 label ([a-z0-9-], alphanumeric at both ends) or,
// with `allow_dots`, of labels joined by dots (a subdomain). Length is not checked.
bool IsDns1123(std::string_view name, bool allow_dots);
// Label value: empty, or at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both ends.
std::string ValidateLabelValue(std::string_view value);
// Label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters of
// [A-Za-z0-9-_.], alphanumeric at both ends.
std::string ValidateLabelKey(std::string_view key);

}  // namespace brfed

#endif  // BRFED_CORE_OBJECT_REF_H_
