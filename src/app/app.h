#pragma once
// app: the `leadscore` command line. Each subcommand lives in its own cmd_<name>.cpp and
// registers itself on the root CLI11 app through one of these functions.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace app {

// Sets the process exit code from inside a subcommand callback.
[[noreturn]] void exit_with(int code);

// The environment variable `name`, or "" when unset (secrets come from here, never argv).
std::string env_or_empty(const char* name);

// Prints "<command>: warning: ..." naming the feature columns the CSV lacks (train/evaluate
// with --allow-missing-columns); prints nothing when `columns` is empty.
void warn_missing_columns(const char* command, const std::vector<std::string>& columns);

void add_version_command(CLI::App& root);
void add_generate_command(CLI::App& root);
void add_schema_command(CLI::App& root);
void add_train_command(CLI::App& root);
void add_evaluate_command(CLI::App& root);
void add_model_command(CLI::App& root);
void add_crm_receiver_command(CLI::App& root);
void add_outbox_command(CLI::App& root);
void add_serve_command(CLI::App& root);
void add_erase_command(CLI::App& root);

}  // namespace app
