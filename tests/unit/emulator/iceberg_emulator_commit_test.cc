// The Iceberg catalog emulator's commits (every requirement's 409, 400 for unknown types, an
// expire-snapshots commit, refs), the simulated writer / rewrite / orphan removal on the files
// in the warehouse, and persistence across a sandbox restart.
#include <filesystem>
#include <fstream>

#include "reconcilers/iceberg/avro_manifest.h"
#include "tests/unit/emulator/iceberg_emulator_fixture.h"

namespace converge::iceberg {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

json Body(json requirements, json updates) {
  return {{"requirements", std::move(requirements)}, {"updates", std::move(updates)}};
}

const json kNoop = {{{"action", "set-properties"}, {"updates", {{"touched", "yes"}}}}};

// The live data files of the table's current snapshot, read back from its Avro files.
std::vector<avro::DataFile> LiveFiles(const json& metadata) {
  std::vector<avro::DataFile> out;
  for (const json& s : metadata["snapshots"]) {
    if (s["snapshot-id"] != metadata["current-snapshot-id"]) continue;
    auto list = avro::ReadManifestList(s["manifest-list"].get<std::string>().substr(7));
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    for (avro::ManifestFile f : *list) {
      f.path = f.path.substr(7);
      auto entries = avro::ReadManifest(f);
      EXPECT_TRUE(entries.ok()) << entries.status().ToString();
      for (const avro::ManifestEntry& e : *entries)
        if (e.status != avro::kDeleted) out.push_back(e.file);
    }
  }
  return out;
}

TEST_F(IcebergEmulatorTest, EveryRequirementTypeConflictsWhenItDoesNotHold) {
  StartServer();
  Append("db.t", 1, 1);
  const json m = Load("db", "t")["metadata"];
  const json good = {
      {{"type", "assert-table-uuid"}, {"uuid", m["table-uuid"]}},
      {{"type", "assert-ref-snapshot-id"},
       {"ref", "main"},
       {"snapshot-id", m["current-snapshot-id"]}},
      {{"type", "assert-ref-snapshot-id"}, {"ref", "audit"}, {"snapshot-id", nullptr}},
      {{"type", "assert-last-assigned-field-id"}, {"last-assigned-field-id", m["last-column-id"]}},
      {{"type", "assert-current-schema-id"}, {"current-schema-id", 0}},
      {{"type", "assert-last-assigned-partition-id"}, {"last-assigned-partition-id", 1000}},
      {{"type", "assert-default-spec-id"}, {"default-spec-id", 0}},
      {{"type", "assert-default-sort-order-id"}, {"default-sort-order-id", 0}}};
  const json bad = {
      {{"type", "assert-create"}},
      {{"type", "assert-table-uuid"}, {"uuid", "00000000-0000-4000-8000-000000000000"}},
      {{"type", "assert-ref-snapshot-id"}, {"ref", "main"}, {"snapshot-id", 1}},
      {{"type", "assert-ref-snapshot-id"}, {"ref", "main"}, {"snapshot-id", nullptr}},
      {{"type", "assert-ref-snapshot-id"}, {"ref", "audit"}, {"snapshot-id", 7}},
      {{"type", "assert-last-assigned-field-id"}, {"last-assigned-field-id", 99}},
      {{"type", "assert-current-schema-id"}, {"current-schema-id", 4}},
      {{"type", "assert-last-assigned-partition-id"}, {"last-assigned-partition-id", 1001}},
      {{"type", "assert-default-spec-id"}, {"default-spec-id", 3}},
      {{"type", "assert-default-sort-order-id"}, {"default-sort-order-id", 2}}};
  const std::string loc = Load("db", "t")["metadata-location"];
  for (const json& r : bad) {
    IceResp c = Commit("db", "t", Body(json::array({good[0], r}), kNoop));
    EXPECT_EQ(c.status, 409) << r.dump() << " " << c.raw;
    EXPECT_EQ(c.ErrorType(), "CommitFailedException") << r.dump();
    EXPECT_EQ(Load("db", "t")["metadata-location"], loc) << "nothing may change: " << r.dump();
  }
  IceResp ok = Commit("db", "t", Body(good, kNoop));
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_NE(ok.body["metadata-location"], loc);
  EXPECT_EQ(ok.body["metadata"]["properties"]["touched"], "yes");
  EXPECT_FALSE(ok.body.contains("config"));  // CommitTableResponse: location and metadata
}

TEST_F(IcebergEmulatorTest, UnknownOrMalformedRequirementsAndUpdatesAre400) {
  StartServer();
  Append("db.t", 1, 1);
  for (const json& body :
       {Body({{{"type", "assert-sunny"}}}, kNoop),
        Body(json::array(), {{{"action", "paint-it-black"}}}),
        Body(json::array(), {{{"action", "add-snapshot"}, {"snapshot", {{"snapshot-id", 1}}}}}),
        Body(json::array(), {{{"action", "remove-snapshots"}, {"snapshot-ids", "all"}}}),
        json{{"updates", json::array()}}}) {
    IceResp c = Commit("db", "t", body);
    EXPECT_EQ(c.status, 400) << body.dump() << " " << c.raw;
    EXPECT_EQ(c.body["error"]["code"], 400);
  }
  // An unknown update next to a failing requirement is still a 400: the request is parsed first.
  IceResp both = Commit("db", "t",
                        Body({{{"type", "assert-default-spec-id"}, {"default-spec-id", 9}}},
                             {{{"action", "paint-it-black"}}}));
  EXPECT_EQ(both.status, 400);
  EXPECT_EQ(Commit("db", "nope", Body(json::array(), kNoop)).ErrorType(), "NoSuchTableException");
}

TEST_F(IcebergEmulatorTest, ExpireCommitRemovesSnapshotsTheirRefsAndLogEntries) {
  StartServer();
  Append("db.t", 3, 1);
  json m = Load("db", "t")["metadata"];
  ASSERT_EQ(m["snapshots"].size(), 3u);
  EXPECT_EQ(m["last-sequence-number"], 3);
  EXPECT_EQ(m["snapshot-log"].size(), 3u);
  const json s0 = m["snapshots"][0]["snapshot-id"], s1 = m["snapshots"][1]["snapshot-id"];
  const json s2 = m["current-snapshot-id"];
  IceResp tag = Commit("db", "t",
                       Body(json::array(), {{{"action", "set-snapshot-ref"},
                                             {"ref-name", "v1"},
                                             {"type", "tag"},
                                             {"snapshot-id", s1},
                                             {"max-ref-age-ms", 1000}}}));
  ASSERT_EQ(tag.status, 200) << tag.raw;
  EXPECT_EQ(tag.body["metadata"]["refs"]["v1"],
            json({{"snapshot-id", s1}, {"type", "tag"}, {"max-ref-age-ms", 1000}}));
  EXPECT_EQ(Commit("db", "t",
                   Body(json::array(), {{{"action", "set-snapshot-ref"},
                                         {"ref-name", "x"},
                                         {"type", "tag"},
                                         {"snapshot-id", s1},
                                         {"min-snapshots-to-keep", 2}}}))
                .status,
            400);
  EXPECT_EQ(Commit("db", "t",
                   Body(json::array(), {{{"action", "set-snapshot-ref"},
                                         {"ref-name", "x"},
                                         {"type", "branch"},
                                         {"snapshot-id", 42}}}))
                .status,
            400);

  IceResp expire =
      Commit("db", "t",
             Body({{{"type", "assert-ref-snapshot-id"}, {"ref", "main"}, {"snapshot-id", s2}}},
                  {{{"action", "remove-snapshots"}, {"snapshot-ids", {s0, s1}}}}));
  ASSERT_EQ(expire.status, 200) << expire.raw;
  m = expire.body["metadata"];
  ASSERT_EQ(m["snapshots"].size(), 1u);
  EXPECT_EQ(m["snapshots"][0]["snapshot-id"], s2);
  EXPECT_FALSE(m["refs"].contains("v1"));  // its snapshot is gone
  EXPECT_EQ(m["refs"]["main"]["snapshot-id"], s2);
  EXPECT_EQ(m["snapshot-log"],
            json({{{"timestamp-ms", m["snapshot-log"][0]["timestamp-ms"]}, {"snapshot-id", s2}}}));
  const std::string loc = expire.body["metadata-location"];
  EXPECT_TRUE(fs::exists(loc.substr(7)));
  EXPECT_EQ(m["metadata-log"].back()["metadata-file"], tag.body["metadata-location"]);

  IceResp unref = Commit(
      "db", "t", Body(json::array(), {{{"action", "remove-snapshot-ref"}, {"ref-name", "main"}}}));
  ASSERT_EQ(unref.status, 200);
  EXPECT_EQ(unref.body["metadata"]["current-snapshot-id"], -1);
}

TEST_F(IcebergEmulatorTest, AddSnapshotChecksSequenceNumbers) {
  StartServer();
  Append("db.t", 1, 1);
  json m = Load("db", "t")["metadata"];
  json snap = {{"snapshot-id", 77},
               {"parent-snapshot-id", m["current-snapshot-id"]},
               {"sequence-number", 1},
               {"timestamp-ms", now_.load()},
               {"manifest-list", "file:///nowhere.avro"},
               {"summary", {{"operation", "append"}}}};
  IceResp old =
      Commit("db", "t", Body(json::array(), {{{"action", "add-snapshot"}, {"snapshot", snap}}}));
  EXPECT_EQ(old.status, 400);
  snap["sequence-number"] = 2;
  IceResp ok = Commit("db", "t",
                      Body(json::array(), {{{"action", "add-snapshot"}, {"snapshot", snap}},
                                           {{"action", "set-snapshot-ref"},
                                            {"ref-name", "main"},
                                            {"type", "branch"},
                                            {"snapshot-id", 77}}}));
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["metadata"]["last-sequence-number"], 2);
  EXPECT_EQ(ok.body["metadata"]["current-snapshot-id"], 77);
  EXPECT_EQ(ok.body["metadata"]["snapshot-log"].back()["snapshot-id"], 77);
  EXPECT_EQ(
      Commit("db", "t", Body(json::array(), {{{"action", "add-snapshot"}, {"snapshot", snap}}}))
          .status,
      400);
}

