// Manifest lists and manifests written with Avro C in the spec's schemas and read back: live
// files per partition with inheritance, small files under 75 % of the target, and hostile bytes
// (truncated, flipped, not Avro, over the limits) as errors, never crashes.
#include "reconcilers/iceberg/manifests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include <zlib.h>

#include "tests/unit/iceberg/avro_files.h"
#include "tests/unit/iceberg/map_source.h"
#include "tests/unit/iceberg/table_builder.h"

namespace converge::iceberg {
namespace {

using test::FileEntry;
using test::ListEntry;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using test::kNov30;
using test::kMiB;

TEST(ManifestsTest, ListAndManifestRoundTrip) {
  std::string list = test::ManifestList(
      {{"s3://b/m1.avro", 4000, 0, 0, 7, 70}, {"s3://b/m2.avro", 500, 0, 1, 8, 80}});
  auto ml = ReadManifestList(list);
  ASSERT_TRUE(ml.ok()) << ml.status().ToString();
  ASSERT_EQ(ml->size(), 2u);
  EXPECT_EQ((*ml)[0].path, "s3://b/m1.avro");
  EXPECT_EQ((*ml)[0].length, 4000);
  EXPECT_EQ((*ml)[0].sequence_number, 7);
  EXPECT_EQ((*ml)[0].added_snapshot_id, 70);
  EXPECT_FALSE((*ml)[0].deletes);
  EXPECT_TRUE((*ml)[1].deletes);

  TableMetadata t = test::TableBuilder().Build();
  std::string man = test::Manifest({
      {1, std::nullopt, std::nullopt, 0, "s3://b/d/a.parquet", kNov30, 100, 10 * kMiB},
      {0, 5, 3, 0, "s3://b/d/b.parquet", kNov30 - 1, 5, 600 * kMiB},
      {2, 6, 2, 0, "s3://b/d/c.parquet", std::nullopt, 1, kMiB},
      {1, std::nullopt, std::nullopt, 1, "s3://b/d/pos.parquet", kNov30, 3, 1000},
  });
  auto entries = ReadManifest(man, (*ml)[0], &t);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 4u);
  const DataFileEntry& a = (*entries)[0];
  EXPECT_EQ(a.status, EntryStatus::kAdded);
  EXPECT_EQ(a.snapshot_id, 70);     // inherited from the list entry
  EXPECT_EQ(a.sequence_number, 7);  // inherited: ADDED with null
  EXPECT_EQ(a.partition, "day=2026-11-30");
  EXPECT_EQ(a.record_count, 100);
  EXPECT_EQ(a.file_size_bytes, 10 * kMiB);
  EXPECT_EQ(a.format, "parquet");
  EXPECT_EQ((*entries)[1].status, EntryStatus::kExisting);
  EXPECT_EQ((*entries)[1].sequence_number, 3);
  EXPECT_EQ((*entries)[1].partition, "day=2026-11-29");
  EXPECT_EQ((*entries)[2].partition, "day=null");
  EXPECT_EQ((*entries)[3].content, FileContent::kPositionDeletes);
  EXPECT_STREQ(StatusName((*entries)[2].status), "DELETED");
}

TEST(ManifestsTest, DeflateCompressedFilesAreRead) {
  std::string man = test::Manifest({{1, 1, 1, 0, "s3://b/x.parquet", kNov30, 1, 1}}, "deflate");
  auto entries = ReadManifest(man, ManifestFile{}, nullptr);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ((*entries)[0].partition, "day=20787");  // no table: the raw value
}

TEST(ManifestsTest, SnapshotFilesAndSmallFilesPerPartition) {
  test::TableBuilder b;
  b.Snap(70, 0, 1000).Branch("main", 70);
  TableMetadata t = b.Build();
  test::MapFiles mem;
  test::MapSource src(&mem);
  const Snapshot& snap = t.snapshots[0];
  mem.files[snap.manifest_list] = test::ManifestList({{"s3://b/m1.avro"}, {"s3://b/m2.avro"}});
  std::vector<FileEntry> m1, m2;
  for (int i = 0; i < 214; ++i)
    m1.push_back({1, {}, {}, 0, "s3://b/d/s" + std::to_string(i), kNov30, 1, 100 * kMiB});
  m1.push_back({1, {}, {}, 0, "s3://b/d/big", kNov30, 1, 500 * kMiB});
  m1.push_back({2, 1, 1, 0, "s3://b/d/gone", kNov30, 1, kMiB});  // deleted: not live
  for (int i = 0; i < 3; ++i)
    m2.push_back({0, 1, 1, 0, "s3://b/d/o" + std::to_string(i), kNov30 - 1, 1, 384 * kMiB - 1});
  m2.push_back({1, {}, {}, 2, "s3://b/d/eq", kNov30 - 1, 1, 10});  // a delete file
  mem.files["s3://b/m1.avro"] = test::Manifest(m1);
  mem.files["s3://b/m2.avro"] = test::Manifest(m2);
  auto files = ReadSnapshotFiles(t, snap, src);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->manifests, 2u);
  EXPECT_EQ(files->live.size(), 219u);
  EXPECT_EQ(SmallFileThreshold(512 * kMiB), 384 * kMiB);
  std::vector<PartitionSmallFiles> small = SmallFiles(files->live, 512 * kMiB);
  ASSERT_EQ(small.size(), 2u);
  EXPECT_EQ(small[0].partition, "day=2026-11-29");
  EXPECT_EQ(small[0].small_files, 3);  // 384 MiB - 1 is under; the delete file does not count
  EXPECT_EQ(small[1].partition, "day=2026-11-30");
  EXPECT_EQ(small[1].small_files, 214);

