#include "apiserver/protobuf.h"

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>

#include "apiserver/api_error.h"
#include "apiserver/base64.h"

namespace brfed::apiserver {
namespace {

struct Field {
  int number = 0;
  int wire = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

// Calls `fn` for each field of `msg`; false on malformed input.
bool ForEachField(std::string_view msg, const std::function<void(const Field&)>& fn) {
  size_t i = 0;
  auto read_varint = [&](uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= msg.size()) return false;
      auto b = static_cast<unsigned char>(msg[i++]);
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  while (i < msg.size()) {
    uint64_t tag = 0;
    if (!read_varint(tag)) return false;
    Field f;
    f.number = static_cast<int>(tag >> 3);
    f.wire = static_cast<int>(tag & 7);
    switch (f.wire) {
      case 0:
        if (!read_varint(f.varint)) return false;
        break;
      case 1:
        if (i + 8 > msg.size()) return false;
        i += 8;
        break;
      case 5:
        if (i + 4 > msg.size()) return false;
        i += 4;
        break;
      case 2: {
        uint64_t len = 0;
        if (!read_varint(len) || len > msg.size() - i) return false;
        f.bytes = msg.substr(i, len);
        i += len;
        break;
      }
      default:
        return false;
    }
    fn(f);
  }
  return true;
}

std::pair<std::string, std::string> MapEntry(std::string_view entry, bool* ok) {
  std::pair<std::string, std::string> kv;
  *ok = ForEachField(entry, [&](const Field& f) {
    if (f.number == 1) kv.first = std::string(f.bytes);
    if (f.number == 2) kv.second = std::string(f.bytes);
  });
  return kv;
}

bool DecodeObjectMeta(std::string_view msg, Json& meta) {
  bool ok = true;
  bool parsed = ForEachField(msg, [&](const Field& f) {
    std::string s(f.bytes);
    switch (f.number) {
      case 1:
        if (!s.empty()) meta["name"] = s;
        break;
      case 2:
        if (!s.empty()) meta["generateName"] = s;
        break;
      case 3:
        if (!s.empty()) meta["namespace"] = s;
        break;
      case 11:
      case 12: {
        auto kv = MapEntry(f.bytes, &ok);
        meta[f.number == 11 ? "labels" : "annotations"][kv.first] = kv.second;
        break;
      }
      case 14:
        meta["finalizers"].push_back(s);
        break;
      default:
        break;
    }
  });
  return parsed && ok;
}

Status Malformed() { return ApiError(Code::kBadRequest, "the protobuf body could not be decoded"); }

}  // namespace

Result<Json> DecodeKubernetesProtobuf(std::string_view body) {
  static constexpr std::string_view kMagic("k8s\0", 4);
  if (body.substr(0, 4) != kMagic) return Malformed();
  std::string api_version, kind;
  std::string_view raw;
  bool ok = ForEachField(body.substr(4), [&](const Field& f) {
    if (f.number == 1) {
      ForEachField(f.bytes, [&](const Field& t) {
        if (t.number == 1) api_version = std::string(t.bytes);
        if (t.number == 2) kind = std::string(t.bytes);
      });
    }
    if (f.number == 2) raw = f.bytes;
  });
  if (!ok) return Malformed();
  if (kind != "Namespace" && kind != "Secret") {
    return ApiError(Code::kUnsupportedMediaType,
                    "protobuf is only supported for Namespace and Secret; send " + kind +
                        " as application/json");
  }
  Json obj = {{"apiVersion", api_version}, {"kind", kind}, {"metadata", Json::object()}};
  bool entries_ok = true;
  ok = ForEachField(raw, [&](const Field& f) {
    if (f.number == 1) {
      entries_ok = DecodeObjectMeta(f.bytes, obj["metadata"]) && entries_ok;
      return;
    }
    if (kind == "Namespace") {
      if (f.number == 2) {
        ForEachField(f.bytes, [&](const Field& s) {
          if (s.number == 1) obj["spec"]["finalizers"].push_back(std::string(s.bytes));
        });
      }
      return;
    }
    switch (f.number) {
      case 2:
      case 4: {
        auto kv = MapEntry(f.bytes, &entries_ok);
        if (f.number == 2) {
          obj["data"][kv.first] = Base64Encode(kv.second);
        } else {
          obj["stringData"][kv.first] = kv.second;
        }
        break;
      }
      case 3:
        if (!f.bytes.empty()) obj["type"] = std::string(f.bytes);
        break;
      case 5:
        obj["immutable"] = f.varint != 0;
        break;
      default:
        break;
    }
  });
  if (!ok || !entries_ok) return Malformed();
  return obj;
}

}  // namespace brfed::apiserver