TEST_F(IcebergEmulatorTest, TransactionCommitChangesAllTablesOrNone) {
  StartServer();
  Append("db.a", 1, 1);
  Append("db.b", 1, 1);
  auto change = [](const char* t, json req) {
    return json{{"identifier", {{"namespace", {"db"}}, {"name", t}}},
                {"requirements", req},
                {"updates", kNoop}};
  };
  const json bad = {{{"type", "assert-default-spec-id"}, {"default-spec-id", 5}}};
  IceResp fail =
      Call("POST", "/iceberg/v1/transactions/commit",
           json{{"table-changes", {change("a", json::array()), change("b", bad)}}}.dump());
  EXPECT_EQ(fail.status, 409);
  EXPECT_FALSE(Load("db", "a")["metadata"]["properties"].contains("touched"));
  IceResp ok = Call(
      "POST", "/iceberg/v1/transactions/commit",
      json{{"table-changes", {change("a", json::array()), change("b", json::array())}}}.dump());
  EXPECT_EQ(ok.status, 204) << ok.raw;
  EXPECT_EQ(Load("db", "a")["metadata"]["properties"]["touched"], "yes");
  EXPECT_EQ(Load("db", "b")["metadata"]["properties"]["touched"], "yes");
}

TEST_F(IcebergEmulatorTest, AppendAndRewriteWriteRealManifestsAndFiles) {
  StartServer();
  json a = Append("db.events", 2, 5, 1000);
  ASSERT_EQ(a["snapshots"].size(), 2u);
  json m = Load("db", "events")["metadata"];
  const json& last = m["snapshots"][1];
  EXPECT_EQ(last["summary"]["operation"], "append");
  EXPECT_EQ(last["summary"]["added-data-files"], "5");
  EXPECT_EQ(last["summary"]["total-data-files"], "10");
  EXPECT_EQ(last["summary"]["total-files-size"], "10000");
  EXPECT_EQ(last["parent-snapshot-id"], m["snapshots"][0]["snapshot-id"]);
  std::vector<avro::DataFile> files = LiveFiles(m);
  ASSERT_EQ(files.size(), 10u);
  for (const avro::DataFile& f : files) {
    EXPECT_EQ(fs::file_size(f.path.substr(7)), 1000u);
    EXPECT_EQ(f.partition["event_date"], now_.load() / 86400000);
  }

  IceResp rw = Call("POST", "/_admin/iceberg/rewrite",
                    R"({"table":"db.events","target_file_size_bytes":4000,"min_input_files":5})");
  ASSERT_EQ(rw.status, 200) << rw.raw;
  EXPECT_EQ(rw.body["rewritten_data_files_count"], 10);
  EXPECT_EQ(rw.body["added_data_files_count"], 3);  // 4000 + 4000 + 2000
  m = Load("db", "events")["metadata"];
  EXPECT_EQ(m["current-snapshot-id"], rw.body["snapshot-id"]);
  const json& replace = m["snapshots"].back();
  EXPECT_EQ(replace["summary"]["operation"], "replace");
  EXPECT_EQ(replace["summary"]["deleted-data-files"], "10");
  EXPECT_EQ(replace["summary"]["total-data-files"], "3");
  EXPECT_EQ(replace["sequence-number"], 3);
  files = LiveFiles(m);
  ASSERT_EQ(files.size(), 3u);
  int64_t total = 0;
  for (const avro::DataFile& f : files)
    total += static_cast<int64_t>(fs::file_size(f.path.substr(7)));
  EXPECT_EQ(total, 10000);

  // Nothing left to compact: no new snapshot.
  IceResp again =
      Call("POST", "/_admin/iceberg/rewrite",
           R"({"table":"db.events","target_file_size_bytes":4000,"min_input_files":5})");
  EXPECT_EQ(again.body["rewritten_data_files_count"], 0);
  EXPECT_FALSE(again.body.contains("snapshot-id"));

  ASSERT_EQ(Call("POST", "/_admin/iceberg/failing-images", R"({"images":["events"]})").status, 200);
  ASSERT_EQ(Call("POST", "/_admin/iceberg/transition-ms", R"({"ms":250})").status, 200);
  Append("db.events", 1, 6, 10);
  const json before = Load("db", "events")["metadata-location"];
  IceResp failed = Call("POST", "/_admin/iceberg/rewrite",
                        R"({"table":"db.events","target_file_size_bytes":4000})");
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(Load("db", "events")["metadata-location"], before);
  EXPECT_EQ(slept_ms_.load(), 250);
}

