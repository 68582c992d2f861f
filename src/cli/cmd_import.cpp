// elab import lm-eval|csv|list: others' results into a results database, as result rows
// (results/importers.h), for `elab report --db DB --out DIR`.
#include <fmt/format.h>

#include "cli/app.h"
#include "core/error.h"
#include "results/db.h"
#include "results/importers.h"

namespace elab {

namespace {

void import_into(const std::string& importer, const ImportRequest& req, const std::string& db) {
  const auto rows = import_results(importer, req);
  check(!rows.empty(), "import {}: the files hold no results", importer);
  const auto s = add_result_rows(db, rows, "import " + importer);
  fmt::print("{}: {} rows read, {} added, {} already given by another file -> {}\nnext: elab report --db {} --out DIR\n", importer, rows.size(),
             s.added, s.unchanged, db, db);
}

}  // namespace

void add_import_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("import", "Import others' results (lm-evaluation-harness files, CSV tables) into a results database");
  cmd->require_subcommand(1);
  cmd->footer("A file imported again replaces the rows it gave before. A row another file already gave is skipped when "
              "the values agree; when they differ it is an error naming both sources, and nothing of that import is "
              "written. Formats: docs/RESULTS.md.");

  struct Args {
    std::vector<std::string> paths;
    std::string db, mapping, meta;
  };
  auto lm = std::make_shared<Args>();
  auto* lme = cmd->add_subcommand("lm-eval", "lm-evaluation-harness results JSON (old and current forms; samples_*.jsonl beside them give per-item outcomes)");
  lme->add_option("paths", lm->paths, "result files or directories (searched recursively)")->required();
  lme->add_option("--db", lm->db, "results database (created when missing)")->required();
  lme->add_option("--meta", lm->meta, "TOML of model facts the files lack: [model] family, variant, parameters, tokens, tokens_per_step; [metrics] NAME = \"higher\"|\"lower\"; [chance] TASK = x");
  lme->callback([lm] { import_into("lm-eval", {lm->paths, "", lm->meta}, lm->db); });

  auto csv = std::make_shared<Args>();
  auto* c = cmd->add_subcommand("csv", "CSV tables through a declared column mapping");
  c->add_option("paths", csv->paths, "CSV files or directories")->required();
  c->add_option("--mapping", csv->mapping, "the column mapping (TOML; docs/RESULTS.md)")->required();
  c->add_option("--db", csv->db, "results database (created when missing)")->required();
  c->callback([csv] { import_into("csv", {csv->paths, csv->mapping, ""}, csv->db); });

  auto* list = cmd->add_subcommand("list", "The importers and their versions");
  list->callback([] {
    for (const auto& i : importers()) fmt::print("{:<8} v{}  {}\n", i.name, i.version, i.help);
  });
}

}  // namespace elab
