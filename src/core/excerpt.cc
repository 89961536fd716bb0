#include "core/excerpt.h"

namespace brfed {
namespace {

// The longest prefix of at most `max_bytes` bytes that does not end inside a UTF-8 sequence.
std::string_view Prefix(std::string_view text, size_t max_bytes) {
  size_t end = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string Length(std::string_view text) { return " (" + std::to_string(text.size()) + " bytes)"; }

}  // namespace

std::string Excerpt(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(Prefix(text, max_bytes)) + "…" + Length(text);
}

std::string Quote(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return "\"" + std::string(text) + "\"";
  return "\"" + std::string(Prefix(text, max_bytes)) + "…\"" + Length(text);
}

}  // namespace brfed
