// elab serve and the openai / replay backends, on loopback: the same outputs as the
// native engine, OpenAI-style errors for malformed requests, concurrent clients,
// API keys, retries and the response cache, and recorded predictions.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "backends/native.h"
#include "backends/registry.h"
#include "core/threads.h"
#include "eval/evaluate.h"
#include "model/checkpoint.h"
#include "server/server.h"
#include "study/stages.h"
#include "tasks/file_task.h"
#include "tasks/registry.h"
#include "../tasks/data_util.h"
#include "python_oracle.h"
#include "test_util.h"

namespace elab {
namespace {

using testing::TempDir;

// A random model with sharp attention: outputs depend on the prompt, and greedy decoding
// is deterministic, which is all the comparisons need.
fs::path make_model(const TempDir& dir) {
  auto c = testing::tiny_config(32, 2, 2, 64, 512, 0.2);
  Transformer m(c, 5);
  save_checkpoint(dir / "model", m, {{"preset", "tiny"}});
  return dir / "model";
}

// A server on a free loopback port, serving in a background thread.
struct RunningServer {
  std::unique_ptr<Server> server;
  std::thread thread;
  int port = 0;
  RunningServer(const fs::path& model, ServeOptions o = {}) {
    o.port = 0;
    server = std::make_unique<Server>(load_checkpoint(model), o);
    port = server->bind();
    thread = std::thread([this] { server->serve(); });
  }
  ~RunningServer() {
    server->stop();
    thread.join();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/v1", port); }
  httplib::Result post(const std::string& path, const std::string& body, const std::string& key = "") const {
    httplib::Client cli("127.0.0.1", port);
    httplib::Headers h;
    if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
    return cli.Post(path, h, body, "application/json");
  }
};

// The same evaluation by the native engine and by the openai backend through `srv`.
std::pair<EvalResult, EvalResult> native_and_served(const fs::path& model, const RunningServer& srv, const EvalSpec& spec,
                                                    int concurrency) {
  auto task = make_task("add");
  NativeBackend native(load_checkpoint(model));
  auto a = evaluate(native, *task, "add", spec);
  auto client = make_backend("openai:" + srv.url() + "#model", {{"concurrency", std::to_string(concurrency)}, {"cache", ""}});
  auto b = evaluate(*client, *task, "add", spec);
  EXPECT_EQ(a.samples.size(), b.samples.size());
  return {std::move(a), std::move(b)};
}

TEST(Server, OpenAIBackendMatchesTheNativeEngine) {
  configure_threads({1, 0});
  TempDir dir;
  auto model = make_model(dir);
  RunningServer srv(model);
  for (const char* method : {"icl:2", "cot:2"}) {
    EvalSpec spec;
    spec.method = method;
    spec.n = 12;
    spec.max_new_tokens = 24;
    auto [a, b] = native_and_served(model, srv, spec, 4);
    ASSERT_EQ(a.samples.size(), b.samples.size());
    // JSON cannot carry bytes that are not UTF-8: the server sends U+FFFD in their place,
    // so outputs are compared as JSON text (where the native output gets the same).
    auto as_json = [](const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
    for (size_t i = 0; i < a.samples.size(); ++i)
      EXPECT_EQ(as_json(a.samples[i]["output"]), as_json(b.samples[i]["output"])) << method << " item " << i;
    EXPECT_EQ(a.summary.accuracy, b.summary.accuracy);
    // The gold answer's log-probability, through echo + logprobs.
    EXPECT_NEAR(a.summary.metrics.gold_logprob.value(), b.summary.metrics.gold_logprob.value(), 1e-3);
  }
}

// A pretrained model with its own BPE tokenizer (the SmolLM2 GGUF): outputs through
// the server equal the native engine's, and so does the gold answer's log-probability,
// which the openai backend computes from echo + logprobs over BPE tokens.
TEST(Server, ServesAGgufModelWithItsTokenizer) {
  configure_threads({2, 0});
  const fs::path gguf = testing::smollm2_gguf();
  RunningServer srv(gguf);
  EvalSpec spec;
  spec.method = "icl:2";
  spec.n = 6;
  spec.max_new_tokens = 8;
  auto [a, b] = native_and_served(gguf, srv, spec, 3);
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i) EXPECT_EQ(a.samples[i]["output"], b.samples[i]["output"]) << "item " << i;
  EXPECT_NEAR(a.summary.metrics.gold_logprob.value(), b.summary.metrics.gold_logprob.value(), 1e-3);
  // usage counts BPE tokens, not bytes
  auto res = srv.post("/v1/completions", R"({"prompt": "The capital of France is", "max_tokens": 4, "temperature": 0, "logprobs": 1})");
  ASSERT_EQ(res->status, 200);
  auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
  EXPECT_EQ(j["choices"][0]["logprobs"]["tokens"].size(), j["usage"]["completion_tokens"].get<size_t>());
}

// The tokenizer endpoints lm-evaluation-harness's local-completions uses (tokenizer_backend
// remote): the server's own ids, with or without BOS, a lossless round trip, the special
// tokens and chat template by text, and bad bodies refused naming the field.
TEST(Server, TokenizerEndpointsRoundTripTheModelsOwnTokens) {
  configure_threads({2, 0});
  const fs::path gguf = testing::smollm2_gguf();
  const Checkpoint ck = load_checkpoint(gguf);
  RunningServer srv(gguf);
  const std::string text = "Q: café costs 3.50 €\nA:";
  auto plain = srv.post("/tokenize", nlohmann::json{{"prompt", text}, {"add_special_tokens", false}}.dump());
  ASSERT_EQ(plain->status, 200) << plain->body;
  const auto ids = nlohmann::json::parse(plain->body)["tokens"].get<std::vector<int32_t>>();
  EXPECT_EQ(ids, ck.tokenizer.encode(text));
  auto with_bos = srv.post("/tokenize", nlohmann::json{{"prompt", text}}.dump());
  EXPECT_EQ(nlohmann::json::parse(with_bos->body)["tokens"].get<std::vector<int32_t>>(), ck.tokenizer.encode_prompt(text));
  auto back = srv.post("/detokenize", nlohmann::json{{"tokens", ids}}.dump());
  ASSERT_EQ(back->status, 200);
  EXPECT_EQ(nlohmann::json::parse(back->body)["prompt"], text);
  httplib::Client cli("127.0.0.1", srv.port);
  auto info = cli.Get("/tokenizer_info");
  ASSERT_EQ(info->status, 200);
  const auto j = nlohmann::json::parse(info->body);
  EXPECT_EQ(j["eos_token"], "<|im_end|>");
  EXPECT_NE(j["chat_template"].get<std::string>().find("<|im_start|>"), std::string::npos);
  // A chat request is rendered in the model's template: the same greedy text as the
  // completions route given that rendering.
  const std::string templated = apply_chat_template(ChatTemplate{"chatml", "You are a helpful AI assistant named SmolLM, "
                                                    "trained by Hugging Face"}, {{"user", "What is 2 + 3?"}}, true);
  auto chat = srv.post("/v1/chat/completions",
                       R"({"messages": [{"role": "user", "content": "What is 2 + 3?"}], "max_tokens": 8, "temperature": 0})");
  auto plain_route = srv.post("/v1/completions",
                              nlohmann::json{{"prompt", templated}, {"max_tokens", 8}, {"temperature", 0}}.dump());
  ASSERT_EQ(chat->status, 200) << chat->body;
  EXPECT_EQ(nlohmann::json::parse(chat->body)["choices"][0]["message"]["content"],
            nlohmann::json::parse(plain_route->body)["choices"][0]["text"]);
  EXPECT_EQ(nlohmann::json::parse(chat->body)["usage"]["prompt_tokens"], ck.tokenizer.encode_prompt(templated).size());
  for (const auto& [path, body, field] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/tokenize", R"({"prompt": 3})", "prompt"},
           {"/tokenize", R"({"prompt": "x", "add_special_tokens": "yes"})", "add_special_tokens"},
           {"/detokenize", R"({"tokens": [1, -1]})", "tokens"},
           {"/detokenize", R"({"tokens": [99999999]})", "tokens"},
           {"/detokenize", "not json", ""}}) {
    auto res = srv.post(path, body);
    EXPECT_EQ(res->status, 400) << path << " " << body;
    const auto e = nlohmann::json::parse(res->body)["error"];
    if (!field.empty()) EXPECT_EQ(e["param"], field) << body;
  }
}

TEST(Server, MalformedRequestsGetOpenAIErrorsAndTheServerKeepsServing) {
  TempDir dir;
  ServeOptions o;
  o.limits.max_body_bytes = 4096;
  RunningServer srv(make_model(dir), o);
  struct Case {
    const char* what;
    std::string path, body;
    int status;
    const char* param;
  };
  const std::string long_prompt(600, 'x');
  const std::vector<Case> cases = {
      {"invalid JSON", "/v1/completions", "{\"prompt\": ", 400, ""},
      {"not an object", "/v1/completions", "[1, 2]", 400, ""},
      {"missing prompt", "/v1/completions", "{\"max_tokens\": 4}", 400, "prompt"},
      {"prompt is a number", "/v1/completions", "{\"prompt\": 5}", 400, "prompt"},
      {"token-id prompt", "/v1/completions", "{\"prompt\": [1, 2, 3]}", 400, "prompt"},
      {"empty prompt list", "/v1/completions", "{\"prompt\": []}", 400, "prompt"},
      {"negative max_tokens", "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": -1}", 400, "max_tokens"},
      {"max_tokens as text", "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": \"8\"}", 400, "max_tokens"},
      {"max_tokens over limit", "/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 100000}", 400, "max_tokens"},
      {"n zero", "/v1/completions", "{\"prompt\": \"a\", \"n\": 0}", 400, "n"},
      {"temperature negative", "/v1/completions", "{\"prompt\": \"a\", \"temperature\": -0.5}", 400, "temperature"},
      {"top_p zero", "/v1/completions", "{\"prompt\": \"a\", \"top_p\": 0}", 400, "top_p"},
      {"stop of numbers", "/v1/completions", "{\"prompt\": \"a\", \"stop\": [1]}", 400, "stop"},
      {"five stops", "/v1/completions", "{\"prompt\": \"a\", \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "stop"},
      {"logprobs too many", "/v1/completions", "{\"prompt\": \"a\", \"logprobs\": 50}", 400, "logprobs"},
      {"streaming", "/v1/completions", "{\"prompt\": \"a\", \"stream\": true}", 400, "stream"},
      {"prompt beyond context", "/v1/completions", "{\"prompt\": \"" + long_prompt + "\", \"max_tokens\": 8}", 400, "prompt"},
      {"body too large", "/v1/completions", "{\"prompt\": \"" + std::string(5000, 'y') + "\"}", 413, ""},
      {"chat without messages", "/v1/chat/completions", "{\"max_tokens\": 4}", 400, "messages"},
      {"chat with a bad role", "/v1/chat/completions", "{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}", 400, "messages"},
      {"unknown route", "/v1/embeddings", "{}", 404, ""},
  };
  for (const auto& c : cases) {
    auto res = srv.post(c.path, c.body);
    ASSERT_TRUE(res) << c.what << ": no response";
    EXPECT_EQ(res->status, c.status) << c.what << ": " << res->body;
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << c.what << ": body is not JSON: " << res->body;
    ASSERT_TRUE(j.contains("error") && j["error"].contains("message")) << c.what << ": " << res->body;
    if (*c.param) EXPECT_EQ(j["error"]["param"], c.param) << c.what;
  }
  httplib::Client cli("127.0.0.1", srv.port);
  auto get = cli.Get("/v1/completions");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  // Still serving.
  auto ok = srv.post("/v1/completions", "{\"prompt\": \"Q: 1\", \"max_tokens\": 3, \"temperature\": 0}");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

// 32 clients at once, 6 requests each: greedy requests of several prompts and seeded
// samples, batched together by the server however they arrive. Every response equals
// the one the same request got alone: batching changes neither greedy tokens nor a
// seeded sample. (No wall clock: the requests are counted.)
TEST(Server, ConcurrentClientsAllGetValidAnswersAndSeedsDoNotDependOnBatching) {
  TempDir dir;
  RunningServer srv(make_model(dir));
  std::vector<std::string> bodies = {R"({"prompt": "Q: 7 + 8", "max_tokens": 12, "temperature": 1.0, "seed": 42, "n": 2})"};
  for (int p = 0; p < 5; ++p)
    bodies.push_back(
        nlohmann::json({{"prompt", {fmt::format("Q: {} + {}", p, 3 * p), "Q: x"}}, {"max_tokens", 8}, {"temperature", 0}})
            .dump());
  std::vector<nlohmann::json> alone;
  for (const auto& body : bodies) {
    auto res = srv.post("/v1/completions", body);
    ASSERT_TRUE(res && res->status == 200) << body;
    alone.push_back(nlohmann::json::parse(res->body)["choices"]);
    ASSERT_EQ(alone.back().size(), 2u);
  }

  constexpr int kClients = 32, kRequests = 6;
  std::atomic<int> answered{0}, failed{0}, differed{0};
  run_parts(kClients, [&](size_t c) {
    for (int i = 0; i < kRequests; ++i) {
      const size_t which = (c + size_t(i)) % bodies.size();
      auto res = srv.post("/v1/completions", bodies[which]);
      if (!res || res->status != 200) {
        if (failed++ < 3) std::cerr << "failed: " << (res ? res->body : httplib::to_string(res.error())) << "\n";
        continue;
      }
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      if (j.is_discarded() || j["choices"] != alone[which]) {
        if (differed++ < 3) std::cerr << "request " << which << " answered " << res->body << "\n";
        continue;
      }
      ++answered;
    }
  });
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(differed, 0);
  EXPECT_EQ(answered, kClients * kRequests);
}

TEST(Server, ApiKeyIsEnforced) {
  TempDir dir;
  ServeOptions o;
  o.api_key = "sesame";
  RunningServer srv(make_model(dir), o);
  const std::string body = R"({"prompt": "Q: 1", "max_tokens": 2, "temperature": 0})";
  EXPECT_EQ(srv.post("/v1/completions", body)->status, 401);
  EXPECT_EQ(srv.post("/v1/completions", body, "wrong")->status, 401);
  EXPECT_EQ(srv.post("/v1/completions", body, "sesame")->status, 200);
  httplib::Client cli("127.0.0.1", srv.port);
  EXPECT_EQ(cli.Get("/health")->status, 200);
  EXPECT_EQ(cli.Get("/v1/models")->status, 401);
}

// A fake endpoint that answers 429 twice, then a fixed completion; counts requests.
TEST(OpenAIBackend, RetriesThenCachesResponses) {
  httplib::Server fake;
  std::atomic<int> calls{0};
  fake.Post("/v1/completions", [&](const httplib::Request& req, httplib::Response& res) {
    if (calls++ < 2) {
      res.status = 429;
      res.set_content(R"({"error": {"message": "slow down"}})", "application/json");
      return;
    }
    res.set_content(R"({"choices": [{"index": 0, "text": " 5\n", "finish_reason": "stop"}], "usage": {"completion_tokens": 2}})",
                    "application/json");
  });
  const int port = fake.bind_to_any_port("127.0.0.1");
  std::thread t([&] { fake.listen_after_bind(); });
  TempDir dir;
  const BackendArgs o = {{"cache", (dir / "cache.sqlite").string()}, {"concurrency", "1"}};
  {
    auto b = make_backend(fmt::format("openai:http://127.0.0.1:{}/v1#fake", port), o);
    GenerateOptions g;
    g.show_progress = false;
    auto out = b->complete({"Q: 2 + 3\nA:"}, g);
    EXPECT_EQ(out[0].text, " 5\n");
    EXPECT_EQ(calls, 3);
    auto notes = b->notes();
    ASSERT_FALSE(notes.empty());
    EXPECT_NE(notes[0].find("2 requests were retried"), std::string::npos);
  }
  {
    auto b = make_backend(fmt::format("openai:http://127.0.0.1:{}/v1#fake", port), o);
    GenerateOptions g;
    g.show_progress = false;
    EXPECT_EQ(b->complete({"Q: 2 + 3\nA:"}, g)[0].text, " 5\n");
    EXPECT_EQ(calls, 3) << "the second run is answered from the cache";
  }
  fake.stop();
  t.join();
  EXPECT_NE(testing::error_of([] { make_backend("openai:127.0.0.1:8080#m"); }).find("expected openai:http"), std::string::npos);
  EXPECT_NE(testing::error_of([] { make_backend("openai:http://127.0.0.1:8080/v1"); }).find("name the model after '#'"),
            std::string::npos);
}

TEST(Replay, ScoresRecordedPredictionsAndReportsWhatDidNotMatch) {
  TempDir dir;
  auto task = make_task("add");
  auto items = test_items(*task, "id", 6, 1);
  {
    std::ofstream f(dir / "preds.jsonl");
    f << nlohmann::json({{"index", 0}, {"prediction", " " + items[0].answer + "\n"}}).dump() << "\n";
    f << nlohmann::json({{"index", 1}, {"prediction", " 999999\n"}}).dump() << "\n";
    f << nlohmann::json({{"question", items[2].question}, {"prediction", items[2].answer}}).dump() << "\n";
    f << nlohmann::json({{"index", 50}, {"prediction", "1"}}).dump() << "\n";  // no such item
  }
  EvalSpec spec;
  spec.n = 6;
  auto replay = make_backend("replay:" + (dir / "preds.jsonl").string());
  auto r = evaluate(*replay, *task, "add", spec);
  EXPECT_NEAR(r.summary.accuracy, 2.0 / 6.0, 1e-9);
  const std::string notes = fmt::format("{}", fmt::join(r.summary.notes, "\n"));
  EXPECT_NE(notes.find("3 of 6 test items have no line"), std::string::npos) << notes;
  EXPECT_NE(notes.find("1 of 4 lines"), std::string::npos) << notes;
  EXPECT_NE(notes.find("gold log-probability skipped"), std::string::npos) << notes;

  // Voting methods read `predictions`: two of three say the right answer.
  {
    std::ofstream f(dir / "votes.jsonl");
    for (int i = 0; i < 6; ++i)
      f << nlohmann::json({{"index", i}, {"predictions", {"So the answer is " + items[size_t(i)].answer + ".",
                                                          "So the answer is 0.", "So the answer is " + items[size_t(i)].answer + "."}}})
               .dump()
        << "\n";
  }
  spec.method = "sc:2:3";
  auto votes = evaluate(*make_backend("replay:" + (dir / "votes.jsonl").string()), *task, "add", spec);
  EXPECT_EQ(votes.summary.accuracy, 1.0);

  std::ofstream(dir / "bad.jsonl") << "{\"index\": 0, \"prediction\": \"1\"}\n{\"index\": 1}\n";
  EXPECT_NE(testing::error_of([&] { make_backend("replay:" + (dir / "bad.jsonl").string()); }).find("bad.jsonl:2: a line needs 'prediction'"),
            std::string::npos);
}

// Recorded GSM8K solutions whose answer follows "A: N" (a cue the strict rule does not
// know): strict scores them 0, the named flexible rule (lm-evaluation-harness's
// flexible-extract, the last number) scores exactly the ones that are right, and both are
// reported side by side whichever rule heads the summary.
TEST(Replay, AnswersAfterAnUnknownCueScoreZeroStrictAndTheirAccuracyFlexible) {
  SKIP_WITHOUT_DATA("gsm8k");
  TempDir dir;
  auto task = make_task("gsm8k");
  auto items = test_items(*task, "test", 10, 1);
  {
    std::ofstream f(dir / "verifier.jsonl");
    for (size_t i = 0; i < 10; ++i) {
      const std::string answer = i < 7 ? items[i].answer : "123456";  // 7 of 10 right
      f << nlohmann::json({{"index", i}, {"prediction", "Natalia sold 48 clips, then 24 more.\nA: " + answer}}).dump() << "\n";
    }
  }
  EvalSpec spec;
  spec.n = 10;
  auto r = evaluate(*make_backend("replay:" + (dir / "verifier.jsonl").string()), *task, "gsm8k", spec);
  EXPECT_EQ(r.summary.accuracy, 0.0);
  ASSERT_TRUE(r.summary.accuracy_flexible.has_value());
  EXPECT_NEAR(*r.summary.accuracy_flexible, 0.7, 1e-12);
  spec.extraction = Extraction::flexible;
  auto f = evaluate(*make_backend("replay:" + (dir / "verifier.jsonl").string()), *task, "gsm8k", spec);
  EXPECT_NEAR(f.summary.accuracy, 0.7, 1e-12);
  EXPECT_EQ(f.summary.extraction, "flexible");
  EXPECT_EQ(f.summary.accuracy_strict, 0.0);
}

// A file task is scored whole by default, its repeated questions kept: a line by question
// answers the k-th asking of that question in order; lines past -n are counted as such.
// A generated task through replay is scored on as many items as the file covers.
TEST(Replay, WholeSplitsRepeatedQuestionsAndLinesBeyondN) {
  TempDir dir;
  const auto tpath = (dir / "t.jsonl").string();
  {
    std::ofstream f(tpath);
    for (const auto& [q, a] : std::vector<std::pair<std::string, std::string>>{
             {"q0", "yes"}, {"dup", "yes"}, {"q2", "no"}, {"dup", "no"}, {"q4", "yes"}})
      f << nlohmann::json({{"question", q}, {"answer", a}}).dump() << "\n";
  }
  const auto ppath = (dir / "p.jsonl").string();
  {
    std::ofstream f(ppath);
    f << nlohmann::json({{"question", "dup"}, {"prediction", "yes"}}).dump() << "\n";  // item 1
    f << nlohmann::json({{"question", "dup"}, {"prediction", "no"}}).dump() << "\n";   // item 3
    for (int i : {0, 2, 4}) f << nlohmann::json({{"index", i}, {"prediction", i == 2 ? "no" : "yes"}}).dump() << "\n";
  }
  auto task = make_task("jsonl:" + tpath);
  auto replay = make_backend("replay:" + ppath);
  auto whole = evaluate(*replay, *task, "jsonl:" + tpath, EvalSpec{});
  EXPECT_EQ(whole.summary.n, 5);  // the default: the whole file, the repeated question twice
  EXPECT_EQ(whole.summary.accuracy, 1.0);
  EXPECT_EQ(fmt::format("{}", fmt::join(whole.summary.notes, "\n")).find("lines of"), std::string::npos);

  EvalSpec two;
  two.n = 2;
  auto capped = evaluate(*replay, *task, "jsonl:" + tpath, two);
  EXPECT_EQ(capped.summary.n, 2);
  const std::string notes = fmt::format("{}", fmt::join(capped.summary.notes, "\n"));
  EXPECT_NE(notes.find("2 of 5 lines of"), std::string::npos) << notes;  // indices 2 and 4
  EXPECT_NE(notes.find("beyond the 2 evaluated"), std::string::npos) << notes;
  EXPECT_NE(notes.find("1 of 5 lines of"), std::string::npos) << notes;  // the second "dup" line
  EXPECT_NE(testing::error_of([&] {
              EvalSpec six;
              six.n = 6;
              evaluate(*replay, *task, "jsonl:" + tpath, six);
            }).find("asked for 6 items but split test has 5"),
            std::string::npos);
  EvalSpec all;
  all.n = kAllItems;
  EXPECT_EQ(evaluate(*replay, *task, "jsonl:" + tpath, all).summary.n, 5);

  // A generated task: the file's 7 indexed lines set n; -n all is refused for it.
  auto add = make_task("add");
  auto items = test_items(*add, "id", 7, 1);
  {
    std::ofstream f(dir / "add.jsonl");
    for (size_t i = 0; i < items.size(); ++i)
      f << nlohmann::json({{"index", i}, {"prediction", " " + items[i].answer}}).dump() << "\n";
  }
  auto covered = evaluate(*make_backend("replay:" + (dir / "add.jsonl").string()), *add, "add", EvalSpec{});
  EXPECT_EQ(covered.summary.n, 7);
  EXPECT_EQ(covered.summary.accuracy, 1.0);
  EXPECT_NE(testing::error_of([&] { evaluate(*replay, *add, "add", all); }).find("-n all needs a finite test pool"),
            std::string::npos);
  EXPECT_EQ(parse_item_count("all", "-n"), kAllItems);
  EXPECT_EQ(parse_item_count("12", "-n"), 12);
  for (const char* bad : {"0", "-3", "12x", "", "many"})
    EXPECT_NE(testing::error_of([&] { parse_item_count(bad, "-n"); }).find("-n must be a positive number or 'all'"),
              std::string::npos)
        << bad;
}

// The extraction audit: strict and lenient both score every item, the headline follows
// --extract, and the items where they disagree are listed in the summary and the samples.
TEST(Replay, StrictAndLenientExtractionAreBothReportedWithAnAudit) {
  SKIP_WITHOUT_DATA("bbh");
  TempDir dir;
  auto task = make_task("bbh:date_understanding");
  auto items = test_items(*task, "test", 4, 1);
  {
    std::ofstream f(dir / "p.jsonl");
    f << nlohmann::json({{"index", 0}, {"prediction", "So the answer is " + items[0].answer + "."}}).dump() << "\n";
    f << nlohmann::json({{"index", 1}, {"prediction", "So the answer is " + items[1].answer + " or (Z)."}}).dump() << "\n";
    f << nlohmann::json({{"index", 2}, {"prediction", "I think " + items[2].answer + " fits."}}).dump() << "\n";
    f << nlohmann::json({{"index", 3}, {"prediction", "So the answer is (Z)."}}).dump() << "\n";
  }
  auto replay = make_backend("replay:" + (dir / "p.jsonl").string());
  EvalSpec spec;
  spec.n = 4;
  spec.method = "cot:3";
  auto strict = evaluate(*replay, *task, "bbh:date_understanding", spec);
  EXPECT_EQ(strict.summary.extraction, "strict");
  EXPECT_EQ(strict.summary.extractor, "bbh-exact@1");
  EXPECT_DOUBLE_EQ(strict.summary.accuracy, 0.25);
  EXPECT_DOUBLE_EQ(strict.summary.accuracy_strict, 0.25);
  EXPECT_FALSE(strict.summary.accuracy_lenient.has_value());
  EXPECT_EQ(strict.summary.extraction_disagreements, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(strict.summary.metrics.extraction_disagreements, 2);
  EXPECT_EQ(strict.samples[1]["correct"], false);
  EXPECT_EQ(strict.samples[1]["correct_lenient"], true);
  EXPECT_EQ(strict.samples[1]["extraction_disagrees"], true);
  EXPECT_FALSE(strict.samples[0].contains("extraction_disagrees"));

  spec.extraction = Extraction::lenient;
  auto lenient = evaluate(*replay, *task, "bbh:date_understanding", spec);
  EXPECT_EQ(lenient.summary.extraction, "lenient");
  EXPECT_DOUBLE_EQ(lenient.summary.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(lenient.summary.accuracy_lenient.value(), 0.75);
  EXPECT_DOUBLE_EQ(lenient.summary.accuracy_strict, 0.25);
  EXPECT_EQ(lenient.summary.extraction_disagreements, strict.summary.extraction_disagreements);
}

// What `elab eval --samples` writes replays to the same scores, voting methods included.
TEST(Replay, SamplesOfAnEvaluationReplayToTheSameScores) {
  TempDir dir;
  auto model = make_model(dir);
  auto task = make_task("add");
  for (const char* method : {"icl:2", "sc:1:3"}) {
    EvalSpec spec;
    spec.method = method;
    spec.n = 10;
    spec.max_new_tokens = 16;
    NativeBackend native(load_checkpoint(model));
    auto live = evaluate(native, *task, "add", spec);
    {
      std::ofstream f(dir / "samples.jsonl");
      for (const auto& s : live.samples) f << s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    auto replayed = evaluate(*make_backend("replay:" + (dir / "samples.jsonl").string()), *task, "add", spec);
    EXPECT_EQ(live.summary.item_correct, replayed.summary.item_correct) << method;
  }
}

// GSM8K (cot:8, exemplars from the train file) and all of BBH (cot:3, the shipped
// prompts verbatim) end to end through replay: a file of gold chains scores 1.0 where it
// has lines, and the prompts carry the published exemplars.
TEST(Replay, Gsm8kAndBbhAllEndToEnd) {
  SKIP_WITHOUT_DATA("gsm8k");
  SKIP_WITHOUT_DATA("bbh");
  TempDir dir;
  {
    auto task = make_task("gsm8k");
    auto items = test_items(*task, "test", 20, 1);
    std::ofstream f(dir / "gsm8k.jsonl");
    for (size_t i = 0; i < items.size(); ++i)
      f << nlohmann::json({{"index", i}, {"prediction", "\n" + items[i].rationale + "So the answer is " + items[i].answer + ".\n"}}).dump() << "\n";
  }
  EvalJob job;
  job.model = "replay:" + (dir / "gsm8k.jsonl").string();
  job.task = "gsm8k";
  job.spec.method = "cot:8";
  job.spec.n = 20;
  auto g = run_eval_job(job);
  EXPECT_EQ(g.summary.accuracy, 1.0);
  const std::string prompt = g.samples[0]["prompt"];
  EXPECT_EQ(prompt.find("<<"), std::string::npos) << "calculator annotations are removed from exemplar chains";
  size_t questions = 0;
  for (size_t p = prompt.find("Q: "); p != std::string::npos; p = prompt.find("\nQ: ", p + 1)) ++questions;
  EXPECT_EQ(questions, 9u);  // 8 exemplars and the query

  auto subtasks = bbh_subtasks();
  ASSERT_EQ(subtasks.size(), 27u);
  {
    std::ofstream f(dir / "bbh.jsonl");
    for (const auto& name : subtasks) {
      auto task = make_task("bbh:" + name);
      auto items = test_items(*task, "test", 3, 1);
      for (size_t i = 0; i < items.size(); ++i)
        f << nlohmann::json({{"task", "bbh:" + name}, {"index", i}, {"prediction", " So the answer is " + items[i].answer + "."}}).dump() << "\n";
    }
  }
  job.model = "replay:" + (dir / "bbh.jsonl").string();
  job.task = "bbh:all";
  job.spec.method = "cot:3";
  job.spec.n = 3;
  auto b = run_eval_job(job);
  EXPECT_EQ(b.summary.members.size(), 27u);
  EXPECT_EQ(b.summary.macro_average_of, 27);
  EXPECT_EQ(b.summary.n, 81);
  EXPECT_NEAR(b.summary.accuracy, 1.0, 1e-12);
  const std::string bprompt = b.samples[0]["prompt"];
  auto raw = read_file(fs::path(data_root()) / "bbh" / "cot-prompts" / (subtasks[0] + ".txt"));
  auto shipped = raw.substr(raw.find("-----") + 6, 200);
  EXPECT_NE(bprompt.find(shipped), std::string::npos) << "the shipped CoT prompt is used verbatim";
  EXPECT_NE(bprompt.rfind("\nA: Let's think step by step."), std::string::npos);
}

}  // namespace
}  // namespace elab
