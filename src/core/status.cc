#include "core/status.h"

namespace brfed {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kNotFound:
      return "NotFound";
    case Code::kAlreadyExists:
      return "AlreadyExists";
    case Code::kConflict:
      return "Conflict";
    case Code::kGone:
      return "Gone";
    case Code::kInvalid:
      return "Invalid";
    case Code::kBadRequest:
      return "BadRequest";
    case Code::kUnauthorized:
      return "Unauthorized";
    case Code::kForbidden:
      return "Forbidden";
    case Code::kTooManyRequests:
      return "TooManyRequests";
    case Code::kUnsupportedMediaType:
      return "UnsupportedMediaType";
    case Code::kRequestEntityTooLarge:
      return "RequestEntityTooLarge";
    case Code::kTimeout:
      return "Timeout";
    case Code::kUnavailable:
      return "Unavailable";
    case Code::kCancelled:
      return "Cancelled";
    case Code::kInternal:
      return "Internal";
  }
  return "Unknown";
}

Status Status::Annotate(std::string_view context) const {
  Status out = *this;
  out.message_ = std::string(context) + ": " + message_;
  return out;
}

bool Status::IsRetryable() const {
  switch (code_) {
    case Code::kUnavailable:
    case Code::kTimeout:
    case Code::kTooManyRequests:
    case Code::kConflict:
      return true;
    case Code::kInternal:
      return http_status_ >= 500;
    default:
      return false;
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace brfed
