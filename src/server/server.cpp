#include "server/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/rng.h"
#include "eval/generate.h"

namespace elab {
namespace {

// A unit of model work, queued by a handler thread and done by the model thread.
struct Job {
  // generation
  std::vector<std::string> prompts;
  GenerateOptions opts;  // num_samples, max_new_tokens, stop, temperature, top_p, prompt_seeds
  std::promise<std::vector<Completion>> generated;
  // scoring (when rows is non-empty): token ids, teacher-forced
  std::vector<std::vector<int32_t>> rows;
  int top = 0;
  std::promise<std::vector<TokenScores>> scored;
};

// Jobs with the same key can share one generation call.
std::string batch_key(const GenerateOptions& o) {
  std::string key = fmt::format("{}|{}|{}|{}|{}", o.max_new_tokens, o.num_samples, o.temperature, o.top_p, o.top_k);
  for (const auto& s : o.stop) key += "|" + std::to_string(s.size()) + ":" + s;
  return key;
}

}  // namespace

struct Server::Impl {
  Checkpoint ck;
  SharedPrefix kept_prefix;  // the last shared few-shot prefix, reused by later batches (model thread only)
  ServeOptions opts;
  std::string name;
  std::optional<ChatTemplate> chat_template;  // the model's, when elab renders it
  httplib::Server http;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> queue;
  bool stopping = false;
  std::thread model_thread;
  std::atomic<uint64_t> next_id{1};
  std::atomic<int> listen_fd{-1};

  // --- the model thread -------------------------------------------------------------
  void model_loop() {
    for (;;) {
      std::vector<std::shared_ptr<Job>> jobs;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, nothing left
      }
      // Give requests that arrive together a moment to join the batch.
      std::this_thread::sleep_for(std::chrono::microseconds(int64_t(opts.batch_window_ms * 1000)));
      {
        std::unique_lock lock(mutex);
        jobs.assign(queue.begin(), queue.end());
        queue.clear();
      }
      run(jobs);
    }
  }

  void run(const std::vector<std::shared_ptr<Job>>& jobs) {
    std::map<std::string, std::vector<std::shared_ptr<Job>>> groups;
    for (const auto& j : jobs) {
      if (!j->rows.empty()) {
        try {
          j->scored.set_value(score_tokens(ck.model, j->rows, j->top, opts.max_batch, opts.workers,
                                           ck.tokenizer.padding_id()));
        } catch (...) {
          j->scored.set_exception(std::current_exception());
        }
      } else {
        groups[batch_key(j->opts)].push_back(j);
      }
    }
    for (auto& [key, group] : groups) {
      GenerateOptions o = group[0]->opts;
      o.prompt_seeds.clear();
      std::vector<std::string> prompts;
      for (const auto& j : group) {
        prompts.insert(prompts.end(), j->prompts.begin(), j->prompts.end());
        o.prompt_seeds.insert(o.prompt_seeds.end(), j->opts.prompt_seeds.begin(), j->opts.prompt_seeds.end());
      }
      o.batch_size = std::max(opts.max_batch, o.num_samples);
      o.show_progress = false;
      o.workers = opts.workers;
      try {
        auto out = generate(ck.model, ck.tokenizer, prompts, o, &kept_prefix);
        size_t at = 0;
        for (const auto& j : group) {
          const size_t count = j->prompts.size() * size_t(o.num_samples);
          j->generated.set_value(std::vector<Completion>(out.begin() + long(at), out.begin() + long(at + count)));
          at += count;
        }
      } catch (...) {
        for (const auto& j : group) j->generated.set_exception(std::current_exception());
      }
    }
  }

  template <typename T>
  T submit(std::shared_ptr<Job> job, std::future<T> result) {
    {
      std::lock_guard lock(mutex);
      if (stopping) throw ApiError{503, "the server is shutting down", "", "server_error"};
      queue.push_back(std::move(job));
    }
    wake.notify_one();
    return result.get();
  }

  // --- request handlers (HTTP threads) --------------------------------------------------
  std::string token_text(int32_t id) const {
    if (!ck.tokenizer.is_bytes()) return ck.tokenizer.token_bytes(id);
    if (id < 256) return std::string(1, char(id));
    return id == ByteTokenizer::kEos ? "</s>" : "<special>";
  }

