// brfed: the BR Federation command-line tool.
#include "cli/app.h"
#include "kube/client.h"

int main(int argc, char** argv) {
  brfed::kube::GlobalInit();
  return brfed::cli::RunBrfed(argc, argv);
}
