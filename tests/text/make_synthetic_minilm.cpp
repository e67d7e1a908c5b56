// Writes a MiniLM model directory with the synthetic weights of minilm_golden_synthetic.json
// (config.json, vocab.txt, sentence_bert_config.json copied from the shared model files), for
// end-to-end tests and benchmarks of `serve --text-model` without the real 90 MB download.
// Usage: make_synthetic_minilm <out dir> [--roll-word-embeddings N]. The option writes another
// checkpoint of the same shape and size (word-embedding rows rotated by N), for tests that need
// two different models. Exit 77 when the shared files are missing.

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "test_support.h"

int main(int argc, char** argv) {
  int64_t roll = 0;
  if (argc == 4 && std::string_view(argv[2]) == "--roll-word-embeddings") {
    roll = std::atoll(argv[3]);
  } else if (argc != 2) {
    std::fprintf(stderr, "usage: make_synthetic_minilm <out dir> [--roll-word-embeddings N]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const auto golden = text_test::models_dir() / "minilm_golden_synthetic.json";
  if (!std::filesystem::exists(golden) ||
      !std::filesystem::exists(text_test::minilm_dir() / "config.json")) {
    std::fprintf(stderr, "shared model files missing under %s\n", text_test::models_dir().c_str());
    return 77;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.load(golden.string());
  std::filesystem::create_directories(dir);
  for (const char* f : {"config.json", "vocab.txt", "sentence_bert_config.json"}) {
    std::filesystem::copy_file(text_test::minilm_dir() / f, dir / f,
                               std::filesystem::copy_options::overwrite_existing);
  }
  auto tensors = text_test::synth_tensors(text_test::load_synth_spec(doc), "");
  text_test::roll_word_embeddings(tensors, roll);
  text_test::write_safetensors(dir / "model.safetensors", tensors);
  std::printf("synthetic MiniLM in %s\n", dir.c_str());
  return 0;
}