  // The tokens of row[lead:] from `first` on (lead: the BOS the model was given, which
  // no text shows), each with its log-probability given the tokens before it; a first
  // token with nothing before it has none (null), as in OpenAI's API.
  nlohmann::json logprobs_object(const std::vector<int32_t>& row, size_t lead, const TokenScores& s, size_t first) {
    nlohmann::json tokens = nlohmann::json::array(), lps = nlohmann::json::array(), tops = nlohmann::json::array(),
                   offsets = nlohmann::json::array();
    size_t offset = 0;
    for (size_t k = 0; k + lead < row.size(); ++k) {
      const size_t at = k + lead;  // index in row; its score is entry at - 1
      if (k < first) continue;
      const std::string text = token_text(row[at]);
      {
        tokens.push_back(text);
        lps.push_back(at >= 1 ? nlohmann::json(s.logprob[at - 1]) : nlohmann::json(nullptr));
        nlohmann::json alt = nlohmann::json::object();
        if (at >= 1 && at - 1 < s.top.size())  // empty when no alternatives were asked for
          for (const auto& [tok, lp] : s.top[at - 1]) alt[token_text(tok)] = lp;
        tops.push_back(alt);
        offsets.push_back(offset);  // from the first token reported
      }
      offset += text.size();
    }
    return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
  }

  // The special tokens by their text (null when the model has none) and the chat template.
  nlohmann::json tokenizer_info() const {
    nlohmann::json info = {{"model_max_length", opts.limits.context}, {"tokenizer_class", "elab"}};
    const Bpe* bpe = ck.tokenizer.bpe();
    auto text = [&](int32_t id) {
      if (bpe) return id >= 0 ? nlohmann::json(bpe->spec().vocab[size_t(id)]) : nlohmann::json(nullptr);
      return nlohmann::json(ByteTokenizer().token_text(id));
    };
    info["bos_token"] = text(bpe ? bpe->spec().bos : ByteTokenizer::kBos);
    info["eos_token"] = text(bpe ? bpe->spec().eos : ByteTokenizer::kEos);
    info["pad_token"] = text(bpe ? bpe->spec().pad : ByteTokenizer::kPad);
    info["chat_template"] = bpe && !bpe->spec().chat_template.empty() ? nlohmann::json(bpe->spec().chat_template)
                                                                      : nlohmann::json(nullptr);
    return info;
  }

