#include "backends/registry.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <functional>

#include "backends/native.h"
#include "backends/openai.h"
#include "backends/replay.h"
#include "core/error.h"
#include "core/names.h"
#include "model/adapters.h"
#include "model/device.h"

namespace elab {

BackendArgs parse_backend_args(const std::string& text) {
  BackendArgs args;
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    size_t comma = text.find(',', pos);
    const std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const size_t eq = item.find('=');
    check(eq != std::string::npos && eq > 0, "backend options '{}': '{}' is not key=value", text, item);
    check(!args.count(item.substr(0, eq)), "backend options '{}': key '{}' is given twice", text, item.substr(0, eq));
    args[item.substr(0, eq)] = item.substr(eq + 1);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return args;
}

std::string format_backend_args(const BackendArgs& args) {
  std::string out;
  for (const auto& [k, v] : args) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

void BackendOptions::check_known() const {
  std::vector<std::string> keys;
  for (const auto& [k, meaning] : entry.options) keys.push_back(k);
  for (const auto& [k, v] : args)
    if (std::find(keys.begin(), keys.end(), k) == keys.end())
      fail_unknown(fmt::format("option of backend {}", entry.usage), k, keys);
}

std::string BackendOptions::text(const std::string& key, const std::string& fallback) const {
  auto it = args.find(key);
  return it == args.end() ? fallback : it->second;
}

int64_t BackendOptions::integer(const std::string& key, int64_t fallback, int64_t min) const {
  auto it = args.find(key);
  if (it == args.end()) return fallback;
  auto v = parse_integer(it->second);
  check(v && *v >= min, "backend {}: option {} must be an integer >= {}, got '{}'", entry.usage, key, min, it->second);
  return *v;
}

double BackendOptions::number(const std::string& key, double fallback) const {
  auto it = args.find(key);
  if (it == args.end()) return fallback;
  auto v = parse_number(it->second);
  check(v && *v > 0, "backend {}: option {} must be a positive number, got '{}'", entry.usage, key, it->second);
  return *v;
}

bool BackendOptions::flag(const std::string& key, bool fallback) const {
  const std::string v = text(key, fallback ? "true" : "false");
  check(v == "true" || v == "false", "backend {}: option {} must be true or false, got '{}'", entry.usage, key, v);
  return v == "true";
}

namespace {

std::unique_ptr<Backend> make_native(const std::string& dir, const BackendOptions& o) {
  const std::string dtype = o.text("dtype", "f32");
  auto native = std::make_unique<NativeBackend>(load_model_dir(dir, parse_device(o.text("device", "cpu"))));
  use_weight_dtype(*native->checkpoint().model, dtype, fmt::format("backend {}: option dtype", o.entry.usage));
  native->workers = int(o.integer("workers", 1, 1));
  return native;
}

std::unique_ptr<Backend> make_openai(const std::string& rest, const BackendOptions& o) {
  OpenAIOptions oo = parse_openai_spec(rest);
  oo.concurrency = int(o.integer("concurrency", oo.concurrency, 1));
  oo.timeout_seconds = o.number("timeout", oo.timeout_seconds);
  oo.max_retries = int(o.integer("retries", oo.max_retries, 0));
  oo.chat = o.flag("chat", oo.chat);
  oo.cache_path = o.text("cache", default_cache_path());
  return make_openai_backend(oo);
}

std::unique_ptr<Backend> make_replay(const std::string& rest, const BackendOptions&) { return make_replay_backend(rest); }

// One row per backend, its factory beside it.
std::vector<std::pair<BackendEntry, BackendFactory>>& table() {
  static std::vector<std::pair<BackendEntry, BackendFactory>> rows = {
      {{"", "DIR", "a checkpoint or adapter directory, or a FILE.gguf, run by the native engine",
        {{"device", "cpu, cuda, cuda:N (cpu)"},
         {"workers", "threads sharing each batch (1)"},
         {"dtype", "f32; bf16 weight matrices (fast decoding on CPUs with bf16 instructions); q8, 8-bit weights in blocks of "
                   "32 (the fastest batch-1 decoding) (f32)"}},
        ""},
       make_native},
      {{"openai", "openai:URL#MODEL", "an OpenAI-compatible endpoint (vLLM, llama.cpp server, elab serve, ...)",
        {{"concurrency", "requests in flight (8)"},
         {"timeout", "seconds per request (120)"},
         {"retries", "retries on 429/5xx/timeouts (6)"},
         {"chat", "true: /chat/completions (false)"},
         {"cache", "SQLite response cache; empty = none (~/.cache/elab/openai.sqlite)"}},
        "an HTTP endpoint serves predictions; elab has no weights to train"},
       make_openai},
      {{"replay", "replay:FILE", "recorded predictions (JSONL)", {},
        "recorded predictions have no model to train", false},
       make_replay},
  };
  return rows;
}

const std::pair<BackendEntry, BackendFactory>& row_for(const std::string& model) {
  const auto colon = model.find(':');
  if (colon != std::string::npos)
    for (const auto& row : table())
      if (!row.first.scheme.empty() && row.first.scheme == model.substr(0, colon)) return row;
  return table().front();
}

}  // namespace

std::vector<BackendEntry> backend_registry() {
  std::vector<BackendEntry> out;
  for (const auto& [entry, factory] : table()) out.push_back(entry);
  return out;
}

void register_backend(BackendEntry entry, BackendFactory factory) {
  check(!entry.scheme.empty() && entry.scheme.find(':') == std::string::npos,
        "a registered backend needs a scheme without ':' (its models are SCHEME:...)");
  for (const auto& [e, f] : table()) check(e.scheme != entry.scheme, "backend {} is already registered", entry.scheme);
  table().push_back({std::move(entry), std::move(factory)});
}

const BackendEntry& backend_for(const std::string& model) { return row_for(model).first; }

std::unique_ptr<Backend> make_backend(const std::string& model, const BackendArgs& args) {
  const auto& [entry, factory] = row_for(model);
  BackendOptions reader{entry, args};
  reader.check_known();
  const std::string rest = entry.scheme.empty() ? model : model.substr(entry.scheme.size() + 1);
  return factory(rest, reader);
}

std::string default_cache_path() {
  if (const char* dir = std::getenv("ELAB_CACHE_DIR"); dir && *dir) return std::string(dir) + "/openai.sqlite";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/elab/openai.sqlite";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/elab/openai.sqlite";
  return ".elab-cache/openai.sqlite";
}

}  // namespace elab
