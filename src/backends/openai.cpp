#include "backends/openai.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "core/sqlite.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/threads.h"

namespace elab {

OpenAIOptions parse_openai_spec(const std::string& spec) {
  OpenAIOptions o;
  const auto hash = spec.find('#');
  o.base_url = spec.substr(0, hash);
  o.model = hash == std::string::npos ? "" : spec.substr(hash + 1);
  check(o.base_url.rfind("http://", 0) == 0 || o.base_url.rfind("https://", 0) == 0,
        "--model openai:{}: expected openai:http(s)://HOST[:PORT]/v1#MODEL", spec);
  while (!o.base_url.empty() && o.base_url.back() == '/') o.base_url.pop_back();
  check(!o.model.empty(), "--model openai:{}: name the model after '#', e.g. openai:http://127.0.0.1:8080/v1#m", spec);
  return o;
}

namespace {

// Responses by request, in one SQLite file: an interrupted evaluation asks again only
// for what it did not get.
class ResponseCache {
 public:
  explicit ResponseCache(const std::string& path) {
    if (path.empty()) return;
    db_ = std::make_unique<SqliteDb>(path, "response cache");
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, request TEXT NOT NULL, response TEXT NOT NULL)");
  }
  bool get(const std::string& request, std::string& response) {
    if (!db_) return false;
    std::lock_guard lock(mutex_);
    SqliteStatement st(*db_, "SELECT request, response FROM responses WHERE key = ?");
    st.bind(1, hash_hex(request));
    if (!st.step() || st.text(0) != request) return false;  // a hash collision is a miss
    response = st.text(1);
    return true;
  }
  void put(const std::string& request, const std::string& response) {
    if (!db_) return;
    std::lock_guard lock(mutex_);
    SqliteStatement st(*db_, "INSERT OR REPLACE INTO responses (key, request, response) VALUES (?, ?, ?)");
    st.bind(1, hash_hex(request));
    st.bind(2, request);
    st.bind(3, response);
    st.run("write a response");
  }

 private:
  std::unique_ptr<SqliteDb> db_;
  std::mutex mutex_;
};

struct HttpResult {
  int status = 0;        // 0: no response (connection failed, timed out)
  std::string body;
  std::string error;     // transport error, when status is 0
};

class OpenAIBackend : public Backend {
 public:
  explicit OpenAIBackend(OpenAIOptions o) : o_(std::move(o)), cache_(o_.cache_path) {
    check(o_.concurrency > 0, "--concurrency must be positive, got {}", o_.concurrency);
    if (o_.api_key.empty())
      for (const char* var : {"ELAB_API_KEY", "OPENAI_API_KEY"})
        if (const char* v = std::getenv(var); v && *v) {
          o_.api_key = v;
          break;
        }
    const auto scheme_end = o_.base_url.find("://") + 3;
    const auto path_start = o_.base_url.find('/', scheme_end);
    origin_ = o_.base_url.substr(0, path_start);
    path_ = path_start == std::string::npos ? "" : o_.base_url.substr(path_start);
  }

  std::string name() const override { return o_.base_url + "#" + o_.model; }

  std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) override {
    const size_t n = size_t(opts.num_samples);
    std::vector<Completion> out(prompts.size() * n);
    parallel_for(prompts.size(), "openai", opts.show_progress, [&](size_t i) {
      nlohmann::json req = {{"model", o_.model},
                            {"max_tokens", opts.max_new_tokens},
                            {"temperature", opts.temperature},
                            {"n", opts.num_samples},
                            {"seed", int64_t(derive_seed(opts.seed, "sample", {i}) >> 1)}};
      if (opts.top_p < 1) req["top_p"] = opts.top_p;
      if (!opts.stop.empty()) req["stop"] = opts.stop;
      if (o_.chat)
        req["messages"] = {{{"role", "user"}, {"content", prompts[i]}}};
      else
        req["prompt"] = prompts[i];
      auto resp = request(o_.chat ? "/chat/completions" : "/completions", req, /*allow_client_error=*/false);
      check(resp.contains("choices"), "{}: the response has no 'choices' (is {} the API's /v1 base URL?): {}", name(),
            o_.base_url, resp.dump().substr(0, 200));
      auto choices = resp["choices"];
      check(choices.is_array() && choices.size() == n, "{}: expected {} choices, got {}", name(), n,
            choices.is_array() ? choices.size() : 0);
      const int64_t used = resp.contains("usage") && resp["usage"].is_object() ? resp["usage"].value("completion_tokens", int64_t(0)) : 0;
      for (size_t k = 0; k < n; ++k) {
        const auto& c = choices[k];
        const size_t j = c.contains("index") && c["index"].is_number_integer() ? size_t(c["index"].get<int64_t>()) : k;
        check(j < n, "{}: choice index {} out of range", name(), j);
        Completion& dst = out[i * n + j];
        dst.text = o_.chat ? c.at("message").value("content", std::string()) : c.value("text", std::string());
        dst.hit_limit = c.value("finish_reason", std::string()) == "length";
        dst.tokens = used > 0 ? used / int64_t(n) : int64_t(dst.text.size());
      }
    });
    return out;
  }

