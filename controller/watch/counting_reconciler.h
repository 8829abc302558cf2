// A Reconciler decorator used by `converge watch`: every call that reaches the backend is
// counted as converge_backend_operations_total{backend, op, status} (status: ok or the error
// code). The per-backend request rate limit and the per-request counter
// (converge_backend_requests_total) sit one level lower, on the HTTP client's attempt hooks
// (ConnectOptions), because one operation may be many requests (a SageMaker observe lists,
// pages and tags). Pure calls (Desired, Definition, Diff, Dependencies) pass through untouched.
#pragma once

#include <memory>
#include <string>

#include "controller/watch/metrics.h"
#include "reconcilers/reconciler.h"

namespace converge::watch {

class CountingReconciler : public Reconciler {
 public:
  CountingReconciler(std::unique_ptr<Reconciler> inner, std::string backend, Metrics* metrics)
      : inner_(std::move(inner)), backend_(std::move(backend)), metrics_(metrics) {}

  void BindSpecs(const std::vector<const Document*>& docs) override { inner_->BindSpecs(docs); }
  std::vector<ResourceKey> References(const Document& doc) const override {
    return inner_->References(doc);
  }
  // Runs are listed, read and started through the backend's driver, uncounted here (its HTTP
  // requests are still counted by the attempt hooks).
  RunDriver* Runs() override { return inner_->Runs(); }
  Result<std::vector<LiveObject>> Observe() override { return Count(inner_->Observe(), "observe"); }
  Result<std::optional<LiveObject>> Get(const ResourceKey& key) override {
    return Count(inner_->Get(key), "get");
  }
  json Desired(const Document& doc) const override { return inner_->Desired(doc); }
  json Definition(const json& live) const override { return inner_->Definition(live); }
  DiffResult Diff(const json& desired, const json& live, const json& la) const override {
    return inner_->Diff(desired, live, la);
  }
  std::vector<ResourceKey> Dependencies(const json& doc) const override {
    return inner_->Dependencies(doc);
  }
  Status Apply(const ChangeRequest& change) override {
    Status s = inner_->Apply(change);
    Record(s, "apply");
    return s;
  }
  Result<Health> CheckHealth(const ResourceKey& key, const json& desired) override {
    return Count(inner_->CheckHealth(key, desired), "health");
  }
  Status Restore(const ResourceKey& key, const json& definition) override {
    Status s = inner_->Restore(key, definition);
    Record(s, "restore");
    return s;
  }
  long RequestCount() const override { return inner_->RequestCount(); }
  long WriteCount() const override { return inner_->WriteCount(); }

 private:
  void Record(const Status& s, const char* op) {
    if (metrics_)
      metrics_->Inc(
          "converge_backend_operations_total",
          {{"backend", backend_}, {"op", op}, {"status", s.ok() ? "ok" : CodeName(s.code())}});
  }
  template <typename T>
  Result<T> Count(Result<T> r, const char* op) {
    Record(r.status(), op);
    return r;
  }

  std::unique_ptr<Reconciler> inner_;
  std::string backend_;
  Metrics* metrics_;
};

}  // namespace converge::watch
