#include "kube/pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "core/files.h"

namespace brfed::kube {

Result<std::string> DecodeBase64(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return InvalidArgument("bad base64: unexpected character");
    clean.push_back(c);
  }
  if (clean.empty()) return InvalidArgument("bad base64: empty");
  if (clean.size() % 4 != 0) return InvalidArgument("bad base64: length not a multiple of 4");
  size_t pad = 0;
  while (pad < 2 && clean[clean.size() - 1 - pad] == '=') ++pad;
  if (clean.find('=') < clean.size() - pad) return InvalidArgument("bad base64: misplaced '='");
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return InvalidArgument("bad base64");
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

namespace {
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
std::unique_ptr<BIO, BioFree> MemBio(std::string_view data) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}
}  // namespace

std::string ValidateCertificates(std::string_view pem) {
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    return "not a PEM certificate";
  }
  auto bio = MemBio(pem);
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (cert == nullptr) return "malformed PEM certificate";
  X509_free(cert);
  return "";
}

std::string ValidatePrivateKey(std::string_view pem) {
  if (pem.find("PRIVATE KEY-----") == std::string_view::npos) return "not a PEM private key";
  auto bio = MemBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (key == nullptr) return "malformed PEM private key";
  EVP_PKEY_free(key);
  return "";
}

Result<std::string> ReadFileToString(const std::string& path) {
  Result<std::string> data = ReadFile(path);
  if (!data.ok()) return InvalidArgument(data.status().message());
  return data;
}

}  // namespace brfed::kube
