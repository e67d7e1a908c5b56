#include <cstdio>
#include <cstdlib>
#include <string>

#include "app/app.h"

namespace app {

[[noreturn]] void exit_with(int code) { throw CLI::RuntimeError(code); }

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

void add_version_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("version", "Print the leadscore version");
  cmd->callback([] { std::printf("leadscore %s\n", LEADSCORE_VERSION); });
}

}  // namespace app
