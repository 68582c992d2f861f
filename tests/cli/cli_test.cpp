#include <gtest/gtest.h>

#include "cli/app.h"

namespace elab {

// CLI11 throws OptionAlreadyAdded when a flag is declared twice in one subcommand, so
// building the whole parser is the check.
TEST(Cli, EveryFlagIsDeclaredOnce) { EXPECT_NO_THROW(build_app()); }

TEST(Cli, EverySubcommandHasHelp) {
  auto app = build_app();
  for (auto* sub : app->get_subcommands({})) {
    EXPECT_FALSE(sub->get_description().empty()) << sub->get_name();
    for (auto* leaf : sub->get_subcommands({})) EXPECT_FALSE(leaf->get_description().empty()) << leaf->get_name();
  }
}

}  // namespace elab
