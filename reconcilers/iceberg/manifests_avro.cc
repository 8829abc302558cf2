#include "reconcilers/iceberg/manifests_avro.h"

#include <avro.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>

#include "reconcilers/iceberg/avro_schema_check.h"

namespace converge::iceberg {
namespace {

constexpr int kMaxDepth = 64;  // schema nesting a record may use (manifests need 5)

class Cursor {
 public:
  Cursor(const char* p, size_t n) : p_(reinterpret_cast<const uint8_t*>(p)), n_(n) {}
  size_t left() const { return n_ - pos_; }
  size_t pos() const { return pos_; }
  const char* here() const { return reinterpret_cast<const char*>(p_ + pos_); }
  bool Skip(size_t k) {
    if (k > left()) return false;
    pos_ += k;
    return true;
  }
  // A zigzag varint of at most `max_bytes` bytes.
  bool Long(int64_t* v, int max_bytes = 10) {
    uint64_t z = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (pos_ >= n_) return false;
      const uint8_t b = p_[pos_++];
      z |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0) {
        *v = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
        return true;
      }
    }
    return false;
  }
  // A length (bytes, string, block size): 0..left().
  bool Length(int64_t* v) { return Long(v) && *v >= 0 && static_cast<uint64_t>(*v) <= left(); }
  bool Bytes(std::string* out) {
    int64_t n = 0;
    if (!Length(&n)) return false;
    out->assign(here(), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

struct Header {
  std::map<std::string, std::string> metadata;
  std::string sync;
  size_t end = 0;  // offset of the first block
};

Status Bad(const std::string& m) { return InvalidError(m); }

Result<Header> ReadHeader(const std::string& bytes) {
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "Obj\x01", 4) != 0)
    return Bad("is not an Avro object container file");
  Cursor c(bytes.data() + 4, bytes.size() - 4);
  Header h;
  while (true) {
    int64_t count = 0;
    if (!c.Long(&count)) return Bad("has a truncated Avro header");
    if (count == 0) break;
    if (count < 0) {
      int64_t size = 0;
      if (count == INT64_MIN || !c.Length(&size)) return Bad("has a malformed Avro header");
      count = -count;
    }
    if (static_cast<uint64_t>(count) > c.left()) return Bad("has a malformed Avro header");
    for (int64_t i = 0; i < count; ++i) {
      std::string k, v;
      if (!c.Bytes(&k) || !c.Bytes(&v)) return Bad("has a truncated Avro header");
      h.metadata[k] = std::move(v);
    }
  }
  if (c.left() < 16) return Bad("has a truncated Avro header (no sync marker)");
  h.sync.assign(c.here(), 16);
  c.Skip(16);
  h.end = 4 + c.pos();
  return h;
}

// Walks one value of `s`, bounding every length by the bytes left, nesting by kMaxDepth and the
// number of values by `budget`.
bool Walk(avro_schema_t s, Cursor& c, int depth, size_t& budget) {
  if (depth > kMaxDepth || budget == 0) return false;
  --budget;
  int64_t v = 0;
  switch (avro_typeof(s)) {
    case AVRO_NULL:
      return true;
    case AVRO_BOOLEAN:
      return c.Skip(1);
    case AVRO_INT32:
      return c.Long(&v, 5) && v >= INT32_MIN && v <= INT32_MAX;
    case AVRO_INT64:
      return c.Long(&v);
    case AVRO_FLOAT:
      return c.Skip(4);
    case AVRO_DOUBLE:
      return c.Skip(8);
    case AVRO_BYTES:
    case AVRO_STRING:
      return c.Length(&v) && c.Skip(static_cast<size_t>(v));
    case AVRO_FIXED: {
      const int64_t n = avro_schema_fixed_size(s);
      return n >= 0 && c.Skip(static_cast<size_t>(n));
    }
    case AVRO_ENUM:
      return c.Long(&v, 5) && v >= 0 && v < avro_schema_enum_number_of_symbols(s);
    case AVRO_ARRAY:
    case AVRO_MAP: {
      const bool map = avro_typeof(s) == AVRO_MAP;
      avro_schema_t items = map ? avro_schema_map_values(s) : avro_schema_array_items(s);
      while (true) {
        int64_t count = 0;
        if (!c.Long(&count)) return false;
        if (count == 0) return true;
        if (count < 0) {
          int64_t size = 0;
          if (count == INT64_MIN || !c.Length(&size)) return false;
          count = -count;
        }
        if (static_cast<uint64_t>(count) > budget) return false;
        for (int64_t i = 0; i < count; ++i) {
          if (map && !(c.Length(&v) && c.Skip(static_cast<size_t>(v)))) return false;
          if (!Walk(items, c, depth + 1, budget)) return false;
        }
      }
    }
    case AVRO_UNION:
      return c.Long(&v) && v >= 0 && static_cast<uint64_t>(v) < avro_schema_union_size(s) &&
             Walk(avro_schema_union_branch(s, static_cast<int>(v)), c, depth + 1, budget);
    case AVRO_RECORD:
      for (size_t i = 0; i < avro_schema_record_size(s); ++i)
        if (!Walk(avro_schema_record_field_get_by_index(s, static_cast<int>(i)), c, depth + 1,
                  budget))
          return false;
      return true;
    case AVRO_LINK:
      return Walk(avro_schema_link_target(s), c, depth + 1, budget);
    default:
      return false;
  }
}

// Inflates a raw deflate block (Avro's "deflate" codec) into `out`, at most `max` bytes.
bool Inflate(const char* p, size_t n, size_t max, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return false;
  out->clear();
  char buf[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
  z.avail_in = static_cast<uInt>(n);
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    const size_t got = sizeof(buf) - z.avail_out;
    if (out->size() + got > max) rc = Z_MEM_ERROR;
    else out->append(buf, got);
    if (rc == Z_OK && got == 0 && z.avail_in == 0) rc = Z_DATA_ERROR;  // truncated stream
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END;
}

// The writer schema, parsed and released by Avro C.
class Schema {
 public:
  ~Schema() {
    if (s_ != nullptr) avro_schema_decref(s_);
  }
  bool Parse(const std::string& text) {
    return avro_schema_from_json_length(text.data(), text.size(), &s_) == 0 && s_ != nullptr;
  }
  avro_schema_t get() const { return s_; }

 private:
  avro_schema_t s_ = nullptr;
};

}  // namespace

Result<std::map<std::string, std::string>> ParseAvroHeader(const std::string& bytes) {
  auto h = ReadHeader(bytes);
  if (!h.ok()) return h.status();
  return std::move(h->metadata);
}

Result<AvroContainer> CheckAvroContainer(const std::string& bytes, size_t max_decoded_bytes,
                                         size_t max_records) {
  auto h = ReadHeader(bytes);
  if (!h.ok()) return h.status();
  AvroContainer out;
  out.metadata = h->metadata;
  auto codec = h->metadata.find("avro.codec");
  out.codec = codec == h->metadata.end() || codec->second.empty() ? "null" : codec->second;
  if (out.codec != "null" && out.codec != "deflate")
    return Bad("uses the Avro codec \"" + out.codec + "\" (converge reads null and deflate)");
  auto text = h->metadata.find("avro.schema");
  if (text == h->metadata.end()) return Bad("has no avro.schema in its header");
  out.schema = text->second;
  // Avro C leaks what it has built when a nested schema is invalid: it sees only valid ones.
  if (Status valid = CheckAvroSchemaJson(text->second, kMaxDepth); !valid.ok())
    return Bad("has an invalid Avro schema: " + valid.message());
  Schema schema;
  if (!schema.Parse(text->second))
    return Bad(std::string("has an invalid Avro schema: ") + avro_strerror());
  if (avro_typeof(schema.get()) != AVRO_RECORD) return Bad("does not hold records");
  Cursor c(bytes.data() + h->end, bytes.size() - h->end);
  size_t decoded = 0;
  std::string inflated;
  while (c.left() > 0) {
    const size_t at = h->end + c.pos();
    int64_t count = 0, size = 0;
    if (!c.Long(&count) || count < 0 || !c.Length(&size))
      return Bad("has a malformed block at byte " + std::to_string(at));
    const char* data = c.here();
    size_t n = static_cast<size_t>(size);
    c.Skip(n);
    if (c.left() < 16 || std::memcmp(c.here(), h->sync.data(), 16) != 0)
      return Bad("has a block without its sync marker at byte " + std::to_string(at));
    c.Skip(16);
    if (out.codec == "deflate") {
      if (!Inflate(data, n, max_decoded_bytes - decoded, &inflated))
        return Bad("has a block that does not inflate within the limit at byte " +
                   std::to_string(at));
      data = inflated.data();
      n = inflated.size();
    }
    decoded += n;
    if (decoded > max_decoded_bytes)
      return Bad("holds more than " + std::to_string(max_decoded_bytes) + " bytes of records");
    if (static_cast<uint64_t>(count) > n + 1 || out.records + count > max_records + 1)
      return Bad("has a block claiming " + std::to_string(count) + " records at byte " +
                 std::to_string(at));
    Cursor block(data, n);
    size_t budget = 8 * n + 16 * static_cast<size_t>(count) + 64;  // values to visit
    for (int64_t i = 0; i < count; ++i)
      if (!Walk(schema.get(), block, 0, budget))
        return Bad("has a corrupt record in the block at byte " + std::to_string(at));
    if (block.left() != 0)
      return Bad("has bytes after the last record of the block at byte " + std::to_string(at));
    out.records += static_cast<size_t>(count);
    if (count > 0) out.blocks.push_back({static_cast<size_t>(count), std::string(data, n)});
  }
  return out;
}

}  // namespace converge::iceberg
