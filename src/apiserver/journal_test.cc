#include "apiserver/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace brfed::apiserver {
namespace {

std::string TempDir() {
  std::string t = (std::filesystem::temp_directory_path() / "brfed-journal-XXXXXX").string();
  return mkdtemp(t.data());
}

TEST(JournalTest, ReplaysRecordsAndDropsTornTail) {
  std::string dir = TempDir();
  {
    auto loaded = Journal::Open(dir);
    ASSERT_TRUE(loaded.ok());
    ASSERT_TRUE(loaded->journal->Append(Json{{"n", 1}}).ok());
    ASSERT_TRUE(loaded->journal->Append(Json{{"n", 2}}).ok());
  }
  std::string path = dir + "/journal.log";
  auto full = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, full - 3);  // tear the last record
  {
    auto loaded = Journal::Open(dir);
    ASSERT_TRUE(loaded.ok());
    ASSERT_EQ(loaded->records.size(), 1u);
    EXPECT_EQ(loaded->records[0]["n"], 1);
    EXPECT_GT(loaded->dropped_bytes, 0u);
    ASSERT_TRUE(loaded->journal->Append(Json{{"n", 3}}).ok());
  }
  {
    std::ofstream(path, std::ios::app) << "garbage!garbage!";
    auto loaded = Journal::Open(dir);
    ASSERT_TRUE(loaded.ok());
    ASSERT_EQ(loaded->records.size(), 2u);
    EXPECT_EQ(loaded->records[1]["n"], 3);
  }
  std::filesystem::remove_all(dir);
}

TEST(JournalTest, Crc32KnownValue) { EXPECT_EQ(Crc32("123456789"), 0xCBF43926u); }

}  // namespace
}  // namespace brfed::apiserver
