// The checks that make hostile Avro bytes safe to hand to Avro C (manifests.cc's reader). Avro C
// allocates whatever a length in the input claims (a block, a string, an array) before it looks
// at how many bytes are left, leaks on several of its error paths and recurses without bound, so
// converge walks an object container file itself first: the header (magic, metadata map, writer
// schema, codec, sync marker), every block's framing (count, length, sync marker), and every
// record's encoding against the writer schema, with every length bounded by the bytes actually
// left, nesting bounded and the decoded size bounded. Only checked blocks reach Avro C, and only
// through its value reader on memory (avro_reader_memory + avro_value_read): Avro C's file reader
// leaks its writer schema, and is not needed once the framing is read here.
// Codecs: "null" and "deflate" (what Iceberg writers use; deflate blocks are inflated here, with
// their inflated size counted against the limit).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "specs/base/status.h"

namespace converge::iceberg {

struct AvroBlock {
  size_t count = 0;  // records in it
  std::string data;  // its records' encoding (inflated), checked against the writer schema
};

struct AvroContainer {
  std::map<std::string, std::string> metadata;  // the header's key/value metadata
  std::string codec;                            // "null" | "deflate"
  std::string schema;                           // the writer schema's JSON (avro.schema)
  size_t records = 0;
  std::vector<AvroBlock> blocks;
};

// The header's metadata alone (no schema or block checks): kInvalid on any malformed header.
Result<std::map<std::string, std::string>> ParseAvroHeader(const std::string& bytes);

// The whole file: kInvalid (message without the file's name) when any check fails, or when the
// records' inflated bytes exceed `max_decoded_bytes` or there are more than `max_records`.
Result<AvroContainer> CheckAvroContainer(const std::string& bytes, size_t max_decoded_bytes,
                                         size_t max_records);

}  // namespace converge::iceberg