  std::string complete(const std::string& body, bool chat) {
    CompletionRequest r = parse_completion_request(body, opts.limits, chat);
    if (chat && chat_template) r.prompts = {apply_chat_template(*chat_template, r.messages, true)};
    std::vector<std::vector<int32_t>> prompt_ids;
    for (size_t i = 0; i < r.prompts.size(); ++i) {
      prompt_ids.push_back(ck.tokenizer.encode_prompt(r.prompts[i]));
      const int64_t need = int64_t(prompt_ids[i].size()) + r.max_tokens;
      if (need > opts.limits.context)
        throw ApiError{400,
                       fmt::format("prompt {} has {} tokens; with max_tokens {} it exceeds the model's context of {}", i,
                                   prompt_ids[i].size(), r.max_tokens, opts.limits.context),
                       "prompt"};
    }
    // The BOS the model is given before every prompt, if any (no text shows it).
    const size_t lead = ck.tokenizer.encode_prompt("").size();
    const uint64_t id = next_id++;
    std::vector<Completion> completions(r.prompts.size() * size_t(r.n));
    if (r.max_tokens > 0) {
      auto job = std::make_shared<Job>();
      job->prompts = r.prompts;
      job->opts.max_new_tokens = r.max_tokens;
      job->opts.num_samples = r.n;
      job->opts.temperature = r.temperature;
      job->opts.top_p = r.top_p;
      job->opts.stop = r.stop;
      const uint64_t seed = r.seed ? *r.seed : derive_seed(id, "request");
      for (size_t i = 0; i < r.prompts.size(); ++i) job->opts.prompt_seeds.push_back(derive_seed(seed, "prompt", {i}));
      completions = submit(job, job->generated.get_future());
    }
    std::vector<TokenScores> scores;
    std::vector<std::vector<int32_t>> scores_rows;
    if (r.logprobs >= 0) {
      auto job = std::make_shared<Job>();
      for (size_t i = 0; i < completions.size(); ++i) {
        auto row = prompt_ids[i / size_t(r.n)];
        // the tokens generated (a prompt to score alone, max_tokens 0, has none)
        const auto& continuation = completions[i].ids;
        row.insert(row.end(), continuation.begin(), continuation.end());
        job->rows.push_back(std::move(row));
      }
      job->top = r.logprobs;
      scores_rows = job->rows;
      scores = submit(job, job->scored.get_future());
    }

    nlohmann::json choices = nlohmann::json::array();
    int64_t prompt_tokens = 0, completion_tokens = 0;
    for (const auto& p : prompt_ids) prompt_tokens += int64_t(p.size());
    for (size_t i = 0; i < completions.size(); ++i) {
      const Completion& c = completions[i];
      const std::string& prompt = r.prompts[i / size_t(r.n)];
      completion_tokens += c.tokens;
      const std::string finish = r.max_tokens == 0 || c.hit_limit ? "length" : "stop";
      nlohmann::json choice = {{"index", i}, {"finish_reason", finish}};
      if (chat) {
        choice["message"] = {{"role", "assistant"}, {"content", c.text}};
        choice["logprobs"] = nullptr;
      } else {
        choice["text"] = r.echo ? prompt + c.text : c.text;
        choice["logprobs"] = r.logprobs >= 0
                                 ? logprobs_object(scores_rows[i], lead, scores[i],
                                                   r.echo ? 0 : prompt_ids[i / size_t(r.n)].size() - lead)
                                 : nlohmann::json(nullptr);
      }
      choices.push_back(choice);
    }
    nlohmann::json out = {{"id", fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", id)},
                          {"object", chat ? "chat.completion" : "text_completion"},
                          {"created", std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch()).count()},
                          {"model", name},
                          {"choices", choices},
                          {"usage", {{"prompt_tokens", prompt_tokens},
                                     {"completion_tokens", completion_tokens},
                                     {"total_tokens", prompt_tokens + completion_tokens}}}};
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  void install_routes() {
    auto reply_error = [](httplib::Response& res, const ApiError& e) {
      res.status = e.status;
      res.set_content(e.body(), "application/json");
    };
    http.set_pre_routing_handler([this, reply_error](const httplib::Request& req, httplib::Response& res) {
      if (opts.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value("Authorization") == "Bearer " + opts.api_key)
        return httplib::Server::HandlerResponse::Unhandled;
      reply_error(res, ApiError{401, "missing or wrong API key (send Authorization: Bearer KEY)", "",
                                "authentication_error"});
      return httplib::Server::HandlerResponse::Handled;
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json model = {{"id", name},
                              {"object", "model"},
                              {"created", 0},
                              {"owned_by", "elab"},
                              {"context_length", ck.config.max_seq_len},
                              {"parameters", ck.config.param_count()}};
      res.set_content(nlohmann::json({{"object", "list"}, {"data", {model}}}).dump(), "application/json");
    });
    // The tokenizer, as vLLM's server exposes it: what lm-evaluation-harness's
    // local-completions needs to compute log-likelihoods with the server's own tokens.
    auto api = [reply_error](httplib::Response& res, const std::function<nlohmann::json()>& answer) {
      try {
        res.set_content(answer().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
      } catch (const ApiError& e) {
        reply_error(res, e);
      } catch (const Error& e) {
        reply_error(res, ApiError{400, e.what(), ""});
      }
    };
    http.Get("/tokenizer_info", [this, api](const httplib::Request&, httplib::Response& res) {
      api(res, [&] { return tokenizer_info(); });
    });
    http.Post("/tokenize", [this, api](const httplib::Request& req, httplib::Response& res) {
      api(res, [&] {
        const TokenizeRequest r = parse_tokenize_request(req.body, opts.limits);
        const auto ids = r.add_special_tokens ? ck.tokenizer.encode_prompt(r.prompt) : ck.tokenizer.encode(r.prompt);
        return nlohmann::json{{"tokens", ids}, {"count", ids.size()}, {"max_model_len", opts.limits.context}};
      });
    });
    http.Post("/detokenize", [this, api](const httplib::Request& req, httplib::Response& res) {
      api(res, [&] {
        return nlohmann::json{
            {"prompt", ck.tokenizer.decode(parse_detokenize_request(req.body, opts.limits, ck.tokenizer.vocab_size()))}};
      });
    });
    for (const bool chat : {false, true}) {
      const std::string path = chat ? "/v1/chat/completions" : "/v1/completions";
      http.Post(path, [this, chat, reply_error](const httplib::Request& req, httplib::Response& res) {
        try {
          res.set_content(complete(req.body, chat), "application/json");
        } catch (const ApiError& e) {
          reply_error(res, e);
        } catch (const Error& e) {  // e.g. a prompt the model cannot take
          reply_error(res, ApiError{400, e.what(), ""});
        } catch (const std::exception& e) {
          reply_error(res, ApiError{500, std::string("internal error: ") + e.what(), "", "server_error"});
        }
      });
      http.Get(path, [reply_error, path](const httplib::Request&, httplib::Response& res) {
        reply_error(res, ApiError{405, path + " takes POST", "", "invalid_request_error"});
      });
    }
    http.set_error_handler([reply_error](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler already wrote an error object
      if (res.status == 404) reply_error(res, ApiError{404, "no route " + req.method + " " + req.path, ""});
      else if (res.status == 413) reply_error(res, ApiError{413, "request body too large", ""});
      else reply_error(res, ApiError{res.status, "bad request", ""});
    });
    http.set_exception_handler([reply_error](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      reply_error(res, ApiError{500, "internal error", "", "server_error"});
    });
  }
};

Server::Server(Checkpoint checkpoint, ServeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->ck = std::move(checkpoint);
  impl_->opts = std::move(options);
  impl_->ck.model->eval();
  impl_->opts.limits.context = impl_->ck.config.max_seq_len;
  // Chat requests in the model's own template; without one (or with one elab does not
  // render), the plain template (api.h render_chat).
  if (const Bpe* bpe = impl_->ck.tokenizer.bpe()) {
    try {
      impl_->chat_template = recognise_chat_template(bpe->spec().chat_template, impl_->ck.dir.string());
    } catch (const Error& e) {
      fmt::print(stderr, "serve: {}; chat requests use the plain template\n", e.what());
    }
  }
  impl_->name = impl_->opts.model_name.empty() ? fs::path(impl_->ck.dir).lexically_normal().filename().string()
                                               : impl_->opts.model_name;
  if (impl_->name.empty()) impl_->name = "elab";
  const int threads = impl_->opts.http_threads;
  impl_->http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  impl_->http.set_payload_max_length(size_t(impl_->opts.limits.max_body_bytes));
  // Debian's cpp-httplib is compiled with a listen backlog of 5: under many concurrent
  // clients connections overflow it and fail. Keep the socket so bind() can raise it.
  impl_->http.set_socket_options([impl = impl_.get()](socket_t sock) {
    httplib::default_socket_options(sock);
    impl->listen_fd = int(sock);
  });
  impl_->install_routes();
  impl_->model_thread = std::thread([this] { impl_->model_loop(); });
}

Server::~Server() {
  stop();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->model_thread.joinable()) impl_->model_thread.join();
}

int Server::bind() {
  int port = impl_->opts.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(impl_->opts.host);
    check(port > 0, "cannot bind {} on any port", impl_->opts.host);
  } else {
    check(impl_->http.bind_to_port(impl_->opts.host, port), "cannot bind {}:{} (in use, or not an address of this machine)",
          impl_->opts.host, port);
  }
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, 1024);  // a larger accept queue (see the constructor)
  return port;
}

void Server::serve() { impl_->http.listen_after_bind(); }

void Server::stop() { impl_->http.stop(); }

const std::string& Server::model_name() const { return impl_->name; }

}  // namespace elab
