// tidb-operator-sim: a simulation of TiDB Operator's federal volume-snapshot behaviour. Only --help
// and --version until its issue lands.
#include <cstdio>
#include <cstring>

#include "core/version.h"

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
    std::printf("%s\n", brfed::VersionLine("tidb-operator-sim").c_str());
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf(
        "Usage: tidb-operator-sim [--help] [--version]\na simulation of TiDB Operator's federal "
        "volume-snapshot behaviour\n");
    return 0;
  }
  std::fprintf(stderr, "tidb-operator-sim: not implemented yet; try --help\n");
  return 2;
}
