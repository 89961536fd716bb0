#include "core/files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

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

TEST(WriteFileAtomicallyTest, CreatesAndReplacesWithTheModeAndReportsFailures) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "brfed-files-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/kubeconfig";
  struct Case {
    std::string text;
    mode_t mode;
  };
  // Created, replaced, and a wider mode narrowed again (an existing file's mode is not kept).
  for (const Case& c : std::vector<Case>{{"one", 0600}, {"", 0644}, {"three\n", 0600}}) {
    ASSERT_TRUE(WriteFileAtomically(path, c.text, c.mode).ok());
    EXPECT_EQ(ReadFile(path).value_or("?"), c.text);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, c.mode) << c.text;
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  }
  Status missing_dir = WriteFileAtomically(tmpl + "/absent/f", "x");
  EXPECT_EQ(missing_dir.code(), Code::kInvalidArgument);
  EXPECT_NE(missing_dir.message().find(tmpl + "/absent/f"), std::string::npos);
  std::filesystem::create_directory(tmpl + "/dir");
  EXPECT_EQ(WriteFileAtomically(tmpl + "/dir", "x").code(), Code::kInvalidArgument);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace brfed
