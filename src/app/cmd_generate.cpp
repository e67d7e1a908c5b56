// `leadscore generate`: synthetic leads (data::generate) to a CSV file or stdout.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "app/app.h"
#include "data/data.h"

namespace app {

void add_generate_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("generate", "Generate synthetic leads as CSV (docs/DATA.md)");
  struct Opts {
    int64_t rows = 1000;  // signed: "-5" must be refused, not wrapped to 2^64 - 5
    int64_t seed = 42;    // signed for the same reason: "-5" wrapped to a different valid seed
    std::string out = "-";
    std::string profile = "real_estate";
    bool report = false;
    std::string report_json;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--rows", o->rows, "Number of leads")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed (same seed, same bytes)")->capture_default_str();
  cmd->add_option("--out", o->out, "Output CSV path ('-' for stdout)")->capture_default_str();
  cmd->add_option("--profile", o->profile, "real_estate | seed")->capture_default_str();
  cmd->add_flag("--report", o->report,
                "Print rows, positive rate, oracle AUC and missingness to stderr");
  cmd->add_option("--report-json", o->report_json, "Write the report as JSON to this file");
  cmd->add_flag("--quiet", o->quiet, "No progress lines");
  cmd->callback([o] {
    auto profile = data::parse_profile(o->profile);
    if (!profile) {
      std::fprintf(stderr, "error: %s\n", profile.error().message.c_str());
      exit_with(2);
    }
    if (o->rows < 1 || static_cast<uint64_t>(o->rows) > data::kMaxGenerateRows) {
      std::fprintf(stderr, "error: --rows must be between 1 and %llu, got %lld\n",
                   static_cast<unsigned long long>(data::kMaxGenerateRows),
                   static_cast<long long>(o->rows));
      exit_with(2);
    }
    if (o->seed < 0) {
      std::fprintf(stderr, "error: --seed must be between 0 and %lld, got %lld\n",
                   static_cast<long long>(INT64_MAX), static_cast<long long>(o->seed));
      exit_with(2);
    }
    const bool to_stdout = o->out == "-";
    std::FILE* f = to_stdout ? stdout : std::fopen(o->out.c_str(), "wb");
    if (f == nullptr) {
      std::fprintf(stderr, "error: cannot open %s: %s\n", o->out.c_str(), std::strerror(errno));
      exit_with(1);
    }
    data::GenerateOptions opt;
    opt.rows = static_cast<uint64_t>(o->rows);
    opt.seed = static_cast<uint64_t>(o->seed);
    opt.profile = *profile;
    opt.progress = !o->quiet;
    core::Result<data::GenerateReport> rep = [&] {
      data::CsvWriter w(f);
      return data::generate(opt, w);
    }();
    const bool closed = to_stdout ? std::fflush(f) == 0 : std::fclose(f) == 0;
    if (!rep || !closed) {
      std::fprintf(stderr, "error: writing %s: %s\n", o->out.c_str(),
                   rep ? std::strerror(errno) : rep.error().message.c_str());
      exit_with(1);
    }
    if (o->report) {
      std::string text;
      data::append_report_text(*rep, text);
      std::fputs(text.c_str(), stderr);
    }
    if (!o->report_json.empty()) {
      std::string json;
      data::append_report_json(*rep, json);
      json += '\n';
      std::FILE* jf = std::fopen(o->report_json.c_str(), "wb");
      if (jf == nullptr || std::fwrite(json.data(), 1, json.size(), jf) != json.size() ||
          std::fclose(jf) != 0) {
        std::fprintf(stderr, "error: cannot write %s\n", o->report_json.c_str());
        exit_with(1);
      }
    }
    if (!to_stdout && !o->quiet) {
      std::fprintf(stderr, "generate: wrote %llu rows to %s in %.2f s\n",
                   static_cast<unsigned long long>(rep->rows), o->out.c_str(), rep->seconds);
    }
  });
}

}  // namespace app
