// Exact small-file counts from the current snapshot's manifests, and the cache that makes a
// steady-state plan read nothing: manifests are immutable by path, cached in memory and (across
// processes) in the cache directory; a new append reads only its new manifest list and manifest.
#include "reconcilers/iceberg/small_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tests/unit/iceberg/avro_files.h"
#include "tests/unit/iceberg/map_source.h"
#include "tests/unit/iceberg/table_builder.h"

namespace converge::iceberg {
namespace {

using test::FileEntry;
using ::testing::HasSubstr;

using test::kNov30;
using test::kMiB;

// Shared by the counters of one test (a counter owns its source).
std::vector<FileEntry> SmallAdds(const std::string& prefix, int n, int32_t day, int64_t size) {
  std::vector<FileEntry> out;
  for (int i = 0; i < n; ++i)
    out.push_back({1, {}, {}, 0, prefix + std::to_string(i), day, 1, size});
  return out;
}

class SmallFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("converge-small-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Snapshot 1: m1 (214 small files on 11-30, one big); snapshot 2 adds m2 (3 on 11-29).
  TableMetadata Table(int snapshots) {
    test::TableBuilder b;
    b.Snap(1, 0, 1000);
    if (snapshots > 1) b.Snap(2, 1, 2000);
    b.Branch("main", snapshots);
    TableMetadata t = b.Build();
    auto m1 = SmallAdds("s3://bucket/events/data/s", 214, kNov30, 100 * kMiB);
    m1.push_back({1, {}, {}, 0, "s3://bucket/events/data/big", kNov30, 1, 500 * kMiB});
    m1.push_back({2, 1, 1, 0, "s3://bucket/events/data/gone", kNov30, 1, kMiB});
    files_.files["s3://bucket/m1.avro"] = test::Manifest(m1);
    files_.files["s3://bucket/m2.avro"] =
        test::Manifest(SmallAdds("s3://bucket/events/data/o", 3, kNov30 - 1, kMiB));
    files_.files["s3://bucket/del.avro"] = "not read: a delete manifest";
    files_.files[t.snapshots[0].manifest_list] =
        test::ManifestList({{"s3://bucket/m1.avro"}, {"s3://bucket/del.avro", 10, 0, 1}});
    if (snapshots > 1)
      files_.files[t.snapshots[1].manifest_list] =
          test::ManifestList({{"s3://bucket/m1.avro"}, {"s3://bucket/m2.avro"}});
    return t;
  }
  std::unique_ptr<SmallFileCounter> Counter(
      bool disk, uint64_t max_bytes = SmallFileCounter::kDefaultCacheMaxBytes) {
    return std::make_unique<SmallFileCounter>(std::make_unique<test::MapSource>(&files_),
                                              disk ? dir_.string() : "", ReadLimits{}, max_bytes);
  }
  // A file in the cache directory of `size` bytes, last used `age` ago.
  std::filesystem::path Put(const std::string& name, size_t size, std::chrono::minutes age) {
    std::filesystem::create_directories(dir_);
    auto p = dir_ / name;
    std::ofstream(p) << std::string(size, 'x');
    std::filesystem::last_write_time(p, std::filesystem::file_time_type::clock::now() - age);
    return p;
  }
  std::set<std::string> Names() {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      out.insert(e.path().filename().string());
    return out;
  }
  test::MapFiles files_;
  std::filesystem::path dir_;
};

TEST_F(SmallFilesTest, ExactCountsPerPartitionOfTheCurrentSnapshot) {
  TableMetadata t = Table(2);
  auto c = Counter(false);
  auto info = c->Count(t, 512 * kMiB);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->estimate);
  EXPECT_EQ(info->threshold_bytes, 384 * kMiB);
  ASSERT_EQ(info->partitions.size(), 2u);
  EXPECT_EQ(info->partitions[0].partition, "day=2026-11-29");
  EXPECT_EQ(info->partitions[0].small_files, 3);
  EXPECT_EQ(info->partitions[1].partition, "day=2026-11-30");
  EXPECT_EQ(info->partitions[1].small_files, 214);  // the big and the deleted file do not count
}

TEST_F(SmallFilesTest, SteadyStateReadsNothingAndAnAppendReadsOnlyWhatIsNew) {
  auto c = Counter(false);
  ASSERT_TRUE(c->Count(Table(1), 512 * kMiB).ok());
  EXPECT_EQ(files_.reads.size(), 2u);  // list + m1; the delete manifest is skipped
  files_.reads.clear();
  ASSERT_TRUE(c->Count(Table(1), 512 * kMiB).ok());
  EXPECT_TRUE(files_.reads.empty());
  ASSERT_TRUE(c->Count(Table(2), 512 * kMiB).ok());
  EXPECT_EQ(files_.reads, (std::vector<std::string>{"s3://bucket/events/metadata/snap-2.avro",
                                                    "s3://bucket/m2.avro"}));
}

TEST_F(SmallFilesTest, TheCacheDirectoryServesAnotherProcess) {
  TableMetadata t = Table(2);
  auto first = Counter(true)->Count(t, 512 * kMiB);
  ASSERT_TRUE(first.ok());
  files_.reads.clear();
  auto again = Counter(true);  // a new process: empty memory, the same cache directory
  auto second = again->Count(t, 512 * kMiB);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(files_.reads.empty());
  EXPECT_EQ(again->stats().disk_hits, 3);
  ASSERT_EQ(second->partitions.size(), 2u);
  EXPECT_EQ(second->partitions[1].small_files, 214);
}

TEST_F(SmallFilesTest, UnreadableFilesAreErrorsAndTheEstimateIsUsed) {
  TableMetadata t = Table(2);
  files_.files.erase("s3://bucket/m2.avro");
  auto c = Counter(false);
  auto info = c->Count(t, 512 * kMiB);
  EXPECT_EQ(info.status().code(), Code::kNotFound);
  EXPECT_THAT(info.status().message(), HasSubstr("s3://bucket/m2.avro"));

  auto policy = ParsePolicy(json::parse(R"({"table": "analytics.events",
      "triggers": {"smallFileCount": 100}, "compaction": {"executor": "e"}})"), {});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_FALSE(SmallFilesOf(c.get(), t, *policy, "analytics.events").has_value());
  EXPECT_FALSE(SmallFilesOf(nullptr, Table(1), *policy, "analytics.events").has_value());
  auto exact = SmallFilesOf(c.get(), Table(1), *policy, "analytics.events");
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->partitions.at(0).small_files, 214);
}

