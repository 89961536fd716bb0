// brfed-apiserver: a Kubernetes-API-compatible test and sandbox server. Only --help and --version
// until its issue lands.
#include <cstdio>
#include <cstring>

#include "core/version.h"

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
    std::printf("%s\n", brfed::VersionLine("brfed-apiserver").c_str());
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf(
        "Usage: brfed-apiserver [--help] [--version]\na Kubernetes-API-compatible test and sandbox "
        "server\n");
    return 0;
  }
  std::fprintf(stderr, "brfed-apiserver: not implemented yet; try --help\n");
  return 2;
}
