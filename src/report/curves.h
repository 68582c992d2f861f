#pragma once
// Training-step curves: a run's train_log.jsonl read into series (loss, held-out loss,
// each --eval-task's accuracy and answer loss), the transition step of a curve, and the
// SVG that `elab plot RUN_DIR` writes. Torch-free.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace elab {

struct Curve {
  std::string name;
  std::vector<double> steps, values;
  std::vector<double> lo, hi;  // 95% CI per point where known (accuracies); else empty
};

struct RunCurves {
  std::vector<Curve> losses;      // train loss, held-out loss, answer loss per eval task
  std::vector<Curve> accuracies;  // per eval task
};

// Reads RUN_DIR/train_log.jsonl; errors name the file and line.
RunCurves read_run_curves(const std::string& run_dir);
// The same from log entries already read ({"step", "loss"?, "heldout_loss"?, "evals"?});
// `where` names them in errors.
RunCurves run_curves_from_entries(const nlohmann::json& entries, const std::string& where);

// Where a curve moves from its start level (mean of its first 3 points) to its end level
// (mean of its last 3): the step at which it first crosses halfway (interpolated), the
// width of the rise (steps from 20% to 80% of the way) and the first step within 5% of
// the end level (the plateau). `found` is false when the levels differ by less than
// `min_change` (nothing to detect).
struct Transition {
  bool found = false;
  double start = 0, end = 0;
  double step = 0, width = 0, plateau_step = 0;
};
Transition find_transition(const Curve& c, double min_change);

// One chart per panel (losses, accuracies), steps on a log axis when they span more than
// two decades, each detected transition marked with a dashed line.
std::string run_curves_svg(const RunCurves& curves, const std::string& title);

}  // namespace elab
