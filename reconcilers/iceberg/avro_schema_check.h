// A structural check of an Avro writer schema (the JSON in a container file's avro.schema) before
// Avro C parses it. Avro C's parser leaks the records it has built when it meets an error in a
// nested schema (a field without a name, a named type defined twice: found by
// fuzz/iceberg_manifests), so converge only hands it schemas that pass the Avro specification's
// rules checked here: every record, enum and fixed named once with a valid name, fields named and
// unique, enum symbols valid and unique, unions of distinct non-union branches, names referenced
// only after their definition, nesting at most `max_depth`.
#pragma once

#include <string>

#include "specs/base/status.h"

namespace converge::iceberg {

// kInvalid saying what is wrong and where (a path such as fields[4].type.fields[2]).
Status CheckAvroSchemaJson(const std::string& text, int max_depth = 64);

}  // namespace converge::iceberg
