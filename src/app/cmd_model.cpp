// `leadscore model pull REPO --dir DIR`: fetch a sentence encoder's files from the Hugging Face hub.
#include <cstdio>

#include "app/app.h"
#include "text/text.h"

namespace app {

void add_model_command(CLI::App& root) {
  auto* model = root.add_subcommand("model", "Manage model files (text encoder weights)");
  model->require_subcommand(1);
  auto* pull = model->add_subcommand("pull", "Download a sentence encoder from the Hugging Face hub (resumable)");
  auto opts = std::make_shared<text::PullOptions>();
  auto quiet = std::make_shared<bool>(false);
  pull->add_option("repo", opts->repo, "Hub repository")->default_val(opts->repo);
  pull->add_option("--dir", opts->dir, "Destination directory")->required();
  pull->add_option("--hub-url", opts->hub_url, "Hub or mirror base URL ({hub}/{repo}/resolve/main/{file})")
      ->default_val(opts->hub_url);
  pull->add_option("--sha256", opts->sha256_override,
                   "Expected sha256 of model.safetensors (mirrors of other checkpoints; default: the known value)");
  pull->add_flag("--quiet", *quiet, "No progress output");
  pull->callback([opts, quiet] {
    opts->progress = !*quiet;
    auto st = text::pull_model(*opts);
    if (!st) {
      std::fprintf(stderr, "leadscore model pull: %s: %s\n", st.error().code.c_str(), st.error().message.c_str());
      exit_with(1);
    }
    std::fprintf(stderr, "leadscore model pull: %s ready in %s\n", opts->repo.c_str(), opts->dir.string().c_str());
  });
}

}  // namespace app
