// Credentials: where a Client gets the Authorization header and (for exec plugins) client
// certificates for each request. Three kinds besides static material: a token file re-read at
// least every minute (bound service-account tokens rotate), and exec credential plugins run
// without a shell, cached until shortly before `expirationTimestamp`, refreshed after a 401
// (Invalidate), single-flight (callers that need the run wait for it; callers whose cached
// credential is still fresh never wait behind a run).
//
// A plugin run sits in the path of whichever request finds the credential due. `aws eks
// get-token` takes about a third of a second, and EKS tokens last 15 minutes, so for a client
// used once per backup the run would be inside the GC pause. RefreshAhead lets a background
// caller (the manager's data-plane prober) run it early instead, while requests keep using the
// credential it replaces. Cancel, for a stopping manager, kills a run in progress, so that
// shutdown never waits out a hung plugin (kExecTimeout).
//
// Thread-safety: CredentialSource implementations are safe for concurrent use. The Clock
// passed in must outlive the source.
#ifndef BRFED_KUBE_CREDENTIALS_H_
#define BRFED_KUBE_CREDENTIALS_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "kube/client_metrics.h"
#include "kube/kubeconfig.h"

namespace brfed::kube {

struct Credential {
  std::string bearer_token;     // empty: no Authorization header
  std::string client_cert_pem;  // from an exec plugin; empty: use the RestConfig's
  std::string client_key_pem;
  std::optional<Time> expiry;  // when known
};

class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  // The credential to use now. Exec-plugin failures are kUnauthorized errors that include the
  // plugin's stderr and its installHint.
  virtual Result<Credential> Get() = 0;
  // The server said 401: drop cached credentials so the next Get() refreshes them.
  virtual void Invalidate() = 0;
  // Refreshes now if there is no cached credential or it expires within `lookahead`, unless a
  // refresh is already running. Ok when nothing was due; the plugin's error otherwise. Only
  // exec plugins have anything to refresh ahead.
  virtual Status RefreshAhead(std::chrono::seconds lookahead) {
    (void)lookahead;
    return Status::Ok();
  }
  // Kills a plugin run in progress and fails every later run at once (kCancelled); cached
  // credentials stay usable. For shutdown: the threads waiting on a run can then be joined.
  virtual void Cancel() {}
};

// The source for `config` (static token/basic/none, token file, or exec plugin).
// `metrics` (optional, not owned, must outlive the source) counts exec-plugin runs.
std::shared_ptr<CredentialSource> NewCredentialSource(const RestConfig& config,
                                                      Clock* clock = RealClock::Get(),
                                                      ClientMetrics* metrics = nullptr);

// Exec plugins are refreshed when now + this margin reaches the expiry.
inline constexpr std::chrono::seconds kExecRefreshMargin{60};
// Token files are re-read when older than this.
inline constexpr std::chrono::seconds kTokenFileRefresh{60};
// An exec plugin that runs longer than this is killed and reported.
inline constexpr std::chrono::seconds kExecTimeout{60};

}  // namespace brfed::kube

#endif  // BRFED_KUBE_CREDENTIALS_H_
