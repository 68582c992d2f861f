#pragma once
// Reading typed fields from JSON records (the edge where typed data becomes JSON and
// back): a missing or null key takes its fallback, a key of the wrong type is an Error
// naming where the record came from and the key.
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace elab {

template <typename T>
T json_field(const nlohmann::json& j, const char* key, const std::string& where, T fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: key '{}' has the wrong type ({})", where, key, j[key].dump());
  }
}

template <typename T>
T json_required(const nlohmann::json& j, const char* key, const std::string& where) {
  check(j.contains(key) && !j[key].is_null(), "{}: key '{}' is missing", where, key);
  return json_field<T>(j, key, where, T{});
}

}  // namespace elab