  mem.files.erase("s3://b/m2.avro");
  auto missing = ReadSnapshotFiles(t, snap, src);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("s3://b/m2.avro"));
}

TEST(ManifestsTest, PartitionTransformsRenderAsIcebergPaths) {
  EXPECT_EQ(RenderPartitionValue("day", 20787), "2026-11-30");
  EXPECT_EQ(RenderPartitionValue("day", -1), "1969-12-31");
  EXPECT_EQ(RenderPartitionValue("hour", 20787 * 24 + 10), "2026-11-30-10");
  EXPECT_EQ(RenderPartitionValue("month", 56 * 12 + 10), "2026-11");
  EXPECT_EQ(RenderPartitionValue("year", 56), "2026");
  EXPECT_EQ(RenderPartitionValue("bucket[16]", 3), "3");
  // Identity partitions of date and time columns read as the format spec writes those types.
  EXPECT_EQ(RenderPartitionValue("identity", 20787, "date"), "2026-11-30");
  EXPECT_EQ(RenderPartitionValue("identity", 81068123456, "time"), "22:31:08.123456");
  const int64_t micros = int64_t{1510871468} * 1000000 + 123456;  // 2017-11-16T22:31:08.123456
  EXPECT_EQ(RenderPartitionValue("identity", micros, "timestamp"), "2017-11-16T22:31:08.123456");
  EXPECT_EQ(RenderPartitionValue("identity", micros, "timestamptz"),
            "2017-11-16T22:31:08.123456+00:00");
  EXPECT_EQ(RenderPartitionValue("identity", micros * 1000 + 789, "timestamp_ns"),
            "2017-11-16T22:31:08.123456789");
  EXPECT_EQ(RenderPartitionValue("identity", -1, "timestamp"), "1969-12-31T23:59:59.999999");
  EXPECT_EQ(RenderPartitionValue("identity", 7, "long"), "7");
  // Values no calendar can hold stay numbers, never an overflow.
  EXPECT_EQ(RenderPartitionValue("day", INT64_MAX), "9223372036854775807");
  EXPECT_EQ(RenderPartitionValue("year", INT64_MIN), "-9223372036854775808");
  EXPECT_EQ(RenderPartitionValue("identity", INT64_MIN, "timestamptz").substr(0, 1), "-");
}

