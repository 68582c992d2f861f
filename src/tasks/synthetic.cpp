#include "tasks/synthetic.h"

#include <algorithm>

#include "core/names.h"

namespace elab {

TaskOptions::TaskOptions(std::string task, const std::string& args, std::vector<std::string> known)
    : task_(std::move(task)) {
  known.push_back("templates");
  size_t pos = 0;
  while (pos < args.size()) {
    size_t end = args.find(',', pos);
    if (end == std::string::npos) end = args.size();
    std::string item = args.substr(pos, end - pos);
    auto eq = item.find('=');
    check(eq != std::string::npos && eq > 0, "task {}: option '{}' is not of the form key=value", task_, item);
    std::string key = item.substr(0, eq);
    if (std::find(known.begin(), known.end(), key) == known.end()) fail_unknown("option of task " + task_, key, known);
    values_[key] = item.substr(eq + 1);
    pos = end + 1;
  }
}

// The option's value parsed whole by `parse` and checked against [lo, hi], or `fallback`.
template <typename T, typename Parse>
static T option_value(const std::map<std::string, std::string>& values, const std::string& task, const std::string& key,
                      T fallback, T lo, T hi, Parse parse, const char* what) {
  auto it = values.find(key);
  if (it == values.end()) return fallback;
  T v{};
  size_t used = 0;
  try {
    v = parse(it->second, &used);
  } catch (...) {
    used = 0;
  }
  check(used == it->second.size() && used > 0 && v >= lo && v <= hi, "task {}: {} must be {} in [{}, {}], got '{}'", task,
        key, what, lo, hi, it->second);
  return v;
}

int64_t TaskOptions::integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
  return option_value<int64_t>(values_, task_, key, fallback, lo, hi,
                               [](const std::string& s, size_t* used) { return std::stoll(s, used); }, "an integer");
}

double TaskOptions::real(const std::string& key, double fallback, double lo, double hi) const {
  return option_value<double>(values_, task_, key, fallback, lo, hi,
                              [](const std::string& s, size_t* used) { return std::stod(s, used); }, "a number");
}

std::string TaskOptions::choice(const std::string& key, const std::string& fallback,
                                const std::vector<std::string>& allowed) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  check(std::find(allowed.begin(), allowed.end(), it->second) != allowed.end(), "task {}: {} must be one of {}, got '{}'",
        task_, key, fmt::join(allowed, ", "), it->second);
  return it->second;
}

std::vector<int> TaskOptions::templates(int count) const {
  std::vector<int> out;
  auto it = values_.find("templates");
  if (it != values_.end()) {
    for (char c : it->second) {
      if (c == '+') continue;
      check(c >= '0' && c < '0' + count, "task {}: templates are 0..{} joined by '+', got '{}'", task_, count - 1,
            it->second);
      out.push_back(c - '0');
    }
  }
  if (out.empty())
    for (int t = 0; t < count; ++t) out.push_back(t);
  return out;
}

Example SyntheticTask::example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const {
  check_split(split);
  Rng rng(derive_seed(seed, name() + "/" + split + "/" + pool_name(pool), {uint64_t(index)}));
  const std::string partition = name() + "/" + split;
  for (int attempt = 0; attempt < 100000; ++attempt) {
    Example e = draw(split, rng);
    if (pool_of(partition, e.key) == pool) return e;
  }
  fail("task {}: could not draw an example of pool {} in split {}", name(), pool_name(pool), split);
}

int SyntheticTask::pick_template(const std::string& split, Rng& rng) const {
  auto allowed = templates_for(split);
  check(!allowed.empty(), "task {}: split {} has no templates left under the chosen options", name(), split);
  return allowed[size_t(rng.uniform_int(0, int64_t(allowed.size()) - 1))];
}

std::string fill(const std::string& pattern, const std::map<std::string, std::string>& values) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      size_t close = pattern.find('}', i);
      if (close != std::string::npos) {
        auto it = values.find(pattern.substr(i + 1, close - i - 1));
        if (it != values.end()) {
          out += it->second;
          i = close;
          continue;
        }
      }
    }
    out.push_back(pattern[i]);
  }
  return out;
}

}  // namespace elab
