// JsonArrayStream: the elements of one array member, read from a body arriving in any chunks.
#include "reconcilers/common/json_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace converge::http {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

struct Read {
  std::vector<json> elements;
  Status status;
};

// Feeds `body` in chunks of `chunk` bytes (0: all at once).
Read Feed(const std::string& body, size_t chunk = 0, size_t max_element = 16u << 20) {
  Read r;
  JsonArrayStream s("apps", [&](json&& e) { r.elements.push_back(std::move(e)); }, max_element);
  if (chunk == 0) chunk = body.size() + 1;
  for (size_t i = 0; i < body.size(); i += chunk) s.Write(std::string_view(body).substr(i, chunk));
  r.status = s.Finish();
  return r;
}

const std::string kBody =
    R"({"message": "not {\"apps\": [1]}", "other": {"apps": [{"id": "/nested"}]},)"
    "\n  \"apps\" : [ {\"id\": \"/a\", \"cmd\": \"echo '}' \\\"]\\\" \\\\\", \"n\": [1, {\"x\": {}}]},"
    R"({"id": "/b\u00e9", "labels": {"k": "v"}} ], "tail": [[], {}]})";

TEST(JsonArrayStream, GivesEachElementOfTheMemberWhateverTheChunks) {
  // Every chunk size from one byte (a boundary inside every token) to the whole body.
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}, size_t{0}}) {
    Read r = Feed(kBody, chunk);
    ASSERT_TRUE(r.status.ok()) << "chunk " << chunk << ": " << r.status.ToString();
    ASSERT_EQ(r.elements.size(), 2u) << "chunk " << chunk;
    EXPECT_EQ(r.elements[0]["id"], "/a");
    EXPECT_EQ(r.elements[0]["cmd"], "echo '}' \"]\" \\");
    EXPECT_EQ(r.elements[0]["n"], json::parse(R"([1, {"x": {}}])"));
    EXPECT_EQ(r.elements[1]["id"], "/b\u00e9");
  }
}

TEST(JsonArrayStream, AnEmptyListIsAList) {
  Read r = Feed(R"({"apps":[]})", 1);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.elements.empty());
}

TEST(JsonArrayStream, AnswersThatAreNotTheListAreErrors) {
  EXPECT_THAT(Feed("").status.message(), HasSubstr("empty answer"));
  EXPECT_THAT(Feed("<html>502 Bad Gateway</html>").status.message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(Feed(R"([{"id": "/a"}])").status.message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(Feed(R"({"app": {"id": "/a"}})").status.message(), HasSubstr("no \"apps\" array"));
  EXPECT_THAT(Feed(R"({"apps": 3})").status.message(), HasSubstr("no \"apps\" array"));
  EXPECT_THAT(Feed(R"({"apps": [{"id": "/a"}, 7]})").status.message(), HasSubstr("not an object"));
  EXPECT_THAT(Feed(R"({"apps": [{"id": "/a"}]} x)").status.message(),
              HasSubstr("after the end of the object"));
  EXPECT_THAT(Feed(R"({"apps": [{"id": /a}]})").status.message(), HasSubstr("not valid JSON"));
}

TEST(JsonArrayStream, ATruncatedAnswerIsAnErrorAfterTheElementsItHeld) {
  std::string body = R"({"apps": [{"id": "/a"}, {"id": "/b"}, {"id": "/c)";
  Read r = Feed(body, 5);
  EXPECT_THAT(r.status.message(), HasSubstr("truncated"));
  EXPECT_EQ(r.elements.size(), 2u);  // the caller drops them: Finish() failed
}

TEST(JsonArrayStream, AnElementLargerThanTheLimitIsAnErrorNotABuffer) {
  std::string body = R"({"apps": [{"id": ")" + std::string(5000, 'x') + R"("}]})";
  Read r = Feed(body, 100, /*max_element=*/1024);
  EXPECT_THAT(r.status.message(), HasSubstr("larger than 1024 bytes"));
  EXPECT_TRUE(r.elements.empty());
}

TEST(JsonArrayStream, ResetStartsOverForANewAttempt) {
  std::vector<json> seen;
  JsonArrayStream s("apps", [&](json&& e) { seen.push_back(std::move(e)); });
  BodyStream stream = s.AsBodyStream();
  stream.begin();
  stream.write(R"({"apps": [{"id": "/a"}, {"id": "/b)");  // the connection drops here
  stream.begin();
  seen.clear();
  stream.write(R"({"apps": [{"id": "/a"}, {"id": "/b"}]})");
  EXPECT_TRUE(s.Finish().ok()) << s.Finish().ToString();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1]["id"], "/b");
}

}  // namespace
}  // namespace converge::http
