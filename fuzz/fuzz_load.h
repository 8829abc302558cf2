// What every fuzz target checks: one spec file's text (hostile: any bytes) goes through
// LoadContent and CheckDocumentSet as `converge validate` would load it, and
//  - nothing crashes, leaks, hits undefined behaviour or throws (the sanitizers and libFuzzer
//    catch those; a validator that throws shows up as an error of kind kValidatorFailedKind, also a
//    failure: the kind, never the message, which can quote any text of the input);
//  - every diagnostic is printable and its line:column lies inside the text (or is 0:0);
//  - every document that survives has a kind the registry knows, a name and a revision.
// A broken guarantee aborts, so libFuzzer saves the input as a reproducer. With
// CONVERGE_FUZZ_VERBOSE set, every diagnostic is printed (to see what a reproducer does).
#pragma once

#include <cstddef>
#include <cstdint>

#include "specs/loader.h"

namespace converge::fuzz {

// Loads `data` as the file "fuzz.yaml" against `registry` and checks the guarantees above.
void LoadAndCheck(const KindRegistry& registry, const uint8_t* data, size_t size);

}  // namespace converge::fuzz
