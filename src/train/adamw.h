#pragma once
// AdamW (decoupled weight decay, Loshchilov & Hutter), the same update as
// torch.optim.AdamW (or SGD with momentum, AdamWConfig::kind), with its moment tensors addressable by parameter name so that a
// checkpoint can store them and a resumed run continues bit for bit.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/safetensors.h"

namespace elab {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;  // applied to matrices only, not to norm gains
  // "adamw", or "sgd": heavy-ball momentum (torch.optim.SGD's update, dampening 0, no
  // Nesterov) with the same decoupled weight decay; its buffer is stored as exp_avg.
  std::string kind = "adamw";
  double momentum = 0.9;      // sgd only
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWConfig config);
  void step(double lr);  // one update from the parameters' .grad()
  void zero_grad();
  int64_t steps_taken() const { return step_; }
  const std::vector<torch::Tensor>& parameters() const { return params_; }  // the trained ones, in order

  // "exp_avg.<name>" and "exp_avg_sq.<name>" for every parameter.
  std::vector<std::pair<std::string, torch::Tensor>> state_tensors() const;
  void load_state(const TensorFile& file, int64_t steps_taken, const std::string& where);
  int64_t state_bytes() const;
  // After the moments arrived some other way (a data-parallel broadcast from rank 0).
  void set_steps_taken(int64_t steps) { step_ = steps; }

 private:
  struct Slot {
    std::string name;
    torch::Tensor param, exp_avg, exp_avg_sq;
    bool decay;
  };
  std::vector<Slot> slots_;
  std::vector<torch::Tensor> params_;
  AdamWConfig config_;
  int64_t step_ = 0;
};

}  // namespace elab