TEST(ManifestsTest, AnIdentityPartitionOfADateColumnReadsAsADate) {
  json raw = test::TableBuilder().Build().raw;
  raw["schemas"][0]["fields"].push_back(
      {{"id", 2}, {"name", "event_date"}, {"required", true}, {"type", "date"}});
  raw["last-column-id"] = 2;
  raw["partition-specs"][0]["fields"][0] = {
      {"name", "day"}, {"transform", "identity"}, {"source-id", 2}, {"field-id", 1000}};
  auto t = ParseMetadata(raw);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->field_types.at(2), "date");
  std::string man = test::Manifest({{1, 1, 1, 0, "s3://b/x.parquet", kNov30, 1, 1}});
  auto entries = ReadManifest(man, ManifestFile{}, &*t);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ((*entries)[0].partition, "day=2026-11-30");  // was "day=20787"
}

TEST(ManifestsTest, HostileBytesAreErrorsNeverCrashes) {
  std::string good = test::Manifest({{1, 1, 1, 0, "s3://b/x.parquet", kNov30, 1, 1},
                                     {1, 1, 1, 0, "s3://b/y.parquet", kNov30, 1, 1}});
  EXPECT_THAT(ReadManifest("", {}, nullptr).status().message(), HasSubstr("not an Avro"));
  EXPECT_THAT(ReadManifest("PAR1....", {}, nullptr).status().message(), HasSubstr("not an Avro"));
  // Every truncation and a byte flipped at every position: an error or a (possibly different)
  // answer, but never a crash.
  int errors = 0;
  for (size_t n = 4; n < good.size(); ++n) {
    auto r = ReadManifest(good.substr(0, n), {}, nullptr);
    errors += !r.ok();
  }
  EXPECT_GT(errors, 0);
  std::string deflated =
      test::Manifest({{1, 1, 1, 0, "s3://b/x.parquet", kNov30, 1, 1}}, "deflate");
  for (const std::string& file : {good, deflated})
    for (size_t i = 4; i < file.size(); ++i) {
      for (int mask : {0x5a, 0xff, 0x7f, 0x01}) {
        std::string bad = file;
        bad[i] = static_cast<char>(bad[i] ^ mask);
        auto r = ReadManifest(bad, {}, nullptr);
        if (!r.ok()) EXPECT_EQ(r.status().code(), Code::kInvalid);
      }
    }
  // A manifest list read as a manifest lacks the members: named.
  std::string list = test::ManifestList({{"s3://b/m1.avro"}});
  EXPECT_THAT(ReadManifest(list, {}, nullptr).status().message(), HasSubstr("status"));
  EXPECT_THAT(ReadManifestList(good).status().message(), HasSubstr("manifest_path"));
}

// Avro's zigzag varint.
std::string Zz(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  std::string out;
  while (z & ~uint64_t{0x7F}) {
    out += static_cast<char>((z & 0x7F) | 0x80);
    z >>= 7;
  }
  return out + static_cast<char>(z);
}

// A one-block container split into header (through the sync marker), the block's data and the
// sync marker, to rebuild it with hostile counts and lengths.
struct OneBlock {
  std::string header, data, sync;
  explicit OneBlock(const std::string& file) {
    sync = file.substr(file.size() - 16);
    const size_t end = file.find(sync) + 16;
    header = file.substr(0, end);
    size_t pos = end;
    auto varint = [&] {
      while (static_cast<unsigned char>(file[pos]) & 0x80) ++pos;
      ++pos;
    };
    varint();  // count (1)
    varint();  // size
    data = file.substr(pos, file.size() - 16 - pos);
  }
  std::string With(int64_t count, int64_t size, const std::string& d) const {
    return header + Zz(count) + Zz(size) + d + sync;
  }
};

