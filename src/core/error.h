#pragma once
// The one exception type of elab. Its message is meant for a person: it names the
// problem, where it is (file, line, flag) and, where there is one, the next step.
// The library throws; the edges (CLI, HTTP) turn it into an exit code or a 4xx/5xx.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace elab {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// check(cond, "...") reads like an assertion but reports to a person.
template <typename... Args>
void check(bool cond, fmt::format_string<Args...> f, Args&&... args) {
  if (!cond) throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace elab
