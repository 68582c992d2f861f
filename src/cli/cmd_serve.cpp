// elab serve: a model behind an OpenAI-compatible HTTP API; elab bench serve: its
// throughput and latency under C concurrent clients.
#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "cli/app.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/adapters.h"
#include "model/device.h"
#include "server/server.h"

namespace elab {

static volatile std::sig_atomic_t g_stop = 0;
static void on_stop_signal(int) { g_stop = 1; }

struct ServeCommand {
  std::string model;
  std::string dtype = "f32";
  ServeOptions serve;
};

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeCommand>();
  // Like `eval`: the model thread splits each batch between a worker per core, each with
  // libtorch 1 + OpenBLAS 1. Measured (bench serve, preset l, 32 clients): 14.2K tok/s,
  // against 11.0K with one thread decoding on libtorch 1 + OpenBLAS 2 (the previous
  // default) and 5.3K with libtorch 2 + BLAS 1 (a second OpenMP team on the model thread
  // makes libgomp stop spinning, so every operator waits on a futex).
  auto machine = std::make_shared<MachineOptions>();
  auto* cmd = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  cmd->footer(
      "Endpoints: GET /health, GET /v1/models, POST /v1/completions (prompt: string or list; max_tokens, "
      "temperature, top_p, n, stop, seed, logprobs, echo), POST /v1/chat/completions (messages in the model's chat "
      "template, ChatML or Gemma; without one, joined by newlines with no role markers), GET /tokenizer_info, POST /tokenize, POST /detokenize (vLLM's tokenizer routes, for "
      "lm-evaluation-harness's local-completions). echo + logprobs with max_tokens 0 returns the prompt's token "
      "log-probabilities. "
      "Concurrent requests are decoded in one batch. Ctrl-C stops after requests in flight finish.");
  cmd->add_option("--model", o->model, "checkpoint or adapter directory, or a GGUF file")->required();
  cmd->add_option("--dtype", o->dtype, "weight matrices: f32, bf16, or q8 (8-bit, the fastest decoding on a CPU)")
      ->capture_default_str();
  cmd->add_option("--host", o->serve.host, "address to bind (127.0.0.1: this machine only)")->capture_default_str();
  cmd->add_option("--port", o->serve.port, "port")->capture_default_str();
  cmd->add_option("--api-key", o->serve.api_key, "require Authorization: Bearer KEY")->capture_default_str();
  cmd->add_option("--max-batch", o->serve.max_batch, "sequences decoded together")->capture_default_str();
  cmd->add_option("--name", o->serve.model_name, "model id in /v1/models and responses (default: directory name)");
  cmd->add_option("--max-tokens-limit", o->serve.limits.max_tokens, "largest max_tokens a request may ask for")
      ->capture_default_str();
  cmd->add_option("--max-n", o->serve.limits.max_n, "largest n a request may ask for")->capture_default_str();
  cmd->add_option("--max-body", o->serve.limits.max_body_bytes, "largest request body in bytes")->capture_default_str();
  add_machine_flags(*cmd, *machine);
  add_worker_flag(*cmd, *machine);
  cmd->callback([o, machine] {
    o->serve.workers = apply_machine_options(*machine).workers;
    check(o->serve.max_batch > 0, "--max-batch must be positive, got {}", o->serve.max_batch);
    Checkpoint ck = load_model_dir(o->model, parse_device(machine->device));
    use_weight_dtype(*ck.model, o->dtype, "--dtype");
    Server server(std::move(ck), o->serve);
    const int port = server.bind();
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    fmt::print(stderr, "serving {} as '{}' on http://{}:{}/v1{}\n", o->model, server.model_name(), o->serve.host, port,
               o->serve.api_key.empty() ? "" : " (API key required)");
    std::thread http([&] { server.serve(); });
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    fmt::print(stderr, "stopping: finishing requests in flight\n");
    server.stop();
    http.join();
  });
}

