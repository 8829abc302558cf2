// Helpers the SageMaker reconciler's source files share (not part of its interface): converge's
// private members of a desired document, tag filtering, endpoint variant counts and weights.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "specs/document.h"

namespace converge::sagemaker::internal {

// Converge's private members of a desired document (never sent): the variants' expected counts
// and weights of an endpoint, and the spec name.
constexpr char kPrivate[] = "converge";

double CreationTime(const json& o);
bool InProgress(const std::string& status);

// The tags converge keeps in step with the spec, as a sorted [{Key, Value}] array: the user's
// (not converge.io/…, not aws:…) and converge.io/prune, from a tag map or a Tags array (a
// spec's, a desired document's, or a live object's). The ownership tags are never synced.
json SyncedTags(const std::map<std::string, std::string>& tags);
json SyncedTags(const json& tags);
// The value of converge.io/prune in a Tags array, or null when it has none.
json PruneTagValue(const json& tags);
// `tags` with converge.io/prune set to `value` (removed when null).
json WithPruneTag(const json& tags, const json& value);
// Whether a Tags array / map says "never prune" (converge.io/prune=false).
bool PruneProtectedTags(const json& tags);

// Endpoint variants as {name: {count, weight}} from a desired document (private member) or from
// a DescribeEndpoint answer (a snapshot).
std::map<std::string, std::pair<json, json>> ExpectedVariants(const json& doc);
// Numbers equal within 1e-9; a null on either side is "not specified" and equal to anything.
bool SameNumber(const json& a, const json& b);
// The DesiredWeightsAndCapacities that bring the variants of a DescribeEndpoint answer to the
// counts and weights `wanted` expects (a desired document or a snapshot): only the variants
// whose `count_member` / `weight_member` differ. `first_lagging`, when not null, describes the
// first of them for a progress line.
json VariantUpdates(const json& wanted, const json& described, const char* count_member,
                    const char* weight_member, std::string* first_lagging = nullptr);

}  // namespace converge::sagemaker::internal