TEST_F(IcebergEmulatorTest, RemoveOrphansDeletesOnlyUnreferencedOldFiles) {
  StartServer();
  Append("db.t", 2, 5, 1000);
  Call("POST", "/_admin/iceberg/rewrite", R"({"table":"db.t","target_file_size_bytes":100000})");
  json m = Load("db", "t")["metadata"];
  const std::string stray = (dir_ / "warehouse" / "db" / "t" / "data" / "stray.parquet").string();
  { std::ofstream(stray) << "x"; }
  const int64_t future = 4102444800000;  // 2100: every file is older
  IceResp none =
      Call("POST", "/_admin/iceberg/remove-orphans", R"({"table":"db.t","older_than_ms":0})");
  ASSERT_EQ(none.status, 200) << none.raw;
  EXPECT_TRUE(none.body["orphan_file_locations"].empty());
  IceResp first = Call("POST", "/_admin/iceberg/remove-orphans",
                       json{{"table", "db.t"}, {"older_than_ms", future}}.dump());
  EXPECT_EQ(first.body["orphan_file_locations"],
            json({"file://" + stray}));  // old snapshots still reference the rest

  json keep = json::array();
  for (const json& s : m["snapshots"])
    if (s["snapshot-id"] != m["current-snapshot-id"]) keep.push_back(s["snapshot-id"]);
  ASSERT_EQ(Commit("db", "t",
                   Body(json::array(), {{{"action", "remove-snapshots"}, {"snapshot-ids", keep}}}))
                .status,
            200);
  IceResp after = Call("POST", "/_admin/iceberg/remove-orphans",
                       json{{"table", "db.t"}, {"older_than_ms", future}}.dump());
  std::vector<std::string> gone = after.body["orphan_file_locations"];
  size_t data = 0;
  for (const std::string& p : gone) data += p.find("/data/") != std::string::npos;
  EXPECT_EQ(data, 10u);                   // the ten rewritten small files
  EXPECT_GE(gone.size(), 10u + 2u + 2u);  // + the old manifests and manifest lists
  m = Load("db", "t")["metadata"];
  for (const avro::DataFile& f : LiveFiles(m)) EXPECT_TRUE(fs::exists(f.path.substr(7)));
}