namespace {

struct BenchServeOptions {
  std::string model;       // "" = a freshly initialised preset
  std::string preset = "l";
  std::vector<int> clients = {1, 8, 32};
  int requests = 128;      // per client count
  int prompt_len = 32;
  int max_tokens = 32;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

void bench_serve(const BenchServeOptions& o, const MachineOptions& m) {
  auto threads = configure_threads(m.threads);
  check(o.requests > 0 && o.prompt_len > 0 && o.max_tokens > 0, "--requests, --prompt-len and --max-tokens must be positive");
  Checkpoint ck;
  if (o.model.empty()) {
    ck.config = find_preset(o.preset).config;
    ck.model = Transformer(ck.config, derive_seed(1, "init"));
    ck.dir = "preset-" + o.preset;
  } else {
    ck = load_model_dir(o.model, parse_device(m.device));
  }
  ServeOptions so;
  so.port = 0;
  so.workers = threads.workers;
  const std::string label = ck.dir.string();
  Server server(std::move(ck), so);
  const int port = server.bind();
  std::thread http([&] { server.serve(); });
  fmt::print("bench serve model={} requests={} prompt_len={} max_tokens={} torch_threads={} blas_threads={} workers={}\n",
             label, o.requests, o.prompt_len, o.max_tokens, threads.torch_threads, threads.blas_threads, threads.workers);
  double first_tps = 0;
  for (int c : o.clients) {
    check(c > 0, "--clients values must be positive, got {}", c);
    std::atomic<int> next{0}, failed{0};
    std::atomic<int64_t> tokens{0};
    std::vector<double> latencies(size_t(o.requests), 0.0);
    auto t0 = std::chrono::steady_clock::now();
    auto client_loop = [&](size_t) {
      httplib::Client cli("127.0.0.1", port);
      cli.set_read_timeout(600, 0);
      for (int i; (i = next++) < o.requests;) {
        Rng rng(derive_seed(1, "bench-serve", {uint64_t(i)}));
        std::string prompt;
        for (int k = 0; k < o.prompt_len; ++k) prompt.push_back(char('a' + rng.uniform_int(0, 25)));
        nlohmann::json req = {{"prompt", prompt}, {"max_tokens", o.max_tokens}, {"temperature", 0}};
        auto s = std::chrono::steady_clock::now();
        auto res = cli.Post("/v1/completions", req.dump(), "application/json");
        latencies[size_t(i)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count();
        if (!res || res->status != 200) {
          ++failed;
          continue;
        }
        tokens += nlohmann::json::parse(res->body)["usage"]["completion_tokens"].get<int64_t>();
      }
    };
    run_parts(size_t(c), client_loop);  // c clients, each with its own connection
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tps = double(tokens) / secs;
    if (first_tps == 0) first_tps = tps;
    fmt::print("clients={} requests_per_s={:.2f} tokens_per_s={:.0f} p50_ms={:.0f} p99_ms={:.0f} failed={} "
               "speedup_vs_first={:.2f}\n",
               c, o.requests / secs, tps, 1000 * percentile(latencies, 0.5), 1000 * percentile(latencies, 0.99),
               failed.load(), tps / first_tps);
  }
  server.stop();
  http.join();
}

}  // namespace

void add_bench_serve_command(CLI::App& bench) {
  auto o = std::make_shared<BenchServeOptions>();
  auto m = std::make_shared<MachineOptions>();  // the serve defaults (see add_serve_command)
  auto* cmd = bench.add_subcommand("serve", "Requests/s, tokens/s and latency of elab serve under concurrent clients");
  cmd->add_option("--model", o->model, "checkpoint or adapter directory (default: a fresh --preset)");
  cmd->add_option("--preset", o->preset, "preset to initialise when no --model is given")->capture_default_str();
  cmd->add_option("--clients", o->clients, "concurrent clients (repeatable)")->capture_default_str();
  cmd->add_option("--requests", o->requests, "requests per client count")->capture_default_str();
  cmd->add_option("--prompt-len", o->prompt_len, "prompt length in bytes")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "tokens per completion")->capture_default_str();
  add_machine_flags(*cmd, *m);
  add_worker_flag(*cmd, *m);
  cmd->callback([o, m] { bench_serve(*o, *m); });
}

}  // namespace elab
