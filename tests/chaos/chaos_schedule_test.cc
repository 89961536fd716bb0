// The chaos generator is a pure function of the seed: the same seed gives the same schedule,
// events stay inside the run and their bounds, disabled kinds are never drawn, and bad
// parameters are errors.
#include "tests/chaos/chaos_schedule.h"

#include <gtest/gtest.h>

#include <set>

namespace brfed::chaos {
namespace {

ChaosParams Params() {
  ChaosParams p;
  p.faults = 40;
  p.freeze_min_ms = 1000;
  p.freeze_max_ms = 3000;
  return p;
}

TEST(ChaosSchedule, TheSameSeedGivesTheSameSchedule) {
  for (uint64_t seed : {0ULL, 1ULL, 42ULL, 0xffffffffffffffffULL}) {
    auto a = GenerateSchedule(seed, Params());
    auto b = GenerateSchedule(seed, Params());
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(DescribeSchedule(*a), DescribeSchedule(*b)) << seed;
    EXPECT_NE(DescribeSchedule(*a).find("chaos seed " + std::to_string(seed)), std::string::npos);
  }
}

// Seed 1 with one backup and three faults, default parameters (a golden: regenerate only when
// changing the generator on purpose, knowing that old seeds then mean other runs).
const char* const kSeedOne =
    "chaos seed 1\n"
    "  +462ms backup bk0 on c3,c1,c2\n"
    "  +3045ms fault freeze-apiserver target=c1 for=57469ms\n"
    "  +7739ms fault garbage-kubeconfig detail=yaml for=1706ms\n"
    "  +7870ms fault drop-watches target=c2\n";

// A fixed seed's first events, pinned: a change to the generator that would make old seeds
// reproduce other runs shows up here.
TEST(ChaosSchedule, SeedOneIsPinned) {
  ChaosParams p;
  p.faults = 3;
  p.backups = 1;
  p.restores = 0;
  p.schedules = 0;
  auto s = GenerateSchedule(1, p);
  ASSERT_TRUE(s.ok());
  auto again = GenerateSchedule(1, p);
  ASSERT_EQ(s->faults.size(), 3u);
  ASSERT_EQ(s->work.size(), 1u);
  EXPECT_EQ(DescribeSchedule(*s), DescribeSchedule(*again));
  EXPECT_EQ(DescribeSchedule(*s), kSeedOne) << DescribeSchedule(*s);
}

TEST(ChaosSchedule, DifferentSeedsDiffer) {
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    seen.insert(DescribeSchedule(*GenerateSchedule(seed, Params())).substr(20));
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(ChaosSchedule, EventsStayInsideTheRunAndTheirBounds) {
  const ChaosParams p = Params();
  std::set<FaultKind> kinds;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto s = GenerateSchedule(seed, p);
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s->faults.size(), static_cast<size_t>(p.faults));
    ASSERT_EQ(s->work.size(), static_cast<size_t>(p.backups + p.restores + p.schedules));
    int64_t previous = 0;
    for (const Fault& f : s->faults) {
      kinds.insert(f.kind);
      EXPECT_GE(f.at_ms, previous) << "ordered by instant";
      previous = f.at_ms;
      EXPECT_LT(f.at_ms, p.run_ms);
      if (f.kind == FaultKind::kFreezeApiServer) {
        EXPECT_GE(f.duration_ms, p.freeze_min_ms);
        EXPECT_LE(f.duration_ms, p.freeze_max_ms);
        EXPECT_NE(f.target, "control-plane") << "a partition is a data plane's";
      }
      if (f.kind == FaultKind::kSimFault) {
        EXPECT_GE(f.duration_ms, p.fault_min_ms);
        EXPECT_LE(f.duration_ms, p.fault_max_ms);
        EXPECT_NE(f.detail.find('@' + f.target), std::string::npos) << f.detail;
      }
    }
    std::set<std::string> names;
    for (const Work& w : s->work) {
      EXPECT_TRUE(names.insert(w.name).second) << "names are unique: " << w.name;
      EXPECT_GE(w.clusters.size(), 2u);
      EXPECT_EQ(std::set<std::string>(w.clusters.begin(), w.clusters.end()).size(),
                w.clusters.size());
      if (w.delete_at_ms >= 0) {
        EXPECT_GE(w.delete_at_ms, w.at_ms);
      }
    }
  }
  EXPECT_EQ(kinds.size(), static_cast<size_t>(kFaultKinds)) << "every kind is drawn";
}

TEST(ChaosSchedule, DisabledKindsAreNeverDrawn) {
  ChaosParams p = Params();
  p.disabled = {FaultKind::kEmptyApiServer,    FaultKind::kApiServerErrors,
                FaultKind::kApiServerThrottle, FaultKind::kApiServerSlow,
                FaultKind::kDropWatches,       FaultKind::kExpireWatches};
  for (uint64_t seed = 0; seed < 100; ++seed) {
    auto s = GenerateSchedule(seed, p);
    ASSERT_TRUE(s.ok());
    for (const Fault& f : s->faults) {
      EXPECT_EQ(std::count(p.disabled.begin(), p.disabled.end(), f.kind), 0)
          << FaultKindName(f.kind);
    }
  }
}

TEST(ChaosSchedule, EverySimulatorFaultKindIsDrawn) {
  std::set<std::string> drawn;
  ChaosParams p = Params();
  p.disabled.clear();
  for (int k = 0; k < kFaultKinds; ++k) {
    if (static_cast<FaultKind>(k) != FaultKind::kSimFault) {
      p.disabled.push_back(static_cast<FaultKind>(k));
    }
  }
  for (uint64_t seed = 0; seed < 100; ++seed) {
    auto s = GenerateSchedule(seed, p);
    ASSERT_TRUE(s.ok());
    for (const Fault& f : s->faults) {
      drawn.insert(f.detail.substr(0, f.detail.find('@')));
    }
  }
  for (const auto& kind : SimBackupFaultKinds()) EXPECT_TRUE(drawn.count(kind)) << kind;
  for (const auto& kind : SimRestoreFaultKinds()) EXPECT_TRUE(drawn.count(kind)) << kind;
}

TEST(ChaosSchedule, BadParametersAreErrors) {
  struct Case {
    const char* what;
    void (*mutate)(ChaosParams&);
  };
  const Case cases[] = {
      {"no data plane", [](ChaosParams& p) { p.data_planes.clear(); }},
      {"run_ms", [](ChaosParams& p) { p.run_ms = 0; }},
      {"negative", [](ChaosParams& p) { p.backups = -1; }},
      {"min > max", [](ChaosParams& p) { p.freeze_min_ms = p.freeze_max_ms + 1; }},
      {"fault min > max", [](ChaosParams& p) { p.fault_min_ms = p.fault_max_ms + 1; }},
      {"every kind disabled",
       [](ChaosParams& p) {
         for (int k = 0; k < kFaultKinds; ++k) p.disabled.push_back(static_cast<FaultKind>(k));
       }},
  };
  for (const Case& c : cases) {
    ChaosParams p = Params();
    c.mutate(p);
    auto s = GenerateSchedule(7, p);
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << c.what;
    EXPECT_FALSE(s.status().message().empty());
  }
}

TEST(ChaosSchedule, FaultKindNamesRoundTrip) {
  for (int k = 0; k < kFaultKinds; ++k) {
    auto kind = static_cast<FaultKind>(k);
    auto parsed = ParseFaultKind(FaultKindName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  auto bad = ParseFaultKind("kill-everything");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("kill-manager"), std::string::npos);
}

}  // namespace
}  // namespace brfed::chaos
