#include "cli/errors.h"

#include <gtest/gtest.h>

namespace brfed::cli {
namespace {

TEST(NextStep, EveryErrorSaysWhatToDo) {
  ErrorSubject s{"control plane", "https://127.0.0.1:1", "VolumeBackup", "b1", "brfed backup list"};
  for (Code code : {Code::kInvalidArgument, Code::kNotFound, Code::kAlreadyExists, Code::kConflict,
                    Code::kGone, Code::kInvalid, Code::kBadRequest, Code::kUnauthorized,
                    Code::kForbidden, Code::kTooManyRequests, Code::kTimeout, Code::kUnavailable,
                    Code::kCancelled, Code::kInternal}) {
    EXPECT_FALSE(NextStep(Status(code, "x"), s).empty()) << CodeName(code);
  }
  EXPECT_NE(NextStep(Status(Code::kUnavailable, "refused"), s).find("brfed sandbox status"),
            std::string::npos);
  EXPECT_NE(NextStep(Status(Code::kNotFound, "nf"), s).find("brfed backup list"),
            std::string::npos);
  ErrorSubject dp{"data plane dp-1", "", "", "", ""};
  EXPECT_NE(NextStep(Status(Code::kUnauthorized, "401"), dp).find("--federation-kubeconfig"),
            std::string::npos);
}

TEST(FormatError, TwoLinesAndExitCodes) {
  const Status st(Code::kUnavailable, "connection refused");
  EXPECT_EQ(FormatError(st, {}).rfind("error: connection refused\n  next: ", 0), 0u);
  EXPECT_EQ(ExitCodeFor(st), kExitFailure);
  EXPECT_EQ(ExitCodeFor(InvalidArgument("bad")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(Status::Ok()), kExitOk);
}

}  // namespace
}  // namespace brfed::cli