TEST_F(SmallFilesTest, TheCacheDirectoryIsPrunedOldestFirstAndOldFormatsGo) {
  using std::chrono::minutes;
  Put("manifest-0123456789abcdef.json", 10, minutes(1));      // the format before v2
  Put("manifest-v2-00000000000000a1.json.tmp.1", 10, minutes(120));  // an interrupted write
  Put("manifest-v2-00000000000000a2.json.tmp.1", 10, minutes(0));    // a write in flight
  Put("manifest-v2-00000000000000b1.json", 4000, minutes(300));
  Put("manifest-v2-00000000000000b2.json", 4000, minutes(200));
  Put("manifest-v2-00000000000000b3.json", 4000, minutes(100));
  // 12,000 bytes of old entries + what this count writes, against a bound of 10,000: the two
  // used longest ago go (down to 3/4 of the bound), the newest and what was just written stay.
  auto c = Counter(true, 10000);
  auto info = c->Count(Table(1), 512 * kMiB);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  std::set<std::string> names = Names();
  EXPECT_FALSE(names.count("manifest-0123456789abcdef.json"));
  EXPECT_FALSE(names.count("manifest-v2-00000000000000a1.json.tmp.1"));
  EXPECT_TRUE(names.count("manifest-v2-00000000000000a2.json.tmp.1"));
  EXPECT_FALSE(names.count("manifest-v2-00000000000000b1.json"));
  EXPECT_FALSE(names.count("manifest-v2-00000000000000b2.json"));
  EXPECT_TRUE(names.count("manifest-v2-00000000000000b3.json"));
  EXPECT_EQ(c->stats().cache_files_pruned, 4);
  EXPECT_EQ(names.size(), 4u) << "b3, the tmp in flight, the list and m1 just written";
  // What was written is served to the next process, and a disk hit renews its time.
  for (const auto& n : names) {
    if (n.rfind("list-v2-", 0) == 0)
      std::filesystem::last_write_time(dir_ / n, std::filesystem::file_time_type::clock::now() -
                                                     minutes(500));
  }
  files_.reads.clear();
  auto again = Counter(true, 10000);
  ASSERT_TRUE(again->Count(Table(1), 512 * kMiB).ok());
  EXPECT_TRUE(files_.reads.empty());
  for (const auto& n : Names()) {
    if (n.rfind("list-v2-", 0) == 0) {
      EXPECT_GT(std::filesystem::last_write_time(dir_ / n),
                std::filesystem::file_time_type::clock::now() - minutes(5));
    }
  }
}

TEST_F(SmallFilesTest, ATableWithoutSnapshotsHasNoSmallFiles) {
  TableMetadata t = test::TableBuilder().Build();
  auto info = Counter(false)->Count(t, 512 * kMiB);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->partitions.empty());
  EXPECT_FALSE(info->estimate);
}

}  // namespace
}  // namespace converge::iceberg
