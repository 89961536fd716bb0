// Bounded excerpts of user-supplied values for messages: conditions, Events, logs and errors
// quote what was wrong, but a 1.6 MB cron string must not become a 1.6 MB status write (the
// API server refuses it and the object then shows no status at all). Values up to the bound
// are quoted whole; longer ones are cut at a UTF-8 character boundary and say how long they were.
//
// Thread-safety: pure functions.
#ifndef BRFED_CORE_EXCERPT_H_
#define BRFED_CORE_EXCERPT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace brfed {

// How much of one bad value a message quotes.
inline constexpr size_t kExcerptBytes = 256;
// How long a whole condition or Event message may get (several excerpts and their context).
inline constexpr size_t kMessageBytes = 4096;

// `text` when it has at most `max_bytes` bytes, else its first `max_bytes` bytes (fewer when
// that would split a UTF-8 character) followed by "… (N bytes)".
std::string Excerpt(std::string_view text, size_t max_bytes = kExcerptBytes);

// `"text"` in double quotes, bounded like Excerpt: `"abc…" (N bytes)` when cut.
std::string Quote(std::string_view text, size_t max_bytes = kExcerptBytes);

}  // namespace brfed

#endif  // BRFED_CORE_EXCERPT_H_
