// A small metrics registry for `converge watch` and its Prometheus text exposition (format
// 0.0.4). Counters, gauges and histograms with labels; every method is thread-safe. There is
// no client library for Prometheus in Debian's C++ packages, and the subset needed here is
// small: one registry per process, label values escaped, families sorted for stable output.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace converge::watch {

using Labels = std::map<std::string, std::string>;

class Metrics {
 public:
  // Declares a family (help text and type) before use; using an undeclared name declares it
  // with an empty help text.
  void DeclareCounter(const std::string& name, const std::string& help);
  void DeclareGauge(const std::string& name, const std::string& help);
  void DeclareHistogram(const std::string& name, const std::string& help,
                        std::vector<double> bounds);

  void Inc(const std::string& name, const Labels& labels = {}, double by = 1);
  void Set(const std::string& name, const Labels& labels, double value);
  void Set(const std::string& name, double value) { Set(name, {}, value); }
  void Observe(const std::string& name, double value, const Labels& labels = {});
  // Removes every series of a gauge family (before re-setting all of them).
  void ClearGauge(const std::string& name);

  double Value(const std::string& name, const Labels& labels = {}) const;  // counter or gauge
  uint64_t HistogramCount(const std::string& name, const Labels& labels = {}) const;

  // The text exposition format (Content-Type: text/plain; version=0.0.4).
  std::string Exposition() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // per bound, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    std::string type;  // counter | gauge | histogram
    std::string help;
    std::vector<double> bounds;
    std::map<Labels, double> values;
    std::map<Labels, Histogram> histograms;
  };
  Family& FamilyOf(const std::string& name, const char* type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// "a=\"x\",b=\"y\"" with Prometheus escaping of \, " and newlines.
std::string FormatLabels(const Labels& labels);

}  // namespace converge::watch