TEST(ManifestsTest, LengthsClaimingGigabytesAreInvalidNotAllocated) {
  const std::string path = "s3://b/x.parquet";
  std::string good = test::Manifest({{1, 1, 1, 0, path, kNov30, 1, 1}});
  OneBlock b(good);
  ASSERT_TRUE(ReadManifest(b.With(1, b.data.size(), b.data), {}, nullptr).ok());
  auto invalid = [](const Result<std::vector<DataFileEntry>>& r) {
    EXPECT_EQ(r.status().code(), Code::kInvalid) << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("manifest m.avro"));
    return r.status().message();
  };
  ManifestFile m;
  m.path = "m.avro";
  // A block whose length claims 1 TiB, and one claiming a billion records.
  EXPECT_THAT(invalid(ReadManifest(b.With(1, int64_t{1} << 40, b.data), m, nullptr)),
              HasSubstr("malformed block"));
  EXPECT_THAT(invalid(ReadManifest(b.With(1000000000, b.data.size(), b.data), m, nullptr)),
              HasSubstr("claiming 1000000000 records"));
  // A string inside a record claiming 2 GiB (Avro C would allocate it before reading).
  std::string d = b.data;
  const size_t at = d.find(path);
  ASSERT_NE(at, std::string::npos);
  d.replace(at - 1, 1, Zz(int64_t{1} << 31));
  EXPECT_THAT(invalid(ReadManifest(b.With(1, d.size(), d), m, nullptr)),
              HasSubstr("corrupt record"));
  // Bytes left over after the block's records, and a codec converge does not read.
  EXPECT_THAT(invalid(ReadManifest(b.With(1, b.data.size() + 1, b.data + "x"), m, nullptr)),
              HasSubstr("bytes after the last record"));
  std::string zstd = good;
  const size_t codec = zstd.find("avro.codec\x08null");  // the header's key and value
  ASSERT_NE(codec, std::string::npos);
  zstd.replace(codec + 11, 4, "zstd");
  EXPECT_THAT(invalid(ReadManifest(zstd, m, nullptr)), HasSubstr("codec \"zstd\""));
}

TEST(ManifestsTest, DeflateBombIsInvalidNotInflated) {
  OneBlock b(test::Manifest({{1, 1, 1, 0, "s3://b/x.parquet", kNov30, 1, 1}}, "deflate"));
  const std::string zeros(2 << 20, '\0');  // inflates to 2 MiB from about 2 KiB
  std::string bomb(compressBound(zeros.size()), '\0');
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
  z.avail_in = static_cast<uInt>(zeros.size());
  z.next_out = reinterpret_cast<Bytef*>(bomb.data());
  z.avail_out = static_cast<uInt>(bomb.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  bomb.resize(z.total_out);
  deflateEnd(&z);
  ReadLimits limits;
  limits.max_file_bytes = 1 << 20;
  auto r = ReadManifest(b.With(1, bomb.size(), bomb), {}, nullptr, limits);
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_THAT(r.status().message(), HasSubstr("does not inflate within the limit"));
}

TEST(ManifestsTest, ListCountsSummariesAndRawPartitionValues) {
  std::string list = test::ManifestList({{"s3://b/m1.avro", 4000, 0, 0, 7, 70}});
  auto ml = ReadManifestList(list);
  ASSERT_TRUE(ml.ok()) << ml.status().ToString();
  std::string man = test::Manifest({{1, std::nullopt, std::nullopt, 0, "a", kNov30, 1, 1},
                                    {1, 1, 1, 0, "b", std::nullopt, 1, 1}});
  auto entries = ReadManifest(man, (*ml)[0], nullptr);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].partition_values, nlohmann::json({{"day", kNov30}}));
  EXPECT_EQ((*entries)[1].partition_values, nlohmann::json({{"day", nullptr}}));
}

TEST(ManifestsTest, LimitsAreEnforced) {
  std::string good = test::Manifest({{1, 1, 1, 0, "a", kNov30, 1, 1}, {1, 1, 1, 0, "b", 1, 1, 1}});
  ReadLimits small;
  small.max_entries = 1;
  EXPECT_THAT(ReadManifest(good, {}, nullptr, small).status().message(),
              HasSubstr("more than 1 entries"));
  small.max_file_bytes = 10;
  EXPECT_THAT(ReadManifest(good, {}, nullptr, small).status().message(),
              HasSubstr("over the limit"));
  std::string list = test::ManifestList({{"m1"}, {"m2"}});
  ReadLimits one;
  one.max_manifests = 1;
  EXPECT_THAT(ReadManifestList(list, one).status().message(), HasSubstr("more than 1 manifests"));
}

}  // namespace
}  // namespace converge::iceberg
