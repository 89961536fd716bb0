// Fuzzes ParseJsonWithout (core/json.h), the informers' parse that leaves managedFields out.
// Beyond "no crash": it must accept exactly what ParseJson accepts, and build the same tree
// less every "managedFields" member of an object that is the value of a "metadata" member.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/json.h"

namespace {

// The reference: the whole tree, then the members erased.
void EraseUnderMetadata(brfed::Json& value) {
  if (value.is_array()) {
    for (auto& item : value) EraseUnderMetadata(item);
    return;
  }
  if (!value.is_object()) return;
  for (auto& [key, member] : value.items()) {
    if (key == "metadata" && member.is_object()) member.erase("managedFields");
    EraseUnderMetadata(member);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto whole = brfed::ParseJson(text);
  auto without = brfed::ParseJsonWithout(text, "metadata", "managedFields");
  if (whole.ok() != without.ok()) {
    std::fprintf(stderr, "ParseJson %s but ParseJsonWithout %s\n",
                 whole.ok() ? "accepts" : "rejects", without.ok() ? "accepts" : "rejects");
    std::abort();
  }
  if (!whole.ok()) return 0;
  EraseUnderMetadata(*whole);
  if (*whole != *without) {
    std::fprintf(stderr, "trees differ:\n%s\n%s\n", whole->dump().c_str(), without->dump().c_str());
    std::abort();
  }
  return 0;
}
