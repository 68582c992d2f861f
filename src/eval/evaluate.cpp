#include "eval/evaluate.h"

#include "tasks/baselines.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "core/names.h"
#include "core/rng.h"
#include "eval/stats.h"
#include "eval/vote.h"
#include "tasks/extract.h"
#include "tasks/registry.h"

namespace elab {

std::vector<Example> distinct_examples(const Task& task, const std::string& split, Pool pool, int64_t n,
                                       uint64_t seed, bool up_to) {
  std::vector<Example> out;
  std::set<std::string> seen;
  const int64_t size = task.pool_size(split, pool);
  if (up_to && size >= 0) n = std::min(n, size);
  check(size < 0 || n <= size, "task {}: asked for {} items but the {} pool of split {} has only {}", task.name(), n,
        pool_name(pool), split, size);
  const int64_t max_draws = size >= 0 ? size : n * 20 + 100;
  int64_t since_new = 0;  // a generated pool is exhausted when draws stop finding new problems
  for (int64_t i = 0; int64_t(out.size()) < n; ++i) {
    const bool more = i < max_draws && since_new < 2000 + int64_t(out.size());
    if (up_to && !more) break;  // the pool is exhausted: as many as it has
    check(more,
          "task {}: its {} pool of split {} has fewer than {} distinct problems (found {})", task.name(),
          pool_name(pool), split, n, out.size());
    Example e = task.example(split, pool, seed, i);
    if (seen.insert(e.key).second) {
      out.push_back(std::move(e));
      since_new = 0;
    } else {
      ++since_new;
    }
  }
  return out;
}

int64_t resolve_item_count(const Task& task, const std::string& split, int64_t n, int64_t covered) {
  check(n > 0 || n == 0 || n == kAllItems, "-n must be positive or 'all', got {}", n);
  const int64_t size = task.pool_size(split, Pool::test);
  if (n == 0 && task.fixed_test_items()) return size;
  if (n == 0) return covered > 0 ? covered : kDefaultGeneratedItems;
  if (n == kAllItems) {
    check(size >= 0, "task {}: -n all needs a finite test pool, and split {} is generated without bound; give a number",
          task.name(), split);
    return size;
  }
  return n;
}

int64_t parse_item_count(const std::string& text, const std::string& what) {
  if (text == "all") return kAllItems;
  const auto n = parse_integer(text);
  check(n && *n > 0, "{} must be a positive number or 'all', got '{}'", what, text);
  return *n;
}

std::vector<Example> test_items(const Task& task, const std::string& split, int64_t n, uint64_t seed) {
  if (!task.fixed_test_items()) return distinct_examples(task, split, Pool::test, n, derive_seed(seed, "test-items"));
  const int64_t size = task.pool_size(split, Pool::test);
  check(n <= size, "task {}: asked for {} items but split {} has {} (-n all takes them all)", task.name(), n, split, size);
  std::vector<Example> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(task.example(split, Pool::test, seed, i));
  return out;
}

std::vector<Example> exemplars(const Task& task, int64_t k, uint64_t seed) {
  return distinct_examples(task, task.exemplar_split(), Pool::exemplar, k, derive_seed(seed, "exemplars"));
}

std::vector<Example> method_exemplars(const Task& task, const Method& m, uint64_t seed, int64_t item, bool per_item) {
  const uint64_t s = per_item ? derive_seed(seed, "item-exemplars", {uint64_t(item)}) : seed;
  std::vector<Example> shots;
  if (m.exemplars == ExemplarPolicy::most_complex && m.shots > 0) {
    // The K exemplars with the most rationale steps among a larger draw from the pool.
    int64_t pool = task.pool_size(task.exemplar_split(), Pool::exemplar);
    int64_t candidates = std::max<int64_t>(4 * m.shots, 32);
    if (pool >= 0) candidates = std::min(candidates, pool);
    shots = exemplars(task, std::max<int64_t>(candidates, m.shots), s);
    std::stable_sort(shots.begin(), shots.end(), [](const Example& a, const Example& b) {
      return std::count(a.rationale.begin(), a.rationale.end(), '\n') > std::count(b.rationale.begin(), b.rationale.end(), '\n');
    });
    shots.resize(size_t(m.shots));
  } else {
    shots = exemplars(task, m.shots, s);
  }
  if (m.corrupt_exemplars) m.corrupt_exemplars(task, shots);  // a label probe
  return shots;
}

std::string method_prompt(const Method& m, const std::vector<Example>& shots, const Example& item) {
  if (!m.answers_only) return render_few_shot(shots, m.format, item);
  std::string out;  // answers alone: does the format of the demonstrations carry the effect?
  for (const auto& x : shots) out += "A:" + render_target(x, m.format) + kExampleSeparator;
  return out + render_prompt(item, m.format);
}

// A target as an assistant turn's content: without the space after "A:" and the newline
// that separates plain exemplars (the template closes the turn).
static std::string turn_text(const std::string& target) {
  const size_t a = target.find_first_not_of(' '), b = target.find_last_not_of('\n');
  return a == std::string::npos || b == std::string::npos || b < a ? "" : target.substr(a, b - a + 1);
}

std::string chat_prompt(const ChatTemplate& t, const Method& m, const std::vector<Example>& shots, const Example& item,
                        const std::string& verbatim, const std::string& answer_cue) {
  std::vector<ChatMessage> turns;
  if (!verbatim.empty()) {
    turns.push_back({"user", verbatim + render_prompt(item, m.format) + answer_cue});
  } else {
    for (const auto& x : shots) {
      turns.push_back({"user", m.answers_only ? std::string("A:") : render_prompt(x, m.format)});
      turns.push_back({"assistant", turn_text(render_target(x, m.format))});
    }
    turns.push_back({"user", render_prompt(item, m.format)});
  }
  return apply_chat_template(t, turns, true);
}

int default_max_new_tokens(const Method& m) { return m.chain() ? 256 : 32; }

// The answer of one item under one extraction rule: the extracted answer of each output,
// then the method's vote among them.
static std::string item_answer(const Task& task, const Method& method, const std::vector<std::string>& texts,
                               Extraction mode, std::vector<std::string>* each) {
  std::vector<std::string> extracted;
  const auto& read = format_def(method.format).read_output;  // reverse: back to the task's form first
  for (const auto& t : texts) extracted.push_back(task.extract_answer(read ? read(t) : t, mode));
  if (each) *each = extracted;
  switch (method.aggregation) {
    case Aggregation::single: return extracted[0];
    case Aggregation::majority: return majority_vote(extracted);
    case Aggregation::longest_chains: {
      std::vector<std::string> top;
      for (size_t k : most_complex(texts, method.vote_top)) top.push_back(extracted[k]);
      return majority_vote(top);
    }
  }
  return extracted[0];
}

namespace {

// Stage 1: the method's prompt for every item, the direct-format prompt the gold answer
// is scored after (the same exemplars), and the gold answers.
struct Prompts {
  std::vector<std::string> prompts, direct_prompts, golds;
};

Prompts build_prompts(const Task& task, const Method& method, const std::vector<Example>& items, const EvalSpec& spec,
                      const std::optional<ChatTemplate>& chat) {
  Prompts p;
  std::vector<Example> shared_shots;
  if (!spec.per_item_exemplars) shared_shots = method_exemplars(task, method, spec.seed, 0, false);
  Method direct = method;
  direct.format = Format::direct;
  const std::string verbatim = method.probe.empty() && method.exemplars == ExemplarPolicy::drawn && !spec.per_item_exemplars
                                   ? task.verbatim_prompt(format_name(method.format), method.shots)
                                   : "";
  for (size_t i = 0; i < items.size(); ++i) {
    auto shots = spec.per_item_exemplars ? method_exemplars(task, method, spec.seed, int64_t(i), true) : shared_shots;
    if (chat) {
      p.prompts.push_back(chat_prompt(*chat, method, shots, items[i], verbatim, verbatim.empty() ? "" : task.verbatim_answer_cue()));
      p.direct_prompts.push_back(chat_prompt(*chat, direct, shots, items[i]));
      p.golds.push_back(turn_text(render_target(items[i], Format::direct)));
      continue;
    }
    p.prompts.push_back(verbatim.empty() ? method_prompt(method, shots, items[i])
                                         : verbatim + render_prompt(items[i], method.format) + task.verbatim_answer_cue());
    p.direct_prompts.push_back(method_prompt(direct, shots, items[i]));
    p.golds.push_back(render_target(items[i], Format::direct));
  }
  return p;
}

// Stage 2's settings: where generation stops, how much, how many samples.
GenerateOptions generation_options(const Method& method, const EvalSpec& spec, const std::string& task_spec,
                                   const std::vector<Example>& items) {
  GenerateOptions gen;
  gen.stop = stop_sequences(method.format);
  gen.stop_after_line_with = answer_line_cue(method.format);
  gen.batch_size = spec.batch_size;
  gen.show_progress = spec.show_progress;
  gen.max_new_tokens = spec.max_new_tokens > 0 ? spec.max_new_tokens : default_max_new_tokens(method);
  gen.num_samples = method.samples;
  gen.temperature = method.temperature;
  gen.seed = derive_seed(spec.seed, "generation");
  gen.task = task_spec;
  for (size_t i = 0; i < items.size(); ++i) {
    gen.item_index.push_back(int64_t(i));
    gen.item_question.push_back(items[i].question);
  }
  return gen;
}

// Stage 3's per-item results, under both extraction rules.
struct ItemScores {
  std::vector<double> correct, correct_strict, correct_lenient, correct_flexible, char_acc, edit;
  double gold_chars = 0;  // summed over the items
  std::vector<int64_t> disagreements;
  int64_t failed = 0, generated = 0;
  std::string items_hash;
};

nlohmann::ordered_json text_or_null(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

// Stage 3: each item's answer (extracted, voted) under the chosen rule and the other,
// scored against its gold answer; one --samples line per item.
ItemScores score_items(const Task& task, const Method& method, const std::vector<Example>& items, const Prompts& p,
                       const std::vector<Completion>& outputs, const std::string& answer_cue, Extraction chosen,
                       const std::vector<double>* gold_logprobs, std::vector<nlohmann::ordered_json>& samples) {
  // Both rules score every item: the chosen one gives the headline, and the items where
  // they disagree are the extraction audit.
  const Extraction other = chosen == Extraction::strict ? Extraction::lenient : Extraction::strict;
  const bool two_rules = task.extractor_id(Extraction::strict) != task.extractor_id(Extraction::lenient);
  ItemScores r;
  Hasher items_hash;
  const size_t N = size_t(method.samples);
  for (size_t i = 0; i < items.size(); ++i) {
    std::vector<std::string> texts, extracted;
    for (size_t j = 0; j < N; ++j) {
      const Completion& c = outputs[i * N + j];
      // Backends that cannot stop at the answer line (most servers) are cut here instead.
      texts.push_back(cut_after_answer_line(c.text, answer_cue));
      r.generated += c.tokens;
    }
    const std::string answer = item_answer(task, method, texts, chosen, &extracted);
    const std::string other_answer = two_rules ? item_answer(task, method, texts, other, nullptr) : answer;
    const std::string gold = normalize_answer(task.answer_kind(), items[i].answer);
    const bool ok = task.is_correct(answer, items[i].answer, chosen);
    const bool other_ok = two_rules ? task.is_correct(other_answer, items[i].answer, other) : ok;
    r.correct.push_back(ok ? 1.0 : 0.0);
    (chosen == Extraction::strict ? r.correct_strict : r.correct_lenient).push_back(ok ? 1.0 : 0.0);
    (chosen == Extraction::strict ? r.correct_lenient : r.correct_strict).push_back(other_ok ? 1.0 : 0.0);
    if (ok != other_ok) r.disagreements.push_back(int64_t(i));
    // The flexible rule, always, as lm-evaluation-harness reports it beside the strict one.
    const std::string flexible = chosen == Extraction::flexible ? answer : item_answer(task, method, texts, Extraction::flexible, nullptr);
    r.correct_flexible.push_back(task.is_correct(flexible, items[i].answer, Extraction::flexible) ? 1.0 : 0.0);
    r.char_acc.push_back(char_accuracy(answer, gold));
    r.gold_chars += double(gold.size());
    r.edit.push_back(normalized_edit_distance(answer, gold));
    r.failed += answer.empty();
    items_hash.add(items[i].key).add("\n");
    nlohmann::ordered_json s = {{"index", i}, {"prompt", p.prompts[i]}};
    if (N == 1) {
      s["output"] = texts[0];
    } else {
      s["outputs"] = texts;
      s["extracted_each"] = extracted;
    }
    s["extracted"] = text_or_null(answer);
    s["gold"] = items[i].answer;
    s["correct"] = ok;
    if (two_rules) {
      s[std::string("extracted_") + extraction_name(other)] = text_or_null(other_answer);
      s[std::string("correct_") + extraction_name(other)] = other_ok;
      if (ok != other_ok) s["extraction_disagrees"] = true;
    }
    if (gold_logprobs) s["gold_logprob"] = (*gold_logprobs)[i];
    samples.push_back(std::move(s));
  }
  r.items_hash = items_hash.hex();
  return r;
}

}  // namespace

namespace {

// What every summary says of its evaluation, whichever protocol scored it: the task, the
// model, the items (their per-item outcomes and hash), the headline accuracy with its
// CI, the items' trivial baselines and the backend's notes.
void fill_summary(EvalSummary& sum, Backend& backend, const Task& task, const std::string& task_spec,
                  const std::string& split, const EvalSpec& spec, const std::vector<Example>& items,
                  const std::vector<double>& correct, const std::string& items_hash) {
  const auto [lo, hi] = bootstrap_ci95(correct, spec.seed);
  sum.task = task_spec;
  sum.split = split;
  sum.method = spec.method;
  sum.model = spec.model_name.empty() ? backend.name() : spec.model_name;
  sum.n = int64_t(items.size());
  sum.accuracy = mean(correct);
  sum.ci_lo = lo, sum.ci_hi = hi;
  sum.seed = spec.seed;
  sum.items_hash = items_hash;
  for (double c : correct) sum.item_correct.push_back(int(c));
  sum.baselines = trivial_baselines(task, items);
  sum.notes = backend.notes();
}

}  // namespace

bool option_logprobs(Backend& backend, const std::vector<std::string>& prompts,
                     const std::vector<std::vector<std::string>>& options, std::vector<std::vector<double>>& out) {
  std::vector<std::string> flat_prompts, continuations;
  for (size_t i = 0; i < options.size(); ++i)
    for (const auto& o : options[i]) flat_prompts.push_back(prompts[i]), continuations.push_back(" " + o);
  std::vector<double> logprobs;
  if (!backend.score(flat_prompts, continuations, logprobs) || logprobs.size() != flat_prompts.size()) return false;
  out.clear();
  size_t at = 0;
  for (const auto& opts : options) {
    out.emplace_back(logprobs.begin() + long(at), logprobs.begin() + long(at + opts.size()));
    at += opts.size();
  }
  return true;
}

namespace {

// mc:K (eval/methods/mc.cpp): every option of every item scored as the continuation
// " OPTION" after the item's prompt, in one call to the backend; acc takes the most likely
// option, acc_norm the most likely per character (lm-evaluation-harness's two metrics).
EvalResult evaluate_by_likelihood(Backend& backend, const Task& task, const std::string& task_spec, const std::string& split,
                                  const EvalSpec& spec, const Method& method, const std::vector<Example>& items,
                                  const Prompts& p) {
  std::vector<std::vector<std::string>> options;
  for (size_t i = 0; i < items.size(); ++i) {
    options.push_back(task.answer_options(items[i]));
    check(!options.back().empty(),
          "method {} scores the options of a closed answer set, and task {} has open answers (item {}: '{}'); use a "
          "generation method (icl:K, direct)", method.spec, task.name(), i, items[i].answer);
    check(std::find(options.back().begin(), options.back().end(), items[i].answer) != options.back().end(),
          "task {} item {}: the gold answer '{}' is not one of its options ({})", task.name(), i, items[i].answer,
          fmt::join(options.back(), ", "));
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<double>> logprobs;
  check(option_logprobs(backend, p.prompts, options, logprobs),
        "method {} needs the log-likelihoods of continuations, and backend {} cannot score them (recorded predictions, "
        "a chat endpoint, or an endpoint without echo + logprobs); use a generation method", method.spec, backend.name());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  EvalResult result;
  std::vector<double> acc, acc_norm, gold_lp;
  Hasher items_hash;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& opts = options[i];
    size_t best = 0, best_norm = 0;
    const std::vector<double>& lp = logprobs[i];
    for (size_t k = 1; k < opts.size(); ++k) {
      if (lp[k] > lp[best]) best = k;
      if (lp[k] / double(opts[k].size()) > lp[best_norm] / double(opts[best_norm].size())) best_norm = k;
    }
    const size_t gold = size_t(std::find(opts.begin(), opts.end(), items[i].answer) - opts.begin());
    acc.push_back(best == gold ? 1.0 : 0.0);
    acc_norm.push_back(best_norm == gold ? 1.0 : 0.0);
    gold_lp.push_back(lp[gold]);
    items_hash.add(items[i].key).add("\n");
    result.samples.push_back({{"index", i},
                              {"prompt", p.prompts[i]},
                              {"options", opts},
                              {"logprobs", lp},
                              {"extracted", opts[best]},
                              {"extracted_norm", opts[best_norm]},
                              {"gold", items[i].answer},
                              {"correct", best == gold},
                              {"correct_norm", best_norm == gold}});
  }
  EvalSummary& sum = result.summary;
  fill_summary(sum, backend, task, task_spec, split, spec, items, acc, items_hash.hex());
  sum.accuracy_strict = sum.accuracy;
  sum.extraction = "likelihood";
  sum.extractor = "likelihood@1";
  sum.protocol = "likelihood";
  sum.accuracy_norm = mean(acc_norm);
  sum.metrics.extract_fail = 0;  // an option is always chosen
  sum.metrics.char_accuracy = mean(acc);
  sum.metrics.seconds = seconds;
  sum.metrics.gold_logprob = mean(gold_lp);
  return result;
}

}  // namespace

EvalResult evaluate(Backend& backend, const Task& task, const std::string& task_spec, const EvalSpec& spec) {
  const std::string split = spec.split.empty() ? task.default_split() : spec.split;
  task.check_split(split);
  const Method method = parse_method(spec.method);
  const auto items = spec.items ? *spec.items
                                 : test_items(task, split, resolve_item_count(task, split, spec.n, backend.items_covered(task_spec)),
                                              spec.seed);
  check(!items.empty(), "task {}: no items to evaluate in split {}", task.name(), split);
  const auto chat = method.chat ? backend.chat_template() : std::nullopt;
  check(!method.chat || chat.has_value(),
        "method {} asks for the model's chat template, and {} has none (a base model, an endpoint or recorded "
        "predictions); use {} without chat:", method.spec, backend.name(), method.chat ? method.spec.substr(5) : method.spec);
  const Prompts p = build_prompts(task, method, items, spec, chat);
  if (method.likelihood) return evaluate_by_likelihood(backend, task, task_spec, split, spec, method, items, p);

  // Stage 2: the continuations, and the gold answers' teacher-forced log-probabilities.
  const GenerateOptions gen = generation_options(method, spec, task_spec, items);
  const auto t0 = std::chrono::steady_clock::now();
  const auto outputs = backend.complete(p.prompts, gen);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  check(outputs.size() == p.prompts.size() * size_t(method.samples), "backend {} returned {} completions for {} prompts x {}",
        backend.name(), outputs.size(), p.prompts.size(), method.samples);
  std::vector<double> gold_logprobs;
  const bool have_logprobs = spec.gold_logprob && backend.score(p.direct_prompts, p.golds, gold_logprobs);

  EvalResult result;
  const Extraction chosen = spec.extraction;
  const ItemScores r = score_items(task, method, items, p, outputs, gen.stop_after_line_with, chosen,
                                   have_logprobs ? &gold_logprobs : nullptr, result.samples);

  // Stage 4: the summary.
  const double n = double(items.size());
  EvalSummary& sum = result.summary;
  fill_summary(sum, backend, task, task_spec, split, spec, items, r.correct, r.items_hash);
  sum.extraction = extraction_name(chosen);
  sum.extractor = task.extractor_id(chosen);
  sum.accuracy_strict = mean(r.correct_strict);
  if (chosen == Extraction::lenient) sum.accuracy_lenient = mean(r.correct_lenient);
  sum.accuracy_flexible = mean(r.correct_flexible);
  EvalMetrics& metrics = sum.metrics;
  metrics.extract_fail = double(r.failed) / n;
  metrics.char_accuracy = mean(r.char_acc);
  metrics.gold_chars = r.gold_chars / n;
  metrics.edit_distance = mean(r.edit);
  metrics.mean_generated_tokens = double(r.generated) / (n * double(method.samples));
  metrics.seconds = seconds;
  metrics.tokens_per_s = seconds > 0 ? double(r.generated) / seconds : 0.0;
  if (have_logprobs) {  // else none: the backend cannot score continuations
    metrics.gold_logprob = mean(gold_logprobs);
    double chars = 0;
    for (const auto& g : p.golds) chars += double(g.size());
    metrics.gold_logprob_per_char = mean(gold_logprobs) * n / chars;
  }
  metrics.extraction_disagreements = int64_t(r.disagreements.size());
  sum.extraction_disagreements = r.disagreements;  // the audit: item indices
  if (chat) sum.notes.push_back(fmt::format("prompts rendered in the model's {} chat template", chat->kind));
  if (!have_logprobs && spec.gold_logprob) sum.notes.push_back("gold log-probability skipped: the backend cannot score continuations");
  return result;
}

EvalResult evaluate_group(Backend& backend, const std::string& group, const std::vector<std::string>& members,
                          const EvalSpec& spec, const std::function<void(const EvalSummary&)>& on_member) {
  check(!members.empty(), "task group {} has no members", group);
  EvalResult all;
  EvalSummary& sum = all.summary;
  std::vector<std::vector<double>> correct;
  double strict = 0, lenient = 0, fails = 0;
  bool any_lenient = false;
  for (const auto& name : members) {
    auto task = make_task(name);
    EvalSpec member_spec = spec;
    // -n caps each member; members smaller than the cap are taken whole.
    const int64_t pool = task->pool_size(task->default_split(), Pool::test);
    if (member_spec.n > 0 && pool >= 0) member_spec.n = std::min(member_spec.n, pool);
    auto r = evaluate(backend, *task, name, member_spec);
    if (on_member) on_member(r.summary);
    correct.emplace_back(r.summary.item_correct.begin(), r.summary.item_correct.end());
    sum.accuracy += r.summary.accuracy / double(members.size());
    strict += r.summary.accuracy_strict / double(members.size());
    if (r.summary.accuracy_lenient) lenient += *r.summary.accuracy_lenient / double(members.size()), any_lenient = true;
    sum.n += r.summary.n;
    fails += r.summary.metrics.extract_fail * double(r.summary.n);
    sum.metrics.seconds += r.summary.metrics.seconds;
    sum.metrics.extraction_disagreements += r.summary.metrics.extraction_disagreements;
    for (auto& sample : r.samples) {
      sample["task"] = name;
      all.samples.push_back(std::move(sample));
    }
    if (r.summary.baselines) {  // macro-averaged, as the accuracy is
      if (!sum.baselines) sum.baselines = TrivialBaselines{"(per subtask)", 0, 0};
      sum.baselines->constant += r.summary.baselines->constant / double(members.size());
      sum.baselines->chance += r.summary.baselines->chance / double(members.size());
    }
    r.summary.item_correct.clear();  // the group's own CI stands for them
    sum.members.push_back(std::move(r.summary));
  }
  sum.task = group;
  sum.split = "test";
  sum.method = spec.method;
  sum.model = spec.model_name.empty() ? backend.name() : spec.model_name;
  std::tie(sum.ci_lo, sum.ci_hi) = stratified_macro_ci95(correct, derive_seed(spec.seed, "bbh-all-bootstrap"));
  sum.extraction = extraction_name(spec.extraction);
  sum.accuracy_strict = strict;
  if (any_lenient) sum.accuracy_lenient = lenient;
  sum.metrics.extract_fail = fails / double(sum.n);
  sum.seed = spec.seed;
  sum.macro_average_of = int64_t(members.size());
  return all;
}

}  // namespace elab