  bool score(const std::vector<std::string>& prompts, const std::vector<std::string>& continuations,
             std::vector<double>& logprobs) override {
    if (o_.chat) {
      note("gold log-probability skipped: chat completions cannot echo the prompt's log-probabilities");
      return false;
    }
    logprobs.assign(prompts.size(), 0.0);
    std::atomic<bool> unsupported{false};
    parallel_for(prompts.size(), "openai score", false, [&](size_t i) {
      if (unsupported) return;
      nlohmann::json req = {{"model", o_.model}, {"prompt", prompts[i] + continuations[i]}, {"max_tokens", 0},
                            {"echo", true},      {"logprobs", 0},                          {"temperature", 0}};
      auto resp = request("/completions", req, /*allow_client_error=*/true);
      const nlohmann::json* lp = nullptr;
      if (resp.contains("choices") && resp["choices"].is_array() && !resp["choices"].empty() &&
          resp["choices"][0].contains("logprobs") && resp["choices"][0]["logprobs"].is_object())
        lp = &resp["choices"][0]["logprobs"];
      if (!lp || !lp->contains("token_logprobs") || !lp->contains("text_offset")) {
        unsupported = true;
        return;
      }
      const auto& values = (*lp)["token_logprobs"];
      const auto& offsets = (*lp)["text_offset"];
      double sum = 0;
      for (size_t t = 0; t < values.size() && t < offsets.size(); ++t)
        if (offsets[t].is_number() && offsets[t].get<int64_t>() >= int64_t(prompts[i].size()) && values[t].is_number())
          sum += values[t].get<double>();
      logprobs[i] = sum;
    });
    if (unsupported) {
      note("gold log-probability skipped: the endpoint does not return echo + logprobs");
      return false;
    }
    return true;
  }

  std::vector<std::string> notes() const override {
    std::lock_guard lock(notes_mutex_);
    auto out = notes_;
    if (retries_ > 0) out.push_back(fmt::format("{} requests were retried after 429/5xx/timeouts", retries_.load()));
    if (cache_hits_ > 0) out.push_back(fmt::format("{} responses came from the cache", cache_hits_.load()));
    return out;
  }

 private:
  void note(const std::string& text) {
    std::lock_guard lock(notes_mutex_);
    if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(text);
  }

  // fn(i) for i < count, `concurrency` requests in flight (core/threads.h parallel_for).
  void parallel_for(size_t count, const std::string& label, bool progress_bar, const std::function<void(size_t)>& fn) {
    Progress progress(label, int64_t(count), progress_bar);
    elab::parallel_for(count, o_.concurrency, fn, [&](size_t done) { progress.update(int64_t(done)); });
    progress.finish();
  }

  HttpResult post(const std::string& path, const std::string& body) {
    httplib::Client client(origin_);
    const auto secs = std::chrono::duration<double>(o_.timeout_seconds);
    client.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(std::min(secs, std::chrono::duration<double>(30))));
    client.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(secs));
    client.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(secs));
    httplib::Headers headers;
    if (!o_.api_key.empty()) headers.emplace("Authorization", "Bearer " + o_.api_key);
    auto res = client.Post(path_ + path, headers, body, "application/json");
    HttpResult r;
    if (!res) {
      r.error = httplib::to_string(res.error());
      return r;
    }
    r.status = res->status;
    r.body = res->body;
    if (res->has_header("Retry-After")) retry_after_ = std::atof(res->get_header_value("Retry-After").c_str());
    return r;
  }

  // POSTs `req` (from the cache when possible), retrying 429, 5xx and transport errors.
  // A 4xx answer is an Error naming the server's message, or an empty object when
  // allow_client_error (the caller treats the feature as unsupported).
  nlohmann::json request(const std::string& path, const nlohmann::json& req, bool allow_client_error) {
    const std::string body = req.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string cache_key = o_.base_url + path + "\n" + body;
    std::string cached;
    if (cache_.get(cache_key, cached)) {
      ++cache_hits_;
      return nlohmann::json::parse(cached);
    }
    HttpResult r;
    for (int attempt = 0;; ++attempt) {
      retry_after_ = 0;
      r = post(path, body);
      const bool transient = r.status == 0 || r.status == 429 || r.status >= 500;
      if (!transient || attempt >= o_.max_retries) break;
      ++retries_;
      double wait = o_.backoff_seconds * std::pow(2.0, attempt);
      if (retry_after_ > 0) wait = std::min(60.0, double(retry_after_));
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
    if (r.status == 0)
      fail("{}{}: no response after {} retries ({})", o_.base_url, path, o_.max_retries, r.error);
    if (r.status != 200) {
      std::string message = r.body.substr(0, 300);
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (!j.is_discarded() && j.contains("error") && j["error"].is_object() && j["error"].contains("message"))
        message = j["error"]["message"].dump();
      if (allow_client_error && r.status >= 400 && r.status < 500) return nlohmann::json::object();
      fail("{}{}: HTTP {}: {}", o_.base_url, path, r.status, message);
    }
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    check(!j.is_discarded() && j.is_object(), "{}{}: the response is not a JSON object: {}", o_.base_url, path,
          r.body.substr(0, 200));
    cache_.put(cache_key, r.body);
    return j;
  }

  OpenAIOptions o_;
  ResponseCache cache_;
  std::string origin_, path_;
  std::atomic<int> retries_{0}, cache_hits_{0};
  static thread_local double retry_after_;
  mutable std::mutex notes_mutex_;
  std::vector<std::string> notes_;
};

thread_local double OpenAIBackend::retry_after_ = 0;

}  // namespace

std::unique_ptr<Backend> make_openai_backend(const OpenAIOptions& options) {
  return std::make_unique<OpenAIBackend>(options);
}

}  // namespace elab
