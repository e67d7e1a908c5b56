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
  CLI11_PARSE(root, argc, argv);
  return 0;
}