TEST_F(IcebergEmulatorTest, RunCommandCarriesOutSparkProcedureCalls) {
  StartServer();
  EXPECT_FALSE(emu().RunCommand("sleep 1").has_value());
  EXPECT_FALSE(emu().RunCommand("spark-sql -e \"CALL system.snapshot('db.t')\"").has_value());
  Append("db.events", 2, 5, 1000);
  std::optional<Status> st = emu().RunCommand(
      "spark-submit --class x job.jar -e \"CALL lake.system.rewrite_data_files(table => "
      "'db.events', options => map('target-file-size-bytes', '4000', 'min-input-files', '5'), "
      "where => \\\"event_date = '1970-01-01'\\\")\"");
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->ok()) << st->ToString();
  EXPECT_EQ(Load("db", "events")["metadata"]["snapshots"].size(), 2u) << "where matched nothing";
  st = emu().RunCommand(
      "CALL lake.system.rewrite_data_files(table => 'db.events', options => "
      "map('target-file-size-bytes', '4000', 'min-input-files', '5'))");
  ASSERT_TRUE(st.has_value() && st->ok());
  json m = Load("db", "events")["metadata"];
  EXPECT_EQ(m["snapshots"].back()["summary"]["operation"], "replace");
  EXPECT_EQ(LiveFiles(m).size(), 3u);

  const std::string stray = (dir_ / "warehouse" / "db" / "events" / "data" / "stray").string();
  { std::ofstream(stray) << "x"; }
  st = emu().RunCommand(
      "CALL system.remove_orphan_files(table => 'db.events', older_than => TIMESTAMP "
      "'2100-01-01 00:00:00', dry_run => true)");
  ASSERT_TRUE(st.has_value() && st->ok()) << st->ToString();
  EXPECT_TRUE(fs::exists(stray));
  st = emu().RunCommand(
      "CALL system.remove_orphan_files(table => 'db.events', older_than => TIMESTAMP "
      "'2100-01-01 00:00:00')");
  ASSERT_TRUE(st.has_value() && st->ok());
  EXPECT_FALSE(fs::exists(stray));

  emu().SetFailingImages({"events"});
  st = emu().RunCommand("CALL system.rewrite_data_files('db.events')");
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->ok());
  st = emu().RunCommand("CALL system.rewrite_data_files(table => 'db.nope')");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->code(), Code::kNotFound);
}

TEST_F(IcebergEmulatorTest, TablesSurviveASandboxRestartFromTheStateFile) {
  StartServer();
  Append("db.t", 2, 2);
  Call("POST", "/iceberg/v1/namespaces", R"({"namespace":["empty"],"properties":{"a":"b"}})");
  const json before = Load("db", "t");
  StopServer();
  StartServer();
  const json after = Load("db", "t");
  EXPECT_EQ(after["metadata-location"], before["metadata-location"]);
  EXPECT_EQ(after["metadata"]["snapshots"], before["metadata"]["snapshots"]);
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces/empty").body["properties"], json({{"a", "b"}}));
  Append("db.t", 1, 1);
  EXPECT_EQ(Load("db", "t")["metadata"]["last-sequence-number"], 3);
  ASSERT_EQ(Call("POST", "/_admin/reset").status, 200);
  EXPECT_EQ(Call("GET", "/iceberg/v1/namespaces/db/tables/t").status, 404);
  EXPECT_FALSE(fs::exists(dir_ / "warehouse" / "db" / "t"));
}

}  // namespace
}  // namespace converge::iceberg
