#include "eval/evaluate.h"

#include <chrono>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "eval/stats.h"

namespace elab {

static std::vector<Example> distinct_examples(const Task& task, const std::string& split, Pool pool, int64_t n,
                                              uint64_t seed) {
  std::vector<Example> out;
  std::set<std::string> seen;
  const int64_t size = task.pool_size(split, pool);
  check(size < 0 || n <= size, "task {}: asked for {} items but the {} pool of split {} has only {}", task.name(), n,
        pool_name(pool), split, size);
  const int64_t max_draws = size >= 0 ? size : n * 20 + 100;
  for (int64_t i = 0; int64_t(out.size()) < n; ++i) {
    check(i < max_draws, "task {}: its {} pool of split {} has fewer than {} distinct problems", task.name(),
          pool_name(pool), split, n);
    Example e = task.example(split, pool, seed, i);
    if (seen.insert(e.key).second) out.push_back(std::move(e));
  }
  return out;
}

std::vector<Example> test_items(const Task& task, const std::string& split, int64_t n, uint64_t seed) {
  return distinct_examples(task, split, Pool::test, n, derive_seed(seed, "test-items"));
}

std::vector<Example> exemplars(const Task& task, int64_t k, uint64_t seed) {
  return distinct_examples(task, task.exemplar_split(), Pool::exemplar, k, derive_seed(seed, "exemplars"));
}

EvalResult evaluate(Backend& backend, const Task& task, const std::string& task_spec, const EvalSpec& spec) {
  check(spec.n > 0, "-n must be positive, got {}", spec.n);
  const std::string split = spec.split.empty() ? task.default_split() : spec.split;
  task.check_split(split);
  Method method = parse_method(spec.method);

  auto items = test_items(task, split, spec.n, spec.seed);
  auto shots = exemplars(task, method.shots, spec.seed);
  std::vector<std::string> prompts;
  for (const auto& item : items) prompts.push_back(render_few_shot(shots, method.format, item));

  GenerateOptions gen;
  gen.stop = stop_sequences(method.format);
  gen.batch_size = spec.batch_size;
  gen.max_new_tokens = spec.max_new_tokens > 0 ? spec.max_new_tokens : (method.format == Format::cot ? 256 : 32);

  auto t0 = std::chrono::steady_clock::now();
  auto outputs = backend.complete(prompts, gen);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  check(outputs.size() == prompts.size(), "backend {} returned {} completions for {} prompts", backend.name(),
        outputs.size(), prompts.size());

  EvalResult result;
  std::vector<double> correct;
  int64_t failed = 0, generated = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string extracted = task.extract_answer(outputs[i].text);
    bool ok = task.is_correct(extracted, items[i].answer);
    correct.push_back(ok ? 1.0 : 0.0);
    failed += extracted.empty();
    generated += outputs[i].tokens;
    result.samples.push_back({{"index", i},
                              {"prompt", prompts[i]},
                              {"output", outputs[i].text},
                              {"extracted", extracted.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(extracted)},
                              {"gold", items[i].answer},
                              {"correct", ok}});
  }
  auto [lo, hi] = bootstrap_ci95(correct, spec.seed);
  const double n = double(items.size());
  result.summary = {{"task", task_spec},
                    {"split", split},
                    {"method", spec.method},
                    {"model", spec.model_name.empty() ? backend.name() : spec.model_name},
                    {"n", items.size()},
                    {"accuracy", mean(correct)},
                    {"ci95", {lo, hi}},
                    {"metrics",
                     {{"extract_fail", double(failed) / n},
                      {"mean_generated_tokens", double(generated) / n},
                      {"seconds", seconds},
                      {"tokens_per_s", seconds > 0 ? double(generated) / seconds : 0.0}}}};
  return result;
}

}  // namespace elab
