#pragma once
// Reading a config.json: typed getters that name the file and key in every error, with
// bounds a hostile file cannot get past. Used by ModelConfig::from_hf_json and by each
// model family's own keys (model/family.h). Torch-free.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "model/config.h"

namespace elab {

struct ConfigReader {
  const nlohmann::json& j;
  const std::string& where;

  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  // Sizes are bounded so that a hostile config cannot ask for an allocation no real
  // model needs (the largest published models stay far inside these).
  void integer(const char* key, int& out, bool required, int64_t limit = 1 << 20) const {
    if (!has(key)) {
      check(!required, "{}: missing key '{}'", where, key);
      return;
    }
    check(j[key].is_number_integer(), "{}: '{}' must be an integer, got {}", where, key, j[key].dump());
    const int64_t v = j[key].is_number_unsigned() && j[key].get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX
                                                                                                : j[key].get<int64_t>();
    check(v >= 0 && v <= limit, "{}: '{}' = {} is out of range (0 to {})", where, key, j[key].dump(), limit);
    out = int(v);
  }
  void number(const nlohmann::json& obj, const char* key, double& out, const std::string& path) const {
    if (!obj.contains(key) || obj[key].is_null()) return;
    check(obj[key].is_number(), "{}: '{}' must be a number, got {}", where, path, obj[key].dump());
    out = obj[key].get<double>();
  }
  void number(const char* key, double& out) const { number(j, key, out, key); }
  void boolean(const char* key, bool& out) const {
    if (!has(key)) return;
    check(j[key].is_boolean(), "{}: '{}' must be true or false", where, key);
    out = j[key].get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    check(j[key].is_string(), "{}: '{}' must be a string, got {}", where, key, j[key].dump());
    return j[key].get<std::string>();
  }
  // Refuses a key that is present and not at its harmless value.
  void refuse_unless(const char* key, const nlohmann::json& harmless, const char* why) const {
    if (has(key)) check(j[key] == harmless, "{}: '{}' = {} is not supported ({})", where, key, j[key].dump(), why);
  }

  // One RoPE block ({"rope_type": ..., "rope_theta": ..., "factor": ...}), from
  // rope_parameters or the 4.x rope_scaling; `path` names it in errors.
  void rope(const nlohmann::json& r, const std::string& path, double& theta, RopeScaling* scaling,
            double* partial) const {
    check(r.is_object(), "{}: '{}' must be an object, got {}", where, path, r.dump());
    number(r, "rope_theta", theta, path + ".rope_theta");
    if (partial) number(r, "partial_rotary_factor", *partial, path + ".partial_rotary_factor");
    std::string type = "default";
    for (const char* k : {"rope_type", "type"})
      if (r.contains(k) && r[k].is_string()) type = r[k].get<std::string>();
    if (type == "default") return;
    check(scaling && (type == "linear" || type == "llama3"),
          "{}: {}.rope_type '{}' is not supported (elab implements default, linear and llama3)", where, path, type);
    scaling->type = type;
    number(r, "factor", scaling->factor, path + ".factor");
    check(scaling->factor > 0, "{}: {}.factor must be positive", where, path);
    if (type == "llama3") {
      number(r, "low_freq_factor", scaling->low_freq_factor, path + ".low_freq_factor");
      number(r, "high_freq_factor", scaling->high_freq_factor, path + ".high_freq_factor");
      double original = scaling->original_max_positions;
      number(r, "original_max_position_embeddings", original, path + ".original_max_position_embeddings");
      check(original >= 1 && original <= (1 << 24) && scaling->high_freq_factor > scaling->low_freq_factor,
            "{}: {} has an inconsistent llama3 scaling", where, path);
      scaling->original_max_positions = int(original);
    }
  }
};

}  // namespace elab
