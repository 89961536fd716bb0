#include "core/files.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace brfed {
namespace {

TEST(ReadFileTest, ReadsBytesAndReportsMissingFiles) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "brfed-files-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/f";
  std::ofstream(path, std::ios::binary) << std::string("a\0b\n", 4);
  Result<std::string> data = ReadFile(path);
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(*data, std::string("a\0b\n", 4));

  Result<std::string> missing = ReadFile(tmpl + "/absent");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("cannot read " + tmpl + "/absent: "),
            std::string::npos);
  EXPECT_EQ(ReadFile(tmpl).status().code(), Code::kNotFound);
  std::ofstream(tmpl + "/empty");
  Result<std::string> empty = ReadFile(tmpl + "/empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace brfed
