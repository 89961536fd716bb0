// Fuzzes kubeconfig parsing and merging (kube/kubeconfig.h). The bytes are split at NUL into
// up to three files: each is parsed on its own and every context resolved, then the files are
// merged with kubectl's rules (LoadFiles) and every merged context resolved. Relative file
// references resolve inside an empty temporary folder.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kube/kubeconfig.h"

namespace {

using brfed::kube::Kubeconfig;

// Never destroyed, so that the exit handler can still read it.
const std::string& TempDir() {
  static const std::string* dir = [] {
    char pattern[] = "/tmp/brfed-kubeconfig-fuzz-XXXXXX";
    const char* made = mkdtemp(pattern);
    if (made == nullptr) std::abort();
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(TempDir(), ignored);
    });
    return new std::string(made);
  }();
  return *dir;
}

void ResolveAll(const Kubeconfig& config) {
  (void)config.ForContext("");
  for (const std::string& context : config.ContextNames()) (void)config.ForContext(context);
}

std::vector<std::string_view> SplitFiles(std::string_view text) {
  std::vector<std::string_view> parts;
  while (parts.size() < 2) {
    size_t nul = text.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(text.substr(0, nul));
    text.remove_prefix(nul + 1);
  }
  parts.push_back(text);
  return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> paths;
  for (std::string_view part : SplitFiles(text)) {
    auto config = Kubeconfig::Parse(part, "fuzz", TempDir());
    if (config.ok()) ResolveAll(*config);
    std::string path = TempDir() + "/config" + std::to_string(paths.size());
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) std::abort();
    std::fwrite(part.data(), 1, part.size(), f);
    std::fclose(f);
    paths.push_back(path);
  }
  auto merged = Kubeconfig::LoadFiles(paths);
  if (merged.ok()) ResolveAll(*merged);
  return 0;
}
