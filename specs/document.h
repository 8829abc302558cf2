// The document model: one desired-state document (a YAML document with the converge envelope)
// with the source positions needed to report errors as file:line:column.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "specs/packed_json.h"

namespace converge {

using json = nlohmann::json;

struct SourcePos {
  std::string file;
  int line = 0;                  // 1-based; 0 = unknown
  int column = 0;                // 1-based
  std::string ToString() const;  // file:line:column
};

// A member of a spec that names another spec by kind and metadata.name (an Endpoint's
// EndpointConfigName). Found by the kind's `KindInfo::references`; the loader adds the position.
struct SpecReference {
  std::string kind;     // the kind named: "EndpointConfig"
  std::string name;     // its metadata.name
  std::string pointer;  // JSON pointer from the document root: "/spec/EndpointConfigName"
  SourcePos pos;        // where that member's value is (filled in by the loader)
  // The kind exists only as a spec (an Executor, a Backend): no backend can answer the name, so
  // a reference that no spec answers is an error, not a warning.
  bool spec_only = false;
  // For kind "Backend": the `spec.type` the Backend named must have ("" = any).
  std::string backend_type;
};

struct Document {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string backend;  // metadata.backend, resolved by the loader when left out
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // The backend's native document: packed once loaded (specs/packed_json.h), so read it with
  // spec.Get() or spec.Read(f).
  PackedJson spec;
  SourcePos pos;          // start of the document
  SourcePos name_pos;     // metadata.name's value (line 0 when unknown)
  SourcePos backend_pos;  // metadata.backend's value, when set
  int index = 0;          // 0-based document number within its file
  std::string revision;   // content hash of (kind, name, backend, spec, labels, annotations)
  std::vector<SpecReference> references;  // the other specs this one names, in member order
  // `backend` was filled in by the set checks (metadata.backend left out: the one Backend of the
  // kind's type), so a later set of Backends may resolve it differently.
  bool backend_defaulted = false;

  std::string Key() const { return kind + "/" + name; }
  // "App /payments/api (document 2)" — names the document in error messages.
  std::string Describe() const;
};

// The documents of a load, each shared and immutable once loaded: `converge watch` builds the
// next whole-set result from the documents of the files that did not change without copying
// them (controller/watch/spec_cache.h). Reads like a std::vector<Document>; a change to one
// document goes through Mutable(), which copies it first when another list shares it.
class DocumentList {
 public:
  using Ptr = std::shared_ptr<const Document>;
  using value_type = Document;
  using size_type = size_t;

  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = Document;
    using difference_type = std::ptrdiff_t;
    using pointer = const Document*;
    using reference = const Document&;
    const_iterator() = default;
    explicit const_iterator(std::vector<std::shared_ptr<Document>>::const_iterator it) : it_(it) {}
    reference operator*() const { return **it_; }
    pointer operator->() const { return it_->get(); }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++it_;
      return old;
    }
    const_iterator& operator--() {
      --it_;
      return *this;
    }
    const_iterator& operator+=(difference_type n) {
      it_ += n;
      return *this;
    }
    const_iterator operator+(difference_type n) const { return const_iterator(it_ + n); }
    const_iterator operator-(difference_type n) const { return const_iterator(it_ - n); }
    difference_type operator-(const const_iterator& o) const { return it_ - o.it_; }
    reference operator[](difference_type n) const { return *it_[n]; }
    bool operator==(const const_iterator& o) const { return it_ == o.it_; }
    auto operator<=>(const const_iterator& o) const { return it_ <=> o.it_; }

   private:
    std::vector<std::shared_ptr<Document>>::const_iterator it_;
  };
  using iterator = const_iterator;

  DocumentList() = default;
  DocumentList(std::initializer_list<Document> docs) {
    for (const Document& d : docs) push_back(d);
  }

  size_t size() const { return docs_.size(); }
  bool empty() const { return docs_.empty(); }
  void reserve(size_t n) { docs_.reserve(n); }
  void clear() { docs_.clear(); }
  const Document& operator[](size_t i) const { return *docs_[i]; }
  const Document& at(size_t i) const { return *docs_.at(i); }
  const Document& front() const { return *docs_.front(); }
  const Document& back() const { return *docs_.back(); }
  const_iterator begin() const { return const_iterator(docs_.begin()); }
  const_iterator end() const { return const_iterator(docs_.end()); }

  void push_back(Document d) { docs_.push_back(std::make_shared<Document>(std::move(d))); }
  // `d` comes from another list's ptr(): every document is created by push_back(Document).
  void push_back(const Ptr& d) { docs_.push_back(std::const_pointer_cast<Document>(d)); }
  void append(DocumentList&& other) {
    if (docs_.empty()) {
      docs_ = std::move(other.docs_);
    } else {
      docs_.insert(docs_.end(), std::make_move_iterator(other.docs_.begin()),
                   std::make_move_iterator(other.docs_.end()));
    }
    other.docs_.clear();
  }
  void append(const DocumentList& other) {
    docs_.insert(docs_.end(), other.docs_.begin(), other.docs_.end());
  }
  // The shared document itself, to put into another list without copying it.
  Ptr ptr(size_t i) const { return docs_[i]; }
  // Document i for writing: copied first when another list shares it.
  Document& Mutable(size_t i) {
    if (docs_[i].use_count() > 1) docs_[i] = std::make_shared<Document>(*docs_[i]);
    return *docs_[i];
  }

 private:
  std::vector<std::shared_ptr<Document>> docs_;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourcePos pos;
  std::string document;  // Document::Describe() or "document N"
  std::string message;   // what is wrong and what was expected
  // What sort of finding, for machines (`validate -o json`): "" for a spec error or warning with
  // no finer name, "numeric-string", "unresolved-reference", ...
  std::string kind;
  std::string ToString() const;  // file:line:column: error: <document>: <message>
};

// An error found inside a spec, located by a JSON pointer path relative to the document root
// ("/spec/container/docker/image"). The loader maps the path to a source position.
struct PathDiagnostic {
  std::string path;
  std::string message;
  Severity severity = Severity::kError;
  std::string kind;  // Diagnostic::kind
};

}  // namespace converge
