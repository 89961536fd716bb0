// Test-only helpers for unit tests above the kube layer: a temporary directory removed at
// destruction, file writing, a throwaway self-signed certificate made with the openssl CLI, and
// WaitFor (polls a condition until a generous deadline; never a fixed sleep).
//
// Thread-safety: single test thread.
#ifndef BRFED_KUBE_TESTING_TESTING_UTIL_H_
#define BRFED_KUBE_TESTING_TESTING_UTIL_H_

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace brfed::kube::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "brfed-kube-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content, bool executable = false) {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    if (executable) chmod(p.c_str(), 0755);
    return p;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(path_ + "/" + name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string path_;
};

struct CertPair {
  std::string cert_pem, key_pem;
};

// A self-signed EC certificate for CN `cn` (SAN 127.0.0.1, localhost); empty on failure.
inline CertPair MakeSelfSigned(const TempDir& dir, const std::string& cn) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-days 2 -subj /CN=" +
      cn + " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " + dir.path() + "/" + cn +
      ".key -out " + dir.path() + "/" + cn + ".crt 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) return {};
  return {dir.Read(cn + ".crt"), dir.Read(cn + ".key")};
}

// Polls `pred` every 5 ms until it holds (true) or `deadline` passes (false).
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace brfed::kube::testing

#endif  // BRFED_KUBE_TESTING_TESTING_UTIL_H_
