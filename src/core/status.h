// Status and Result<T>: errors as values, used across every module boundary.
//
// A Status is a code, a human message and, when the error came from (or goes to) a
// Kubernetes API server, the HTTP status and the Kubernetes `Status.reason`.
// Result<T> holds either a T or a non-OK Status.
//
// Thread-safety: values; safe to copy and move between threads, not to mutate concurrently.
#ifndef BRFED_CORE_STATUS_H_
#define BRFED_CORE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace brfed {

enum class Code {
  kOk = 0,
  kInvalidArgument,        // bad input from a user or caller (flags, files, arguments)
  kNotFound,               // 404
  kAlreadyExists,          // 409 AlreadyExists
  kConflict,               // 409 Conflict (stale resourceVersion)
  kGone,                   // 410 (watch history expired)
  kInvalid,                // 422 (object fails validation)
  kBadRequest,             // 400
  kUnauthorized,           // 401
  kForbidden,              // 403
  kTooManyRequests,        // 429
  kUnsupportedMediaType,   // 415
  kRequestEntityTooLarge,  // 413
  kTimeout,                // 504 or a client-side timeout
  kUnavailable,            // connection refused, 503, DNS, TLS handshake
  kCancelled,              // the operation was stopped by shutdown
  kInternal,               // a bug or an unexpected server answer
};

// Name of a code, e.g. "NotFound".
std::string_view CodeName(Code code);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // HTTP status code, 0 when the error did not come from HTTP.
  int http_status() const { return http_status_; }
  // Kubernetes Status.reason ("NotFound", "Conflict", ...), empty when unknown.
  const std::string& reason() const { return reason_; }

  Status& WithHttp(int http_status, std::string reason) {
    http_status_ = http_status;
    reason_ = std::move(reason);
    return *this;
  }

  // A new Status with `context` prepended to the message ("context: message").
  Status Annotate(std::string_view context) const;

  // Transient failures worth retrying with backoff: Unavailable, Timeout, TooManyRequests,
  // Conflict (re-read and retry), Internal server errors (5xx).
  bool IsRetryable() const;

  // "NotFound: message".
  std::string ToString() const;

  bool operator==(const Status& other) const = default;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  int http_status_ = 0;
  std::string reason_;
};

// Convenience constructors.
inline Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
inline Status NotFoundError(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
inline Status InternalError(std::string msg) { return {Code::kInternal, std::move(msg)}; }
inline Status UnavailableError(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }

// Result<T>: a T, or a non-OK Status. Access to value() on an error is a bug (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    assert(ok());
    return std::get<T>(data_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(data_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // The error; Status::Ok() when this holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  T value_or(T fallback) const& { return ok() ? std::get<T>(data_) : std::move(fallback); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace brfed

// Propagate a non-OK Status from an expression returning Status.
#define BRFED_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::brfed::Status brfed_status_ = (expr);        \
    if (!brfed_status_.ok()) return brfed_status_; \
  } while (0)

#define BRFED_CONCAT_INNER_(a, b) a##b
#define BRFED_CONCAT_(a, b) BRFED_CONCAT_INNER_(a, b)
// `BRFED_ASSIGN_OR_RETURN(auto x, Foo());` assigns the value or returns the error.
#define BRFED_ASSIGN_OR_RETURN(lhs, expr)                   \
  auto BRFED_CONCAT_(brfed_result_, __LINE__) = (expr);     \
  if (!BRFED_CONCAT_(brfed_result_, __LINE__).ok())         \
    return BRFED_CONCAT_(brfed_result_, __LINE__).status(); \
  lhs = std::move(BRFED_CONCAT_(brfed_result_, __LINE__)).value()

#endif  // BRFED_CORE_STATUS_H_
