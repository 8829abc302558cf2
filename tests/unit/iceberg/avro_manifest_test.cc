// The sandbox catalog's Avro files (avro_manifest.h's writer) read back through converge's one
// reader (manifests.h, via avro_manifest.h's ReadManifestList / ReadManifest): every member the
// catalog relies on round-trips, inheritance applies, and a file that is not Avro is an error.
#include "reconcilers/iceberg/avro_manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace converge::iceberg::avro {
namespace {

namespace fs = std::filesystem;

class AvroManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("converge-avro-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(AvroManifestTest, WrittenFilesReadBackThroughTheOneReader) {
  std::vector<PartitionField> fields = {{"day", 1000, "date"}, {"region", 1001, "string"}};
  ManifestHeader header;
  header.schema = {{"type", "struct"}, {"schema-id", 0}, {"fields", json::array()}};
  ManifestEntry added;
  added.file.path = "file:///t/data/a.parquet";
  added.file.partition = {{"day", 20787}, {"region", "eu"}};
  added.file.record_count = 10;
  added.file.size_bytes = 1000;
  ManifestEntry existing;
  existing.status = kExisting;
  existing.snapshot_id = 5;
  existing.sequence_number = 2;
  existing.file_sequence_number = 2;
  existing.file.path = "file:///t/data/b.parquet";
  existing.file.partition = {{"day", nullptr}, {"region", "us"}};
  existing.file.record_count = 3;
  existing.file.size_bytes = 30;
  ManifestFile entry;
  ASSERT_TRUE(WriteManifest(Path("m0.avro"), fields, header, {added, existing}, 9, 4, &entry).ok());
  ASSERT_TRUE(WriteManifestList(Path("snap-9.avro"), 9, 5, 4, {entry}).ok());

  auto list = ReadManifestList(Path("snap-9.avro"));
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  const ManifestFile& m = (*list)[0];
  EXPECT_EQ(m.path, Path("m0.avro"));
  EXPECT_EQ(m.length, entry.length);
  EXPECT_EQ(m.added_snapshot_id, 9);
  EXPECT_EQ(m.sequence_number, 4);
  EXPECT_EQ(m.added_files, entry.added_files);
  EXPECT_EQ(m.existing_files, entry.existing_files);
  EXPECT_EQ(m.added_rows, entry.added_rows);
  ASSERT_EQ(m.partitions.size(), entry.partitions.size());
  for (size_t i = 0; i < m.partitions.size(); ++i) {
    EXPECT_EQ(m.partitions[i].contains_null, entry.partitions[i].contains_null);
    EXPECT_EQ(m.partitions[i].lower_bound, entry.partitions[i].lower_bound);
    EXPECT_EQ(m.partitions[i].upper_bound, entry.partitions[i].upper_bound);
  }

  auto entries = ReadManifest(m);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 2u);
  const ManifestEntry& a = (*entries)[0];
  EXPECT_EQ(a.status, kAdded);
  EXPECT_EQ(a.snapshot_id, 9);        // inherited from the list entry
  EXPECT_EQ(a.sequence_number, 4);    // inherited
  EXPECT_EQ(a.file.path, "file:///t/data/a.parquet");
  EXPECT_EQ(a.file.partition, json({{"day", 20787}, {"region", "eu"}}));
  EXPECT_EQ(a.file.record_count, 10);
  EXPECT_EQ(a.file.size_bytes, 1000);
  const ManifestEntry& b = (*entries)[1];
  EXPECT_EQ(b.status, kExisting);
  EXPECT_EQ(b.snapshot_id, 5);
  EXPECT_EQ(b.sequence_number, 2);
  EXPECT_EQ(b.file.partition, json({{"day", nullptr}, {"region", "us"}}));

  auto meta = ReadFileMetadata(Path("m0.avro"));
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->at("format-version"), "2");
  EXPECT_EQ(meta->at("content"), "data");
}

TEST_F(AvroManifestTest, MissingAndNonAvroFilesAreErrors) {
  EXPECT_EQ(ReadManifestList(Path("nope.avro")).status().code(), Code::kNotFound);
  std::ofstream(Path("bad.avro")) << "PAR1 not avro";
  auto r = ReadManifestList(Path("bad.avro"));
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("bad.avro"));
  EXPECT_EQ(ReadFileMetadata(Path("bad.avro")).status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace converge::iceberg::avro
