#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal and at most
// ten times a second, so logs and CI output stay clean.
#include <chrono>
#include <cstdint>
#include <string>

namespace elab {

class Progress {
 public:
  // enabled = false keeps it silent (it is silent anyway when stderr is not a terminal).
  Progress(std::string label, int64_t total, bool enabled = true);
  ~Progress();
  // done: units finished so far; status: extra text such as "loss 1.23 12.3K tok/s".
  void update(int64_t done, const std::string& status = "");
  void finish();
  double elapsed_seconds() const;

 private:
  std::string label_;
  int64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string human_count(double n);      // 1234567 -> "1.2M"
std::string human_duration(double s);   // 75 -> "1m15s"

}  // namespace elab
