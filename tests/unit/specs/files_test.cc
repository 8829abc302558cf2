// ReadFileText: a spec file read whole and bounded, and every way a path can fail to be one.
#include "specs/base/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace converge {
namespace {

namespace fs = std::filesystem;

class ReadFileTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("converge-files-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(ReadFileTextTest, ReadsTheWholeFileWithNulBytesAndNoFinalNewline) {
  std::string text("a: 1\n\0b", 7);
  FileText f = ReadFileText(Write("a.yaml", text), 1024);
  ASSERT_EQ(f.state, FileText::State::kOk) << f.error;
  EXPECT_EQ(f.text, text);
  FileText empty = ReadFileText(Write("empty.yaml", ""), 1024);
  ASSERT_EQ(empty.state, FileText::State::kOk);
  EXPECT_EQ(empty.text, "");
}

TEST_F(ReadFileTextTest, AFileAtTheLimitIsReadAndOneByteMoreIsTooLarge) {
  FileText at = ReadFileText(Write("at.yaml", std::string(100, 'x')), 100);
  ASSERT_EQ(at.state, FileText::State::kOk);
  EXPECT_EQ(at.text.size(), 100u);
  FileText over = ReadFileText(Write("over.yaml", std::string(101, 'x')), 100);
  ASSERT_EQ(over.state, FileText::State::kTooLarge);
  EXPECT_EQ(over.size, 101u);
  EXPECT_TRUE(over.text.empty());  // nothing of it is held
}

TEST_F(ReadFileTextTest, MissingLoopingAndUnreadablePathsSayWhy) {
  FileText missing = ReadFileText((dir_ / "none.yaml").string(), 100);
  EXPECT_EQ(missing.state, FileText::State::kUnreadable);
  EXPECT_EQ(missing.err, ENOENT);
  EXPECT_EQ(missing.error, "No such file or directory");
  fs::create_symlink(dir_ / "loop.yaml", dir_ / "loop.yaml");
  FileText loop = ReadFileText((dir_ / "loop.yaml").string(), 100);
  EXPECT_EQ(loop.state, FileText::State::kUnreadable);
  EXPECT_EQ(loop.err, ELOOP);
  fs::create_directory(dir_ / "dir.yaml");
  FileText directory = ReadFileText((dir_ / "dir.yaml").string(), 100);
  EXPECT_EQ(directory.state, FileText::State::kUnreadable);
  EXPECT_EQ(directory.error, "not a regular file");
}

// A FIFO named like a spec would block a plain read until something writes to it.
TEST_F(ReadFileTextTest, AFifoIsRefusedWithoutWaitingForAWriter) {
  std::string fifo = (dir_ / "pipe.yaml").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  FileText f = ReadFileText(fifo, 100);
  EXPECT_EQ(f.state, FileText::State::kUnreadable);
  EXPECT_EQ(f.error, "not a regular file");
}

}  // namespace
}  // namespace converge
