#include "train/adamw.h"

#include <cmath>

#include "core/error.h"
#include "model/checkpoint.h"

namespace elab {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWConfig config) : config_(config) {
  for (auto& [name, p] : params) {
    if (!p.requires_grad()) continue;
    slots_.push_back({name, p, torch::zeros_like(p), torch::zeros_like(p), p.dim() >= 2});
    params_.push_back(p);
  }
}

void AdamW::zero_grad() {
  for (auto& s : slots_)
    if (s.param.grad().defined()) s.param.mutable_grad().zero_();
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bias1 = 1.0 - std::pow(config_.beta1, double(step_));
  const double bias2 = 1.0 - std::pow(config_.beta2, double(step_));
  const double step_size = lr / bias1;
  const double bias2_sqrt = std::sqrt(bias2);
  const bool sgd = config_.kind == "sgd";
  for (auto& s : slots_) {
    const auto& g = s.param.grad();
    if (!g.defined()) continue;
    if (s.decay && config_.weight_decay != 0) s.param.mul_(1.0 - lr * config_.weight_decay);
    if (sgd) {
      // buf = momentum * buf + g (the first step: buf = g, as torch.optim.SGD); p -= lr * buf
      if (step_ == 1) s.exp_avg.copy_(g);
      else s.exp_avg.mul_(config_.momentum).add_(g);
      s.param.add_(config_.momentum > 0 ? s.exp_avg : g, -lr);
      continue;
    }
    s.exp_avg.mul_(config_.beta1).add_(g, 1.0 - config_.beta1);
    s.exp_avg_sq.mul_(config_.beta2).addcmul_(g, g, 1.0 - config_.beta2);
    auto denom = (s.exp_avg_sq.sqrt() / bias2_sqrt).add_(config_.eps);
    s.param.addcdiv_(s.exp_avg, denom, -step_size);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& s : slots_) {
    out.emplace_back("exp_avg." + s.name, s.exp_avg);
    out.emplace_back("exp_avg_sq." + s.name, s.exp_avg_sq);
  }
  return out;
}

void AdamW::load_state(const TensorFile& file, int64_t steps_taken, const std::string& where) {
  load_named_tensors(state_tensors(), file.tensors, where);
  step_ = steps_taken;
}

int64_t AdamW::state_bytes() const {
  int64_t n = 0;
  for (const auto& s : slots_) n += 2 * s.param.numel() * int64_t(s.param.element_size());
  return n;
}

}  // namespace elab
