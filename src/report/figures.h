#pragma once
// The report's summary figures: a forest plot of a question's comparisons, and a faceted
// figure of small panels that share their axes (the per-cell charts of a section, drawn
// side by side instead of one chart each). Torch-free.
#include <string>
#include <vector>

#include "report/findings.h"
#include "report/svg.h"

namespace elab {

// The scale a finding's models stand at, for grouping: the lab's own ladder, real
// pretrained models run here, or published results of real ladders.
constexpr const char* kOwnLadder = "own ladder";
constexpr const char* kRealModels = "real models";
constexpr const char* kPublishedLadders = "published ladders";

// Each comparison as its effect with its 95% CI, grouped by scale, against a zero line;
// a claim of no difference shows its equivalence band. Resolved comparisons are filled
// dots, unresolved ones hollow, those that do not count grey crosses; colour says whether
// the published result is met (green) or contradicted (red). At most `most` rows: the
// resolved ones first, then the rest by distance from zero; the caption says how many
// are left to the tables.
std::string forest_svg(const std::string& title, const std::vector<const Finding*>& findings, size_t most = 28);

// One panel of a faceted figure: its chart and where it sits (row and column labels).
struct Panel {
  std::string row, column;
  Chart chart;
};

// Panels in a grid (rows and columns in order of first appearance), each small, with
// one x range and the unit y axis shared by all.
std::string facets_svg(const std::string& title, const std::vector<Panel>& panels);

}  // namespace elab
