// The `leadscore` binary: one subcommand per job (see app/app.h).
#include "app/app.h"

int main(int argc, char** argv) {
  CLI::App root{"leadscore: real-time lead intent scoring engine"};
  root.require_subcommand(1);
  app::add_version_command(root);
  app::add_generate_command(root);
  app::add_schema_command(root);
  app::add_train_command(root);
  app::add_evaluate_command(root);
  app::add_model_command(root);
  app::add_crm_receiver_command(root);
  app::add_outbox_command(root);
  app::add_serve_command(root);
  app::add_erase_command(root);
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = root.exit(e);  // prints the help, or the error and "Run with --help"
    // A bad flag (out of range, unknown, not a number) exits 2 like the commands' own usage
    // errors, not CLI11's 1xx codes; help (0) and exit_with() codes are kept.
    return rc == 0 || dynamic_cast<const CLI::RuntimeError*>(&e) != nullptr ? rc : 2;
  }
  return 0;
}
