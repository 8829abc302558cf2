// Sizes, durations and counts as TablePolicy writes them and as the plan shows them.
// What it promises (the exact grammar, also in docs/backends/iceberg.md):
//  * A size is a non-negative JSON integer (bytes) or a string `<number><unit>`: the number is
//    digits with an optional fraction (`1.5`), an optional single space, and a unit out of
//    B, KB, MB, GB, TB, PB (powers of 1000) and KiB, MiB, GiB, TiB, PiB (powers of 1024), spelled
//    exactly so. The result must be a whole number of bytes that fits int64 (`1.5KiB` = 1536 is
//    fine, `0.3B` is not).
//  * A duration is a string of one or more `<digits><unit>` groups, units ms, s, m, h, d
//    (`10m`, `24h`, `5d`, `1h30m`); a bare number is refused (seconds or milliseconds?), as is
//    anything that overflows int64 milliseconds.
//  * Formatting is exact and stable: `384 MiB`, `1.5 GiB`, `1,532`, `5d`, `1h30m`.
#pragma once

#include <cstdint>
#include <string>

#include "specs/base/status.h"
#include "specs/document.h"

namespace converge::iceberg {

Result<int64_t> ParseSize(const json& value);
Result<int64_t> ParseDurationMs(const std::string& text);

std::string FormatCount(int64_t n);        // 1532 -> "1,532"
std::string FormatBytes(int64_t bytes);    // "384 MiB", "1.5 GiB", "700 B"
std::string FormatDurationMs(int64_t ms);  // "5d", "1h30m", "250ms", "0s"
// Milliseconds since the epoch as UTC "2026-11-30T10:00:00Z".
std::string FormatTimeMs(int64_t ms);

}  // namespace converge::iceberg
