// br-federation-manager: the BR Federation control plane. Only --help and --version until its issue
// lands.
#include <cstdio>
#include <cstring>

#include "core/version.h"

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
    std::printf("%s\n", brfed::VersionLine("br-federation-manager").c_str());
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf(
        "Usage: br-federation-manager [--help] [--version]\nthe BR Federation control plane\n");
    return 0;
  }
  std::fprintf(stderr, "br-federation-manager: not implemented yet; try --help\n");
  return 2;
}
