// Label and field selectors as the Kubernetes API accepts them in `labelSelector` and
// `fieldSelector` query parameters: parsed once, then matched against objects.
//
// Label selectors support `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
// Field selectors support `=`, `==`, `!=` on `metadata.name`, `metadata.namespace` and, for
// Events, `involvedObject.*`, `reason`, `type`, `source`; other fields are rejected at parse.
//
// Thread-safety: immutable after parsing; safe to share between threads.
#ifndef BRFED_APISERVER_SELECTORS_H_
#define BRFED_APISERVER_SELECTORS_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace brfed::apiserver {

class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kNotExists };
  struct Requirement {
    std::string key;
    Op op = Op::kEquals;
    std::vector<std::string> values;
  };

  // Errors are kBadRequest naming the offending term.
  static Result<LabelSelector> Parse(std::string_view text);

  bool Matches(const Json& object) const;
  bool empty() const { return requirements_.empty(); }

 private:
  std::vector<Requirement> requirements_;
};

class FieldSelector {
 public:
  struct Requirement {
    std::string field;  // e.g. "metadata.name"
    bool negated = false;
    std::string value;
  };

  // `kind` is the object kind; Events accept more fields. Errors are kBadRequest.
  static Result<FieldSelector> Parse(std::string_view text, std::string_view kind);

  bool Matches(const Json& object) const;
  bool empty() const { return requirements_.empty(); }

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace brfed::apiserver

#endif  // BRFED_APISERVER_SELECTORS_H_
