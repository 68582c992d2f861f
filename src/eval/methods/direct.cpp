// direct: zero-shot, the answer right after "A:".
#include "eval/method.h"

namespace elab {

MethodEntry direct_method() {
  return {"direct", "direct", "zero-shot, direct answer", [](const MethodArgs& a) {
            a.arity(0, 0);
            return Method{};
          }};
}

}  // namespace elab
