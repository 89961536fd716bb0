#include "core/status.h"

#include <gtest/gtest.h>

namespace brfed {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgument("odd: " + std::to_string(v));
  return v / 2;
}

Result<int> Quarter(int v) {
  BRFED_ASSIGN_OR_RETURN(int h, Half(v));
  BRFED_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int v) {
  BRFED_RETURN_IF_ERROR(Half(v).status());
  return Status::Ok();
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, CarriesHttpAndReason) {
  Status s = Status(Code::kConflict, "stale").WithHttp(409, "Conflict");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.http_status(), 409);
  EXPECT_EQ(s.reason(), "Conflict");
  EXPECT_EQ(s.ToString(), "Conflict: stale");
  EXPECT_EQ(s.Annotate("patch fed-a").message(), "patch fed-a: stale");
}

TEST(Status, RetryableClasses) {
  EXPECT_TRUE(Status(Code::kUnavailable, "").IsRetryable());
  EXPECT_TRUE(Status(Code::kTimeout, "").IsRetryable());
  EXPECT_TRUE(Status(Code::kTooManyRequests, "").IsRetryable());
  EXPECT_TRUE(Status(Code::kConflict, "").IsRetryable());
  EXPECT_TRUE(Status(Code::kInternal, "").WithHttp(503, "").IsRetryable());
  EXPECT_FALSE(Status(Code::kInternal, "bug").IsRetryable());
  EXPECT_FALSE(Status(Code::kInvalid, "").IsRetryable());
  EXPECT_FALSE(Status(Code::kNotFound, "").IsRetryable());
  EXPECT_FALSE(Status(Code::kForbidden, "").IsRetryable());
}

TEST(Result, ValueAndErrorPaths) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
  EXPECT_EQ(r.value_or(-1), -1);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), Code::kInvalidArgument);
}

TEST(Status, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(Code::kInternal); ++c) {
    EXPECT_NE(CodeName(static_cast<Code>(c)), "Unknown") << c;
  }
}

}  // namespace
}  // namespace brfed
