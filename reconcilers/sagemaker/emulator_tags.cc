// SageMaker emulator: AddTags / ListTags / DeleteTags and list paging.
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <utility>

#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/sagemaker/emulator_internal.h"
#include "reconcilers/sagemaker/model.h"

namespace converge::sagemaker {

void Emulator::Impl::MergeTags(json& tags, const json& add) {
  if (!add.is_array()) return;
  for (const json& t : add) {
    if (!t.is_object() || !t.contains("Key")) continue;
    json tag = {{"Key", t["Key"]}, {"Value", t.value("Value", json(""))}};
    auto same = std::find_if(tags.begin(), tags.end(),
                             [&](const json& e) { return e["Key"] == tag["Key"]; });
    if (same != tags.end()) {
      *same = tag;
    } else {
      tags.push_back(tag);
    }
  }
}

json* Emulator::Impl::TagsOf(const std::string& arn) {
  // arn:aws:sagemaker:<region>:<account>:<type>/<name>
  std::vector<std::string> parts;
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', pos);
    if (colon == std::string::npos) return nullptr;
    parts.push_back(arn.substr(pos, colon - pos));
    pos = colon + 1;
  }
  std::string resource = arn.substr(pos);
  if (parts[0] != "arn" || parts[2] != "sagemaker" || parts[4] != options.account_id) {
    return nullptr;
  }
  size_t slash = resource.find('/');
  if (slash == std::string::npos) return nullptr;
  std::string type = resource.substr(0, slash);
  std::string name = resource.substr(slash + 1);
  if (type == "model") {
    auto it = models.find(name);
    return it == models.end() ? nullptr : &it->second.tags;
  }
  if (type == "endpoint-config") {
    auto it = configs.find(name);
    return it == configs.end() ? nullptr : &it->second.tags;
  }
  if (type == "endpoint") {
    auto it = endpoints.find(AsciiLower(name));
    return it == endpoints.end() ? nullptr : &it->second.tags;
  }
  for (int k = 0; k < kJobKinds; ++k) {
    if (type != kJobInfo[k].arn_type) continue;
    auto it = jobs[k].find(name);
    return it == jobs[k].end() ? nullptr : &it->second.tags;
  }
  return nullptr;
}

Reply Emulator::Impl::AddTags(const json& in, Ctx& c) {
  const std::string arn = in["ResourceArn"];
  json* tags = TagsOf(arn);
  if (tags == nullptr) return Validation("Could not find resource " + Quoted(arn) + ".");
  json merged = *tags;
  MergeTags(merged, in["Tags"]);
  if (merged.size() > 50) {
    return Error(400, "ResourceLimitExceeded",
                 "A resource can have at most 50 tags; this request would give it " +
                     std::to_string(merged.size()) + ".");
  }
  *tags = std::move(merged);
  c.mutated = true;
  return Ok({{"Tags", in["Tags"]}});
}

namespace {

// One page of `items` as the List* operations answer: MaxResults (else `default_max`) from the
// offset NextToken names, and a NextToken when more remain.
Reply Page(const json& in, std::vector<json> items, size_t default_max, const char* member) {
  size_t max = in.value("MaxResults", default_max);
  size_t offset = 0;
  if (in.contains("NextToken")) {
    auto o = PageOffset(in["NextToken"].get<std::string>());
    if (!o) return Validation("Invalid NextToken value.");
    offset = *o;
  }
  json page = json::array();
  for (size_t i = offset; i < items.size() && page.size() < max; ++i)
    page.push_back(std::move(items[i]));
  json out = {{member, page}};
  if (offset + page.size() < items.size()) out["NextToken"] = PageToken(offset + page.size());
  return Ok(out);
}

}  // namespace

Reply Emulator::Impl::ListTags(const json& in, Ctx& c) {
  const std::string arn = in["ResourceArn"];
  json* tags = TagsOf(arn);
  if (tags == nullptr) return Validation("Could not find resource " + Quoted(arn) + ".");
  std::vector<json> all(tags->begin(), tags->end());
  return Page(in, std::move(all), kDefaultListTagsMaxResults, "Tags");
}

Reply Emulator::Impl::DeleteTags(const json& in, Ctx& c) {
  const std::string arn = in["ResourceArn"];
  json* tags = TagsOf(arn);
  if (tags == nullptr) return Validation("Could not find resource " + Quoted(arn) + ".");
  std::set<std::string> keys;
  for (const json& k : in["TagKeys"]) keys.insert(k.get<std::string>());
  json kept = json::array();
  for (const json& t : *tags) {
    if (!keys.count(t["Key"].get<std::string>())) kept.push_back(t);
  }
  *tags = std::move(kept);
  c.mutated = true;
  return Ok();
}

Reply Emulator::Impl::ListPage(const json& in, std::vector<ListItem> items, const char* member) {
  std::optional<double> created_before, created_after, modified_before, modified_after;
  auto ts = [&](const char* key, std::optional<double>* out) -> bool {
    if (!in.contains(key)) return true;
    *out = ParseTimestamp(in[key]);
    return out->has_value();
  };
  if (!ts("CreationTimeBefore", &created_before) || !ts("CreationTimeAfter", &created_after) ||
      !ts("LastModifiedTimeBefore", &modified_before) ||
      !ts("LastModifiedTimeAfter", &modified_after)) {
    return Serialization("Timestamps must be epoch seconds or ISO 8601");
  }
  const std::string contains = AsciiLower(in.value("NameContains", ""));
  const std::string status = in.value("StatusEquals", "");
  std::erase_if(items, [&](const ListItem& i) {
    return (!contains.empty() && AsciiLower(i.name).find(contains) == std::string::npos) ||
           (!status.empty() && i.status != status) ||
           (created_before && !(i.created < *created_before)) ||
           (created_after && !(i.created > *created_after)) ||
           (modified_before && !(i.modified < *modified_before)) ||
           (modified_after && !(i.modified > *modified_after));
  });
  const std::string sort_by = in.value("SortBy", "CreationTime");
  const bool ascending = in.value("SortOrder", "Descending") == "Ascending";
  std::stable_sort(items.begin(), items.end(), [&](const ListItem& a, const ListItem& b) {
    auto key = [&](const ListItem& i) {
      if (sort_by == "Name") return std::make_tuple(0.0, std::string(), i.name);
      if (sort_by == "Status") return std::make_tuple(0.0, i.status, i.name);
      return std::make_tuple(i.created, std::string(), i.name);
    };
    return ascending ? key(a) < key(b) : key(b) < key(a);
  });
  std::vector<json> summaries;
  summaries.reserve(items.size());
  for (ListItem& i : items) summaries.push_back(std::move(i.summary));
  return Page(in, std::move(summaries), kDefaultMaxResults, member);
}

}  // namespace converge::sagemaker
