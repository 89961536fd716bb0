#include "apiserver/api_error.h"

namespace brfed::apiserver {
namespace {

// How kube-apiserver answers each code; codes not listed are 500 with CodeName as reason.
struct HttpAnswer {
  Code code;
  int http_status;
  const char* reason;  // nullptr: CodeName(code)
};

constexpr HttpAnswer kAnswers[] = {
    {Code::kNotFound, 404, nullptr},
    {Code::kAlreadyExists, 409, nullptr},
    {Code::kConflict, 409, nullptr},
    {Code::kGone, 410, "Expired"},
    {Code::kInvalid, 422, nullptr},
    {Code::kBadRequest, 400, nullptr},
    {Code::kInvalidArgument, 400, "BadRequest"},
    {Code::kUnauthorized, 401, nullptr},
    {Code::kForbidden, 403, nullptr},
    {Code::kTooManyRequests, 429, nullptr},
    {Code::kUnsupportedMediaType, 415, nullptr},
    {Code::kRequestEntityTooLarge, 413, nullptr},
    {Code::kTimeout, 504, nullptr},
    {Code::kUnavailable, 503, "ServiceUnavailable"},
    {Code::kInternal, 500, "InternalError"},
    {Code::kCancelled, 500, "InternalError"},
};

}  // namespace

Status ApiError(Code code, std::string message) {
  int http_status = 500;
  std::string reason(CodeName(code));
  for (const HttpAnswer& a : kAnswers) {
    if (a.code != code) continue;
    http_status = a.http_status;
    if (a.reason != nullptr) reason = a.reason;
  }
  return Status(code, std::move(message)).WithHttp(http_status, reason);
}

}  // namespace brfed::apiserver
