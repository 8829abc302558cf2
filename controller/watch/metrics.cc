#include "controller/watch/metrics.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace converge::watch {
namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Series(const std::string& name, const Labels& labels) {
  if (labels.empty()) return name;
  return name + "{" + FormatLabels(labels) + "}";
}

}  // namespace

std::string FormatLabels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ",";
    out += k + "=\"" + Escape(v) + "\"";
  }
  return out;
}

Metrics::Family& Metrics::FamilyOf(const std::string& name, const char* type) {
  Family& f = families_[name];
  if (f.type.empty()) f.type = type;
  return f;
}

void Metrics::DeclareCounter(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  FamilyOf(name, "counter").help = help;
}

void Metrics::DeclareGauge(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  FamilyOf(name, "gauge").help = help;
}

void Metrics::DeclareHistogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyOf(name, "histogram");
  f.help = help;
  f.bounds = std::move(bounds);
}

void Metrics::Inc(const std::string& name, const Labels& labels, double by) {
  std::lock_guard<std::mutex> lock(mu_);
  FamilyOf(name, "counter").values[labels] += by;
}

void Metrics::Set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  FamilyOf(name, "gauge").values[labels] = value;
}

void Metrics::ClearGauge(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  FamilyOf(name, "gauge").values.clear();
}

void Metrics::Observe(const std::string& name, double value, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyOf(name, "histogram");
  Histogram& h = f.histograms[labels];
  if (h.buckets.size() != f.bounds.size()) h.buckets.assign(f.bounds.size(), 0);
  for (size_t i = 0; i < f.bounds.size(); ++i) {
    if (value <= f.bounds[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += value;
}

double Metrics::Value(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto v = f->second.values.find(labels);
  return v == f->second.values.end() ? 0 : v->second;
}

uint64_t Metrics::HistogramCount(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto h = f->second.histograms.find(labels);
  return h == f->second.histograms.end() ? 0 : h->second.count;
}

std::string Metrics::Exposition() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out << "# HELP " << name << " " << f.help << "\n";
    out << "# TYPE " << name << " " << f.type << "\n";
    if (f.type != "histogram") {
      for (const auto& [labels, v] : f.values)
        out << Series(name, labels) << " " << Number(v) << "\n";
      continue;
    }
    for (const auto& [labels, h] : f.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.bounds.size(); ++i) {
        cumulative += i < h.buckets.size() ? h.buckets[i] : 0;
        Labels l = labels;
        l["le"] = Number(f.bounds[i]);
        out << Series(name + "_bucket", l) << " " << cumulative << "\n";
      }
      Labels inf = labels;
      inf["le"] = "+Inf";
      out << Series(name + "_bucket", inf) << " " << h.count << "\n";
      out << Series(name + "_sum", labels) << " " << Number(h.sum) << "\n";
      out << Series(name + "_count", labels) << " " << h.count << "\n";
    }
  }
  return out.str();
}

}  // namespace converge::watch
